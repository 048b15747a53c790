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
    const char *msg;                            /* "" for ModelProto, else "pieces[3]", ... */
    const char *(*field_name)(uint32_t number); /* NULL when the number is not in the schema */
} pb;

typedef struct pb_field {
    uint32_t number;
    int wire;
    uint64_t value;         /* VARINT, FIXED32, FIXED64 */
    const uint8_t *payload; /* LEN */
    size_t len;
    size_t offset; /* of the key */
} pb_field;

static const char *model_field(uint32_t n)
{
    static const char *const names[] = {
        NULL, "pieces", "trainer_spec", "normalizer_spec", "self_test_data", "denormalizer_spec"
    };
    return n < sizeof names / sizeof names[0] ? names[n] : NULL;
}

static const char *piece_field(uint32_t n)
{
    return n == 1 ? "piece" : n == 2 ? "score" : n == 3 ? "type" : NULL;
}

static const char *trainer_field(uint32_t n)
{
    switch (n) {
    case 3: return "model_type";
    case 35: return "byte_fallback";
    case 40: return "unk_id";
    case 41: return "bos_id";
    case 42: return "eos_id";
    case 43: return "pad_id";
    default: return NULL;
    }
}

static const char *normalizer_field(uint32_t n)
{
    static const char *const names[] = { NULL,
                                         "name",
                                         "precompiled_charsmap",
                                         "add_dummy_prefix",
                                         "remove_extra_whitespaces",
                                         "escape_whitespaces",
                                         "normalization_rule_tsv" };
    return n < sizeof names / sizeof names[0] ? names[n] : NULL;
}

/* Records "file: path: what at byte N" and returns DGXM_ERR_FORMAT. number 0: the message
 * itself is at fault, else its field number is. */
static dgxm_status pb_fail(const pb *r, uint32_t number, const char *what, size_t offset)
{
    const char *name = number && r->field_name ? r->field_name(number) : NULL;
    char path[96];
    if (number == 0)
        snprintf(path, sizeof path, "%s", *r->msg ? r->msg : "ModelProto");
    else if (name)
        snprintf(path, sizeof path, "%s%s%s", r->msg, *r->msg ? "." : "", name);
    else
        snprintf(path, sizeof path, "%s%sfield %u", r->msg, *r->msg ? "." : "", number);
    dgxm_error_set(r->err, DGXM_ERR_FORMAT, "%s: %s: %s at byte %zu", r->file, path, what, offset);
    return DGXM_ERR_FORMAT;
}

static dgxm_status pb_varint(pb *r, uint32_t number, uint64_t *v)
{
    size_t at = (size_t)(r->p - r->base);
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return pb_fail(r, number, "varint runs past the end of the message", at);
        uint8_t b = *r->p++;
        if (i == 9 && b > 1)
            return pb_fail(r, number, "varint longer than 64 bits", at);
        x |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return DGXM_OK;
        }
    }
    return pb_fail(r, number, "varint longer than 10 bytes", at);
}

/* Reads the next field of the message. */
static dgxm_status pb_next(pb *r, pb_field *f)
{
    memset(f, 0, sizeof *f);
    f->offset = (size_t)(r->p - r->base);
    uint64_t key = 0;
    dgxm_status st = pb_varint(r, 0, &key);
    if (st != DGXM_OK)
        return st;
    f->wire = (int)(key & 7);
    if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF)
        return pb_fail(r, 0, "field number out of range", f->offset);
    f->number = (uint32_t)(key >> 3);
    size_t left;
    switch (f->wire) {
    case WIRE_VARINT: return pb_varint(r, f->number, &f->value);
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
        size_t n = f->wire == WIRE_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return pb_fail(r, f->number, "fixed-width value runs past the end of the message",
                           f->offset);
        f->value = 0;
        for (size_t i = 0; i < n; i++)
            f->value |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return DGXM_OK;
    }
    case WIRE_LEN:
        if ((st = pb_varint(r, f->number, &f->value)) != DGXM_OK)
            return st;
        left = (size_t)(r->end - r->p);
        if (f->value > left) {
            char what[128];
            snprintf(what, sizeof what,
                     "length %llu runs past the end of the message (%zu bytes left)",
                     (unsigned long long)f->value, left);
            return pb_fail(r, f->number, what, f->offset);
        }
        f->payload = r->p;
        f->len = (size_t)f->value;
        r->p += f->len;
        return DGXM_OK;
    default: return pb_fail(r, f->number, "unsupported wire type (group or invalid)", f->offset);
    }
}

/* Checks that field f has the wire type its schema gives it. */
static dgxm_status pb_expect(const pb *r, const pb_field *f, int wire)
{
    if (f->wire == wire)
        return DGXM_OK;
    char what[64];
    snprintf(what, sizeof what, "wire type %d where %d is expected", f->wire, wire);
    return pb_fail(r, f->number, what, f->offset);
}

static pb sub_reader(const pb *r, const pb_field *f, const char *msg,
                     const char *(*field_name)(uint32_t))
{
    pb s = *r;
    s.p = f->payload;
    s.end = f->payload + f->len;
    s.msg = msg;
    s.field_name = field_name;
    return s;
}

