/* The tokenizer.json reader: see tokenizer_json.h. Messages name the file and the JSON path of
 * the field at fault, e.g. "tokenizer.json: normalizer.normalizers[2]: type \"NFKC\" ...". */
#include "tokenizer_json.h"
#include "tokenizer_impl.h"
#include "utf8.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    PATH_MAX_LEN = 160,
    MAX_NESTING = 32
};

typedef struct jctx {
    const char *file;
    dgxm_error *err;
    dgxm_tokenizer *tok;
} jctx;

/* Records "file: path: what" and returns code (never DGXM_OK). */
static __attribute__((format(printf, 4, 5))) dgxm_status
jfail(jctx *c, dgxm_status code, const char *path, const char *fmt, ...)
{
    char what[320] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    dgxm_error_set(c->err, code, "%s: %s: %s", c->file, path, what);
    return code;
}

static dgxm_status nomem(jctx *c, const char *path)
{
    return jfail(c, DGXM_ERR_NOMEM, path, "out of memory");
}

static const char *type_of(json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* Field key of obj as a string; missing -> error unless optional (then *out = NULL). */
static dgxm_status get_string(jctx *c, json_t *obj, const char *key, const char *path,
                              bool optional, const char **out, size_t *len)
{
    json_t *v = json_object_get(obj, key);
    *out = optional ? NULL : ""; /* never NULL for a required field, even on failure */
    if (len)
        *len = 0;
    if (!v && optional)
        return DGXM_OK;
    if (!v)
        return jfail(c, DGXM_ERR_FORMAT, path, "missing \"%s\"", key);
    if (!json_is_string(v))
        return jfail(c, DGXM_ERR_FORMAT, path, "\"%s\" is %s, not a string", key, type_of(v));
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return DGXM_OK;
}

/* Boolean field; absent -> dflt, or an error when required. */
static dgxm_status get_bool(jctx *c, json_t *obj, const char *key, const char *path, bool required,
                            bool dflt, bool *out)
{
    json_t *v = json_object_get(obj, key);
    *out = dflt;
    if (!v && !required)
        return DGXM_OK;
    if (!v)
        return jfail(c, DGXM_ERR_FORMAT, path, "missing \"%s\"", key);
    if (!json_is_boolean(v))
        return jfail(c, DGXM_ERR_FORMAT, path, "\"%s\" is %s, not a boolean", key, type_of(v));
    *out = json_is_true(v);
    return DGXM_OK;
}

static dgxm_status get_id(jctx *c, json_t *v, const char *path, int32_t *out)
{
    *out = -1;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX - 1)
        return jfail(c, DGXM_ERR_FORMAT, path, "expected an id (integer 0 .. 2^31-2), got %s",
                     type_of(v));
    *out = (int32_t)json_integer_value(v);
    return DGXM_OK;
}

/* ---- base64 (standard alphabet, canonical padding, as the Rust base64 crate's STANDARD) ---- */

static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

static dgxm_status base64_decode(jctx *c, const char *path, const char *s, size_t n, uint8_t **out,
                                 size_t *out_len)
{
    if (n % 4 != 0)
        return jfail(c, DGXM_ERR_FORMAT, path,
                     "base64 text of %zu characters is not a multiple "
                     "of 4 long",
                     n);
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return nomem(c, path);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char ch = (unsigned char)s[i + (size_t)k];
            bool last = i + 4 == n;
            if (ch == '=' && last && (k == 3 || (k == 2 && s[i + 3] == '='))) {
                v[k] = 0, pad++;
                continue;
            }
            if ((v[k] = b64_value(ch)) < 0 || pad) {
                free(buf);
                return jfail(c, DGXM_ERR_FORMAT, path,
                             "invalid base64 character 0x%02x at offset %zu", ch, i + (size_t)k);
            }
        }
        uint32_t bits =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (bits & 0xFF)) || (pad == 2 && (bits & 0xFFFF))) {
            free(buf);
            return jfail(c, DGXM_ERR_FORMAT, path, "base64 has non-zero trailing bits");
        }
        buf[o++] = (uint8_t)(bits >> 16);
        if (pad < 2)
            buf[o++] = (uint8_t)(bits >> 8);
        if (pad < 1)
            buf[o++] = (uint8_t)bits;
    }
    *out = buf;
    *out_len = o;
    return DGXM_OK;
}

/* ---- model ---- */

