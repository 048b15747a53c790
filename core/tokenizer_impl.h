/* Inside a dgxm_tokenizer: the Hugging Face tokenizers pipeline as data, filled by the
 * tokenizer.json reader (tokenizer_json.c) or the spiece.model converter (tokenizer_spm.c) and
 * run by tokenizer.c. Private to the tokenizer files. */
#ifndef DGXM_TOKENIZER_IMPL_H
#define DGXM_TOKENIZER_IMPL_H

#include "charsmap.h"
#include "tokenizer.h"
#include "unigram.h"

#include <stdbool.h>

typedef enum dgxm_norm_kind {
    DGXM_NORM_PRECOMPILED,
    DGXM_NORM_STRIP,
    DGXM_NORM_REPLACE,
    DGXM_NORM_PREPEND
} dgxm_norm_kind;

typedef struct dgxm_norm_step {
    dgxm_norm_kind kind;
    dgxm_charsmap *charsmap;      /* PRECOMPILED (owned) */
    bool strip_left, strip_right; /* STRIP */
    /* REPLACE: every non-overlapping occurrence of pattern, or, when min_repeat > 0, every run
     * of at least min_repeat copies of pattern (the regex "X{n,}" / "X+" of one character X). */
    char *pattern;
    size_t pattern_len, min_repeat;
    char *content; /* REPLACE replacement, PREPEND prefix */
    size_t content_len;
} dgxm_norm_step;

typedef enum dgxm_pretok_kind {
    DGXM_PRETOK_WHITESPACE_SPLIT,
    DGXM_PRETOK_METASPACE
} dgxm_pretok_kind;

typedef enum dgxm_prepend_scheme {
    DGXM_PREPEND_ALWAYS,
    DGXM_PREPEND_FIRST, /* only on a split that starts at byte 0 of the input */
    DGXM_PREPEND_NEVER
} dgxm_prepend_scheme;

typedef struct dgxm_pretok_step {
    dgxm_pretok_kind kind;
    char replacement[4]; /* METASPACE: one character, usually U+2581 */
    size_t replacement_len;
    dgxm_prepend_scheme prepend;
    bool split;
} dgxm_pretok_step;

/* A token matched literally in the text before the model sees it (tokenizers' AddedVocabulary):
 * leftmost-longest, on the raw text (normalized == false) or on each normalised segment. */
typedef struct dgxm_added_token {
    char *content; /* what is matched: for normalized tokens, after the normalisers */
    size_t len;
    char *raw; /* the content as written */
    size_t raw_len;
    int32_t id;
    bool lstrip, rstrip, single_word, normalized;
} dgxm_added_token;

struct dgxm_tokenizer {
    char *file; /* for messages: the file (or files) it was read from */
    dgxm_unigram *model;
    dgxm_norm_step *norm;
    size_t n_norm;
    dgxm_pretok_step *pretok;
    size_t n_pretok;
    dgxm_added_token *added;
    size_t n_added;
    bool any_normalized_added;
    int32_t *prefix_ids, *suffix_ids; /* post-processor template around $A */
    size_t n_prefix, n_suffix;
    size_t n_file_pieces; /* vocabulary entries read from the file (before extra ids) */
    int vocab_size, eos_id, pad_id;
};

/* Allocates an empty tokenizer whose messages name file. NULL when out of memory. */
dgxm_tokenizer *dgxm_tokenizer_alloc(const char *file);

/* The charsmap of the first Precompiled step, or NULL. */
const dgxm_charsmap *dgxm_tokenizer_charsmap(const dgxm_tokenizer *tok);

/* Runs the normalisers over text (valid UTF-8), replacing the contents of out. */
bool dgxm_tokenizer_normalize(const dgxm_tokenizer *tok, const char *text, size_t len,
                              dgxm_strbuf *out);

/* Runs the pre-tokenizers over one normalised segment and the model over each word, appending
 * ids. first: the segment starts at byte 0 of the input (for prepend_scheme "first"). */
dgxm_status dgxm_tokenizer_encode_segment(const dgxm_tokenizer *tok, const char *text, size_t len,
                                          bool first, dgxm_idvec *ids, dgxm_error *err);

#endif
