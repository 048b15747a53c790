/* The tokenizer's public face: loading from a checkpoint directory or one file, checking that
 * spiece.model and tokenizer.json agree, and encoding (added tokens -> normalisers ->
 * pre-tokenizers -> Unigram -> template). See tokenizer.h. */
#include "tokenizer.h"
#include "added_tokens.h"
#include "tokenizer_impl.h"
#include "tokenizer_json.h"
#include "tokenizer_spm.h"
#include "utf8.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    DEFAULT_EXTRA_IDS = 100
};

dgxm_tokenizer *dgxm_tokenizer_alloc(const char *file)
{
    dgxm_tokenizer *tok = calloc(1, sizeof *tok);
    if (tok && !(tok->file = strdup(file))) {
        free(tok);
        return NULL;
    }
    if (tok)
        tok->eos_id = tok->pad_id = -1;
    return tok;
}

void dgxm_tokenizer_free(dgxm_tokenizer *tok)
{
    if (!tok)
        return;
    for (size_t i = 0; i < tok->n_norm; i++) {
        dgxm_charsmap_free(tok->norm[i].charsmap);
        free(tok->norm[i].pattern);
        free(tok->norm[i].content);
    }
    for (size_t i = 0; i < tok->n_added; i++) {
        free(tok->added[i].content);
        free(tok->added[i].raw);
    }
    dgxm_unigram_free(tok->model);
    free(tok->norm);
    free(tok->pretok);
    free(tok->added);
    free(tok->prefix_ids);
    free(tok->suffix_ids);
    free(tok->file);
    free(tok);
}

const dgxm_charsmap *dgxm_tokenizer_charsmap(const dgxm_tokenizer *tok)
{
    for (size_t i = 0; i < tok->n_norm; i++)
        if (tok->norm[i].kind == DGXM_NORM_PRECOMPILED)
            return tok->norm[i].charsmap;
    return NULL;
}

/* ---- files ---- */

