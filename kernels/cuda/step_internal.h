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
    const void *w;       /* [features][k] in the launch's weight format (bf16: int8's side) */
    const float *scales; /* int8: one per feature */
    int features;
    void *out;            /* float32, or float16 when out_half (STORE or GELU) */
    long long pos_stride; /* elements added per decoder position (KV cache rows); 0 otherwise */
    int row_stride;       /* elements between batch rows */
    int out_half;
    dgxm_gemv_mode mode;
    int row0_only;      /* store batch row 0 only (the conditioned row's cross-attention terms) */
    const float *prior; /* ACCUM: the old value is read here, not at out (same index) */
} dgxm_gemv_segment;

typedef struct dgxm_gemv_args {
    dgxm_gemv_segment seg[4];
    int segments;
    /* the last side_segments segments read batch row 0 of x as it was before the LayerNorm
     * (their own warps of the grid; bf16 weights in an int8 launch) */
    int side_segments;
    int k;          /* inputs per feature */
    int rows;       /* batch rows of x (1 or 2) */
    const float *x; /* float32, or float16 when x_half (not with side segments) */
    int x_stride;   /* elements between batch rows */
    int x_half;
    const float *ln_w, *ln_b; /* LayerNorm folded in front (eps 1e-5); NULL: x as it is */
    /* > 0 (one batch row): x is k / softmax_group groups whose first softmax_valid entries are
     * scores; the prologue replaces each group by its softmax (zero past softmax_valid) */
    int softmax_group, softmax_valid;
    /* Non-NULL (with softmax_group; one batch row, not int8): the prologue first builds the
     * scores of the cross-attention folded into its neighbours (step_cross_fold.cu) from two
     * partial dot products, x and score_part, and the LayerNorm statistics of stats_x (stats_k
     * floats, the residual row they were taken against): x[i] = inv_std * (x[i] + score_part[i]
     * - mean * fold_sum[i]) + fold_bias[i]. */
    const float *score_part, *stats_x, *fold_sum, *fold_bias;
    int stats_k;
    const dgxm_step_counters *counters;
    int sm_count; /* sizes the grid */
    /* 1: the LayerNorm's sums are taken while x is staged, one barrier and one pass fewer */
    int ln_in_staging;
    /* 1: int8 weights' inputs quantised as they are staged or normalised, not in a pass after */
    int quantise_fused;
    /* 1: three-row warps with at least 6 loads a lane a row take 3 loads of each row a tile */
    int rw3_tile3;
} dgxm_gemv_args;

/* Output features in all segments, spread evenly over the warps of a grid of about two blocks
 * per SM (step_gemv.cu). */
dgxm_status dgxm_step_gemv(dgxm_weight_format format, const dgxm_gemv_args *a, cudaStream_t s,
                           bool pdl, dgxm_error *err);
/* Dynamic shared memory of a GEMV over k inputs and rows batch rows: x as floats (with side
 * segments one more row, the raw copy of row 0; with folded scores two more, the fold's sums
 * and biases), and with int8 weights x again as int8 in groups of 16 with a scale each. */
static inline size_t dgxm_step_gemv_smem(int format, int rows, int k, int extra_rows)
{
    const size_t floats = (size_t)(rows + extra_rows) * k * sizeof(float);
    return format == DGXM_WEIGHT_INT8 ? floats + (size_t)rows * k + (size_t)rows * (k / 16) * 4
                                      : floats;
}
/* The extra rows of x a launch needs in shared memory (dgxm_step_gemv_smem). */
static inline int dgxm_step_gemv_extra_rows(const dgxm_gemv_args *a)
{
    return a->stats_x ? 2 : a->side_segments > 0 ? 1 : 0;
}
/* How many of a launch's warps take the side segments' features: their share of all the
 * weight bytes, at least one warp for each kind (a side row weighs side_weight main rows: 2 for
 * the bf16 side rows of an int8 launch). Host and device compute it alike. */
static inline __host__ __device__ long long dgxm_step_side_warps(long long warps, int main_features,
                                                                 int side_features, int side_weight)
{
    if (side_features <= 0)
        return 0;
    const long long side = (long long)side_features * side_weight;
    const long long total = main_features + side;
    long long n = (warps * side + total / 2) / total;
    n = n < 1 ? 1 : n;
    return n > warps - 1 ? warps - 1 : n;
}
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

/* Guidance and the token choice for every codebook of this step, written into the grid and into
 * row `step` of the host's mapped columns[][K]; the last block to finish advances the counters
 * (the step's last kernel). */
