/* The device-resident decode step of kernels/fused_step.h on CUDA: the per-generation buffers,
 * the kernels of one step captured once into a CUDA graph, and the host calls that replay it.
 *
 * Per layer eight phases: [LayerNorm + Q,K,V -> KV cache], self-attention, [O + residual],
 * [LayerNorm + cross Q], cross-attention, [cross O + residual], [LayerNorm + fc1 + GELU],
 * [fc2 + residual] (seven with the cross-attention folded into two GEMVs, six with it folded
 * into the launches around it: step_cross_fold.cu); around them the embedding, [final
 * LayerNorm + heads] and the token choice, whose last block advances the counters. With
 * DGXM_CUDA_PERSISTENT=1 the phases from the embedding to the heads run as one persistent kernel
 * (step_persistent.cu, its phase table built here) where the device can launch it (sm_90 and
 * later). The graph's arguments never change: everything that moves from step to step
 * (position, grid column, Philox counter) is read from device memory, so a step costs one graph
 * launch and the host reads one 4-codebook column from mapped memory. */
#include "step_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct dgxm_fused_program {
    dgxm_fused_desc desc;
    dgxm_fused_layer *layers;
    dgxm_weight_format format;
    int max_splits, kernels, columns, next_step, sm_count;
    bool kv_half;
    bool ff_half;        /* the FFN's activations as float16 (DGXM_CUDA_FF_HALF=0: float32) */
    bool ln_in_staging;  /* dgxm_gemv_args.ln_in_staging (DGXM_CUDA_LN_STAGE=0: off) */
    bool quantise_fused; /* dgxm_gemv_args.quantise_fused (DGXM_CUDA_INT8_FUSE=1: on) */
    bool rw3_tile3;      /* dgxm_gemv_args.rw3_tile3 (DGXM_CUDA_GEMV_RW3_TILE=3: on) */
    dgxm_step_counters *counters;
    int32_t *grid;        /* [K][capacity + 1] */
    int *sample_arrivals; /* the token choice's blocks that are done (zero between steps) */
    /* [capacity + 1][K], pinned and mapped: the last kernel of step s writes its column at
     * row s, so a step queued ahead cannot overwrite a column the host has yet to read */
    int32_t *column_host;
    int32_t *column_mapped; /* the same memory as the device addresses it */
    cudaEvent_t done[2];    /* after the graph of step s: done[s & 1] */
    int queued;             /* steps launched and not yet returned by step(): 0, 1 or 2 */
    bool queue_ahead;       /* step(queue_next) may queue one (DGXM_CUDA_STEP_AHEAD=0: never) */
    const float **embed;    /* [K] device pointers, device array */
    float *positions;       /* [capacity][hidden] */
    float *x, *q, *attn, *ff, *logits;
    void *k_cache, *v_cache; /* [layers][capacity][rows][hidden] */
    float *partials;
    int *arrivals;
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    bool pdl; /* programmatic dependent launch between the step's kernels (sm_90+) */
    /* the persistent step (step_persistent.cu) replaces embed, layers and heads when
     * DGXM_CUDA_PERSISTENT=1 and the device can run it */
    bool persistent;
    dgxm_persist_args persist;
    dgxm_persist_phase *persist_phases; /* device [persist.phase_count] */
    dgxm_persist_chunk *persist_chunks; /* device: every block's weight chunks */
    int *persist_chunk_start;           /* device [blocks + 1] */
    unsigned long long *timeline;       /* device, DGXM_CUDA_PERSIST_TIMELINE only */
    int *timeline_kinds;                /* host [phase_count]: dgxm_persist_kind */
    unsigned *barrier;
    /* the folded cross-attention (step_cross_fold.cu), per layer, when fold is set: A and B
     * (two GEMVs of their own), or with fold_merged Ã, C and B, the scores computed in the
     * layer's Q,K,V and O launches */
    bool fold, fold_merged;
    int fold_len; /* L: text positions per head, lt rounded up to a multiple of 8 */
    dgxm_matrix *cross_a, *cross_b, *cross_c;
    float *fold_sums, *fold_bias; /* merged: [layers][heads * L] */
    float *scores;                /* [heads * L]; merged: C . attn */
    float *score_side;            /* merged: [heads * L], Ã . x0 */
    /* profiling: an event after every kernel of one uncaptured step */
    cudaEvent_t *marks;
    const char **mark_names;
    int mark_count, mark_max;
};

namespace
{

dgxm_fused_program *fail_free(dgxm_backend *b, dgxm_fused_program *p);

/* The step's switches for comparisons and experiments: environment variable name == value. */
bool env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && !strcmp(v, value);
}

/* Counts the kernel and, in a profiling run, records an event after it. */
void mark(dgxm_fused_program *p, cudaStream_t s, const char *name)
{
    p->kernels++;
    if (!p->marks || p->mark_count >= p->mark_max)
        return;
    cudaEventRecord(p->marks[p->mark_count], s);
    p->mark_names[p->mark_count++] = name;
}

bool matrix_ok(const dgxm_matrix *m, dgxm_weight_format f, int rows, int cols)
{
    const int align = f == DGXM_WEIGHT_F32 ? 4 : f == DGXM_WEIGHT_INT8 ? 16 : 8;
    return m && m->format == f && m->rows == rows && m->cols == cols && cols % align == 0;
}

/* Why this description cannot be fused, or NULL. */
const char *unsupported(const dgxm_fused_desc *d)
{
    if (d->rows < 1 || d->rows > 2)
        return "batch rows other than 1 or 2";
    if (d->heads < 1 || d->hidden % d->heads || d->hidden / d->heads > DGXM_STEP_HEAD_DIM ||
        (d->hidden / d->heads) % 8)
        return "a head size that is not a multiple of 8 up to 64";
    if (d->vocab > DGXM_STEP_MAX_VOCAB)
        return "a vocabulary larger than 4096";
    if (d->codebooks % d->channels)
        return "codebooks not divisible by channels";
    const dgxm_weight_format f = d->layer[0].q->format;
    const int h = d->hidden, ffn = d->ffn;
    for (int i = 0; i < d->layers; i++) {
        const dgxm_fused_layer *l = &d->layer[i];
        if (!matrix_ok(l->q, f, h, h) || !matrix_ok(l->k, f, h, h) || !matrix_ok(l->v, f, h, h) ||
            !matrix_ok(l->o, f, h, h) || !matrix_ok(l->fc1, f, ffn, h) ||
            !matrix_ok(l->fc2, f, h, ffn))
            return "layer matrices of mixed formats or shapes";
        if (d->lt > 0 && (!matrix_ok(l->cq, f, h, h) || !matrix_ok(l->co, f, h, h)))
            return "cross-attention matrices of mixed formats or shapes";
    }
    if (!d->lm_heads || d->lm_heads->rows != d->codebooks * d->vocab || d->lm_heads->cols != h)
        return "heads of another shape";
    return NULL;
}