static dgxm_status parse_model(jctx *c, json_t *root)
{
    json_t *model = json_object_get(root, "model");
    if (!json_is_object(model))
        return jfail(c, DGXM_ERR_FORMAT, "model", model ? "is %s, not an object" : "missing%s",
                     model ? type_of(model) : "");
    const char *type;
    dgxm_status st = get_string(c, model, "type", "model", true, &type, NULL);
    if (st != DGXM_OK)
        return st;
    if (type && strcmp(type, "Unigram") != 0)
        return jfail(c, DGXM_ERR_UNSUPPORTED, "model.type",
                     "\"%s\" is not supported; only Unigram models are", type);
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_array(vocab))
        return jfail(c, DGXM_ERR_FORMAT, "model.vocab",
                     vocab ? "is %s, not an array of [piece, score]" : "missing%s",
                     vocab ? type_of(vocab) : "");
    int32_t unk_id = -1;
    json_t *unk = json_object_get(model, "unk_id");
    if (unk && !json_is_null(unk) && (st = get_id(c, unk, "model.unk_id", &unk_id)) != DGXM_OK)
        return st;
    bool byte_fallback;
    if ((st = get_bool(c, model, "byte_fallback", "model", false, false, &byte_fallback)) !=
        DGXM_OK)
        return st;
    size_t n = json_array_size(vocab);
    if (n == 0)
        return jfail(c, DGXM_ERR_FORMAT, "model.vocab", "is empty");
    if (unk_id >= 0 && (size_t)unk_id >= n)
        return jfail(c, DGXM_ERR_FORMAT, "model.unk_id", "%d is outside the %zu-piece vocab",
                     (int)unk_id, n);
    dgxm_unigram_piece *p = malloc(n * sizeof *p);
    if (!p)
        return nomem(c, "model.vocab");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(vocab, i);
        json_t *s = json_array_get(e, 0), *score = json_array_get(e, 1);
        if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(s) ||
            !json_is_number(score)) {
            free(p);
            char path[PATH_MAX_LEN];
            snprintf(path, sizeof path, "model.vocab[%zu]", i);
            return jfail(c, DGXM_ERR_FORMAT, path, "expected [piece, score], got %s", type_of(e));
        }
        p[i] = (dgxm_unigram_piece){ json_string_value(s), json_string_length(s),
                                     json_number_value(score) };
    }
    c->tok->model = dgxm_unigram_new(c->file, p, n, unk_id, byte_fallback, c->err);
    free(p);
    if (!c->tok->model)
        return c->err ? c->err->status : DGXM_ERR_FORMAT;
    c->tok->vocab_size = (int)n;
    c->tok->n_file_pieces = n;
    return DGXM_OK;
}

/* ---- normalizer ---- */

static dgxm_norm_step *new_norm(jctx *c)
{
    dgxm_tokenizer *t = c->tok;
    size_t cap = t->n_norm; /* grown one by one: pipelines are a handful of steps */
    if (!dgxm_grow((void **)&t->norm, &cap, t->n_norm + 1, sizeof *t->norm))
        return NULL;
    dgxm_norm_step *s = &t->norm[t->n_norm++];
    memset(s, 0, sizeof *s);
    return s;
}

