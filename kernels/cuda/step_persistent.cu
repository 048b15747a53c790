/* The decoder stack of one step as one persistent kernel (dgxm_persist_args in
 * step_internal.h): the embedding, per layer [LayerNorm + Q,K,V -> KV cache], self-attention,
 * [O + residual], [LayerNorm + cross Q], cross-attention, [cross O + residual],
 * [LayerNorm + fc1 + GELU], [fc2 + residual], then [final LayerNorm + heads]. The same
 * arithmetic as the kernel-per-phase step (step_gemv.cu, step_attention.cu): each phase is
 * split over all blocks, and a grid-wide barrier stands where a kernel boundary stood.
 *
 * Why it exists: at batch 2 a phase moves 2-34 MB, a few microseconds of bandwidth, and a
 * kernel boundary costs about as much again (launch, first DRAM round trip, tail). Here every
 * warp issues its first weight tile before it waits at the barrier, and a barrier costs about
 * a microsecond (measured: 193 of them take 0.2 ms on an H200). It is opt-in
 * (DGXM_CUDA_PERSISTENT=1) because it is not faster yet: with one block of 8 warps per SM
 * (the registers allow no more without spills) each phase's dependent chain - x from L2, the
 * LayerNorm reductions, the dot products, the stores - runs at 2 warps per scheduler, and the
 * step took 1.40 ms against 1.24 ms for the kernel-per-phase graph (musicgen-small, bf16;
 * docs/performance.md).
 *
 * Everything the step writes (x, q, attn, ff, this position's K/V, attention partials) is read
 * back through L2 only (ld.cg): other blocks wrote it during this launch and L1 is not
 * coherent between SMs. Weights are read-only and stream past L1. */
#include "step_attention_block.cuh"
#include "step_gemv_common.cuh"

