/* Text conditioning in, codebook codes out: the delay pattern, classifier-free guidance, token
 * choice, and the windowed extension for clips longer than one window.
 *
 * Threads: the engine thread that owns the decoder's backend. The caller owns every buffer.
 */
#ifndef DGXM_GENERATE_H
#define DGXM_GENERATE_H

#include "decoder.h"
#include "sampler.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dgxm_generate_options {
    dgxm_sampling sampling;
    int frames;        /* codes per codebook wanted (>= 1) */
    int window_frames; /* longest single window: 0 = 30 s at the model's frame rate */
    int stride_frames; /* window advance when extending: 0 = 18 s at the frame rate */
    /* Called after every decoder step with the steps done and the total planned; returning
     * false cancels (the call then returns DGXM_ERR_CANCELLED). May be NULL. */
    bool (*on_step)(void *ctx, int done, int total);
    void *ctx;
    /* When not NULL, set before every on_step call to the number of leading frames of codes
     * that are final (every codebook written): a streaming decoder may read them from on_step. */
    int *frames_ready;
    /* Step op by op on the host even when the backend can run the whole step on the device
     * (kernels/fused_step.h): the oracle the fused step is tested against. */
    bool op_by_op;
} dgxm_generate_options;

/* Fills codes[K][frames] (checkpoint codebook order, delays removed). conditioning is host
 * memory [lt][hidden] (lt 0 for unconditional). frame_rate converts the window defaults. */
dgxm_status dgxm_generate_codes(dgxm_decoder *dec, const dgxm_decoder_config *cfg,
                                double frame_rate, const float *conditioning, int lt,
                                const dgxm_generate_options *opt, int32_t *codes, dgxm_error *err);

/* Steps the plan will run for these options (for progress and ETA). */
int dgxm_generate_total_steps(const dgxm_decoder_config *cfg, double frame_rate,
                              const dgxm_generate_options *opt);

#endif