dgxm_gemv_segment segment(const dgxm_matrix *m, void *out, long long pos_stride, int row_stride,
                          bool half, dgxm_gemv_mode mode)
{
    dgxm_gemv_segment s;
    memset(&s, 0, sizeof s);
    s.w = m->data;
    s.scales = m->scales;
    s.features = m->rows;
    s.out = out;
    s.pos_stride = pos_stride;
    s.row_stride = row_stride;
    s.out_half = half;
    s.mode = mode;
    return s;
}

dgxm_gemv_args gemv_args(const dgxm_fused_program *p, const float *x, int rows, int k,
                         const float *ln_w, const float *ln_b)
{
    dgxm_gemv_args a;
    memset(&a, 0, sizeof a);
    a.k = k;
    a.rows = rows;
    a.x = x;
    a.x_stride = k;
    a.ln_w = ln_w;
    a.ln_b = ln_b;
    a.counters = p->counters;
    a.sm_count = p->sm_count;
    a.ln_in_staging = p->ln_in_staging;
    a.quantise_fused = p->quantise_fused;
    a.rw3_tile3 = p->rw3_tile3;
    return a;
}

/* One attention over keys at element (pos, row, c) = pos * pos_stride + row * row_stride + c:
 * causal (the step's position + 1 keys) or length keys. */
dgxm_step_attention_args attention_args(const dgxm_fused_program *p, const void *k, const void *v,
                                        bool half, long long pos_stride, int row_stride, int rows,
                                        int length, bool causal)
{
    const dgxm_fused_desc *d = &p->desc;
    dgxm_step_attention_args a;
    memset(&a, 0, sizeof a);
    a.q = p->q;
    a.q_stride = d->hidden;
    a.k = k;
    a.v = v;
    a.kv_half = half;
    a.pos_stride = pos_stride;
    a.row_stride = row_stride;
    a.length = length;
    a.counters = causal ? p->counters : NULL;
    a.heads = d->heads;
    a.head_dim = d->hidden / d->heads;
    a.rows = rows;
    a.max_splits =
        causal ? p->max_splits : (length + DGXM_STEP_ATTN_CHUNK - 1) / DGXM_STEP_ATTN_CHUNK;
    a.scale = 1.0f / sqrtf((float)a.head_dim);
    a.partials = p->partials;
    a.arrivals = p->arrivals;
    a.out = p->attn;
    a.out_stride = d->hidden;
    return a;
}

dgxm_status attention(dgxm_fused_program *p, cudaStream_t s, const void *k, const void *v,
                      bool half, long long pos_stride, int row_stride, int rows, int length,
                      bool causal, dgxm_error *err)
{
    const dgxm_step_attention_args a =
        attention_args(p, k, v, half, pos_stride, row_stride, rows, length, causal);
    return dgxm_step_attention(&a, s, p->pdl, err);
}

/* Queues [LayerNorm +] out = W . x for one matrix (rows batch rows of W's width) and marks it. */
dgxm_status project(dgxm_fused_program *p, cudaStream_t s, const dgxm_matrix *w, const float *x,
                    int rows, const float *ln_w, const float *ln_b, float *out, dgxm_gemv_mode mode,
                    const char *name, dgxm_error *err)
{
    dgxm_gemv_args a = gemv_args(p, x, rows, w->cols, ln_w, ln_b);
    a.seg[0] = segment(w, out, 0, w->rows, false, mode);
    a.segments = 1;
    dgxm_status st = dgxm_step_gemv(w->format, &a, s, p->pdl, err);
    if (!st)
        mark(p, s, name);
    return st;
}

/* Where the residual stream's batch rows are: row 0 at x_row0(parity), row 1 (the null
 * condition) at p->x + hidden, x_stride(parity) floats from row 0. The fold into neighbours
 * reads the whole of the conditioned row for its statistics while its launch writes that row's
 * new value, so each such launch writes the other copy of row 0 and the parity flips. */
float *x_row0(const dgxm_fused_program *p, int parity)
{
    return parity ? p->x + (size_t)p->desc.rows * p->desc.hidden : p->x;
}

int x_stride(const dgxm_fused_program *p, int parity)
{
    return (int)(p->x + p->desc.hidden - x_row0(p, parity));
}

/* The conditioned row's cross-attention folded into the launches around it: its partial scores
 * come out of the Q,K,V and O launches (layer() adds their segments); this launch turns them
 * into the softmax, applies B and writes x1 + B p into the other copy of row 0. */
dgxm_status cross_merged(dgxm_fused_program *p, int i, int *parity, cudaStream_t s, dgxm_error *err)
{
    const dgxm_fused_desc *d = &p->desc;
    const int h = d->hidden, hl = d->heads * p->fold_len;
    dgxm_gemv_args a = gemv_args(p, p->scores, 1, hl, NULL, NULL);
    a.softmax_group = p->fold_len;
    a.softmax_valid = d->lt;
    a.score_part = p->score_side;
    a.stats_x = x_row0(p, *parity);
    a.stats_k = h;
    a.fold_sum = p->fold_sums + (size_t)i * hl;
    a.fold_bias = p->fold_bias + (size_t)i * hl;
    a.seg[0] = segment(&p->cross_b[i], x_row0(p, !*parity), 0, h, false, DGXM_GEMV_ACCUM);
    a.seg[0].prior = x_row0(p, *parity);
    a.segments = 1;
    dgxm_status st = dgxm_step_gemv(p->cross_b[i].format, &a, s, p->pdl, err);
    if (st)
        return st;
    mark(p, s, "cross-scores+softmax+o+residual");
    *parity = !*parity;
    return DGXM_OK;
}

