/* The MusicGen language-model decoder: K codebook embeddings summed with sinusoidal positions,
 * pre-norm layers (causal self-attention with a KV cache, cross-attention on the projected text,
 * exact-GELU feed-forward), a final LayerNorm and K heads.
 *
 * Batch rows: row 0 is conditioned on the prompt; with classifier-free guidance a second row is
 * the null branch, whose cross-attention memory is all zeros: its cross-attention output is then
 * exactly zero, so that block is skipped for it rather than computed.
 *
 * Ownership: dgxm_decoder_new uploads the weights (float32) into the backend and returns an
 * object freed with dgxm_decoder_free; a dgxm_decoder_state (KV caches, cross K/V) belongs to one
 * generation and is freed with dgxm_decoder_state_free before its decoder.
 * Threads: every call on the engine thread that owns the backend.
 */
#ifndef DGXM_DECODER_H
#define DGXM_DECODER_H

#include "backend.h"
#include "model_config.h"
#include "weights.h"

#include <stdint.h>

typedef struct dgxm_decoder dgxm_decoder;
typedef struct dgxm_decoder_state dgxm_decoder_state;

/* format: the storage of every matrix of the layers and heads (embeddings stay float32). */
dgxm_decoder *dgxm_decoder_new(dgxm_backend *backend, const dgxm_weights *weights,
                               const dgxm_model_config *cfg, dgxm_weight_format format,
                               dgxm_error *err);
void dgxm_decoder_free(dgxm_decoder *dec);

/* A generation of up to `capacity` positions for `rows` batch rows (1, or 2 with guidance).
 * conditioning is host memory [lt][hidden_size] (the projected, masked text states); lt may be
 * 0 for an unconditional generation. */
dgxm_decoder_state *dgxm_decoder_state_new(dgxm_decoder *dec, int rows, int capacity,
                                           const float *conditioning, int lt, dgxm_error *err);
void dgxm_decoder_state_free(dgxm_decoder_state *st);

/* Runs one position: tokens[k] (k < num_codebooks; each <= vocab_size, the special token
 * included) is the input column, fed identically to every row. Writes logits to host memory
 * logits[rows][num_codebooks][vocab_size] and advances the position. */
dgxm_status dgxm_decoder_step(dgxm_decoder_state *st, const int32_t *tokens, float *logits,
                              dgxm_error *err);

/* Moves the next step to `position` (< capacity) without running the steps before it; the
 * cache there holds whatever it held (zeros in a new state). For benchmarks of late steps. */
dgxm_status dgxm_decoder_state_seek(dgxm_decoder_state *st, int position, dgxm_error *err);

/* Bytes of weights one step reads (every matrix, embedding row and head), for bandwidth
 * floors. */
double dgxm_decoder_step_weight_bytes(const dgxm_decoder *dec);

/* Positions run so far. */
int dgxm_decoder_state_position(const dgxm_decoder_state *st);

#endif