static char *read_file(const char *path, size_t *len, dgxm_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        dgxm_error_set(err, DGXM_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(sb.st_mode)) {
        dgxm_error_set(err, DGXM_ERR_IO, "%s: not a regular file", path);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        dgxm_error_set(err, DGXM_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t size = (size_t)sb.st_size;
    char *buf = malloc(size + 1);
    size_t got = buf ? fread(buf, 1, size, f) : 0;
    int failed = ferror(f);
    fclose(f);
    if (!buf || got != size || failed) {
        free(buf);
        dgxm_error_set(err, buf ? DGXM_ERR_IO : DGXM_ERR_NOMEM, "%s: cannot read %zu bytes", path,
                       size);
        return NULL;
    }
    buf[size] = '\0';
    *len = size;
    return buf;
}

static bool is_regular(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static dgxm_tokenizer *load_spm_file(const char *path, int extra_ids, dgxm_error *err)
{
    size_t len = 0;
    char *bytes = read_file(path, &len, err);
    if (!bytes)
        return NULL;
    dgxm_tokenizer *tok = dgxm_tokenizer_from_spm(path, bytes, len, extra_ids, err);
    free(bytes);
    return tok;
}

dgxm_tokenizer *dgxm_tokenizer_load_spm(const char *path, dgxm_error *err)
{
    return load_spm_file(path, DEFAULT_EXTRA_IDS, err);
}

dgxm_tokenizer *dgxm_tokenizer_load_json(const char *path, dgxm_error *err)
{
    size_t len = 0;
    char *text = read_file(path, &len, err);
    if (!text)
        return NULL;
    dgxm_tokenizer *tok = dgxm_tokenizer_from_json(path, text, len, err);
    free(text);
    return tok;
}

dgxm_tokenizer *dgxm_tokenizer_parse_spm(const char *name_for_errors, const void *bytes, size_t len,
                                         dgxm_error *err)
{
    return dgxm_tokenizer_from_spm(name_for_errors, bytes, len, DEFAULT_EXTRA_IDS, err);
}

dgxm_tokenizer *dgxm_tokenizer_parse_json(const char *name_for_errors, const char *json, size_t len,
                                          dgxm_error *err)
{
    return dgxm_tokenizer_from_json(name_for_errors, json, len, err);
}

/* tokenizer_config.json's "extra_ids" when the file exists and has it, else 100. */
static dgxm_status read_extra_ids(const char *path, int *extra_ids, dgxm_error *err)
{
    *extra_ids = DEFAULT_EXTRA_IDS;
    if (!is_regular(path))
        return DGXM_OK;
    json_error_t je;
    /* as reals: transformers writes model_max_length as 1e30, too big for an integer */
    json_t *root = json_load_file(path, JSON_DECODE_INT_AS_REAL, &je);
    if (!root)
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: malformed JSON at line %d column %d: %s",
                              path, je.line, je.column, je.text);
    json_t *v = json_object_get(root, "extra_ids");
    double x = v && json_is_number(v) ? json_number_value(v) : -1.0;
    dgxm_status st = DGXM_OK;
    if (v && !(x >= 0.0 && x <= 100000.0 && x == (double)(int)x)) {
        st = DGXM_ERR_FORMAT;
        dgxm_error_set(err, st, "%s: extra_ids: expected an integer 0 .. 100000", path);
    } else if (v) {
        *extra_ids = (int)x;
    }
    json_decref(root);
    return st;
}

/* The first difference between the two readings of one checkpoint, or DGXM_OK. */
static dgxm_status compare(const dgxm_tokenizer *spm, const char *spm_path,
                           const dgxm_tokenizer *js, const char *json_path, dgxm_error *err)
{
    size_t n = spm->n_file_pieces, nj = dgxm_unigram_size(js->model);
    if (nj < n)
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s and %s disagree: %zu pieces in spiece.model but only %zu in "
                              "tokenizer.json model.vocab",
                              spm_path, json_path, n, nj);
    for (size_t i = 0; i < n; i++) {
        size_t la, lb;
        double sa, sb;
        const char *a = dgxm_unigram_piece_at(spm->model, i, &la, &sa);
        const char *b = dgxm_unigram_piece_at(js->model, i, &lb, &sb);
        if (la != lb || memcmp(a, b, la) != 0 || !(fabs(sa - sb) <= 1e-6))
            return dgxm_error_set(err, DGXM_ERR_FORMAT,
                                  "%s and %s disagree: piece %zu is \"%.*s\" (score %.9g) in "
                                  "spiece.model but \"%.*s\" (score %.9g) in tokenizer.json",
                                  spm_path, json_path, i, (int)(la > 40 ? 40 : la), a, sa,
                                  (int)(lb > 40 ? 40 : lb), b, sb);
    }
    const dgxm_charsmap *ca = dgxm_tokenizer_charsmap(spm), *cb = dgxm_tokenizer_charsmap(js);
    size_t la = 0, lb = 0;
    const uint8_t *ba = ca ? dgxm_charsmap_blob(ca, &la) : NULL;
    const uint8_t *bb = cb ? dgxm_charsmap_blob(cb, &lb) : NULL;
    size_t i = 0;
    while (i < la && i < lb && ba[i] == bb[i])
        i++;
    if (la != lb || i < la)
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s and %s disagree: the precompiled_charsmap (%zu bytes in "
                              "spiece.model, %zu in tokenizer.json) first differs at byte %zu",
                              spm_path, json_path, la, lb, i);
    return DGXM_OK;
}

/* Reads the files of dir that source asks for; both -> compared, tokenizer.json's kept. */
static dgxm_tokenizer *load_files(const char *dir, dgxm_tokenizer_source source,
                                  const char *spm_path, const char *json_path,
                                  const char *config_path, dgxm_error *err)
{
    bool has_spm = source != DGXM_TOKENIZER_JSON && is_regular(spm_path);
    bool has_json = source != DGXM_TOKENIZER_SPM && is_regular(json_path);
    if (!has_spm && !has_json) {
        if (source == DGXM_TOKENIZER_AUTO)
            dgxm_error_set(err, DGXM_ERR_IO,
                           "%s: neither tokenizer.json nor spiece.model is in this directory", dir);
        else
            dgxm_error_set(err, DGXM_ERR_IO, "%s: missing",
                           source == DGXM_TOKENIZER_SPM ? spm_path : json_path);
        return NULL;
    }
    dgxm_tokenizer *js = NULL, *spm = NULL;
    if (has_json && !(js = dgxm_tokenizer_load_json(json_path, err)))
        return NULL;
    if (has_spm) {
        int extra_ids;
        if (read_extra_ids(config_path, &extra_ids, err) != DGXM_OK ||
            !(spm = load_spm_file(spm_path, extra_ids, err))) {
            dgxm_tokenizer_free(js);
            return NULL;
        }
    }
    if (!js)
        return spm;
    if (spm && compare(spm, spm_path, js, json_path, err) != DGXM_OK) {
        dgxm_tokenizer_free(js);
        js = NULL;
    }
    dgxm_tokenizer_free(spm);
    return js;
}

dgxm_tokenizer *dgxm_tokenizer_load_dir(const char *dir, dgxm_tokenizer_source source,
                                        dgxm_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        dgxm_error_set(err, DGXM_ERR_IO, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        dgxm_error_set(err, DGXM_ERR_IO, "%s: not a directory", dir);
        return NULL;
    }
    char *spm_path = NULL, *json_path = NULL, *config_path = NULL;
    dgxm_tokenizer *tok = NULL;
    if (asprintf(&spm_path, "%s/spiece.model", dir) < 0)
        spm_path = NULL;
    if (asprintf(&json_path, "%s/tokenizer.json", dir) < 0)
        json_path = NULL;
    if (asprintf(&config_path, "%s/tokenizer_config.json", dir) < 0)
        config_path = NULL;
    if (!spm_path || !json_path || !config_path)
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory", dir);
    else
        tok = load_files(dir, source, spm_path, json_path, config_path, err);
    free(spm_path);
    free(json_path);
    free(config_path);
    return tok;
}

dgxm_tokenizer *dgxm_tokenizer_load(const char *dir, dgxm_error *err)
{
    return dgxm_tokenizer_load_dir(dir, DGXM_TOKENIZER_AUTO, err);
}

/* ---- encoding ---- */

typedef struct encode_ctx {
    const dgxm_tokenizer *tok;
    dgxm_idvec *ids;
    dgxm_error *err;
    bool segment_first; /* the raw segment being normalised starts at byte 0 */
} encode_ctx;

static dgxm_status on_normalized_text(void *p, const char *text, size_t len, size_t offset)
{
    encode_ctx *c = p;
    return dgxm_tokenizer_encode_segment(c->tok, text, len, c->segment_first && offset == 0, c->ids,
                                         c->err);
}

/* A stretch of raw text between added tokens: normalise it, split it around the normalized
 * added tokens, pre-tokenize and encode the rest. */
static dgxm_status on_raw_text(void *p, const char *text, size_t len, size_t offset)
{
    encode_ctx *c = p;
    dgxm_strbuf norm = { 0 };
    dgxm_status st;
    if (!dgxm_tokenizer_normalize(c->tok, text, len, &norm)) {
        st = DGXM_ERR_NOMEM;
        dgxm_error_set(c->err, DGXM_ERR_NOMEM, "%s: out of memory normalising", c->tok->file);
    } else {
        c->segment_first = offset == 0;
        st = c->tok->any_normalized_added
                 ? dgxm_added_split(c->tok, true, norm.data ? norm.data : "", norm.len,
                                    on_normalized_text, c, c->ids, c->err)
                 : on_normalized_text(c, norm.data ? norm.data : "", norm.len, 0);
    }
    dgxm_strbuf_free(&norm);
    return st;
}

static bool push_all(dgxm_idvec *v, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!dgxm_idvec_push(v, ids[i]))
            return false;
    return true;
}