dgxm_status layer(dgxm_fused_program *p, int i, int *parity, cudaStream_t s, dgxm_error *err)
{
    const dgxm_fused_desc *d = &p->desc;
    const dgxm_fused_layer *l = &p->layers[i];
    const int h = d->hidden, R = d->rows;
    float *x = x_row0(p, *parity);
    const int xs = x_stride(p, *parity);
    const size_t esize = p->kv_half ? 2 : 4;
    const long long layer_elems = (long long)d->capacity * R * h;
    char *kc = static_cast<char *>(p->k_cache) + (size_t)i * layer_elems * esize;
    char *vc = static_cast<char *>(p->v_cache) + (size_t)i * layer_elems * esize;
    dgxm_status st;

    /* Q, K and V in one launch; K and V land in this position's cache rows */
    dgxm_gemv_args a = gemv_args(p, x, R, h, l->ln_self_w, l->ln_self_b);
    a.x_stride = xs;
    a.seg[0] = segment(l->q, p->q, 0, h, false, DGXM_GEMV_STORE);
    a.seg[1] = segment(l->k, kc, (long long)R * h, h, p->kv_half, DGXM_GEMV_STORE);
    a.seg[2] = segment(l->v, vc, (long long)R * h, h, p->kv_half, DGXM_GEMV_STORE);
    a.segments = 3;
    if (p->fold_merged) { /* Ã . x0 for the cross-attention's scores */
        a.seg[3] = segment(&p->cross_a[i], p->score_side, 0, 0, false, DGXM_GEMV_STORE);
        a.seg[3].row0_only = 1;
        a.segments = 4;
        a.side_segments = 1;
    }
    if ((st = dgxm_step_gemv(p->format, &a, s, p->pdl, err)))
        return st;
    mark(p, s, p->fold_merged ? "ln+qkv+cross-x0" : "ln+qkv");
    if ((st = attention(p, s, kc, vc, p->kv_half, (long long)R * h, h, R, 0, true, err)))
        return st;
    mark(p, s, "self-attention");
    a = gemv_args(p, p->attn, R, h, NULL, NULL);
    a.seg[0] = segment(l->o, x, 0, xs, false, DGXM_GEMV_ACCUM);
    a.segments = 1;
    if (p->fold_merged) { /* C . attn for the cross-attention's scores */
        a.seg[1] = segment(&p->cross_c[i], p->scores, 0, 0, false, DGXM_GEMV_STORE);
        a.seg[1].row0_only = 1;
        a.segments = 2;
        /* an int8 launch's main warps read x as int8; C is bf16 and wants it as floats, as side
         * warps read it (attn has no LayerNorm, so its raw row 0 is the row itself) */
        a.side_segments = p->format == DGXM_WEIGHT_INT8 ? 1 : 0;
    }
    if ((st = dgxm_step_gemv(p->format, &a, s, p->pdl, err)))
        return st;
    mark(p, s, p->fold_merged ? "o+residual+cross-attn" : "o+residual");

    if (p->fold_merged) {
        if ((st = cross_merged(p, i, parity, s, err)))
            return st;
        x = x_row0(p, *parity);
    } else if (p->fold) { /* the conditioned row only, as below */
        if ((st = project(p, s, &p->cross_a[i], x, 1, l->ln_cross_w, l->ln_cross_b, p->scores,
                          DGXM_GEMV_STORE, "ln+cross-scores", err)))
            return st;
        a = gemv_args(p, p->scores, 1, p->cross_b[i].cols, NULL, NULL);
        a.softmax_group = p->fold_len;
        a.softmax_valid = d->lt;
        a.seg[0] = segment(&p->cross_b[i], x, 0, h, false, DGXM_GEMV_ACCUM);
        a.segments = 1;
        if ((st = dgxm_step_gemv(p->cross_b[i].format, &a, s, p->pdl, err)))
            return st;
        mark(p, s, "cross-softmax+o+residual");
    } else if (d->lt > 0) { /* only the conditioned row: the null row's cross output is zero */
        if ((st = project(p, s, l->cq, x, 1, l->ln_cross_w, l->ln_cross_b, p->q, DGXM_GEMV_STORE,
                          "ln+cross-q", err)) ||
            (st = attention(p, s, l->cross_k, l->cross_v, false, h, 0, 1, d->lt, false, err)))
            return st;
        mark(p, s, "cross-attention");
        if ((st = project(p, s, l->co, p->attn, 1, NULL, NULL, x, DGXM_GEMV_ACCUM,
                          "cross-o+residual", err)))
            return st;
    }

    const int x2s = x_stride(p, *parity);
    a = gemv_args(p, x, R, h, l->ln_ff_w, l->ln_ff_b);
    a.x_stride = x2s;
    /* The FFN's hidden activations are float16 where the KV cache is: fc2's blocks each read
     * all of them (2 x ffn values), so their bytes through L2 are on every step's critical path. */
    a.seg[0] = segment(l->fc1, p->ff, 0, d->ffn, p->ff_half, DGXM_GEMV_GELU);
    a.segments = 1;
    if ((st = dgxm_step_gemv(p->format, &a, s, p->pdl, err)))
        return st;
    mark(p, s, "ln+fc1+gelu");
    a = gemv_args(p, p->ff, R, d->ffn, NULL, NULL);
    a.x_half = p->ff_half;
    a.seg[0] = segment(l->fc2, x, 0, x2s, false, DGXM_GEMV_ACCUM);
    a.segments = 1;
    if ((st = dgxm_step_gemv(p->format, &a, s, p->pdl, err)))
        return st;
    mark(p, s, "fc2+residual");
    return DGXM_OK;
}

/* Queues one whole step on s (which is being captured). */
dgxm_status record_step(dgxm_fused_program *p, cudaStream_t s, dgxm_error *err)
{
    const dgxm_fused_desc *d = &p->desc;
    dgxm_step_embed_args e = { p->embed,     p->positions, p->grid, p->counters,
                               d->codebooks, d->hidden,    d->rows, p->x };
    p->kernels = 0;
    dgxm_status st;
    if (p->persistent) {
        if ((st = dgxm_step_persistent(p->format, &p->persist, s, err)))
            return st;
        mark(p, s, "persistent layers");
    } else {
        st = dgxm_step_embed(&e, s, p->pdl, err);
        if (!st)
            mark(p, s, "embed");
        int parity = 0;
        for (int i = 0; !st && i < d->layers; i++)
            st = layer(p, i, &parity, s, err);
        if (st)
            return st;
        dgxm_gemv_args a =
            gemv_args(p, x_row0(p, parity), d->rows, d->hidden, d->ln_out_w, d->ln_out_b);
        a.x_stride = x_stride(p, parity);
        a.seg[0] = segment(d->lm_heads, p->logits, 0, d->lm_heads->rows, false, DGXM_GEMV_STORE);
        a.segments = 1;
        if ((st = dgxm_step_gemv(d->lm_heads->format, &a, s, p->pdl, err)))
            return st;
        mark(p, s, "ln+heads");
    }
    const bool pdl = p->pdl && !p->persistent; /* no dependent launch after a cooperative one */
    dgxm_step_sample_args sa;
    memset(&sa, 0, sizeof sa);
    sa.logits = p->logits;
    sa.rows = d->rows;
    sa.codebooks = d->codebooks;
    sa.vocab = d->vocab;
    sa.channels = d->channels;
    sa.sampling = d->sampling;
    sa.grid = p->grid;
    sa.columns = p->column_mapped;
    sa.arrivals = p->sample_arrivals;
    sa.counters = p->counters;
    if ((st = dgxm_step_sample(&sa, s, pdl, err)))
        return st;
    mark(p, s, "guidance+sample+advance");
    return DGXM_OK;
}

dgxm_status capture_once(dgxm_cuda_backend *cb, dgxm_fused_program *p, dgxm_error *err)
{
    cudaStream_t s = cb->stream;
    DGXM_CUDA_TRY(err, "step capture", cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    dgxm_status st = record_step(p, s, err);
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(s, &g);
    if (st) {
        if (g)
            cudaGraphDestroy(g);
        return st;
    }
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "step capture", "cudaStreamEndCapture");
    p->graph = g;
    DGXM_CUDA_TRY(err, "step capture", cudaGraphInstantiate(&p->exec, g, 0));
    return DGXM_OK;
}

/* A driver that cannot capture the cooperative launch gets the kernel-per-phase step. */
dgxm_status capture(dgxm_cuda_backend *cb, dgxm_fused_program *p, dgxm_error *err)
{
    const dgxm_status st = capture_once(cb, p, err);
    if (!st || !p->persistent)
        return st;
    (void)cudaGetLastError(); /* a refused capture leaves no sticky error */
    if (p->graph)
        cudaGraphDestroy(p->graph);
    p->graph = NULL;
    p->persistent = false;
    return capture_once(cb, p, err);
}