typedef struct dgxm_step_sample_args {
    const float *logits; /* [rows][K][V] */
    int rows, codebooks, vocab, channels;
    dgxm_fused_sampling sampling;
    int32_t *grid;
    int32_t *columns; /* mapped host memory [capacity + 1][K] */
    int *arrivals;    /* one word, zero between launches */
    dgxm_step_counters *counters;
} dgxm_step_sample_args;

dgxm_status dgxm_step_sample(const dgxm_step_sample_args *a, cudaStream_t s, bool pdl,
                             dgxm_error *err);
/* The folded cross-attention of one layer (step_cross_fold.cu): a = [heads * L][hidden] and
 * b = [hidden][heads * L] in their formats, L = a->rows / heads >= lt, from the layer's query
 * and output projections and the text's keys and values k, v [lt][hidden] (float32). Queued on
 * s. */
dgxm_status dgxm_step_cross_fold(const dgxm_matrix *wq, const dgxm_matrix *wo, const float *k,
                                 const float *v, int lt, int heads, dgxm_matrix *a, dgxm_matrix *b,
                                 cudaStream_t s, dgxm_error *err);

/* How the fold computes C = Ã Wo. AUTO: cuBLASLt on the 16-bit formats where it is loaded,
 * else the WMMA kernel where the shapes allow it, else Wo transposed to float32 for the float32
 * GEMM (DGXM_CUDA_FOLD_GEMM=wmma or =tiled forces the later ones, for comparisons). */
enum {
    DGXM_FOLD_GEMM_AUTO = 0,
    DGXM_FOLD_GEMM_WMMA = 1,
    DGXM_FOLD_GEMM_TILED = 2
};

/* The fold into neighbours (step_cross_fold.cu): one layer's inputs, float32 work space and
 * results (centred [heads * L][hidden], through_o [heads * L][hidden], b [hidden][heads * L] in
 * one format; sums and bias float32 [heads * L]). Queued on the backend's stream. */
typedef struct dgxm_cross_fold_in {
    const dgxm_matrix *wq, *wo_cross; /* the cross-attention's query and output projections */
    const dgxm_matrix *wo_self;       /* the self-attention's output projection */
    const float *ln_w, *ln_b;         /* the cross-attention's LayerNorm */
    const float *k, *v;               /* the text's keys and values [lt][hidden] */
    int lt, heads;
    int through; /* how C = Ã Wo is computed: DGXM_FOLD_GEMM_* */
} dgxm_cross_fold_in;
typedef struct dgxm_cross_fold_work {
    float *a, *c; /* [heads * L][hidden] */
    float *t;     /* [hidden][hidden] */
} dgxm_cross_fold_work;
typedef struct dgxm_cross_fold_out {
    dgxm_matrix *centred, *through_o, *b;
    float *sums, *bias;
} dgxm_cross_fold_out;
dgxm_status dgxm_step_cross_fold_merged(dgxm_cuda_backend *cb, const dgxm_cross_fold_in *in,
                                        const dgxm_cross_fold_work *work, dgxm_cross_fold_out *out,
                                        dgxm_error *err);

/* What one phase of the persistent step does: a GEMV over every block, or one of the two
 * attentions (split over time, blocks taking the splits in turn). */
typedef enum dgxm_persist_kind {
    DGXM_PERSIST_GEMV,
    DGXM_PERSIST_SELF_ATTENTION, /* keys and values: this phase's k_cache, v_cache */
    DGXM_PERSIST_CROSS_ATTENTION
} dgxm_persist_kind;

/* One phase of the step in the order it runs. A GEMV phase reads `rows` rows of k inputs at x
 * (LayerNorm or a per-group softmax folded in front, as dgxm_gemv_args) and writes its segments'
 * features; its weights stream into the block's shared memory ahead of the phase. */
typedef struct dgxm_persist_phase {
    alignas(16) int kind; /* dgxm_persist_kind; copied to shared memory in 16-byte pieces */
    dgxm_gemv_segment seg[3];
    int segments, k, rows, format;
    const float *x;
    const float *ln_w, *ln_b;
    int softmax_group, softmax_valid;
    const void *k_cache, *v_cache;  /* self-attention: this layer's [capacity][rows][hidden] */
    const float *cross_k, *cross_v; /* cross-attention: this layer's text keys and values */
} dgxm_persist_phase;

/* One slot's worth of a block's weights, in the order the block uses them: `rows` rows of
 * segment `seg` of its GEMV phase from `feature` on, each `loads` 16-byte loads from load `col`
 * of the row (a piece of a row longer than a slot when col > 0 or !row_end). Built on the host
 * (dgxm_step_persistent_chunks) once per generation. */
