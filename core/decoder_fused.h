/* The decoder step run whole on the device when the backend offers it (kernels/fused_step.h):
 * the same model as core/decoder_step.c, with the token choice and the delay-pattern grid kept
 * on the device, so a GPU replays one captured graph per step instead of ~200 host calls.
 *
 * Ownership: a dgxm_decoder_fused belongs to one generation (its cross K/V, KV caches and the
 * captured step), is made from a decoder that must outlive it, and is freed with
 * dgxm_decoder_fused_free. Threads: the engine thread that owns the decoder's backend.
 */
#ifndef DGXM_DECODER_FUSED_H
#define DGXM_DECODER_FUSED_H

#include "decoder.h"
#include "fused_step.h"
#include "sampler.h"

#include <stdint.h>

typedef struct dgxm_decoder_fused dgxm_decoder_fused;

/* A generation of windows of up to `capacity` positions. NULL with DGXM_ERR_UNSUPPORTED when
 * the backend has no fused step or this model is outside what it fuses (the caller then steps
 * op by op); other errors as dgxm_decoder_state_new. */
dgxm_decoder_fused *dgxm_decoder_fused_new(dgxm_decoder *dec, int rows, int capacity,
                                           const float *conditioning, int lt,
                                           const dgxm_sampling *sampling, dgxm_error *err);
void dgxm_decoder_fused_free(dgxm_decoder_fused *f);

/* Starts a window over grid[K][columns] (host memory, as core/generate.c lays it out): frames
 * [prompt, frames) are generated; step_base is the global index of its first step. */
dgxm_status dgxm_decoder_fused_window(dgxm_decoder_fused *f, const int32_t *grid, int columns,
                                      int prompt, int frames, int step_base, dgxm_error *err);

/* Runs the next step; column[K] receives the grid column it wrote. With queue_next the step
 * after it may already be queued on the device when this returns (kernels/fused_step.h), so
 * the device does not wait for the caller between steps; dgxm_decoder_fused_logits and
 * dgxm_decoder_fused_profile then fail until the window's last step or the next window. */
dgxm_status dgxm_decoder_fused_step(dgxm_decoder_fused *f, int32_t *column, bool queue_next,
                                    dgxm_error *err);

/* The last step's logits [rows][K][vocab] into host memory. */
dgxm_status dgxm_decoder_fused_logits(dgxm_decoder_fused *f, float *logits, dgxm_error *err);

/* Kernel launches in one step (reports). */
int dgxm_decoder_fused_kernels(const dgxm_decoder_fused *f);

/* Runs the next step kernel by kernel with timing (see kernels/fused_step.h); fills up to max
 * entries and returns their count, or -1 with err set. */
int dgxm_decoder_fused_profile(dgxm_decoder_fused *f, dgxm_fused_profile_entry *out, int max,
                               dgxm_error *err);

#endif