template <typename T> bool grab(dgxm_backend *b, T **out, size_t bytes)
{
    *out = static_cast<T *>(b->ops->alloc(b, bytes ? bytes : 1));
    return *out != NULL;
}

dgxm_status allocate(dgxm_backend *b, dgxm_fused_program *p, dgxm_error *err)
{
    const dgxm_fused_desc *d = &p->desc;
    const size_t h = (size_t)d->hidden, R = (size_t)d->rows, K = (size_t)d->codebooks;
    const size_t cache = (size_t)d->layers * d->capacity * R * h * (p->kv_half ? 2 : 4);
    const int cross_splits = (d->lt + DGXM_STEP_ATTN_CHUNK - 1) / DGXM_STEP_ATTN_CHUNK;
    p->max_splits = (d->capacity + DGXM_STEP_ATTN_CHUNK - 1) / DGXM_STEP_ATTN_CHUNK;
    if (cross_splits > p->max_splits)
        p->max_splits = cross_splits;
    const size_t parts = R * d->heads * (size_t)p->max_splits * (2 + DGXM_STEP_HEAD_DIM);
    if (!grab(b, &p->counters, sizeof *p->counters) ||
        !grab(b, &p->grid, K * (d->capacity + 1) * sizeof(int32_t)) ||
        !grab(b, &p->sample_arrivals, sizeof(int)) || !grab(b, &p->embed, K * sizeof(float *)) ||
        !grab(b, &p->positions, (size_t)d->capacity * h * sizeof(float)) ||
        !grab(b, &p->x, (R + 1) * h * sizeof(float)) || !grab(b, &p->q, R * h * sizeof(float)) ||
        !grab(b, &p->attn, R * h * sizeof(float)) || !grab(b, &p->ff, R * d->ffn * sizeof(float)) ||
        !grab(b, &p->logits, R * K * d->vocab * sizeof(float)) || !grab(b, &p->k_cache, cache) ||
        !grab(b, &p->v_cache, cache) || !grab(b, &p->partials, parts * sizeof(float)) ||
        !grab(b, &p->arrivals, R * d->heads * sizeof(int)))
        return dgxm_error_set(err, DGXM_ERR_NOMEM,
                              "cuda decode step: device memory for %d positions x %d rows "
                              "(KV caches %zu bytes each)",
                              d->capacity, d->rows, cache);
    DGXM_CUDA_TRY(err, "decode step",
                  cudaHostAlloc(&p->column_host, (d->capacity + 1) * K * sizeof(int32_t),
                                cudaHostAllocMapped));
    DGXM_CUDA_TRY(err, "decode step",
                  cudaHostGetDevicePointer(&p->column_mapped, p->column_host, 0));
    for (cudaEvent_t &e : p->done)
        DGXM_CUDA_TRY(err, "decode step", cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    DGXM_CUDA_TRY(err, "decode step",
                  cudaMemcpyAsync(p->embed, d->embed, K * sizeof(float *), cudaMemcpyHostToDevice,
                                  cb->stream));
    DGXM_CUDA_TRY(err, "decode step",
                  cudaMemcpyAsync(p->positions, d->positions_host,
                                  (size_t)d->capacity * h * sizeof(float), cudaMemcpyHostToDevice,
                                  cb->stream));
    DGXM_CUDA_TRY(err, "decode step",
                  cudaMemsetAsync(p->arrivals, 0, R * d->heads * sizeof(int), cb->stream));
    DGXM_CUDA_TRY(err, "decode step",
                  cudaMemsetAsync(p->sample_arrivals, 0, sizeof(int), cb->stream));
    DGXM_CUDA_TRY(err, "decode step", cudaMemsetAsync(p->k_cache, 0, cache, cb->stream));
    DGXM_CUDA_TRY(err, "decode step", cudaMemsetAsync(p->v_cache, 0, cache, cb->stream));
    DGXM_CUDA_TRY(err, "decode step", cudaStreamSynchronize(cb->stream));
    return DGXM_OK;
}

/* Whether to fold the cross-attention: DGXM_CUDA_CROSS_FOLD=0 never, =1 or =2 whenever it fits
 * the GEMV's shared memory, otherwise when the folded matrices (heads * L rows or columns) are
 * no more bytes than the two projections they replace. */
bool fold_wanted(const dgxm_fused_program *p, int len, dgxm_weight_format f)
{
    const dgxm_fused_desc *d = &p->desc;
    const int k_max = d->ffn > d->hidden ? d->ffn : d->hidden;
    if (d->lt < 1 || d->heads * len > k_max || env_is("DGXM_CUDA_CROSS_FOLD", "0"))
        return false;
    if (env_is("DGXM_CUDA_CROSS_FOLD", "1") || env_is("DGXM_CUDA_CROSS_FOLD", "2"))
        return true;
    const int fold_bytes = f == DGXM_WEIGHT_F32 ? 4 : 2;
    const int layer_bytes = p->format == DGXM_WEIGHT_F32    ? 4
                            : p->format == DGXM_WEIGHT_INT8 ? 1
                                                            : 2;
    return (long long)d->heads * len * fold_bytes <= (long long)d->hidden * layer_bytes;
}

/* Whether the fold goes into the neighbouring launches (step_cross_fold.cu): their GEMVs take
 * Ã and C, in the layers' weight format or, in an int8 launch, as bf16 side segments; the
 * persistent step and DGXM_CUDA_CROSS_FOLD=2 keep the fold's two launches. */
bool fold_merge_wanted(const dgxm_fused_program *p, dgxm_weight_format f)
{
    const bool launchable =
        f == p->format || (p->format == DGXM_WEIGHT_INT8 && f == DGXM_WEIGHT_BF16);
    return launchable && !env_is("DGXM_CUDA_CROSS_FOLD", "2") &&
           !env_is("DGXM_CUDA_PERSISTENT", "1");
}

/* Ã, C, their sums and biases of every layer (the fold into neighbours), with float32 work
 * space for the duration. */
dgxm_status fold_merge_prepare(dgxm_backend *b, dgxm_fused_program *p, dgxm_error *err)
{
    const dgxm_fused_desc *d = &p->desc;
    const int hl = d->heads * p->fold_len, h = d->hidden;
    const dgxm_weight_format f = p->cross_a[0].format; /* the fold's, bf16 for int8 layers */
    const size_t esize = f == DGXM_WEIGHT_F32 ? 4 : 2;
    p->cross_c = static_cast<dgxm_matrix *>(calloc((size_t)d->layers, sizeof *p->cross_c));
    if (!p->cross_c)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "cross-attention fold: out of memory");
    dgxm_cross_fold_work work = { NULL, NULL, NULL };
    dgxm_status st = DGXM_OK;
    if (!grab(b, &p->score_side, (size_t)hl * sizeof(float)) ||
        !grab(b, &p->fold_sums, (size_t)d->layers * hl * sizeof(float)) ||
        !grab(b, &p->fold_bias, (size_t)d->layers * hl * sizeof(float)) ||
        !grab(b, &work.a, (size_t)hl * h * sizeof(float)) ||
        !grab(b, &work.c, (size_t)hl * h * sizeof(float)) ||
        !grab(b, &work.t, (size_t)h * h * sizeof(float)))
        st = dgxm_error_set(err, DGXM_ERR_NOMEM, "cross-attention fold: device memory");
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    const int through = env_is("DGXM_CUDA_FOLD_GEMM", "tiled")  ? DGXM_FOLD_GEMM_TILED
                        : env_is("DGXM_CUDA_FOLD_GEMM", "wmma") ? DGXM_FOLD_GEMM_WMMA
                                                                : DGXM_FOLD_GEMM_AUTO;
    for (int i = 0; !st && i < d->layers; i++) {
        dgxm_matrix *c = &p->cross_c[i];
        *c = { f, hl, h, NULL, NULL };
        if (!grab(b, reinterpret_cast<char **>(&c->data), (size_t)hl * h * esize)) {
            st = dgxm_error_set(err, DGXM_ERR_NOMEM,
                                "cross-attention fold: device memory for layer %d", i);
            break;
        }
        const dgxm_fused_layer *l = &p->layers[i];
        const dgxm_cross_fold_in in = { l->cq,      l->co,      l->o,  l->ln_cross_w, l->ln_cross_b,
                                        l->cross_k, l->cross_v, d->lt, d->heads,      through };
        dgxm_cross_fold_out out = { &p->cross_a[i], c, &p->cross_b[i],
                                    p->fold_sums + (size_t)i * hl, p->fold_bias + (size_t)i * hl };
        st = dgxm_step_cross_fold_merged(cb, &in, &work, &out, err);
    }
    const cudaError_t e = cudaStreamSynchronize(cb->stream); /* before the work space goes */
    b->ops->release(b, work.a);
    b->ops->release(b, work.c);
    b->ops->release(b, work.t);
    if (!st && e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "cross-attention fold", "cudaStreamSynchronize");
    if (!st)
        p->fold_merged = true;
    return st;
}

