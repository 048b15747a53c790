/* The device-resident decode loop: an optional part of a backend (kernels/backend.h) that runs
 * a whole MusicGen decoder step - embeddings, every layer, the heads, guidance, the token choice
 * and the delay-pattern bookkeeping - without returning to the host, so a GPU can replay it as
 * one captured graph. Backends without it leave dgxm_backend_ops.fused_step NULL and model code
 * drives the ops one by one (core/decoder_step.c), which stays the oracle.
 *
 * The program keeps every per-step value on the device: the token grid of the current window,
 * the step counter, the KV caches (float32 with float32 weights, float16 otherwise). The host
 * sees one column of tokens per step.
 *
 * Ownership: program_new copies the description; the matrices, norms, embeddings and cross
 * K/V it points to stay owned by the caller and must outlive the program, which is freed with
 * program_free. Threads: the backend's engine thread, like every backend call.
 */
#ifndef DGXM_FUSED_STEP_H
#define DGXM_FUSED_STEP_H

#include "dgxm/status.h"

#include <stdbool.h>
#include <stdint.h>

struct dgxm_backend;
struct dgxm_matrix;

typedef struct dgxm_fused_layer {
    const float *ln_self_w, *ln_self_b, *ln_cross_w, *ln_cross_b, *ln_ff_w, *ln_ff_b;
    const struct dgxm_matrix *q, *k, *v, *o; /* self-attention */
    const struct dgxm_matrix *cq, *co;       /* cross-attention (cross K/V precomputed) */
    const struct dgxm_matrix *fc1, *fc2;
    const float *cross_k, *cross_v; /* [lt][hidden], the conditioned row's */
} dgxm_fused_layer;

/* How each codebook's token is chosen; the same rules as core/sampler.h, drawn from the same
 * Philox stream (seed, global step, codebook), so a backend reproduces the host's choice for
 * the same logits. */
typedef struct dgxm_fused_sampling {
    double temperature;
    double top_p;
    uint64_t seed;
    int top_k;
    float guidance; /* applied when rows == 2 */
    bool greedy;
} dgxm_fused_sampling;

typedef struct dgxm_fused_desc {
    int layers, hidden, heads, ffn, codebooks, vocab, channels;
    int rows;                    /* 1, or 2 with guidance (row 1 is the null branch) */
    int capacity;                /* the most positions one window runs */
    int lt;                      /* text tokens (0: no cross-attention) */
    const float *const *embed;   /* [codebooks] tables [vocab + 1][hidden], device */
    const float *positions_host; /* [capacity][hidden] sinusoids, host (copied) */
    const dgxm_fused_layer *layer;
    const float *ln_out_w, *ln_out_b;
    const struct dgxm_matrix *lm_heads; /* [codebooks * vocab][hidden] */
    dgxm_fused_sampling sampling;
} dgxm_fused_desc;

typedef struct dgxm_fused_program dgxm_fused_program;

/* Time of one kind of kernel in a profiled step. */
typedef struct dgxm_fused_profile_entry {
    const char *name; /* static storage */
    double ms;
    int launches;
} dgxm_fused_profile_entry;

typedef struct dgxm_fused_step_ops {
    /* NULL with DGXM_ERR_UNSUPPORTED when this description is outside what the backend fuses
     * (the caller then uses the op-by-op path). */
    dgxm_fused_program *(*program_new)(struct dgxm_backend *b, const dgxm_fused_desc *desc,
                                       dgxm_error *err);
    void (*program_free)(struct dgxm_backend *b, dgxm_fused_program *p);

    /* Starts a window: grid is host memory [codebooks][columns] (the input tokens, prompt codes
     * and specials); frames [prompt, frames) of it are generated; the next step is column 1 at
     * position 0; step_base is the global step index of that step (the Philox counter). */
    dgxm_status (*window_begin)(struct dgxm_backend *b, dgxm_fused_program *p, const int32_t *grid,
                                int columns, int prompt, int frames, int step_base,
                                dgxm_error *err);

    /* Runs the next step and writes column step of the grid to host memory column[codebooks]
     * (the chosen tokens where the window generates, the grid's value elsewhere). With
     * queue_next the backend may queue the step after it (within the window) before it waits
     * for this one, so that the device runs the steps back to back instead of waiting for the
     * host between them; that queued step's logits replace this one's, so read_logits and
     * profile refuse while a step is queued (callers that read logits pass false). */
    dgxm_status (*step)(struct dgxm_backend *b, dgxm_fused_program *p, int32_t *column,
                        bool queue_next, dgxm_error *err);

    /* The last step's logits, host memory [rows][codebooks][vocab] (tests and tools). */
    dgxm_status (*read_logits)(struct dgxm_backend *b, dgxm_fused_program *p, float *logits,
                               dgxm_error *err);

    /* Kernels one step launches (reports). */
    int (*kernels_per_step)(const dgxm_fused_program *p);

    /* Runs the next step kernel by kernel with timing events (it advances the window like
     * step) and fills up to max entries, one per kind of kernel; returns the count, or -1. */
    int (*profile)(struct dgxm_backend *b, dgxm_fused_program *p, dgxm_fused_profile_entry *out,
                   int max, dgxm_error *err);
} dgxm_fused_step_ops;

#endif