static char *copy_bytes(const char *s, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

/* Regex patterns of Replace: a plain literal, or one (possibly escaped) character followed by
 * "+" or "{n,}". Anything else is not supported. */
static dgxm_status parse_regex(jctx *c, const char *path, const char *re, size_t len,
                               dgxm_norm_step *step)
{
    static const char meta[] = "\\.^$*+?()[]{}|";
    size_t atom = 0, atom_len = 0, i = 0;
    bool has_meta = false;
    for (size_t k = 0; k < len; k++)
        has_meta |= re[k] != 0 && strchr(meta, re[k]) != NULL;
    if (!has_meta) {
        step->pattern_len = len;
        step->min_repeat = 0;
        return len ? DGXM_OK : jfail(c, DGXM_ERR_FORMAT, path, "empty pattern");
    }
    uint32_t cp;
    if (len >= 2 && re[0] == '\\' && re[1] > ' ' && re[1] < 0x7F &&
        !((re[1] >= '0' && re[1] <= '9') || (re[1] >= 'a' && re[1] <= 'z') ||
          (re[1] >= 'A' && re[1] <= 'Z')))
        atom = 1, atom_len = 1, i = 2;
    else if (len && !strchr(meta, re[0]) &&
             (atom_len = dgxm_utf8_decode((const uint8_t *)re, len, &cp)) > 0)
        atom = 0, i = atom_len;
    else
        goto unsupported;
    unsigned long n = 0;
    if (i + 1 == len && re[i] == '+') {
        n = 1;
    } else if (i + 3 <= len && re[i] == '{' && re[len - 2] == ',' && re[len - 1] == '}') {
        for (size_t k = i + 1; k < len - 2; k++) {
            if (re[k] < '0' || re[k] > '9' || n > 100000)
                goto unsupported;
            n = n * 10 + (unsigned long)(re[k] - '0');
        }
        if (n == 0 || i + 3 == len)
            goto unsupported;
    } else {
        goto unsupported;
    }
    memmove(step->pattern, re + atom, atom_len);
    step->pattern_len = atom_len;
    step->min_repeat = n;
    return DGXM_OK;
unsupported:
    return jfail(c, DGXM_ERR_UNSUPPORTED, path,
                 "regex \"%.*s\" is not supported (only a literal, or one character followed by "
                 "+ or {n,})",
                 (int)(len > 60 ? 60 : len), re);
}

static dgxm_status parse_replace(jctx *c, json_t *j, const char *path)
{
    dgxm_norm_step *step = new_norm(c);
    if (!step)
        return nomem(c, path);
    step->kind = DGXM_NORM_REPLACE;
    const char *content, *s = NULL;
    size_t content_len, s_len = 0;
    dgxm_status st = get_string(c, j, "content", path, false, &content, &content_len);
    if (st != DGXM_OK)
        return st;
    json_t *pat = json_object_get(j, "pattern");
    char ppath[PATH_MAX_LEN];
    snprintf(ppath, sizeof ppath, "%s.pattern", path);
    bool is_regex = json_object_get(pat, "Regex") != NULL;
    if (!json_is_object(pat) || (st = get_string(c, pat, is_regex ? "Regex" : "String", ppath,
                                                 false, &s, &s_len)) != DGXM_OK)
        return st != DGXM_OK ? st
                             : jfail(c, DGXM_ERR_FORMAT, ppath,
                                     "expected {\"String\": ...} or "
                                     "{\"Regex\": ...}");
    if (!(step->content = copy_bytes(content, content_len)) ||
        !(step->pattern = copy_bytes(s, s_len)))
        return nomem(c, path);
    step->content_len = content_len;
    if (is_regex)
        return parse_regex(c, ppath, s, s_len, step);
    step->pattern_len = s_len;
    return s_len ? DGXM_OK : jfail(c, DGXM_ERR_FORMAT, ppath, "empty pattern");
}

static dgxm_status parse_precompiled(jctx *c, json_t *j, const char *path)
{
    const char *b64;
    size_t b64_len;
    char fpath[PATH_MAX_LEN];
    snprintf(fpath, sizeof fpath, "%s.precompiled_charsmap", path);
    dgxm_status st = get_string(c, j, "precompiled_charsmap", path, false, &b64, &b64_len);
    if (st != DGXM_OK)
        return st;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    if ((st = base64_decode(c, fpath, b64, b64_len, &blob, &blob_len)) != DGXM_OK)
        return st;
    dgxm_norm_step *step = new_norm(c);
    if (!step) {
        free(blob);
        return nomem(c, path);
    }
    step->kind = DGXM_NORM_PRECOMPILED;
    step->charsmap = dgxm_charsmap_parse(c->file, fpath, blob, blob_len, c->err);
    free(blob);
    return step->charsmap ? DGXM_OK : (c->err ? c->err->status : DGXM_ERR_FORMAT);
}

/* Both pipelines nest as {"type": "Sequence", KEY: [step, ...]}: each step parsed by parse_step
 * one level deeper, its path named KEY[i]. */
typedef dgxm_status (*parse_step_fn)(jctx *c, json_t *j, const char *path, int depth);

static dgxm_status parse_sequence(jctx *c, json_t *j, const char *path, const char *key, int depth,
                                  parse_step_fn parse_step)
{
    json_t *list = json_object_get(j, key);
    if (!json_is_array(list))
        return jfail(c, DGXM_ERR_FORMAT, path, "\"%s\" is not an array", key);
    for (size_t i = 0; i < json_array_size(list); i++) {
        char sub[PATH_MAX_LEN];
        snprintf(sub, sizeof sub, "%s.%s[%zu]", path, key, i);
        json_t *e = json_array_get(list, i);
        if (json_is_null(e))
            return jfail(c, DGXM_ERR_FORMAT, sub, "is null");
        dgxm_status st = parse_step(c, e, sub, depth + 1);
        if (st != DGXM_OK)
            return st;
    }
    return DGXM_OK;
}

static dgxm_status parse_normalizer(jctx *c, json_t *j, const char *path, int depth)
{
    if (!j || json_is_null(j))
        return DGXM_OK;
    if (!json_is_object(j))
        return jfail(c, DGXM_ERR_FORMAT, path, "is %s, not an object", type_of(j));
    if (depth > MAX_NESTING)
        return jfail(c, DGXM_ERR_UNSUPPORTED, path, "Sequences nested too deeply");
    const char *type;
    dgxm_status st = get_string(c, j, "type", path, false, &type, NULL);
    if (st != DGXM_OK)
        return st;
    if (!strcmp(type, "Sequence"))
        return parse_sequence(c, j, path, "normalizers", depth, parse_normalizer);
    if (!strcmp(type, "Precompiled"))
        return parse_precompiled(c, j, path);
    if (!strcmp(type, "Replace"))
        return parse_replace(c, j, path);
    if (!strcmp(type, "Strip")) {
        dgxm_norm_step *step = new_norm(c);
        if (!step)
            return nomem(c, path);
        step->kind = DGXM_NORM_STRIP;
        if ((st = get_bool(c, j, "strip_left", path, true, false, &step->strip_left)) != DGXM_OK)
            return st;
        return get_bool(c, j, "strip_right", path, true, false, &step->strip_right);
    }
    if (!strcmp(type, "Prepend")) {
        const char *s;
        size_t n;
        if ((st = get_string(c, j, "prepend", path, false, &s, &n)) != DGXM_OK)
            return st;
        dgxm_norm_step *step = new_norm(c);
        if (!step || !(step->content = copy_bytes(s, n)))
            return nomem(c, path);
        step->kind = DGXM_NORM_PREPEND;
        step->content_len = n;
        return DGXM_OK;
    }
    return jfail(c, DGXM_ERR_UNSUPPORTED, path, "normalizer type \"%s\" is not supported", type);
}

/* ---- pre_tokenizer ---- */

static dgxm_pretok_step *new_pretok(jctx *c)
{
    dgxm_tokenizer *t = c->tok;
    size_t cap = t->n_pretok;
    if (!dgxm_grow((void **)&t->pretok, &cap, t->n_pretok + 1, sizeof *t->pretok))
        return NULL;
    dgxm_pretok_step *s = &t->pretok[t->n_pretok++];
    memset(s, 0, sizeof *s);
    return s;
}

/* Metaspace, both spellings: 2020 {replacement, add_prefix_space[, str_rep]} and newer
 * {replacement, prepend_scheme, split}. add_prefix_space true leaves prepend_scheme in charge
 * (default "always"); false means "never" and contradicts an explicit "always"/"first". (The
 * tokenizers library refuses {add_prefix_space: false} without prepend_scheme; we read it as
 * "never".) */
static dgxm_status parse_metaspace(jctx *c, json_t *j, const char *path)
{
    dgxm_pretok_step *step = new_pretok(c);
    if (!step)
        return nomem(c, path);
    step->kind = DGXM_PRETOK_METASPACE;
    const char *rep, *scheme;
    size_t rep_len;
    uint32_t cp;
    dgxm_status st = get_string(c, j, "replacement", path, false, &rep, &rep_len);
    if (st != DGXM_OK)
        return st;
    if (rep_len == 0 || dgxm_utf8_decode((const uint8_t *)rep, rep_len, &cp) != rep_len)
        return jfail(c, DGXM_ERR_FORMAT, path, "\"replacement\" must be one character");
    memcpy(step->replacement, rep, rep_len);
    step->replacement_len = rep_len;
    if ((st = get_string(c, j, "prepend_scheme", path, true, &scheme, NULL)) != DGXM_OK)
        return st;
    step->prepend = DGXM_PREPEND_ALWAYS;
    if (scheme && !strcmp(scheme, "first"))
        step->prepend = DGXM_PREPEND_FIRST;
    else if (scheme && !strcmp(scheme, "never"))
        step->prepend = DGXM_PREPEND_NEVER;
    else if (scheme && strcmp(scheme, "always") != 0)
        return jfail(c, DGXM_ERR_FORMAT, path,
                     "prepend_scheme \"%s\" is not one of always, first, never", scheme);
    json_t *aps = json_object_get(j, "add_prefix_space");
    if (aps && !json_is_boolean(aps))
        return jfail(c, DGXM_ERR_FORMAT, path, "\"add_prefix_space\" is not a boolean");
    if (aps && json_typeof(aps) == JSON_FALSE) {
        if (scheme && step->prepend != DGXM_PREPEND_NEVER)
            return jfail(c, DGXM_ERR_FORMAT, path,
                         "add_prefix_space false contradicts prepend_scheme \"%s\"", scheme);
        step->prepend = DGXM_PREPEND_NEVER;
    }
    return get_bool(c, j, "split", path, false, true, &step->split);
}

static dgxm_status parse_pre_tokenizer(jctx *c, json_t *j, const char *path, int depth)
{
    if (!j || json_is_null(j))
        return DGXM_OK;
    if (!json_is_object(j))
        return jfail(c, DGXM_ERR_FORMAT, path, "is %s, not an object", type_of(j));
    if (depth > MAX_NESTING)
        return jfail(c, DGXM_ERR_UNSUPPORTED, path, "Sequences nested too deeply");
    const char *type;
    dgxm_status st = get_string(c, j, "type", path, false, &type, NULL);
    if (st != DGXM_OK)
        return st;
    if (!strcmp(type, "Sequence"))
        return parse_sequence(c, j, path, "pretokenizers", depth, parse_pre_tokenizer);
    if (!strcmp(type, "WhitespaceSplit")) {
        dgxm_pretok_step *step = new_pretok(c);
        if (!step)
            return nomem(c, path);
        step->kind = DGXM_PRETOK_WHITESPACE_SPLIT;
        return DGXM_OK;
    }
    if (!strcmp(type, "Metaspace"))
        return parse_metaspace(c, j, path);
    return jfail(c, DGXM_ERR_UNSUPPORTED, path, "pre_tokenizer type \"%s\" is not supported", type);
}

/* ---- post_processor ---- */

static dgxm_status push_ids(jctx *c, bool after, json_t *ids, const char *path)
{
    dgxm_tokenizer *t = c->tok;
    int32_t **arr = after ? &t->suffix_ids : &t->prefix_ids;
    size_t *n = after ? &t->n_suffix : &t->n_prefix;
    if (!json_is_array(ids))
        return jfail(c, DGXM_ERR_FORMAT, path, "\"ids\" is not an array");
    for (size_t i = 0; i < json_array_size(ids); i++) {
        int32_t id;
        size_t cap = *n;
        dgxm_status st = get_id(c, json_array_get(ids, i), path, &id);
        if (st != DGXM_OK)
            return st;
        if (!dgxm_grow((void **)arr, &cap, *n + 1, sizeof **arr))
            return nomem(c, path);
        (*arr)[(*n)++] = id;
    }
    return DGXM_OK;
}

/* A special token of the template: its ids from special_tokens, before or after $A. */
static dgxm_status special_item(jctx *c, json_t *specials, const char *key, const char *path,
                                bool seen_a)
{
    json_t *entry = json_object_get(specials, key);
    if (!json_is_object(entry))
        return jfail(c, DGXM_ERR_FORMAT, path,
                     "special token \"%s\" has no entry in special_tokens", key);
    return push_ids(c, seen_a, json_object_get(entry, "ids"), path);
}

/* {"Sequence": {"id": "A", ...}} or {"SpecialToken": {"id": NAME, ...}} */
static dgxm_status template_object_item(jctx *c, json_t *specials, json_t *item, const char *path,
                                        bool *seen_a)
{
    json_t *seq = json_object_get(item, "Sequence"), *sp = json_object_get(item, "SpecialToken");
    json_t *id = json_object_get(seq ? seq : sp, "id");
    if (!json_is_string(id))
        return jfail(c, DGXM_ERR_FORMAT, path,
                     "expected {\"Sequence\": {\"id\": ...}} or {\"SpecialToken\": {\"id\": ...}}");
    if (!seq)
        return special_item(c, specials, json_string_value(id), path, *seen_a);
    if (strcmp(json_string_value(id), "A") != 0)
        return jfail(c, DGXM_ERR_FORMAT, path, "single template has sequence \"%s\"",
                     json_string_value(id));
    *seen_a = true;
    return DGXM_OK;
}

static dgxm_status parse_template(jctx *c, json_t *j, const char *path)
{
    json_t *single = json_object_get(j, "single");
    json_t *specials = json_object_get(j, "special_tokens");
    char sub[PATH_MAX_LEN];
    bool seen_a = false;
    dgxm_status st = DGXM_OK;
    if (json_is_array(single)) {
        for (size_t i = 0; st == DGXM_OK && i < json_array_size(single); i++) {
            snprintf(sub, sizeof sub, "%s.single[%zu]", path, i);
            st = template_object_item(c, specials, json_array_get(single, i), sub, &seen_a);
        }
    } else {
        return jfail(c, DGXM_ERR_FORMAT, path, "\"single\" is missing or not an array");
    }
    if (st == DGXM_OK && !seen_a)
        return jfail(c, DGXM_ERR_FORMAT, path, "single template lacks $A");
    return st;
}

static dgxm_status parse_post_processor(jctx *c, json_t *j, const char *path, int depth)
{
    if (!j || json_is_null(j))
        return DGXM_OK;
    if (!json_is_object(j))
        return jfail(c, DGXM_ERR_FORMAT, path, "is %s, not an object", type_of(j));
    if (depth > MAX_NESTING)
        return jfail(c, DGXM_ERR_UNSUPPORTED, path, "Sequences nested too deeply");
    const char *type;
    dgxm_status st = get_string(c, j, "type", path, false, &type, NULL);
    if (st != DGXM_OK)
        return st;
    if (!strcmp(type, "TemplateProcessing")) {
        if (c->tok->n_prefix || c->tok->n_suffix)
            return jfail(c, DGXM_ERR_UNSUPPORTED, path, "more than one TemplateProcessing");
        return parse_template(c, j, path);
    }
    if (!strcmp(type, "ByteLevel"))
        return DGXM_OK; /* only trims offsets */
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(j, "processors");
        if (!json_is_array(list))
            return jfail(c, DGXM_ERR_FORMAT, path, "\"processors\" is not an array");
        for (size_t i = 0; i < json_array_size(list); i++) {
            char sub[PATH_MAX_LEN];
            snprintf(sub, sizeof sub, "%s.processors[%zu]", path, i);
            if ((st = parse_post_processor(c, json_array_get(list, i), sub, depth + 1)) != DGXM_OK)
                return st;
        }
        return DGXM_OK;
    }
    return jfail(c, DGXM_ERR_UNSUPPORTED, path, "post_processor type \"%s\" is not supported",
                 type);
}