/* The folded cross-attention matrices of every layer, computed on the device. */
dgxm_status fold_prepare(dgxm_backend *b, dgxm_fused_program *p, dgxm_error *err)
{
    const dgxm_fused_desc *d = &p->desc;
    const int len = (d->lt + 7) / 8 * 8;
    const dgxm_weight_format f = p->format == DGXM_WEIGHT_INT8 ? DGXM_WEIGHT_BF16 : p->format;
    if (!fold_wanted(p, len, f))
        return DGXM_OK;
    const bool merge = fold_merge_wanted(p, f);
    const int hl = d->heads * len, h = d->hidden;
    const size_t esize = f == DGXM_WEIGHT_F32 ? 4 : 2;
    p->cross_a = static_cast<dgxm_matrix *>(calloc((size_t)d->layers, sizeof *p->cross_a));
    p->cross_b = static_cast<dgxm_matrix *>(calloc((size_t)d->layers, sizeof *p->cross_b));
    if (!p->cross_a || !p->cross_b)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "cross-attention fold: out of memory");
    if (!grab(b, &p->scores, (size_t)hl * sizeof(float)))
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "cross-attention fold: device memory");
    p->fold_len = len;
    p->fold = true; /* program_free releases what was made if a layer fails */
    cudaStream_t s = dgxm_cuda(b)->stream;
    for (int i = 0; i < d->layers; i++) {
        dgxm_matrix *a = &p->cross_a[i], *o = &p->cross_b[i];
        *a = { f, hl, h, NULL, NULL };
        *o = { f, h, hl, NULL, NULL };
        if (!grab(b, reinterpret_cast<char **>(&a->data), (size_t)hl * h * esize) ||
            !grab(b, reinterpret_cast<char **>(&o->data), (size_t)hl * h * esize))
            return dgxm_error_set(err, DGXM_ERR_NOMEM,
                                  "cross-attention fold: device memory for layer %d", i);
        if (merge)
            continue; /* computed with C below */
        const dgxm_fused_layer *l = &p->layers[i];
        dgxm_status st = dgxm_step_cross_fold(l->cq, l->co, l->cross_k, l->cross_v, d->lt, d->heads,
                                              a, o, s, err);
        if (st)
            return st;
    }
    if (merge)
        return fold_merge_prepare(b, p, err);
    DGXM_CUDA_TRY(err, "cross-attention fold", cudaStreamSynchronize(s));
    return DGXM_OK;
}

/* A GEMV phase of the persistent step over rows batch rows of k inputs at x. */
dgxm_persist_phase gemv_phase(int format, const float *x, int rows, int k, const float *ln_w,
                              const float *ln_b)
{
    dgxm_persist_phase ph;
    memset(&ph, 0, sizeof ph);
    ph.kind = DGXM_PERSIST_GEMV;
    ph.format = format;
    ph.x = x;
    ph.rows = rows;
    ph.k = k;
    ph.ln_w = ln_w;
    ph.ln_b = ln_b;
    ph.segments = 1;
    return ph;
}

/* The persistent step's phases of one layer, appended at out; returns how many. */
int layer_phases(const dgxm_fused_program *p, int i, dgxm_persist_phase *out)
{
    const dgxm_fused_desc *d = &p->desc;
    const dgxm_fused_layer *l = &p->layers[i];
    const int h = d->hidden, R = d->rows, f = p->format;
    const size_t esize = p->kv_half ? 2 : 4;
    const long long layer_elems = (long long)d->capacity * R * h;
    char *kc = static_cast<char *>(p->k_cache) + (size_t)i * layer_elems * esize;
    char *vc = static_cast<char *>(p->v_cache) + (size_t)i * layer_elems * esize;
    int n = 0;
    dgxm_persist_phase *ph = &out[n++];
    *ph = gemv_phase(f, p->x, R, h, l->ln_self_w, l->ln_self_b);
    ph->seg[0] = segment(l->q, p->q, 0, h, false, DGXM_GEMV_STORE);
    ph->seg[1] = segment(l->k, kc, (long long)R * h, h, p->kv_half, DGXM_GEMV_STORE);
    ph->seg[2] = segment(l->v, vc, (long long)R * h, h, p->kv_half, DGXM_GEMV_STORE);
    ph->segments = 3;
    ph = &out[n++];
    memset(ph, 0, sizeof *ph);
    ph->kind = DGXM_PERSIST_SELF_ATTENTION;
    ph->k_cache = kc;
    ph->v_cache = vc;
    ph = &out[n++];
    *ph = gemv_phase(f, p->attn, R, h, NULL, NULL);
    ph->seg[0] = segment(l->o, p->x, 0, h, false, DGXM_GEMV_ACCUM);
    if (p->fold) { /* the conditioned row only: the null row's cross output is zero */
        const dgxm_matrix *a = &p->cross_a[i], *b = &p->cross_b[i];
        ph = &out[n++];
        *ph = gemv_phase(a->format, p->x, 1, h, l->ln_cross_w, l->ln_cross_b);
        ph->seg[0] = segment(a, p->scores, 0, a->rows, false, DGXM_GEMV_STORE);
        ph = &out[n++];
        *ph = gemv_phase(b->format, p->scores, 1, b->cols, NULL, NULL);
        ph->softmax_group = p->fold_len;
        ph->softmax_valid = d->lt;
        ph->seg[0] = segment(b, p->x, 0, h, false, DGXM_GEMV_ACCUM);
    } else if (d->lt > 0) {
        ph = &out[n++];
        *ph = gemv_phase(f, p->x, 1, h, l->ln_cross_w, l->ln_cross_b);
        ph->seg[0] = segment(l->cq, p->q, 0, h, false, DGXM_GEMV_STORE);
        ph = &out[n++];
        memset(ph, 0, sizeof *ph);
        ph->kind = DGXM_PERSIST_CROSS_ATTENTION;
        ph->cross_k = l->cross_k;
        ph->cross_v = l->cross_v;
        ph = &out[n++];
        *ph = gemv_phase(f, p->attn, 1, h, NULL, NULL);
        ph->seg[0] = segment(l->co, p->x, 0, h, false, DGXM_GEMV_ACCUM);
    }
    ph = &out[n++];
    *ph = gemv_phase(f, p->x, R, h, l->ln_ff_w, l->ln_ff_b);
    ph->seg[0] = segment(l->fc1, p->ff, 0, d->ffn, false, DGXM_GEMV_GELU);
    ph = &out[n++];
    *ph = gemv_phase(f, p->ff, R, d->ffn, NULL, NULL);
    ph->seg[0] = segment(l->fc2, p->x, 0, h, false, DGXM_GEMV_ACCUM);
    return n;
}