namespace
{

using namespace dgxm_step;

constexpr int WARPS = 8; /* with 16 (128 registers) the attention spills: slower, as is noinline */
constexpr int THREADS = WARPS * 32;
constexpr int TILE = 4;  /* 16-byte loads per lane per tile */
constexpr int DEPTH = 2; /* tiles in flight per lane */

__device__ __forceinline__ unsigned load_acquire(const unsigned *p)
{
    unsigned v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
}

/* Grid-wide barrier of co-resident blocks: one word whose top bit flips once all blocks have
 * arrived (block 0 adds 2^31 - (blocks - 1), every other block 1), so it needs no reset, and a
 * block waits on the value its own arrival returned, never on a separate read that could race
 * with the last arrival. */
__device__ __forceinline__ void grid_sync(unsigned *word)
{
    __syncthreads();
    if (threadIdx.x == 0) {
        const unsigned inc = blockIdx.x == 0 ? 0x80000000u - (gridDim.x - 1) : 1u;
        __threadfence(); /* this block's writes before its arrival */
        const unsigned old = atomicAdd(word, inc);
        while (((old ^ load_acquire(word)) & 0x80000000u) == 0)
            ;
        __threadfence();
    }
    __syncthreads();
}

/* Feature `feature` of segment sg from the warp's partial sums (which restart at zero): the
 * int8 scale, then the segment's consumer (cache row, residual add, GELU). */
template <int FMT, int M>
__device__ __forceinline__ void store_row(const dgxm_gemv_segment &sg, int feature, float *acc,
                                          int lane, int pos)
{
    const float scale = FMT == DGXM_WEIGHT_INT8 ? sg.scales[feature] : 1.0f;
#pragma unroll
    for (int m = 0; m < M; m++) {
        const float y = dgxm_warp_sum(acc[m]) * scale;
        acc[m] = 0.0f;
        if (lane != 0)
            continue;
        const long long at =
            (long long)pos * sg.pos_stride + (long long)m * sg.row_stride + feature;
        if (sg.out_half) {
            static_cast<__half *>(sg.out)[at] = __float2half_rn(y);
            continue;
        }
        float *out = static_cast<float *>(sg.out) + at;
        switch (sg.mode) {
        case DGXM_GEMV_STORE: __stcg(out, y); break;
        case DGXM_GEMV_ACCUM: __stcg(out, __ldcg(out) + y); break;
        case DGXM_GEMV_GELU: __stcg(out, gelu(y)); break;
        }
    }
}

/* Where a warp is in its run of output features: segment, feature in it, and the next tile. */
struct cursor {
    int seg, feature, tile;
};

/* x (M rows of k) into shared memory with [LayerNorm], laid out so that the E inputs one
 * 16-byte weight load meets are E / 4 float4s k / E apart: lane l of a warp then reads float4
 * l of each part, and 32 lanes touch 32 consecutive float4s (no bank conflicts). The norm runs
 * on a natural copy first, so its sums are the kernel-per-phase step's. */
template <int E, int M>
__device__ void load_x(const float *x, int k, const float *ln_w, const float *ln_b, float *xs,
                       float *natural, float *red)
{
    const int k4 = k / 4, parts = E / 4, chunks = k / E;
    const float4 *src = reinterpret_cast<const float4 *>(x);
    if (ln_w) {
        for (int i = threadIdx.x; i < M * k4; i += THREADS)
            reinterpret_cast<float4 *>(natural)[i] = __ldcg(src + i);
        __syncthreads();
        layer_norm_shared<M>(natural, k, ln_w, ln_b, red);
        src = reinterpret_cast<const float4 *>(natural);
    }
    float4 *dst = reinterpret_cast<float4 *>(xs);
    for (int i = threadIdx.x; i < M * k4; i += THREADS) {
        const int m = i / k4, j = i % k4;
        const float4 v = ln_w ? src[i] : __ldcg(src + i);
        dst[m * k4 + (j % parts) * chunks + j / parts] = v;
    }
    __syncthreads();
}

/* One phase's y = W . [LayerNorm](x) over every block: warp w of the grid owns a run of
 * consecutive output features (across the segments) and walks them tile by tile, DEPTH tiles
 * in flight per lane (a ring in registers, so its indices are compile-time). The first DEPTH
 * tiles are issued before the barrier that makes x ready, so their round trip overlaps the
 * wait. (More tiles in flight, L2 prefetches of the next phase's weights and a shared,
 * non-inlined copy of this function were each measured slower on an H200.) */
template <int FMT, int M>
__device__ __forceinline__ void
gemv_phase(const dgxm_gemv_segment *segs, int segments, const float *x, int k, const float *ln_w,
           const float *ln_b, int pos, unsigned *barrier, float *xs, float *natural, float *red)
{
    using W = weights<FMT>;
    constexpr int E = W::per_load;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int features = 0;
    for (int i = 0; i < segments; i++)
        features += segs[i].features;
    const int loads = k / E, per_tile = 32 * TILE, chunks = k / E;
    const int tiles_per_row = (loads + per_tile - 1) / per_tile;
    const int warps = gridDim.x * WARPS, gw = blockIdx.x * WARPS + warp;
    const int per_warp = (features + warps - 1) / warps;
    const int first = gw * per_warp;
    const int rows = first < features ? min(per_warp, features - first) : 0;
    const int tiles = rows * tiles_per_row;
    const size_t row_bytes = (size_t)k * (16 / E);

    cursor in = { 0, first, 0 }; /* the next tile to fetch */
    while (in.seg < segments - 1 && in.feature >= segs[in.seg].features)
        in.feature -= segs[in.seg++].features;
    cursor out = in; /* the row being summed */
    auto fetch = [&](uint4 *tile) {
        const uint4 *w = reinterpret_cast<const uint4 *>(static_cast<const char *>(segs[in.seg].w) +
                                                         (size_t)in.feature * row_bytes);
        const int c0 = in.tile * per_tile + lane;
#pragma unroll
        for (int u = 0; u < TILE; u++)
            tile[u] = c0 + u * 32 < loads ? stream_load(w + c0 + u * 32) : make_uint4(0, 0, 0, 0);
        if (++in.tile == tiles_per_row) {
            in.tile = 0;
            if (++in.feature == segs[in.seg].features && in.seg < segments - 1)
                in.seg++, in.feature = 0;
        }
    };

    uint4 ring[DEPTH][TILE];
#pragma unroll
    for (int d = 0; d < DEPTH; d++)
        if (d < tiles)
            fetch(ring[d]);
    grid_sync(barrier);
    load_x<E, M>(x, k, ln_w, ln_b, xs, natural, red);

    const float4 *xv = reinterpret_cast<const float4 *>(xs);
    float acc[M];
#pragma unroll
    for (int m = 0; m < M; m++)
        acc[m] = 0.0f;
    for (int t0 = 0; t0 < tiles; t0 += DEPTH) {
#pragma unroll
        for (int d = 0; d < DEPTH; d++) {
            const int t = t0 + d;
            if (t >= tiles)
                break;
            const int c0 = out.tile * per_tile + lane;
#pragma unroll
            for (int u = 0; u < TILE; u++) {
                const int c = c0 + u * 32;
                if (c >= loads)
                    break;
                float f[E];
                W::expand(ring[d][u], f);
#pragma unroll
                for (int m = 0; m < M; m++)
#pragma unroll
                    for (int q = 0; q < E / 4; q++) {
                        const float4 x4 = xv[m * (k / 4) + q * chunks + c];
                        acc[m] += f[4 * q] * x4.x + f[4 * q + 1] * x4.y + f[4 * q + 2] * x4.z +
                                  f[4 * q + 3] * x4.w;
                    }
            }
            if (t + DEPTH < tiles)
                fetch(ring[d]);                /* refill the slot just used */
            if (++out.tile == tiles_per_row) { /* the row is complete */
                store_row<FMT, M>(segs[out.seg], out.feature, acc, lane, pos);
                out.tile = 0;
                if (++out.feature == segs[out.seg].features && out.seg < segments - 1)
                    out.seg++, out.feature = 0;
            }
        }
    }
}

/* Every (split, head, row) of one attention, blocks taking them in turn. */
template <typename T>
__device__ __forceinline__ void attention_phase(const dgxm_step_attention_args &a,
                                                unsigned *barrier, attention_shared<WARPS> &sh)
{
    grid_sync(barrier);
    const int splits = (attention_length(a) + THREADS - 1) / THREADS;
    const int items = splits * a.heads * a.rows;
    for (int it = blockIdx.x; it < items; it += gridDim.x) {
        const int rest = it / splits;
        attention_split<T, WARPS>(a, it % splits, rest % a.heads, rest / a.heads, sh);
    }
}

/* x[r] = positions[position] + the sum of the previous column's embeddings, every row. */
__device__ void embed_phase(const dgxm_step_embed_args &e)
{
    const int step = e.counters->step, columns = e.counters->columns;
    const float *position = e.positions + (long long)e.counters->position * e.hidden;
    for (int i = blockIdx.x * THREADS + threadIdx.x; i < e.hidden; i += gridDim.x * THREADS) {
        float v = position[i];
        for (int c = 0; c < e.codebooks; c++)
            v += e.embed[c][(long long)e.grid[c * columns + step - 1] * e.hidden + i];
        for (int r = 0; r < e.rows; r++)
            __stcg(e.x + r * e.hidden + i, v);
    }
}

template <int FMT, int HEADS_FMT, int M>
__global__ void __launch_bounds__(THREADS, 1) persistent_step_kernel(const dgxm_persist_args a)
{
    extern __shared__ float4 smem[];
    float *xs = reinterpret_cast<float *>(smem); /* [M][max(hidden, ffn)], permuted */
    float *natural = xs + M * (a.ffn > a.hidden ? a.ffn : a.hidden); /* [M][hidden] */
    __shared__ float red[64];
    __shared__ attention_shared<WARPS> sh;
    const int h = a.hidden, pos = a.embed.counters->position;

    if (a.probe == DGXM_PERSIST_PROBE_BARRIERS) { /* the step's barriers and nothing else */
        for (int i = a.layer_count * (a.lt > 0 ? 8 : 5) + 1; i > 0; i--)
            grid_sync(a.barrier);
        return;
    }
    embed_phase(a.embed);
    for (int i = 0; i < a.layer_count; i++) {
        const dgxm_persist_layer *l = &a.layers[i];
        gemv_phase<FMT, M>(l->qkv, 3, a.x, h, l->ln_self_w, l->ln_self_b, pos, a.barrier, xs,
                           natural, red);
        dgxm_step_attention_args at = a.self_attn;
        at.k = l->k_cache;
        at.v = l->v_cache;
        if (a.probe == DGXM_PERSIST_PROBE_NO_ATTENTION)
            grid_sync(a.barrier);
        else if (at.kv_half)
            attention_phase<__half>(at, a.barrier, sh);
        else
            attention_phase<float>(at, a.barrier, sh);
        if (a.lt > 0) { /* only the conditioned row: the null row's cross output is zero */
            gemv_phase<FMT, M>(&l->o, 1, a.attn, h, NULL, NULL, pos, a.barrier, xs, natural, red);
            gemv_phase<FMT, 1>(&l->cq, 1, a.x, h, l->ln_cross_w, l->ln_cross_b, pos, a.barrier, xs,
                               natural, red);
            at = a.cross_attn;
            at.k = l->cross_k;
            at.v = l->cross_v;
            if (a.probe == DGXM_PERSIST_PROBE_NO_ATTENTION)
                grid_sync(a.barrier);
            else
                attention_phase<float>(at, a.barrier, sh);
            gemv_phase<FMT, 1>(&l->co, 1, a.attn, h, NULL, NULL, pos, a.barrier, xs, natural, red);
        } else {
            gemv_phase<FMT, M>(&l->o, 1, a.attn, h, NULL, NULL, pos, a.barrier, xs, natural, red);
        }
        gemv_phase<FMT, M>(&l->fc1, 1, a.x, h, l->ln_ff_w, l->ln_ff_b, pos, a.barrier, xs, natural,
                           red);
        gemv_phase<FMT, M>(&l->fc2, 1, a.ff, a.ffn, NULL, NULL, pos, a.barrier, xs, natural, red);
    }
    gemv_phase<HEADS_FMT, M>(&a.heads, 1, a.x, h, a.ln_out_w, a.ln_out_b, pos, a.barrier, xs,
                             natural, red);
}

template <int FMT, int HEADS_FMT, int M> constexpr auto kernel_for()
{
    return persistent_step_kernel<FMT, HEADS_FMT, M>;
}

typedef void (*persistent_kernel)(const dgxm_persist_args);

template <int M> persistent_kernel pick_rows(dgxm_weight_format f)
{
    switch (f) {
    case DGXM_WEIGHT_F32: return kernel_for<DGXM_WEIGHT_F32, DGXM_WEIGHT_F32, M>();
    case DGXM_WEIGHT_BF16: return kernel_for<DGXM_WEIGHT_BF16, DGXM_WEIGHT_BF16, M>();
    case DGXM_WEIGHT_F16: return kernel_for<DGXM_WEIGHT_F16, DGXM_WEIGHT_F16, M>();
    case DGXM_WEIGHT_INT8: return kernel_for<DGXM_WEIGHT_INT8, DGXM_WEIGHT_BF16, M>();
    }
    return NULL;
}

/* The kernel for layers in format f (heads as core/decoder.c stores them: bf16 with int8
 * layers, else the layers' format) and rows batch rows. */
persistent_kernel pick(dgxm_weight_format f, int rows)
{
    return rows == 1 ? pick_rows<1>(f) : rows == 2 ? pick_rows<2>(f) : NULL;
}

} // namespace