/* ---- added_tokens ---- */

/* As tokenizers' AddedVocabulary::add_tokens: the id is the vocabulary's for that content
 * (the file's "id" is not consulted), else the next id after the vocabulary and the tokens
 * added so far; a repeated content keeps its id and takes the later flags. */
static dgxm_status add_json_token(jctx *c, json_t *e, const char *path)
{
    dgxm_tokenizer *t = c->tok;
    const char *content;
    size_t len;
    dgxm_status st = get_string(c, e, "content", path, false, &content, &len);
    if (st != DGXM_OK)
        return st;
    bool special, flags[4];
    if ((st = get_bool(c, e, "special", path, false, false, &special)) != DGXM_OK ||
        (st = get_bool(c, e, "single_word", path, false, false, &flags[0])) != DGXM_OK ||
        (st = get_bool(c, e, "lstrip", path, false, false, &flags[1])) != DGXM_OK ||
        (st = get_bool(c, e, "rstrip", path, false, false, &flags[2])) != DGXM_OK ||
        (st = get_bool(c, e, "normalized", path, false, !special, &flags[3])) != DGXM_OK)
        return st;
    json_t *id = json_object_get(e, "id");
    int32_t file_id; /* checked, not used: see above */
    if ((st = get_id(c, id ? id : json_null(), path, &file_id)) != DGXM_OK)
        return st;
    if (len == 0)
        return DGXM_OK; /* the library ignores empty tokens */
    dgxm_strbuf norm = { 0 };
    if (!dgxm_tokenizer_normalize(t, content, len, &norm)) {
        dgxm_strbuf_free(&norm);
        return nomem(c, path);
    }
    dgxm_added_token *slot = NULL;
    for (size_t k = 0; k < t->n_added && !slot; k++)
        if (t->added[k].raw_len == len && memcmp(t->added[k].raw, content, len) == 0)
            slot = &t->added[k];
    size_t cap = t->n_added;
    if (!slot) {
        if (!dgxm_grow((void **)&t->added, &cap, t->n_added + 1, sizeof *t->added) ||
            !(t->added[t->n_added].raw = copy_bytes(content, len))) {
            dgxm_strbuf_free(&norm);
            return nomem(c, path);
        }
        slot = &t->added[t->n_added++];
        slot->raw_len = len;
        slot->content = NULL;
        int32_t vid = dgxm_unigram_find(t->model, content, len);
        slot->id = vid >= 0 ? vid : t->vocab_size++;
    }
    free(slot->content);
    bool normalized = flags[3];
    slot->content = normalized ? norm.data : copy_bytes(content, len);
    slot->len = normalized ? norm.len : len;
    if (!normalized)
        dgxm_strbuf_free(&norm);
    if (!slot->content)
        return nomem(c, path);
    slot->single_word = flags[0], slot->lstrip = flags[1], slot->rstrip = flags[2];
    slot->normalized = normalized;
    t->any_normalized_added |= normalized;
    return DGXM_OK;
}