/* The persistent step's phase table and arguments; leaves p->persistent false (and err
 * untouched) where the device or the environment says no. */
dgxm_status persistent_prepare(dgxm_backend *b, dgxm_fused_program *p, dgxm_error *err)
{
    const dgxm_fused_desc *d = &p->desc;
    if (!env_is("DGXM_CUDA_PERSISTENT", "1"))
        return DGXM_OK;
    const int h = d->hidden, R = d->rows, hl = p->fold ? d->heads * p->fold_len : 0;
    const int most = d->layers * 8 + 1;
    dgxm_persist_phase *host =
        static_cast<dgxm_persist_phase *>(calloc((size_t)most, sizeof *host));
    if (!host)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "persistent step: out of memory");
    int n = 0;
    for (int i = 0; i < d->layers; i++)
        n += layer_phases(p, i, host + n);
    dgxm_persist_phase *heads = &host[n++];
    *heads = gemv_phase(d->lm_heads->format, p->x, R, h, d->ln_out_w, d->ln_out_b);
    heads->seg[0] =
        segment(d->lm_heads, p->logits, 0, d->codebooks * d->vocab, false, DGXM_GEMV_STORE);
    int k_max = 0, features_max = 0;
    for (int i = 0; i < n; i++) {
        int features = 0;
        for (int j = 0; j < host[i].segments; j++)
            features += host[i].seg[j].features;
        k_max = host[i].k > k_max ? host[i].k : k_max;
        features_max = features > features_max ? features : features_max;
    }
    const int natural = R * h > hl ? R * h : hl;
    dgxm_error why;
    dgxm_persist_args *a = &p->persist;
    memset(a, 0, sizeof *a);
    dgxm_persist_chunk *chunks = NULL;
    int *start = NULL;
    if (dgxm_step_persistent_plan(p->format, R, k_max, natural, features_max, &dgxm_cuda(b)->info,
                                  &a->layout, &why) ||
        dgxm_step_persistent_chunks(host, n, &a->layout, &chunks, &start, &why)) {
        free(host);
        return DGXM_OK; /* the kernel-per-phase step */
    }
    const int blocks = a->layout.blocks;
    const size_t bytes = (size_t)n * sizeof *host;
    const size_t chunk_bytes = (size_t)start[blocks] * sizeof *chunks;
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (!grab(b, &p->persist_phases, bytes) || !grab(b, &p->barrier, sizeof(unsigned)) ||
        !grab(b, &p->persist_chunks, chunk_bytes) ||
        !grab(b, &p->persist_chunk_start, ((size_t)blocks + 1) * sizeof(int))) {
        free(host);
        free(chunks);
        free(start);
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "persistent step: device memory");
    }
    cudaError_t e =
        cudaMemcpyAsync(p->persist_phases, host, bytes, cudaMemcpyHostToDevice, cb->stream);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(p->persist_chunks, chunks, chunk_bytes, cudaMemcpyHostToDevice,
                            cb->stream);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(p->persist_chunk_start, start, ((size_t)blocks + 1) * sizeof(int),
                            cudaMemcpyHostToDevice, cb->stream);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(p->barrier, 0, sizeof(unsigned), cb->stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(cb->stream);
    const bool timeline = getenv("DGXM_CUDA_PERSIST_TIMELINE") != NULL;
    if (timeline) { /* the legend, before the host table goes */
        p->timeline_kinds = static_cast<int *>(malloc((size_t)n * sizeof(int)));
        for (int i = 0; p->timeline_kinds && i < n; i++)
            p->timeline_kinds[i] = host[i].kind;
    }
    free(host);
    free(chunks);
    free(start);
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "persistent step", "phase table upload");

    a->phases = p->persist_phases;
    a->phase_count = n;
    a->chunks = p->persist_chunks;
    a->chunk_start = p->persist_chunk_start;
    a->embed = { p->embed, p->positions, p->grid, p->counters, d->codebooks, h, R, p->x };
    a->self_attn = attention_args(p, NULL, NULL, p->kv_half, (long long)R * h, h, R, 0, true);
    a->cross_attn = attention_args(p, NULL, NULL, false, h, 0, 1, d->lt, false);
    a->barrier = p->barrier;
    if (timeline) {
        const size_t stamps = ((size_t)n + 1) * blocks * DGXM_PERSIST_STAMPS * sizeof *a->timeline;
        if (!p->timeline_kinds || !grab(b, &p->timeline, stamps))
            return dgxm_error_set(err, DGXM_ERR_NOMEM, "persistent step: timeline memory");
        e = cudaMemsetAsync(p->timeline, 0, stamps, cb->stream);
        if (e != cudaSuccess)
            return dgxm_cuda_fail(err, e, "persistent step", "timeline");
        a->timeline = p->timeline;
    }
    a->probe = env_is("DGXM_CUDA_PERSIST_PROBE", "barriers")       ? DGXM_PERSIST_PROBE_BARRIERS
               : env_is("DGXM_CUDA_PERSIST_PROBE", "no-attention") ? DGXM_PERSIST_PROBE_NO_ATTENTION
               : env_is("DGXM_CUDA_PERSIST_PROBE", "stream")       ? DGXM_PERSIST_PROBE_STREAM
               : env_is("DGXM_CUDA_PERSIST_PROBE", "no-dot")       ? DGXM_PERSIST_PROBE_NO_DOT
                                                                   : 0;
    p->persistent = true;
    return DGXM_OK;
}

/* DGXM_CUDA_SETUP_TIMES=1: how long each part of a generation's set-up takes, on stderr (a
 * benchmark's diagnostic; the stream is drained at each lap so that a part's queued work counts
 * as its own). */
struct setup_clock {
    bool on;
    cudaStream_t stream;
    double last;
    double ms[3];
};

