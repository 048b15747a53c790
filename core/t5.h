/* The T5 text encoder of a MusicGen checkpoint and the projection of its output into the
 * decoder's width (enc_to_dec_proj): prompt ids in, cross-attention conditioning out.
 *
 * Ownership: dgxm_t5_new uploads the weights into the given backend (float32) and returns an
 * object freed with dgxm_t5_free, which releases them; the backend must outlive it. The weights
 * object is only read during dgxm_t5_new.
 * Threads: everything on the engine thread that owns the backend.
 */
#ifndef DGXM_T5_H
#define DGXM_T5_H

#include "backend.h"
#include "model_config.h"
#include "weights.h"

#include <stdint.h>

typedef struct dgxm_t5 dgxm_t5;

dgxm_t5 *dgxm_t5_new(dgxm_backend *backend, const dgxm_weights *weights,
                     const dgxm_model_config *cfg, dgxm_error *err);
void dgxm_t5_free(dgxm_t5 *t5);

/* Encodes one prompt of n ids (n >= 1, every id below the embedding's rows). Writes, when not
 * NULL, the encoder's last hidden state to hidden[n][t5.d_model] and the projected conditioning
 * to conditioning[n][decoder.hidden_size]; both are host memory owned by the caller. */
dgxm_status dgxm_t5_encode(dgxm_t5 *t5, const int32_t *ids, int n, float *hidden,
                           float *conditioning, dgxm_error *err);

/* T5's bidirectional relative-position bucket of (key - query), as the reference computes it in
 * float32. Exposed for tests. Any thread. */
int dgxm_t5_relative_bucket(int relative_position, int num_buckets, int max_distance);

#endif
