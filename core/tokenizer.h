/* The T5 SentencePiece-unigram tokenizer of a MusicGen checkpoint, read from spiece.model
 * and/or tokenizer.json, producing exactly the ids of the Hugging Face tokenizer.
 *
 * Ownership: load functions return an object freed with dgxm_tokenizer_free; encode returns a
 * malloc'ed id array the caller frees with free().
 * Threads: load/free on a control thread; encode is read-only on the tokenizer, so several
 * threads may encode with one tokenizer at once.
 */
#ifndef DGXM_TOKENIZER_H
#define DGXM_TOKENIZER_H

#include "dgxm/status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dgxm_tokenizer dgxm_tokenizer;

/* Which file of a checkpoint directory to read. */
typedef enum dgxm_tokenizer_source {
    DGXM_TOKENIZER_AUTO, /* both when both exist (they must agree), else the one there */
    DGXM_TOKENIZER_SPM,  /* spiece.model only */
    DGXM_TOKENIZER_JSON  /* tokenizer.json only */
} dgxm_tokenizer_source;

/* Reads dir/tokenizer.json and dir/spiece.model; either alone is enough; when both exist they
 * must describe the same vocabulary (pieces, scores within 1e-6) and normalisation
 * (precompiled_charsmap bytes), else an error names both files and the first difference; the
 * tokenizer.json pipeline is then used. spiece.model alone is converted as transformers does,
 * with tokenizer_config.json's "extra_ids" (default 100) <extra_id_N> tokens. */
dgxm_tokenizer *dgxm_tokenizer_load(const char *dir, dgxm_error *err);
dgxm_tokenizer *dgxm_tokenizer_load_dir(const char *dir, dgxm_tokenizer_source source,
                                        dgxm_error *err);
/* One file on its own (spiece.model: 100 extra ids). */
dgxm_tokenizer *dgxm_tokenizer_load_spm(const char *path, dgxm_error *err);
dgxm_tokenizer *dgxm_tokenizer_load_json(const char *path, dgxm_error *err);
/* In-memory forms (fuzz targets, tests); name_for_errors stands for the file in messages. */
dgxm_tokenizer *dgxm_tokenizer_parse_spm(const char *name_for_errors, const void *bytes, size_t len,
                                         dgxm_error *err);
dgxm_tokenizer *dgxm_tokenizer_parse_json(const char *name_for_errors, const char *json, size_t len,
                                          dgxm_error *err);
void dgxm_tokenizer_free(dgxm_tokenizer *tok);

/* Tokenises text (len bytes of UTF-8; invalid UTF-8 is DGXM_ERR_INVALID_ARG naming the byte
 * offset) into *ids (*count entries, the final </s> included), as the Hugging Face tokenizer
 * does with add_special_tokens: added tokens (</s>, <pad>, <unk>, <extra_id_N>) matched
 * literally in the raw text, then normalisation, pre-tokenisation and Unigram per word.
 * On failure *ids is NULL and *count 0. */
dgxm_status dgxm_tokenizer_encode(const dgxm_tokenizer *tok, const char *text, size_t len,
                                  int32_t **ids, size_t *count, dgxm_error *err);

/* Number of ids the tokenizer can produce (pieces + added tokens), and the special ids (-1 when
 * the tokenizer has none). */
int dgxm_tokenizer_vocab_size(const dgxm_tokenizer *tok);
int dgxm_tokenizer_eos_id(const dgxm_tokenizer *tok);
int dgxm_tokenizer_pad_id(const dgxm_tokenizer *tok);

#endif