static dgxm_status parse_piece(pb *r, dgxm_spm_piece *piece)
{
    piece->text = "";
    piece->len = 0;
    piece->score = 0.0f;
    piece->type = DGXM_SPM_NORMAL;
    while (r->p < r->end) {
        pb_field f;
        dgxm_status st = pb_next(r, &f);
        if (st != DGXM_OK)
            return st;
        if (f.number == 1) {
            if ((st = pb_expect(r, &f, WIRE_LEN)) != DGXM_OK)
                return st;
            size_t bad = 0;
            if (!dgxm_utf8_validate((const char *)f.payload, f.len, &bad))
                return pb_fail(r, 1, "not valid UTF-8", (size_t)(f.payload - r->base) + bad);
            piece->text = (const char *)f.payload;
            piece->len = f.len;
        } else if (f.number == 2) {
            if ((st = pb_expect(r, &f, WIRE_FIXED32)) != DGXM_OK)
                return st;
            uint32_t bits = (uint32_t)f.value;
            memcpy(&piece->score, &bits, sizeof bits);
        } else if (f.number == 3) {
            if ((st = pb_expect(r, &f, WIRE_VARINT)) != DGXM_OK)
                return st;
            int32_t t = (int32_t)(uint32_t)f.value;
            /* proto2 keeps an unknown enum value as an unknown field: the default stays */
            piece->type = (t >= DGXM_SPM_NORMAL && t <= DGXM_SPM_BYTE) ? t : DGXM_SPM_NORMAL;
        }
    }
    return DGXM_OK;
}

static dgxm_status parse_trainer_spec(pb *r, dgxm_spm_model *m)
{
    while (r->p < r->end) {
        pb_field f;
        dgxm_status st = pb_next(r, &f);
        if (st != DGXM_OK)
            return st;
        int32_t *target = NULL;
        switch (f.number) {
        case 3: target = &m->model_type; break;
        case 40: target = &m->unk_id; break;
        case 41: target = &m->bos_id; break;
        case 42: target = &m->eos_id; break;
        case 43: target = &m->pad_id; break;
        case 35: break;
        default: continue;
        }
        if ((st = pb_expect(r, &f, WIRE_VARINT)) != DGXM_OK)
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
        dgxm_status st = pb_next(r, &f);
        if (st != DGXM_OK)
            return st;
        bool *flag = NULL;
        switch (f.number) {
        case 2:
            if ((st = pb_expect(r, &f, WIRE_LEN)) != DGXM_OK)
                return st;
            m->charsmap = f.payload;
            m->charsmap_len = f.len;
            continue;
        case 3: flag = &m->add_dummy_prefix; break;
        case 4: flag = &m->remove_extra_whitespaces; break;
        case 5: flag = &m->escape_whitespaces; break;
        default: continue;
        }
        if ((st = pb_expect(r, &f, WIRE_VARINT)) != DGXM_OK)
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
        dgxm_status st = pb_next(&r, &f);
        if (st != DGXM_OK)
            return st;
        if (f.number == 1)
            ++*n;
    }
    return DGXM_OK;
}

static dgxm_status parse_model(pb *r, size_t n, dgxm_spm_model *m)
{
    while (r->p < r->end) {
        pb_field f;
        dgxm_status st = pb_next(r, &f);
        if (st != DGXM_OK)
            return st;
        if (f.number < 1 || f.number > 3)
            continue;
        if ((st = pb_expect(r, &f, WIRE_LEN)) != DGXM_OK)
            return st;
        char msg[40];
        if (f.number == 1) {
            if (m->n_pieces >= n) /* cannot happen: the first pass counted them */
                return pb_fail(r, 1, "more pieces than counted", f.offset);
            snprintf(msg, sizeof msg, "pieces[%zu]", m->n_pieces);
            pb sub = sub_reader(r, &f, msg, piece_field);
            st = parse_piece(&sub, &m->pieces[m->n_pieces++]);
        } else if (f.number == 2) {
            pb sub = sub_reader(r, &f, "trainer_spec", trainer_field);
            st = parse_trainer_spec(&sub, m);
        } else {
            pb sub = sub_reader(r, &f, "normalizer_spec", normalizer_field);
            st = parse_normalizer_spec(&sub, m);
        }
        if (st != DGXM_OK)
            return st;
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
    if (!m->data) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for %zu bytes", file, len);
        return DGXM_ERR_NOMEM;
    }
    if (len)
        memcpy(m->data, bytes, len);
    pb r = { m->data, m->data, m->data + len, file, err, "", model_field };
    size_t n = 0;
    dgxm_status st = count_pieces(r, &n);
    if (st == DGXM_OK && n && !(m->pieces = calloc(n, sizeof *m->pieces))) {
        st = DGXM_ERR_NOMEM;
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for %zu pieces", file, n);
    }
    if (st == DGXM_OK)
        st = parse_model(&r, n, m);
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