/* Ends part `part` (-1: starts the clock); returns DGXM_OK so that it chains with the parts. */
dgxm_status lap(setup_clock *c, int part)
{
    if (!c->on)
        return DGXM_OK;
    cudaStreamSynchronize(c->stream); /* an error here is the next part's to report */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const double now = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    if (part >= 0)
        c->ms[part] = now - c->last;
    c->last = now;
    return DGXM_OK;
}

dgxm_fused_program *program_new(dgxm_backend *b, const dgxm_fused_desc *desc, dgxm_error *err)
{
    if (desc->layers < 1 || !desc->layer || !desc->layer[0].q) {
        dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cuda decode step: no layers");
        return NULL;
    }
    const char *why = unsupported(desc);
    if (why) {
        dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "cuda decode step: %s", why);
        return NULL;
    }
    dgxm_fused_program *p = static_cast<dgxm_fused_program *>(calloc(1, sizeof *p));
    dgxm_fused_layer *layers =
        static_cast<dgxm_fused_layer *>(malloc((size_t)desc->layers * sizeof *layers));
    if (!p || !layers) {
        free(p);
        free(layers);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "cuda decode step: out of memory");
        return NULL;
    }
    memcpy(layers, desc->layer, (size_t)desc->layers * sizeof *layers);
    p->desc = *desc;
    p->desc.layer = p->layers = layers;
    p->format = desc->layer[0].q->format;
    p->sm_count = dgxm_cuda(b)->info.sm_count;
    /* DGXM_CUDA_PDL=0: plain serialisation, for comparisons */
    p->pdl = dgxm_cuda(b)->info.cc_major >= 9 && !env_is("DGXM_CUDA_PDL", "0");
    p->queue_ahead = !env_is("DGXM_CUDA_STEP_AHEAD", "0");
    p->kv_half = p->format != DGXM_WEIGHT_F32;
    p->ff_half = p->kv_half && !env_is("DGXM_CUDA_FF_HALF", "0");
    p->ln_in_staging = !env_is("DGXM_CUDA_LN_STAGE", "0");
    /* two GEMV forms written on 2026-12-04 and not yet measured on a GPU: opt-in until an A/B
     * (docs/performance.md) shows them faster */
    p->quantise_fused = env_is("DGXM_CUDA_INT8_FUSE", "1");
    p->rw3_tile3 = env_is("DGXM_CUDA_GEMV_RW3_TILE", "3");
    const int k_max = desc->ffn > desc->hidden ? desc->ffn : desc->hidden;
    setup_clock clock = { env_is("DGXM_CUDA_SETUP_TIMES", "1"), dgxm_cuda(b)->stream, 0, {} };
    lap(&clock, -1);
    if (dgxm_step_gemv_prepare(k_max, err) || allocate(b, p, err) || lap(&clock, 0) ||
        fold_prepare(b, p, err) || lap(&clock, 1) || persistent_prepare(b, p, err) ||
        capture(dgxm_cuda(b), p, err) || lap(&clock, 2))
        return fail_free(b, p);
    if (clock.on)
        fprintf(stderr,
                "cuda decode step set-up: memory %.2f ms, cross-attention fold %.2f ms, "
                "graph %.2f ms\n",
                clock.ms[0], clock.ms[1], clock.ms[2]);
    return p;
}

/* DGXM_CUDA_PERSIST_TIMELINE=FILE: the last launch's block clocks as CSV, relative to the
 * earliest (a timing experiment of dgxm bench; step_internal.h says what each stamp is). */
void timeline_write(const dgxm_fused_program *p)
{
    const char *path = getenv("DGXM_CUDA_PERSIST_TIMELINE");
    const int n = p->persist.phase_count, blocks = p->persist.layout.blocks;
    const size_t count = ((size_t)n + 1) * blocks * DGXM_PERSIST_STAMPS;
    unsigned long long *t = static_cast<unsigned long long *>(malloc(count * sizeof *t));
    FILE *f = path ? fopen(path, "w") : NULL;
    const cudaError_t e =
        t && f ? cudaMemcpy(t, p->timeline, count * sizeof *t, cudaMemcpyDeviceToHost)
               : cudaSuccess;
    /* an experiment's output, written at teardown where no error can be returned: say why */
    if (!f)
        fprintf(stderr, "dgxm: DGXM_CUDA_PERSIST_TIMELINE: cannot write %s\n", path ? path : "");
    else if (!t)
        fprintf(stderr, "dgxm: DGXM_CUDA_PERSIST_TIMELINE: out of memory\n");
    else if (e != cudaSuccess)
        fprintf(stderr, "dgxm: DGXM_CUDA_PERSIST_TIMELINE: %s\n", cudaGetErrorString(e));
    if (t && f && e == cudaSuccess) {
        unsigned long long t0 = ~0ull;
        for (size_t i = 0; i < count; i++)
            t0 = t[i] && t[i] < t0 ? t[i] : t0;
        fprintf(f, "phase,kind,block,arrive_ns,pass_ns,ready_ns,landed_ns,done_ns\n");
        for (int i = 0; i <= n; i++)
            for (int k = 0; k < blocks; k++) {
                const unsigned long long *s = t + ((size_t)i * blocks + k) * DGXM_PERSIST_STAMPS;
                fprintf(f, "%d,%d,%d", i, i < n ? p->timeline_kinds[i] : -1, k);
                for (int j = 0; j < DGXM_PERSIST_STAMPS; j++)
                    fprintf(f, ",%lld", s[j] ? (long long)(s[j] - t0) : -1);
                fprintf(f, "\n");
            }
    }
    if (f)
        fclose(f);
    free(t);
}

void program_free(dgxm_backend *b, dgxm_fused_program *p)
{
    if (!p)
        return;
    cudaStreamSynchronize(dgxm_cuda(b)->stream);
    if (p->timeline && p->timeline_kinds)
        timeline_write(p);
    free(p->timeline_kinds);
    if (p->exec)
        cudaGraphExecDestroy(p->exec);
    if (p->graph)
        cudaGraphDestroy(p->graph);
    void *bufs[] = { p->counters,
                     p->grid,
                     p->sample_arrivals,
                     p->embed,
                     p->positions,
                     p->x,
                     p->q,
                     p->attn,
                     p->ff,
                     p->logits,
                     p->k_cache,
                     p->v_cache,
                     p->partials,
                     p->arrivals,
                     p->persist_phases,
                     p->persist_chunks,
                     p->persist_chunk_start,
                     p->timeline,
                     p->barrier };
    for (void *buf : bufs)
        b->ops->release(b, buf);
    for (int i = 0; p->cross_c && i < p->desc.layers; i++)
        b->ops->release(b, p->cross_c[i].data);
    free(p->cross_c);
    b->ops->release(b, p->score_side);
    b->ops->release(b, p->fold_sums);
    b->ops->release(b, p->fold_bias);
    for (int i = 0; p->cross_a && i < p->desc.layers; i++) {
        b->ops->release(b, p->cross_a[i].data);
        b->ops->release(b, p->cross_b[i].data);
    }
    b->ops->release(b, p->scores);
    free(p->cross_a);
    free(p->cross_b);
    if (p->column_host)
        cudaFreeHost(p->column_host);
    for (cudaEvent_t e : p->done)
        if (e)
            cudaEventDestroy(e);
    free(p->layers);
    free(p);
}

