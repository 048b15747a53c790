/* Protobuf wire-format reader for SentencePiece's ModelProto (sentencepiece_model.proto):
 *   ModelProto: 1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
 *   SentencePiece: 1 piece (string), 2 score (float), 3 type (enum)
 *   TrainerSpec: 3 model_type, 35 byte_fallback, 40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id
 *   NormalizerSpec: 2 precompiled_charsmap (bytes), 3 add_dummy_prefix,
 *                   4 remove_extra_whitespaces, 5 escape_whitespaces
 * Fields may repeat (the last scalar wins, messages merge) and unknown fields are skipped, as
 * protobuf parsers do. */
#include "spm_model.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    WIRE_VARINT = 0,
    WIRE_FIXED64 = 1,
    WIRE_LEN = 2,
    WIRE_FIXED32 = 5
};

typedef struct pb {
    const uint8_t *base; /* start of the file, for offsets in messages */
    const uint8_t *p, *end;
    const char *file;
    dgxm_error *err;
} pb;

typedef struct pb_field {
    uint32_t number;
    int wire;
    uint64_t value;         /* VARINT, FIXED32, FIXED64 */
    const uint8_t *payload; /* LEN */
    size_t len;
    size_t offset; /* of the key */
} pb_field;

/* Records the failure and returns DGXM_ERR_FORMAT. */
static dgxm_status pb_fail(pb *r, const char *path, const char *what, size_t offset)
{
    dgxm_error_set(r->err, DGXM_ERR_FORMAT, "%s: %s: %s at byte %zu", r->file, path, what, offset);
    return DGXM_ERR_FORMAT;
}

static dgxm_status pb_varint(pb *r, const char *path, uint64_t *v)
{
    size_t at = (size_t)(r->p - r->base);
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return pb_fail(r, path, "varint runs past the end of the message", at);
        uint8_t b = *r->p++;
        if (i == 9 && b > 1)
            return pb_fail(r, path, "varint longer than 64 bits", at);
        x |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return DGXM_OK;
        }
    }
    return pb_fail(r, path, "varint longer than 10 bytes", at);
}

/* Reads the next field of the message; path names the message for errors. */
static dgxm_status pb_next(pb *r, const char *path, pb_field *f)
{
    memset(f, 0, sizeof *f);
    f->offset = (size_t)(r->p - r->base);
    uint64_t key = 0;
    dgxm_status st = pb_varint(r, path, &key);
    if (st != DGXM_OK)
        return st;
    f->wire = (int)(key & 7);
    if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF)
        return pb_fail(r, path, "field number out of range", f->offset);
    f->number = (uint32_t)(key >> 3);
    size_t left;
    switch (f->wire) {
    case WIRE_VARINT: return pb_varint(r, path, &f->value);
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
        size_t n = f->wire == WIRE_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return pb_fail(r, path, "fixed-width field runs past the end of the message",
                           f->offset);
        f->value = 0;
        for (size_t i = 0; i < n; i++)
            f->value |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return DGXM_OK;
    }
    case WIRE_LEN:
        if ((st = pb_varint(r, path, &f->value)) != DGXM_OK)
            return st;
        left = (size_t)(r->end - r->p);
        if (f->value > left) {
            char what[160];
            snprintf(what, sizeof what,
                     "field %u: length %llu runs past the end of the message (%zu bytes left)",
                     f->number, (unsigned long long)f->value, left);
            return pb_fail(r, path, what, f->offset);
        }
        f->payload = r->p;
        f->len = (size_t)f->value;
        r->p += f->len;
        return DGXM_OK;
    default: return pb_fail(r, path, "unsupported wire type (group or invalid)", f->offset);
    }
}

/* Checks that field f has the wire type its schema gives it. */
static dgxm_status pb_expect(pb *r, const char *path, const pb_field *f, int wire)
{
    if (f->wire == wire)
        return DGXM_OK;
    char what[64];
    snprintf(what, sizeof what, "field %u has wire type %d where %d is expected", f->number,
             f->wire, wire);
    return pb_fail(r, path, what, f->offset);
}

static pb sub_reader(const pb *r, const pb_field *f)
{
    pb s = *r;
    s.p = f->payload;
    s.end = f->payload + f->len;
    return s;
}

static dgxm_status parse_piece(pb *r, size_t index, dgxm_spm_piece *piece)
{
    char path[64];
    snprintf(path, sizeof path, "pieces[%zu]", index);
    piece->text = "";
    piece->len = 0;
    piece->score = 0.0f;
    piece->type = DGXM_SPM_NORMAL;
    while (r->p < r->end) {
        pb_field f;
        dgxm_status st = pb_next(r, path, &f);
        if (st != DGXM_OK)
            return st;
        if (f.number == 1) {
            snprintf(path, sizeof path, "pieces[%zu].piece", index);
            if ((st = pb_expect(r, path, &f, WIRE_LEN)) != DGXM_OK)
                return st;
            size_t bad;
            if (!dgxm_utf8_validate((const char *)f.payload, f.len, &bad))
                return pb_fail(r, path, "not valid UTF-8", (size_t)(f.payload - r->base) + bad);
            piece->text = (const char *)f.payload;
            piece->len = f.len;
        } else if (f.number == 2) {
            snprintf(path, sizeof path, "pieces[%zu].score", index);
            if ((st = pb_expect(r, path, &f, WIRE_FIXED32)) != DGXM_OK)
                return st;
            uint32_t bits = (uint32_t)f.value;
            memcpy(&piece->score, &bits, sizeof bits);
        } else if (f.number == 3) {
            snprintf(path, sizeof path, "pieces[%zu].type", index);
            if ((st = pb_expect(r, path, &f, WIRE_VARINT)) != DGXM_OK)
                return st;
            int32_t t = (int32_t)(uint32_t)f.value;
            /* proto2 keeps an unknown enum value as an unknown field: the default stays */
            piece->type = (t >= DGXM_SPM_NORMAL && t <= DGXM_SPM_BYTE) ? t : DGXM_SPM_NORMAL;
        }
        snprintf(path, sizeof path, "pieces[%zu]", index);
    }
    return DGXM_OK;
}

