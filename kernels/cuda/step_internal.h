/* Kernels of the device-resident decode step (kernels/fused_step.h) and what they share: the
 * step counters in device memory and the argument blocks of each kernel. Every launcher queues
 * on the given stream and returns the launch status; it runs on the engine thread, usually
 * while the stream is being captured into the step's graph, so nothing here synchronises. */
#ifndef DGXM_CUDA_STEP_INTERNAL_H
#define DGXM_CUDA_STEP_INTERNAL_H

#include "cuda_internal.h"
#include "fused_step.h"

#include <cuda_fp16.h>

/* Programmatic dependent launch (sm_90 and later): a kernel launched with it may start while
 * the kernel before it is finishing, issue loads that do not depend on it (its weights), and
 * wait only before reading that kernel's output. Every step kernel calls trigger first and wait
 * before its first read of an earlier kernel's output; without the launch attribute (or before
 * sm_90) both are no-ops. */
static __device__ __forceinline__ void dgxm_pdl_trigger(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

static __device__ __forceinline__ void dgxm_pdl_wait(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

/* Launches kernel<<<grid, block, smem, s>>>(args...) with programmatic dependent launch when
 * pdl is set. */
template <typename... Params, typename... Args>
static inline cudaError_t dgxm_step_launch(void (*kernel)(Params...), dim3 grid, dim3 block,
                                           size_t smem, cudaStream_t s, bool pdl, Args &&...args)
{
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = s;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = pdl ? 1 : 0;
    return cudaLaunchKernelEx(&cfg, kernel, static_cast<Args &&>(args)...);
}

/* The window's counters, in device memory: the graph's kernels read them instead of taking them
 * as arguments, so one captured graph serves every step. */
typedef struct dgxm_step_counters {
    int step;       /* the grid column this step writes (1..columns-1) */
    int position;   /* the decoder position it runs: step - 1 */
    int steps_done; /* global step index: the Philox counter */
    int prompt, frames, columns;
} dgxm_step_counters;

enum {
    DGXM_STEP_HEAD_DIM =
        64, /* the largest head: every MusicGen size has 1024/16, 1536/24, 2048/32 */
    DGXM_STEP_ATTN_CHUNK = 128, /* keys per attention block (4 warps x 32) */
    DGXM_STEP_GEMV_WARPS = 8,
    DGXM_STEP_MAX_VOCAB = 4096 /* the sampler sorts a codebook's logits in shared memory */
};

/* What the GEMV does with y = W . x for output feature o of batch row r. */
typedef enum dgxm_gemv_mode {
    DGXM_GEMV_STORE, /* out[r][o] = y */
    DGXM_GEMV_ACCUM, /* out[r][o] += y (residual connections) */
    DGXM_GEMV_GELU   /* out[r][o] = gelu(y) */
} dgxm_gemv_mode;

/* A run of output features with its own weights and destination: the Q, K and V projections
 * are three segments of one launch. */
typedef struct dgxm_gemv_segment {
    const void *w;       /* [features][k] in the launch's weight format */
    const float *scales; /* int8: one per feature */
    int features;
    void *out;            /* float32, or float16 when out_half */
    long long pos_stride; /* elements added per decoder position (KV cache rows); 0 otherwise */
    int row_stride;       /* elements between batch rows */
    int out_half;
    dgxm_gemv_mode mode;
} dgxm_gemv_segment;

typedef struct dgxm_gemv_args {
    dgxm_gemv_segment seg[3];
    int segments;
    int k;    /* inputs per feature */
    int rows; /* batch rows of x (1 or 2) */
    const float *x;
    int x_stride;
    const float *ln_w, *ln_b; /* LayerNorm folded in front (eps 1e-5); NULL: x as it is */
    const dgxm_step_counters *counters;
    int sm_count; /* sizes the grid */
} dgxm_gemv_args;

/* Output features in all segments; the launch covers them with 8 per block. */
dgxm_status dgxm_step_gemv(dgxm_weight_format format, const dgxm_gemv_args *a, cudaStream_t s,
                           bool pdl, dgxm_error *err);
/* Opts the GEMV kernels in to the dynamic shared memory of k inputs x rows. */
dgxm_status dgxm_step_gemv_prepare(int k_max, dgxm_error *err);

typedef struct dgxm_step_attention_args {
    const float *q; /* [rows][heads * head_dim] */
    int q_stride;
    const void *k, *v; /* element (pos, row, c) at pos * pos_stride + row * row_stride + c */
    int kv_half;
    long long pos_stride;
    int row_stride;
    int length;                         /* keys, when counters is NULL */
    const dgxm_step_counters *counters; /* else keys = position + 1 (the causal self-attention) */
    int heads, head_dim, rows, max_splits;
    float scale;
    float *partials; /* [rows * heads][max_splits][2 + DGXM_STEP_HEAD_DIM] */
    int *arrivals;   /* [rows * heads], zero between launches */
    float *out;      /* [rows][heads * head_dim] */
    int out_stride;
} dgxm_step_attention_args;

dgxm_status dgxm_step_attention(const dgxm_step_attention_args *a, cudaStream_t s, bool pdl,
                                dgxm_error *err);

/* x[r] = positions[position] + sum_k embed[k][grid[k][step - 1]] for every batch row. */
typedef struct dgxm_step_embed_args {
    const float *const *embed; /* device array of K device pointers */
    const float *positions;
    const int32_t *grid;
    const dgxm_step_counters *counters;
    int codebooks, hidden, rows;
    float *x;
} dgxm_step_embed_args;

dgxm_status dgxm_step_embed(const dgxm_step_embed_args *a, cudaStream_t s, bool pdl,
                            dgxm_error *err);

/* Guidance and the token choice for every codebook of this step, written into the grid and
 * into column[K]; then the counters advance. */
typedef struct dgxm_step_sample_args {
    const float *logits; /* [rows][K][V] */
    int rows, codebooks, vocab, channels;
    dgxm_fused_sampling sampling;
    int32_t *grid;
    int32_t *column;
    dgxm_step_counters *counters;
} dgxm_step_sample_args;

dgxm_status dgxm_step_sample(const dgxm_step_sample_args *a, cudaStream_t s, bool pdl,
                             dgxm_error *err);
dgxm_status dgxm_step_advance(dgxm_step_counters *counters, cudaStream_t s, bool pdl,
                              dgxm_error *err);

#endif