dgxm_fused_program *fail_free(dgxm_backend *b, dgxm_fused_program *p)
{
    program_free(b, p);
    return NULL;
}

dgxm_status window_begin(dgxm_backend *b, dgxm_fused_program *p, const int32_t *grid, int columns,
                         int prompt, int frames, int step_base, dgxm_error *err)
{
    const dgxm_fused_desc *d = &p->desc;
    if (columns < 2 || columns - 1 > d->capacity)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "cuda decode step: window of %d columns for a capacity of %d",
                              columns, d->capacity);
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    /* a step queued ahead in the last window ran into its counters: let it finish first */
    DGXM_CUDA_TRY(err, "decode step", cudaStreamSynchronize(cb->stream));
    p->queued = 0;
    const dgxm_step_counters c = { 1, 0, step_base, prompt, frames, columns };
    DGXM_CUDA_TRY(err, "decode step",
                  cudaMemcpyAsync(p->grid, grid, (size_t)d->codebooks * columns * sizeof(int32_t),
                                  cudaMemcpyHostToDevice, cb->stream));
    DGXM_CUDA_TRY(err, "decode step",
                  cudaMemcpyAsync(p->counters, &c, sizeof c, cudaMemcpyHostToDevice, cb->stream));
    DGXM_CUDA_TRY(err, "decode step", cudaStreamSynchronize(cb->stream));
    p->columns = columns;
    p->next_step = 1;
    return DGXM_OK;
}

/* Queues the graph of step `at` and the event after it. */
dgxm_status launch_step(dgxm_cuda_backend *cb, dgxm_fused_program *p, int at, dgxm_error *err)
{
    DGXM_CUDA_TRY(err, "decode step", cudaGraphLaunch(p->exec, cb->stream));
    DGXM_CUDA_TRY(err, "decode step", cudaEventRecord(p->done[at & 1], cb->stream));
    p->queued++;
    return DGXM_OK;
}

/* step and profile: the next step's column must have a row of the window to go to. */
dgxm_status refuse_outside_window(const dgxm_fused_program *p, const char *what, dgxm_error *err)
{
    if (p->next_step < 1 || p->next_step >= p->columns)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "cuda decode %s: step %d outside the window's %d columns", what,
                              p->next_step, p->columns);
    return DGXM_OK;
}

dgxm_status step(dgxm_backend *b, dgxm_fused_program *p, int32_t *column, bool queue_next,
                 dgxm_error *err)
{
    dgxm_status st;
    if ((st = refuse_outside_window(p, "step", err)))
        return st;
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (p->queued == 0 && (st = launch_step(cb, p, p->next_step, err)))
        return st;
    if (queue_next && p->queue_ahead && p->queued == 1 && p->next_step + 1 < p->columns &&
        (st = launch_step(cb, p, p->next_step + 1, err)))
        return st;
    DGXM_CUDA_TRY(err, "decode step", cudaEventSynchronize(p->done[p->next_step & 1]));
    const size_t K = (size_t)p->desc.codebooks;
    memcpy(column, p->column_host + (size_t)p->next_step * K, K * sizeof(int32_t));
    p->queued--;
    p->next_step++;
    return DGXM_OK;
}

/* read_logits and profile: the logits a caller wants are gone once the next step is queued. */
dgxm_status refuse_if_queued(const dgxm_fused_program *p, const char *what, dgxm_error *err)
{
    if (p->queued > 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "cuda decode step: %s with step %d queued ahead (step with "
                              "queue_next false to read logits)",
                              what, p->next_step);
    return DGXM_OK;
}

dgxm_status read_logits(dgxm_backend *b, dgxm_fused_program *p, float *logits, dgxm_error *err)
{
    if (dgxm_status st = refuse_if_queued(p, "logits", err))
        return st;
    const dgxm_fused_desc *d = &p->desc;
    DGXM_CUDA_TRY(err, "decode step",
                  cudaMemcpyAsync(logits, p->logits,
                                  (size_t)d->rows * d->codebooks * d->vocab * sizeof(float),
                                  cudaMemcpyDeviceToHost, dgxm_cuda(b)->stream));
    DGXM_CUDA_TRY(err, "decode step", cudaStreamSynchronize(dgxm_cuda(b)->stream));
    return DGXM_OK;
}

int kernels_per_step(const dgxm_fused_program *p)
{
    return p->kernels;
}

/* One step run outside the graph with an event after every kernel; times summed per kernel
 * kind. Each kernel runs alone here (no overlap with its neighbours), so the sum is above a
 * graph step's time: it shows where the time goes, not the step time. */
int profile(dgxm_backend *b, dgxm_fused_program *p, dgxm_fused_profile_entry *out, int max,
            dgxm_error *err)
{
    if (refuse_if_queued(p, "profile", err) || refuse_outside_window(p, "step profile", err))
        return -1;
    cudaStream_t s = dgxm_cuda(b)->stream;
    const int n = p->kernels + 1;
    p->marks = static_cast<cudaEvent_t *>(calloc((size_t)n, sizeof *p->marks));
    p->mark_names = static_cast<const char **>(calloc((size_t)n, sizeof *p->mark_names));
    int made = 0, count = -1;
    if (!p->marks || !p->mark_names) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "decode step profile: out of memory");
        goto done;
    }
    for (; made < n; made++)
        if (cudaEventCreate(&p->marks[made]) != cudaSuccess)
            break;
    p->mark_max = made;
    p->mark_count = 0;
    if (made < n || cudaEventRecord(p->marks[0], s) != cudaSuccess) {
        dgxm_error_set(err, DGXM_ERR_BACKEND, "decode step profile: events");
        goto done;
    }
    p->mark_names[p->mark_count++] = "start";
    if (record_step(p, s, err))
        goto done;
    if (cudaStreamSynchronize(s) != cudaSuccess) {
        dgxm_error_set(err, DGXM_ERR_BACKEND, "decode step profile: the step failed");
        goto done;
    }
    p->next_step++;
    count = 0;
    for (int i = 1; i < p->mark_count; i++) {
        float ms = 0;
        cudaEventElapsedTime(&ms, p->marks[i - 1], p->marks[i]);
        int j = 0;
        while (j < count && strcmp(out[j].name, p->mark_names[i]))
            j++;
        if (j == count) {
            if (count == max)
                continue;
            out[count].name = p->mark_names[i];
            out[count].ms = 0;
            out[count++].launches = 0;
        }
        out[j].ms += ms;
        out[j].launches++;
    }
done:
    for (int i = 0; i < made; i++)
        cudaEventDestroy(p->marks[i]);
    free(p->marks);
    free(p->mark_names);
    p->marks = NULL;
    p->mark_names = NULL;
    p->mark_count = p->mark_max = 0;
    return count;
}

} // namespace

extern "C" const dgxm_fused_step_ops dgxm_cuda_fused_step_ops = {
    program_new, program_free, window_begin, step, read_logits, kernels_per_step, profile,
};