static dgxm_status parse_added_tokens(jctx *c, json_t *root)
{
    json_t *list = json_object_get(root, "added_tokens");
    if (!list || json_is_null(list))
        return DGXM_OK;
    if (!json_is_array(list))
        return jfail(c, DGXM_ERR_FORMAT, "added_tokens", "is %s, not an array", type_of(list));
    for (size_t i = 0; i < json_array_size(list); i++) {
        char path[PATH_MAX_LEN];
        snprintf(path, sizeof path, "added_tokens[%zu]", i);
        json_t *e = json_array_get(list, i);
        if (!json_is_object(e))
            return jfail(c, DGXM_ERR_FORMAT, path, "is %s, not an object", type_of(e));
        dgxm_status st = add_json_token(c, e, path);
        if (st != DGXM_OK)
            return st;
    }
    return DGXM_OK;
}

/* ---- the whole file ---- */

static int32_t find_token(const dgxm_tokenizer *t, const char *s)
{
    size_t n = strlen(s);
    for (size_t k = 0; k < t->n_added; k++)
        if (t->added[k].raw_len == n && memcmp(t->added[k].raw, s, n) == 0)
            return t->added[k].id;
    return dgxm_unigram_find(t->model, s, n);
}

dgxm_tokenizer *dgxm_tokenizer_from_json(const char *file, const char *json, size_t len,
                                         dgxm_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root) {
        dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: malformed JSON at line %d column %d: %s", file,
                       je.line, je.column, je.text);
        return NULL;
    }
    jctx c = { file, err, dgxm_tokenizer_alloc(file) };
    dgxm_status st = DGXM_OK;
    if (!c.tok) {
        st = DGXM_ERR_NOMEM;
        dgxm_error_set(err, st, "%s: out of memory", file);
    } else if (!json_is_object(root)) {
        st = DGXM_ERR_FORMAT;
        dgxm_error_set(err, st, "%s: the top level is %s, not an object", file, type_of(root));
    }
    if (st == DGXM_OK)
        st = parse_model(&c, root);
    if (st == DGXM_OK)
        st = parse_normalizer(&c, json_object_get(root, "normalizer"), "normalizer", 0);
    if (st == DGXM_OK)
        st = parse_pre_tokenizer(&c, json_object_get(root, "pre_tokenizer"), "pre_tokenizer", 0);
    if (st == DGXM_OK)
        st = parse_post_processor(&c, json_object_get(root, "post_processor"), "post_processor", 0);
    if (st == DGXM_OK)
        st = parse_added_tokens(&c, root);
    json_decref(root);
    if (st != DGXM_OK) {
        dgxm_tokenizer_free(c.tok);
        return NULL;
    }
    dgxm_tokenizer *t = c.tok;
    t->eos_id = t->n_suffix ? t->suffix_ids[t->n_suffix - 1] : find_token(t, "</s>");
    t->pad_id = find_token(t, "<pad>");
    for (size_t i = 0; i < t->n_prefix; i++)
        if (t->prefix_ids[i] >= t->vocab_size)
            t->vocab_size = t->prefix_ids[i] + 1;
    for (size_t i = 0; i < t->n_suffix; i++)
        if (t->suffix_ids[i] >= t->vocab_size)
            t->vocab_size = t->suffix_ids[i] + 1;
    return t;
}
