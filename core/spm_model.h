/* A SentencePiece ModelProto (spiece.model) read from the protobuf wire format: the pieces, the
 * trainer_spec fields the tokenizer needs and the normalizer_spec. Only what transformers'
 * converter reads is kept; other fields are skipped. Every length is checked against the
 * enclosing message.
 *
 * Ownership: dgxm_spm_model_parse fills a caller-owned struct whose memory is released by
 * dgxm_spm_model_clear. Threads: any, one model per thread.
 */
#ifndef DGXM_SPM_MODEL_H
#define DGXM_SPM_MODEL_H

#include "dgxm/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SentencePiece.Type */
enum {
    DGXM_SPM_NORMAL = 1,
    DGXM_SPM_UNKNOWN = 2,
    DGXM_SPM_CONTROL = 3,
    DGXM_SPM_USER_DEFINED = 4,
    DGXM_SPM_UNUSED = 5,
    DGXM_SPM_BYTE = 6
};

/* TrainerSpec.ModelType */
enum {
    DGXM_SPM_UNIGRAM = 1,
    DGXM_SPM_BPE = 2,
    DGXM_SPM_WORD = 3,
    DGXM_SPM_CHAR = 4
};

typedef struct dgxm_spm_piece {
    const char *text; /* inside the model's copy of the file; valid UTF-8, not NUL-terminated */
    size_t len;
    float score;
    int32_t type;
} dgxm_spm_piece;

typedef struct dgxm_spm_model {
    uint8_t *data; /* copy of the file */
    dgxm_spm_piece *pieces;
    size_t n_pieces;
    /* trainer_spec (proto defaults when absent) */
    int32_t model_type, unk_id, bos_id, eos_id, pad_id;
    bool byte_fallback;
    /* normalizer_spec */
    const uint8_t *charsmap; /* precompiled_charsmap, inside data; NULL when absent */
    size_t charsmap_len;
    bool add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
} dgxm_spm_model;

/* Parses len bytes. Errors name file and the field path (e.g. "pieces[12].piece") with the
 * byte offset. Does not judge the model type or ids: the converter does. */
dgxm_status dgxm_spm_model_parse(const char *file, const void *bytes, size_t len, dgxm_spm_model *m,
                                 dgxm_error *err);
void dgxm_spm_model_clear(dgxm_spm_model *m);

#endif
