/* A loaded MusicGen model: checkpoint, tokenizer, T5, decoder and EnCodec on one backend, and
 * the whole text -> codes -> audio path.
 *
 * Ownership: dgxm_musicgen_load opens the checkpoint directory, checks it completely and uploads
 * every part into the backend; dgxm_musicgen_free releases everything but the backend, which the
 * caller owns and which must outlive the model.
 * Threads: load/free and every other call on the engine thread that owns the backend, except
 * dgxm_musicgen_config, which any thread may read once load has returned.
 */
#ifndef DGXM_MUSICGEN_H
#define DGXM_MUSICGEN_H

#include "backend.h"
#include "generate.h"
#include "model_config.h"

#include <stddef.h>
#include <stdint.h>

enum {
    DGXM_MAX_PROMPT_TOKENS = 2048
};

typedef struct dgxm_musicgen dgxm_musicgen;

/* format: the decoder's weight storage (DGXM_WEIGHT_F32 is the reference path; BF16 halves
 * the bytes each step reads). T5 and EnCodec always run in float32. */
dgxm_musicgen *dgxm_musicgen_load(const char *dir, dgxm_backend *backend, dgxm_weight_format format,
                                  dgxm_error *err);
void dgxm_musicgen_free(dgxm_musicgen *m);

const dgxm_model_config *dgxm_musicgen_config(const dgxm_musicgen *m);

/* Tokenises text (len bytes of UTF-8) and runs T5 and the projection: *conditioning is a
 * malloc'ed [*tokens][decoder hidden] array the caller frees. */
dgxm_status dgxm_musicgen_condition(dgxm_musicgen *m, const char *text, size_t len,
                                    float **conditioning, int *tokens, dgxm_error *err);

/* Codes for opt->frames frames from the prompt: codes[K][frames] in checkpoint order. */
dgxm_status dgxm_musicgen_generate_codes(dgxm_musicgen *m, const char *text, size_t len,
                                         const dgxm_generate_options *opt, int32_t *codes,
                                         dgxm_error *err);

/* Audio from codes[K][frames]: audio[channels][frames * hop] (stereo checkpoints decode the
 * even codebooks to the left channel and the odd ones to the right). */
dgxm_status dgxm_musicgen_decode(dgxm_musicgen *m, const int32_t *codes, int frames, float *audio,
                                 dgxm_error *err);

/* Output channels (1 or 2) and samples per frame. */
int dgxm_musicgen_channels(const dgxm_musicgen *m);
int dgxm_musicgen_hop(const dgxm_musicgen *m);

#endif