int dgxm_step_persistent_blocks(dgxm_weight_format f, int rows, size_t smem, int sm_count,
                                dgxm_error *err)
{
    const persistent_kernel k = pick(f, rows);
    if (!k) {
        dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "persistent step: format %d, %d rows", (int)f,
                       rows);
        return 0;
    }
    cudaError_t e = cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    int per_sm = 0;
    if (e == cudaSuccess)
        e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, k, THREADS, smem);
    if (e != cudaSuccess) {
        dgxm_cuda_fail(err, e, "persistent step", "occupancy");
        return 0;
    }
    if (per_sm < 1) {
        dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                       "persistent step: no block of %d threads and %zu bytes of shared memory "
                       "fits an SM",
                       THREADS, smem);
        return 0;
    }
    return sm_count; /* one block per SM: more would only share its bandwidth */
}

dgxm_status dgxm_step_persistent(dgxm_weight_format f, const dgxm_persist_args *a, int blocks,
                                 size_t smem, cudaStream_t s, dgxm_error *err)
{
    const persistent_kernel k = pick(f, a->rows);
    if (!k)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "persistent step: format %d, %d rows",
                              (int)f, a->rows);
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3((unsigned)blocks);
    cfg.blockDim = dim3(THREADS);
    cfg.dynamicSmemBytes = smem;
    cfg.stream = s;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeCooperative; /* the barriers need every block resident */
    attr[0].val.cooperative = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    const dgxm_persist_args args = *a;
    const cudaError_t e = cudaLaunchKernelEx(&cfg, k, args);
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "persistent step", "cooperative launch");
    return dgxm_cuda_launched(err, "persistent step");
}
