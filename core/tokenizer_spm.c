/* The spiece.model converter. What transformers 5.x builds for T5 from spiece.model:
 *   vocab      the pieces with their float scores, then <extra_id_{N-1}> ... <extra_id_0> with
 *              score 0 (so <extra_id_0> is the last id)
 *   model      Unigram, unk_id from trainer_spec (T5Tokenizer hard-codes 2, which is what every
 *              T5 spiece.model has), no byte fallback
 *   normalizer Precompiled(normalizer_spec.precompiled_charsmap), none when the charsmap is empty
 *   pre_tok    WhitespaceSplit, then Metaspace("▁", prepend_scheme always, split)
 *   added      CONTROL and USER_DEFINED pieces, </s>, <unk>, <pad> and the extra ids, matched
 *              literally in the raw text (normalized = false, no strip); a special token missing
 *              from the vocabulary gets the next free id, as transformers adds it
 *   post       $A </s>
 * The SentencePiece normalizer flags (add_dummy_prefix, remove_extra_whitespaces,
 * escape_whitespaces) are not consulted: transformers' T5 pipeline is fixed. */
#include "tokenizer_spm.h"
#include "spm_model.h"
#include "tokenizer_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    EXTRA_NAME_MAX = 24
};

static const char *model_type_name(int32_t t)
{
    switch (t) {
    case DGXM_SPM_BPE: return "BPE";
    case DGXM_SPM_WORD: return "WORD";
    case DGXM_SPM_CHAR: return "CHAR";
    default: return "unknown";
    }
}

static dgxm_status check_model(const char *file, const dgxm_spm_model *m, int extra_ids,
                               dgxm_error *err)
{
    if (m->model_type != DGXM_SPM_UNIGRAM)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "%s: trainer_spec.model_type is %s (%d); only UNIGRAM (1) models "
                              "are supported",
                              file, model_type_name(m->model_type), (int)m->model_type);
    if (m->n_pieces == 0)
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: pieces: the model has no pieces", file);
    if (m->unk_id < 0 || (size_t)m->unk_id >= m->n_pieces)
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: trainer_spec.unk_id %d is outside the %zu pieces", file,
                              (int)m->unk_id, m->n_pieces);
    if (extra_ids < 0 || extra_ids > 100000 || m->n_pieces > (size_t)INT32_MAX - 100003)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "%s: %d extra ids with %zu pieces is out of range", file, extra_ids,
                              m->n_pieces);
    return DGXM_OK;
}

/* The model: pieces then the extra ids. names holds the extra-id strings. */
static dgxm_unigram *build_model(const char *file, const dgxm_spm_model *m, int extra_ids,
                                 char *names, dgxm_error *err)
{
    size_t n = m->n_pieces + (size_t)extra_ids;
    dgxm_unigram_piece *p = malloc(n * sizeof *p);
    if (!p) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for %zu pieces", file, n);
        return NULL;
    }
    for (size_t i = 0; i < m->n_pieces; i++)
        p[i] = (dgxm_unigram_piece){ m->pieces[i].text, m->pieces[i].len, m->pieces[i].score };
    for (int k = 0; k < extra_ids; k++) {
        char *name = names + (size_t)k * EXTRA_NAME_MAX;
        int len = snprintf(name, EXTRA_NAME_MAX, "<extra_id_%d>", extra_ids - 1 - k);
        p[m->n_pieces + (size_t)k] = (dgxm_unigram_piece){ name, (size_t)len, 0.0 };
    }
    dgxm_unigram *model = dgxm_unigram_new(file, p, n, m->unk_id, false, err);
    free(p);
    return model;
}

/* Adds a literal, raw-text token; its id is the piece's (the last equal piece), or the next
 * free id when the vocabulary lacks it. Repeated contents are added once. */
static bool add_token(dgxm_tokenizer *tok, const char *s, size_t len)
{
    for (size_t k = 0; k < tok->n_added; k++)
        if (tok->added[k].len == len && memcmp(tok->added[k].content, s, len) == 0)
            return true;
    if (len == 0)
        return true;
    int32_t id = dgxm_unigram_find(tok->model, s, len);
    dgxm_added_token *t = &tok->added[tok->n_added];
    *t = (dgxm_added_token){ .content = malloc(len), .len = len };
    if (!t->content)
        return false;
    memcpy(t->content, s, len);
    t->id = id >= 0 ? id : tok->vocab_size++;
    tok->n_added++;
    return true;
}