dgxm_status dgxm_tokenizer_encode(const dgxm_tokenizer *tok, const char *text, size_t len,
                                  int32_t **ids, size_t *count, dgxm_error *err)
{
    *ids = NULL;
    *count = 0;
    if (!tok || (!text && len))
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "tokenizer encode: no %s",
                              tok ? "text" : "tokenizer");
    size_t bad;
    if (!dgxm_utf8_validate(text, len, &bad))
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "text: invalid UTF-8 at byte offset %zu (%s)", bad,
                              dgxm_utf8_problem((const uint8_t *)text + bad, len - bad));
    dgxm_idvec v = { 0 };
    encode_ctx c = { tok, &v, err, false };
    dgxm_status st = DGXM_OK;
    if (!push_all(&v, tok->prefix_ids, tok->n_prefix))
        st = DGXM_ERR_NOMEM;
    if (st == DGXM_OK)
        st = dgxm_added_split(tok, false, text ? text : "", len, on_raw_text, &c, &v, err);
    if (st == DGXM_OK && !push_all(&v, tok->suffix_ids, tok->n_suffix))
        st = DGXM_ERR_NOMEM;
    if (st == DGXM_ERR_NOMEM)
        dgxm_error_set(err, st, "%s: out of memory for token ids", tok->file);
    if (st != DGXM_OK) {
        dgxm_idvec_free(&v);
        return st;
    }
    if (!v.data && !(v.data = malloc(sizeof *v.data))) /* empty result: still a heap pointer */
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory", tok->file);
    *ids = v.data;
    *count = v.len;
    return DGXM_OK;
}

int dgxm_tokenizer_vocab_size(const dgxm_tokenizer *tok)
{
    return tok->vocab_size;
}

int dgxm_tokenizer_eos_id(const dgxm_tokenizer *tok)
{
    return tok->eos_id;
}

int dgxm_tokenizer_pad_id(const dgxm_tokenizer *tok)
{
    return tok->pad_id;
}