typedef struct dgxm_persist_chunk {
    alignas(16) const void *src; /* one 16-byte copy an entry */
    unsigned short feature, col, loads;
    unsigned char rows; /* bits 0-5; bit 6: the last piece of its rows, bit 7: the block's
                           last chunk of the phase */
    unsigned char seg;
} dgxm_persist_chunk;

/* How the persistent step uses each block's dynamic shared memory: a ring of `slots` weight
 * slots of slot_bytes at offset 0, then x as the GEMV reads it (floats, permuted), the natural
 * copy the LayerNorm and softmax work on, and x as int8 in groups of 16 with their scales. */
typedef struct dgxm_persist_layout {
    int slot_bytes, slots;
    int xs, natural, xq, xscale, resid; /* byte offsets; resid: a phase's prefetched outputs */
    int run_max;                        /* rows of a phase one block owns at most */
    size_t smem;                        /* bytes in all */
    int blocks;                         /* one per SM */
} dgxm_persist_layout;

/* The embedding, every layer, the final LayerNorm and the heads of one step in one launch of
 * co-resident blocks that meet at grid-wide barriers between the dependent phases, instead of
 * one kernel per phase (step_persistent.cu says why and how the weights stream). */
typedef struct dgxm_persist_args {
    const dgxm_persist_phase *phases; /* device array [phase_count] */
    int phase_count;
    const dgxm_persist_chunk *chunks; /* device: block b's are [chunk_start[b], [b + 1]) */
    const int *chunk_start;           /* device [blocks + 1] */
    dgxm_step_embed_args embed;
    dgxm_step_attention_args self_attn, cross_attn; /* k and v are taken from each phase */
    unsigned *barrier; /* one word, zero before the first launch; every launch leaves it so */
    int probe;         /* DGXM_PERSIST_PROBE_*: 0, or a timing experiment (wrong tokens) */
    /* NULL, or device [phase_count + 1][blocks][DGXM_PERSIST_STAMPS]: each block's clock (ns)
     * when it arrived at the barrier before phase i, when it passed it, when phase i's x was
     * ready, when warp 0's first chunk had landed and when warp 0 was done; the last launch's
     * (DGXM_CUDA_PERSIST_TIMELINE) */
    unsigned long long *timeline;
    dgxm_persist_layout layout;
} dgxm_persist_args;

/* Timing experiments of dgxm bench (DGXM_CUDA_PERSIST_PROBE=barriers|no-attention|stream|no-dot):
 * the step's barriers alone, the step without its attention work, its weight stream alone (no
 * barriers, no arithmetic), or the step without its GEMV arithmetic. They produce wrong
 * tokens. */
enum {
    DGXM_PERSIST_PROBE_BARRIERS = 1,
    DGXM_PERSIST_PROBE_NO_ATTENTION = 2,
    DGXM_PERSIST_PROBE_STREAM = 3,
    DGXM_PERSIST_PROBE_NO_DOT = 4 /* everything but the GEMV phases' dot products */
};
enum {
    DGXM_PERSIST_STAMPS = 5
};

/* The shared-memory layout of the persistent step on this device for layers in format f (heads
 * and folded matrices in bf16 with int8 layers, else in f), `rows` batch rows, GEMV inputs of up
 * to k_max, a natural copy of natural_floats and phases of up to features_max features; opts
 * the kernel in to it. DGXM_ERR_UNSUPPORTED with the reason when the device cannot run it:
 * before sm_90 (no bulk copies), no cooperative launch, or too little shared memory. */
dgxm_status dgxm_step_persistent_plan(dgxm_weight_format f, int rows, int k_max, int natural_floats,
                                      int features_max, const dgxm_cuda_info *info,
                                      dgxm_persist_layout *out, dgxm_error *err);
/* Every block's chunk sequence for the host copy of the phase table (device pointers inside):
 * *chunks (malloc'd, [(*start)[blocks]]) and *start (malloc'd, [blocks + 1]). */
dgxm_status dgxm_step_persistent_chunks(const dgxm_persist_phase *phases, int count,
                                        const dgxm_persist_layout *layout,
                                        dgxm_persist_chunk **chunks, int **start, dgxm_error *err);
/* Queues the persistent step as a cooperative launch laid out as a->layout. */
dgxm_status dgxm_step_persistent(dgxm_weight_format f, const dgxm_persist_args *a, cudaStream_t s,
                                 dgxm_error *err);

#endif