static dgxm_status parse_trainer_spec(pb *r, dgxm_spm_model *m)
{
    while (r->p < r->end) {
        pb_field f;
        dgxm_status st = pb_next(r, "trainer_spec", &f);
        if (st != DGXM_OK)
            return st;
        int32_t *target = NULL;
        const char *name = NULL;
        switch (f.number) {
        case 3: target = &m->model_type, name = "trainer_spec.model_type"; break;
        case 40: target = &m->unk_id, name = "trainer_spec.unk_id"; break;
        case 41: target = &m->bos_id, name = "trainer_spec.bos_id"; break;
        case 42: target = &m->eos_id, name = "trainer_spec.eos_id"; break;
        case 43: target = &m->pad_id, name = "trainer_spec.pad_id"; break;
        case 35: name = "trainer_spec.byte_fallback"; break;
        default: continue;
        }
        if ((st = pb_expect(r, name, &f, WIRE_VARINT)) != DGXM_OK)
            return st;
        if (target)
            *target = (int32_t)(uint32_t)f.value; /* int32 fields keep the low 32 bits */
        else
            m->byte_fallback = f.value != 0;
    }
    return DGXM_OK;
}

static dgxm_status parse_normalizer_spec(pb *r, dgxm_spm_model *m)
{
    while (r->p < r->end) {
        pb_field f;
        dgxm_status st = pb_next(r, "normalizer_spec", &f);
        if (st != DGXM_OK)
            return st;
        bool *flag = NULL;
        const char *name = NULL;
        switch (f.number) {
        case 2:
            if ((st = pb_expect(r, "normalizer_spec.precompiled_charsmap", &f, WIRE_LEN)) !=
                DGXM_OK)
                return st;
            m->charsmap = f.payload;
            m->charsmap_len = f.len;
            continue;
        case 3: flag = &m->add_dummy_prefix, name = "normalizer_spec.add_dummy_prefix"; break;
        case 4:
            flag = &m->remove_extra_whitespaces;
            name = "normalizer_spec.remove_extra_whitespaces";
            break;
        case 5: flag = &m->escape_whitespaces, name = "normalizer_spec.escape_whitespaces"; break;
        default: continue;
        }
        if ((st = pb_expect(r, name, &f, WIRE_VARINT)) != DGXM_OK)
            return st;
        *flag = f.value != 0;
    }
    return DGXM_OK;
}

/* First pass: count the pieces so the array is allocated once. */
static dgxm_status count_pieces(pb r, size_t *n)
{
    *n = 0;
    while (r.p < r.end) {
        pb_field f;
        dgxm_status st = pb_next(&r, "ModelProto", &f);
        if (st != DGXM_OK)
            return st;
        if (f.number == 1)
            ++*n;
    }
    return DGXM_OK;
}

dgxm_status dgxm_spm_model_parse(const char *file, const void *bytes, size_t len, dgxm_spm_model *m,
                                 dgxm_error *err)
{
    memset(m, 0, sizeof *m);
    m->model_type = DGXM_SPM_UNIGRAM;
    m->unk_id = 0, m->bos_id = 1, m->eos_id = 2, m->pad_id = -1;
    m->add_dummy_prefix = m->remove_extra_whitespaces = m->escape_whitespaces = true;
    m->data = malloc(len ? len : 1);
    if (!m->data)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for %zu bytes", file, len);
    if (len)
        memcpy(m->data, bytes, len);
    pb r = { m->data, m->data, m->data + len, file, err };
    size_t n = 0;
    dgxm_status st = count_pieces(r, &n);
    if (st == DGXM_OK && n && !(m->pieces = calloc(n, sizeof *m->pieces))) {
        st = DGXM_ERR_NOMEM;
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for %zu pieces", file, n);
    }
    while (st == DGXM_OK && r.p < r.end) {
        pb_field f;
        if ((st = pb_next(&r, "ModelProto", &f)) != DGXM_OK)
            break;
        pb sub = sub_reader(&r, &f);
        if (f.number == 1) {
            if (m->n_pieces >= n) /* cannot happen: the first pass counted them */
                st = pb_fail(&r, "pieces", "more pieces than counted", f.offset);
            else if ((st = pb_expect(&r, "pieces", &f, WIRE_LEN)) == DGXM_OK)
                st = parse_piece(&sub, m->n_pieces, &m->pieces[m->n_pieces]);
            m->n_pieces++;
        } else if (f.number == 2) {
            if ((st = pb_expect(&r, "trainer_spec", &f, WIRE_LEN)) == DGXM_OK)
                st = parse_trainer_spec(&sub, m);
        } else if (f.number == 3) {
            if ((st = pb_expect(&r, "normalizer_spec", &f, WIRE_LEN)) == DGXM_OK)
                st = parse_normalizer_spec(&sub, m);
        }
    }
    if (st != DGXM_OK)
        dgxm_spm_model_clear(m);
    return st;
}

void dgxm_spm_model_clear(dgxm_spm_model *m)
{
    free(m->data);
    free(m->pieces);
    memset(m, 0, sizeof *m);
}
