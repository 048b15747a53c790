/* Choosing each codebook's next token from guided logits: greedy, or temperature, top-k and
 * top-p sampling with the reference's semantics, drawn from a counter-based RNG (Philox4x32-10)
 * so any backend can reproduce the same draw for the same (seed, step, codebook).
 *
 * Plain functions on caller memory: any thread.
 */
#ifndef DGXM_SAMPLER_H
#define DGXM_SAMPLER_H

#include "dgxm/status.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dgxm_sampling {
    double temperature; /* > 0 */
    double top_p;       /* keep the smallest set whose mass reaches p; 1.0 = off */
    double guidance;    /* classifier-free guidance scale; <= 1 turns the null branch off */
    uint64_t seed;
    int top_k;   /* keep the k most likely (ties at the k-th kept); 0 = off */
    bool greedy; /* argmax; temperature, top_k and top_p are then unused */
} dgxm_sampling;

/* Checks ranges; the message names the parameter and the value. */
dgxm_status dgxm_sampling_validate(const dgxm_sampling *p, dgxm_error *err);

/* A uniform float in [0, 1) for (seed, step, lane): lane separates codebooks and rows. */
float dgxm_philox_uniform(uint64_t seed, uint32_t step, uint32_t lane);

/* Scratch for one choice: n entries. */
typedef struct dgxm_token_weight {
    float logit;
    int index;
} dgxm_token_weight;

/* Picks a token from n logits. u is the uniform draw for this choice (unused when greedy);
 * work holds n entries of scratch. */
int dgxm_sample_token(const float *logits, int n, const dgxm_sampling *p, float u,
                      dgxm_token_weight *work);

#endif