static int32_t added_id(const dgxm_tokenizer *tok, const char *s)
{
    for (size_t k = 0; k < tok->n_added; k++)
        if (tok->added[k].len == strlen(s) && memcmp(tok->added[k].content, s, strlen(s)) == 0)
            return tok->added[k].id;
    return -1;
}

static dgxm_status add_tokens(dgxm_tokenizer *tok, const dgxm_spm_model *m, int extra_ids,
                              const char *names)
{
    size_t cap = 3 + (size_t)extra_ids;
    for (size_t i = 0; i < m->n_pieces; i++)
        cap += m->pieces[i].type == DGXM_SPM_CONTROL || m->pieces[i].type == DGXM_SPM_USER_DEFINED;
    if (!(tok->added = calloc(cap, sizeof *tok->added)))
        return DGXM_ERR_NOMEM;
    bool ok = true;
    for (size_t i = 0; ok && i < m->n_pieces; i++)
        if (m->pieces[i].type == DGXM_SPM_CONTROL || m->pieces[i].type == DGXM_SPM_USER_DEFINED)
            ok = add_token(tok, m->pieces[i].text, m->pieces[i].len);
    ok =
        ok && add_token(tok, "</s>", 4) && add_token(tok, "<unk>", 5) && add_token(tok, "<pad>", 5);
    for (int k = 0; ok && k < extra_ids; k++) {
        const char *name = names + (size_t)k * EXTRA_NAME_MAX;
        ok = add_token(tok, name, strlen(name));
    }
    return ok ? DGXM_OK : DGXM_ERR_NOMEM;
}

static dgxm_status build_pipeline(dgxm_tokenizer *tok, const char *file, const dgxm_spm_model *m,
                                  dgxm_error *err)
{
    tok->norm = calloc(1, sizeof *tok->norm);
    tok->pretok = calloc(2, sizeof *tok->pretok);
    tok->suffix_ids = malloc(sizeof *tok->suffix_ids);
    if (!tok->norm || !tok->pretok || !tok->suffix_ids)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory", file);
    if (m->charsmap_len > 0) {
        tok->norm[0].kind = DGXM_NORM_PRECOMPILED;
        tok->norm[0].charsmap = dgxm_charsmap_parse(file, "normalizer_spec.precompiled_charsmap",
                                                    m->charsmap, m->charsmap_len, err);
        if (!tok->norm[0].charsmap)
            return err ? err->status : DGXM_ERR_FORMAT;
        tok->n_norm = 1;
    }
    tok->pretok[0].kind = DGXM_PRETOK_WHITESPACE_SPLIT;
    tok->pretok[1] = (dgxm_pretok_step){ .kind = DGXM_PRETOK_METASPACE,
                                         .replacement = "\xE2\x96\x81",
                                         .replacement_len = 3,
                                         .prepend = DGXM_PREPEND_ALWAYS,
                                         .split = true };
    tok->n_pretok = 2;
    tok->suffix_ids[0] = tok->eos_id;
    tok->n_suffix = 1;
    return DGXM_OK;
}

dgxm_tokenizer *dgxm_tokenizer_from_spm(const char *file, const void *bytes, size_t len,
                                        int extra_ids, dgxm_error *err)
{
    dgxm_spm_model m;
    if (dgxm_spm_model_parse(file, bytes, len, &m, err) != DGXM_OK)
        return NULL;
    dgxm_tokenizer *tok = NULL;
    char *names = NULL;
    if (check_model(file, &m, extra_ids, err) != DGXM_OK)
        goto fail;
    names = calloc((size_t)extra_ids + 1, EXTRA_NAME_MAX);
    tok = dgxm_tokenizer_alloc(file);
    if (!names || !tok) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory", file);
        goto fail;
    }
    if (!(tok->model = build_model(file, &m, extra_ids, names, err)))
        goto fail;
    tok->vocab_size = (int)dgxm_unigram_size(tok->model);
    tok->n_file_pieces = m.n_pieces;
    if (add_tokens(tok, &m, extra_ids, names) != DGXM_OK) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory for added tokens", file);
        goto fail;
    }
    tok->eos_id = added_id(tok, "</s>");
    tok->pad_id = added_id(tok, "<pad>");
    if (build_pipeline(tok, file, &m, err) != DGXM_OK)
        goto fail;
    free(names);
    dgxm_spm_model_clear(&m);
    return tok;
fail:
    free(names);
    dgxm_tokenizer_free(tok);
    dgxm_spm_model_clear(&m);
    return NULL;
}
