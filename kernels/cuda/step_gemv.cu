/* The decode step's matrix-vector product: y = W . LayerNorm(x) for one or two batch rows, with
 * the norm folded in front and the consumer folded behind (KV-cache write, residual add, GELU).
 *
 * A decode step is limited by the bytes of its weights, so everything here serves the weight
 * stream: one warp per output feature reads its row with 16-byte loads, two tiles of loads in
 * flight per lane; the first tile is issued before the block normalises x, so the LayerNorm
 * costs no memory latency. Each block recomputes the norm of its 1-2 rows from L2, which is
 * cheaper than a separate kernel and a round trip. Reductions run in a fixed order. */
#include "step_gemv_common.cuh"

namespace
{

using namespace dgxm_step;

/* 16-byte loads per lane per tile (split over the warp's rows): 6 measured 7 % faster than 4
 * on an H200 for musicgen-small bf16, 8 no better; every lane still sums its chunks in the
 * same order, so the results are the same bits. */
constexpr int UNROLL = 6;

/* The conditioned row's cross-attention scores of the fold into neighbours (step_cross_fold.cu)
 * into xs[0, k), softmax still to come: the two partial dot products summed, then the LayerNorm
 * of the residual row they stand for applied as a scale and a shift. The statistics are the
 * LayerNorm's (one pass, shifted by the row's first value: layer_norm_shared says why); xs[k,
 * 2k) and xs[2k, 3k) hold the fold's sums and biases, loaded before the wait. */
__device__ void folded_scores(float *xs, int k, const dgxm_gemv_args &a, float *red)
{
    const int n = a.stats_k;
    const float shift = __ldcg(a.stats_x);
    float s = 0.0f, q = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float d = __ldcg(a.stats_x + i) - shift;
        s += d, q += d * d;
    }
    for (int i = threadIdx.x; i < k; i += blockDim.x)
        xs[i] = __ldcg(a.x + i) + __ldcg(a.score_part + i);
    float sums[2] = { s, q };
    block_sums<2>(sums, red); /* its barriers also publish xs */
    const float m = sums[0] / (float)n;
    const float var = fmaxf(sums[1] / (float)n - m * m, 0.0f);
    const float mean = shift + m, inv = 1.0f / sqrtf(var + 1e-5f);
    for (int i = threadIdx.x; i < k; i += blockDim.x)
        xs[i] = inv * (xs[i] - mean * xs[k + i]) + xs[2 * k + i];
    __syncthreads();
}

/* Bytes of a side row over a main row's: bf16 side rows in an int8 launch are twice an int8 row. */
template <int FMT> __host__ __device__ constexpr int side_weight()
{
    return FMT == DGXM_WEIGHT_INT8 ? 2 : 1;
}

/* The T 16-byte loads of each of the warp's RW rows that start at load `base` (zero past a row's
 * end or for a row the warp does not have). */
template <int RW, int T>
__device__ __forceinline__ void load_tile(uint4 (&tile)[RW][T], const uint4 *const (&wrow)[RW],
                                          const int (&feature)[RW], int base, int lane, int loads)
{
#pragma unroll
    for (int j = 0; j < RW; j++)
#pragma unroll
        for (int u = 0; u < T; u++) {
            const int c = base + lane + u * 32;
            tile[j][u] =
                feature[j] >= 0 && c < loads ? stream_load(wrow[j] + c) : make_uint4(0, 0, 0, 0);
        }
}

/* acc[j] += load u of row j's tile . the float inputs it meets (load c of each batch row of
 * xin), for weights of format F; the inputs are read once for every row of the warp. */
template <int F, int M, int RW, int T>
__device__ __forceinline__ void dot_float_inputs(const uint4 (&tile)[RW][T], int u,
                                                 const float *xin, int xin_stride, int c,
                                                 float (&acc)[RW][M])
{
    constexpr int E = weights<F>::per_load;
    float4 x4[M][E / 4];
#pragma unroll
    for (int m = 0; m < M; m++)
#pragma unroll
        for (int q = 0; q < E / 4; q++)
            x4[m][q] = reinterpret_cast<const float4 *>(xin + m * xin_stride + c * E)[q];
#pragma unroll
    for (int j = 0; j < RW; j++)
        dot_load<F, M>(tile[j][u], x4, acc[j]);
}

/* 16-byte loads per row per tile for a warp of RW rows: UNROLL split over the rows. */
template <int RW> constexpr int tile_loads()
{
    return UNROLL / RW > 0 ? UNROLL / RW : 1;
}

/* Four-row warps whose lanes have at least 8 loads a row take two loads of each row a tile,
 * not one: musicgen-large bf16 1.5 % faster a step on an H200. Not int8 (its four-row warps
 * would spill, and its rows are half as long). Deeper tiles elsewhere (8 loads for one-row
 * warps, 4 for two-row warps) measured slower or no faster (docs/performance.md). */
constexpr int LONG_ROW_TILE = 2;

/* Three-row warps whose lanes have at least 6 loads a row, with dgxm_gemv_args.rw3_tile3: 3
 * loads of each row a tile, not 2 (128 registers, no spill; opt-in until measured). */
constexpr int LONG_ROW_TILE3 = 3;

/* Each warp computes up to RW consecutive output features (more per warp when a launch has many,
 * so the grid fits the GPU in one wave and the x prologue is shared by more weight bytes), T
 * 16-byte loads of each per tile. */
template <int FMT, int M, int RW, int T>
__global__ void __launch_bounds__(DGXM_STEP_GEMV_WARPS * 32, 2)
    step_gemv_kernel(const dgxm_gemv_args a)
{
    extern __shared__ float xs[]; /* [M][k] */
    __shared__ float red[128];
    /* An int8 launch's side segments are bf16 (the cross-attention fold's Ã and C: int8 would
     * cost their scores too much): their warps read float x, as every other format's do. */
    constexpr int SIDE_FMT = FMT == DGXM_WEIGHT_INT8 ? DGXM_WEIGHT_BF16 : FMT;
    constexpr int E = weights<FMT>::per_load, SE = weights<SIDE_FMT>::per_load;
    constexpr int SIDE_WEIGHT = side_weight<FMT>();
    const int lane = threadIdx.x & 31;
    const int k = a.k;
    /* warp w of W computes features [w F / W, (w + 1) F / W): at most RW, and every SM gets
     * the same share of the weights whatever F is */
    int main_total = 0, side_total = 0;
    for (int i = 0; i < a.segments; i++)
        (i < a.segments - a.side_segments ? main_total : side_total) += a.seg[i].features;
    const long long warps = (long long)gridDim.x * DGXM_STEP_GEMV_WARPS;
    const long long w = (long long)blockIdx.x * DGXM_STEP_GEMV_WARPS + (threadIdx.x >> 5);
    /* side segments have warps of their own (their input is another row of shared memory) */
    const long long side_warps = dgxm_step_side_warps(warps, main_total, side_total, SIDE_WEIGHT);
    const long long main_warps = warps - side_warps;
    const bool side = w >= main_warps;
    const long long sw = side ? w - main_warps : w, group = side ? side_warps : main_warps;
    const int group_total = side ? side_total : main_total;
    const int first = (side ? main_total : 0) + (int)(sw * group_total / group);
    const int count = (int)((sw + 1) * group_total / group) - (int)(sw * group_total / group);
    const bool mixed = FMT != SIDE_FMT && side; /* bf16 rows in an int8 launch */
    const int loads = mixed ? k / SE : k / E, row_bytes = k * (mixed ? 16 / SE : 16 / E);

    int feature[RW], seg_of[RW];
    const uint4 *wrow[RW];
    bool any = false;
#pragma unroll
    for (int j = 0; j < RW; j++) {
        int f = first + j, s = 0;
        while (s < a.segments && f >= a.seg[s].features)
            f -= a.seg[s++].features;
        const bool active = j < count && s < a.segments;
        any |= active;
        feature[j] = active ? f : -1;
        seg_of[j] = active ? s : 0;
        wrow[j] = reinterpret_cast<const uint4 *>(static_cast<const char *>(a.seg[seg_of[j]].w) +
                                                  (size_t)(active ? f : 0) * row_bytes);
    }

    dgxm_pdl_trigger();
    /* folded cross-attention scores: the fold's constants are the layer's, not the step's */
    if (M == 1 && a.stats_x)
        for (int i = threadIdx.x; i < k; i += blockDim.x) {
            xs[k + i] = __ldg(a.fold_sum + i);
            xs[2 * k + i] = __ldg(a.fold_bias + i);
        }
    /* One tile in flight before the wait, not two: the second (2026-12-02, H200) made every
     * size 3-10 % slower a step. Issuing the second right after the wait, to overlap the
     * staging, was 0.5 % faster for small and up to 2 % slower for medium (2026-12-04). */
    uint4 tile[RW][T];
    load_tile<RW, T>(tile, wrow, feature, 0, lane, loads);
    dgxm_pdl_wait(); /* x is the kernel before's output */

    /* A residual's old value, read now so that its L2 round trip overlaps the dot product
     * instead of following it (lane 0 stores each feature). */
    const int pos = a.counters ? a.counters->position : 0;
    float prior[RW][M];
#pragma unroll
    for (int j = 0; j < RW; j++) {
        const dgxm_gemv_segment *seg = &a.seg[seg_of[j]];
        const bool accum =
            lane == 0 && feature[j] >= 0 && !seg->out_half && seg->mode == DGXM_GEMV_ACCUM;
#pragma unroll
        for (int m = 0; m < M; m++) {
            const long long at =
                (long long)pos * seg->pos_stride + (long long)m * seg->row_stride + feature[j];
            const float *old = seg->prior ? seg->prior : static_cast<const float *>(seg->out);
            prior[j][m] = accum ? __ldcg(old + at) : 0.0f;
        }
    }

    /* x into shared memory, 16 bytes per thread per load; with side segments row 0 twice, the
     * second copy kept as it is */
    const int k4 = k / 4;
    float4 *raw = a.side_segments > 0 ? reinterpret_cast<float4 *>(xs + M * k) : NULL;
    /* the LayerNorm's sums as x arrives, shifted by each row's first value (layer_norm_shared
     * says why), read by every thread from L2: a barrier and a pass over xs fewer than
     * layer_norm_shared, 0.6-1.1 % of a step at every size (2026-12-04, H200) */
    const bool stats = a.ln_w && a.ln_in_staging && !a.x_half && !(M == 1 && a.stats_x);
    float shift[M], sums[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
#pragma unroll
    for (int m = 0; m < M; m++)
        shift[m] = stats ? __ldcg(a.x + m * a.x_stride) : 0.0f;
    /* xs, and xq and xscale of int8 weights (as the GEMV below reads them) */
    unsigned char *xq =
        reinterpret_cast<unsigned char *>(xs + (M + (raw ? 1 : 0)) * k); /* [M][k] */
    float *xscale = reinterpret_cast<float *>(xq + M * k);               /* [M][k / 16] */
    /* int8 weights and an input used as it is: quantised as it arrives from L2, nothing
     * staged (a barrier and a pass fewer) */
    const bool quantise_direct = FMT == DGXM_WEIGHT_INT8 && a.quantise_fused && !a.ln_w && !raw &&
                                 !(M == 1 && (a.stats_x || a.softmax_group > 0));
    /* int8 weights behind a LayerNorm: normalised straight into the int8 groups */
    const bool quantise_in_norm =
        FMT == DGXM_WEIGHT_INT8 && a.quantise_fused && stats && !(M == 1 && a.softmax_group > 0);
    const bool quantised = quantise_direct || quantise_in_norm;
    if (quantise_direct) {
        const int n4 = M * k4;
        for (int base = 0; base < n4; base += blockDim.x) {
            const int i = base + threadIdx.x, row = i / k4, c4 = i - row * k4;
            const bool active = i < n4;
            float4 f = make_float4(0, 0, 0, 0);
            if (active && a.x_half) {
                f = half4_to_float4(
                    __ldcg(reinterpret_cast<const uint2 *>(reinterpret_cast<const __half *>(a.x) +
                                                           (size_t)row * a.x_stride) +
                           c4));
            } else if (active) {
                f = __ldcg(reinterpret_cast<const float4 *>(a.x + (size_t)row * a.x_stride) + c4);
            }
            quantize_quad(f, active, i, xq, xscale);
        }
        __syncthreads();
    } else if (M == 1 && a.stats_x) {
        folded_scores(xs, k, a, red);
    } else {
#pragma unroll
        for (int m = 0; m < M; m++) {
            float4 *dst = reinterpret_cast<float4 *>(xs + m * k);
            if (a.x_half) { /* 8 bytes per thread per load: half the L2 traffic of floats */
                const uint2 *src = reinterpret_cast<const uint2 *>(
                    reinterpret_cast<const __half *>(a.x) + (size_t)m * a.x_stride);
#pragma unroll 4
                for (int i = threadIdx.x; i < k4; i += blockDim.x)
                    dst[i] = half4_to_float4(__ldcg(src + i));
                continue;
            }
            const float4 *src = reinterpret_cast<const float4 *>(a.x + m * a.x_stride);
#pragma unroll 4
            for (int i = threadIdx.x; i < k4; i += blockDim.x) {
                const float4 v = __ldcg(src + i);
                dst[i] = v;
                if (m == 0 && raw)
                    raw[i] = v;
                if (stats) {
                    const float d0 = v.x - shift[m], d1 = v.y - shift[m], d2 = v.z - shift[m],
                                d3 = v.w - shift[m];
                    sums[2 * m] += (d0 + d1) + (d2 + d3);
                    sums[2 * m + 1] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
                }
            }
        }
        if (quantise_in_norm) {
            layer_norm_quantize<M>(xs, k, a.ln_w, a.ln_b, red, sums, shift[0], shift[M - 1], xq,
                                   xscale);
        } else if (stats) {
            layer_norm_finish<M>(xs, k, a.ln_w, a.ln_b, red, sums, shift[0], shift[M - 1]);
        } else {
            __syncthreads();
            if (a.ln_w)
                layer_norm_shared<M>(xs, k, a.ln_w, a.ln_b, red);
        }
    }
    if (M == 1 && a.softmax_group > 0)
        softmax_groups_shared(xs, k, a.softmax_group, a.softmax_valid);
    /* a side warp reads the raw row for every batch row it computes, and keeps row 0 only */
    const float *xin = side ? xs + M * k : xs;
    const int xin_stride = side ? 0 : k;
    /* int8 weights meet int8 inputs: x in groups of 16 (one weight load), each with its own
     * scale, so a load is 4 dp4a and one multiply-add a row instead of 16 conversions and 16 */
    if (FMT == DGXM_WEIGHT_INT8 && !quantised) {
        quantize_groups16(xs, M * k, xq, xscale);
        __syncthreads();
    }
    if (!any)
        return;

    float acc[RW][M];
#pragma unroll
    for (int j = 0; j < RW; j++)
#pragma unroll
        for (int m = 0; m < M; m++)
            acc[j][m] = 0.0f;
    for (int base = 0; base < loads; base += 32 * T) {
        uint4 next[RW][T];
        load_tile<RW, T>(next, wrow, feature, base + 32 * T, lane, loads);
#pragma unroll
        for (int u = 0; u < T; u++) {
            const int c = base + lane + u * 32;
            if (c >= loads)
                break;
            if (mixed) {
                dot_float_inputs<SIDE_FMT, M, RW, T>(tile, u, xin, xin_stride, c, acc);
            } else if constexpr (FMT == DGXM_WEIGHT_INT8) {
                uint4 q4[M];
                float qs[M];
#pragma unroll
                for (int m = 0; m < M; m++) {
                    q4[m] = reinterpret_cast<const uint4 *>(xq + m * k)[c];
                    qs[m] = xscale[m * (k / 16) + c];
                }
#pragma unroll
                for (int j = 0; j < RW; j++)
                    dot_load_int8<M>(tile[j][u], q4, qs, acc[j]);
            } else {
                dot_float_inputs<FMT, M, RW, T>(tile, u, xin, xin_stride, c, acc);
            }
        }
#pragma unroll
        for (int j = 0; j < RW; j++)
#pragma unroll
            for (int u = 0; u < T; u++)
                tile[j][u] = next[j][u];
    }

#pragma unroll
    for (int j = 0; j < RW; j++) {
        if (feature[j] < 0)
            continue;
        const dgxm_gemv_segment *seg = &a.seg[seg_of[j]];
        const float scale = FMT == DGXM_WEIGHT_INT8 && !mixed ? seg->scales[feature[j]] : 1.0f;
#pragma unroll
        for (int m = 0; m < M; m++) {
            const float y = dgxm_warp_sum(acc[j][m]) * scale;
            if (lane != 0 || (m > 0 && (side || seg->row0_only)))
                continue;
            const long long at =
                (long long)pos * seg->pos_stride + (long long)m * seg->row_stride + feature[j];
            if (seg->out_half) {
                /* saturated: a value past float16's range would poison what reads it */
                const float v = seg->mode == DGXM_GEMV_GELU ? gelu(y) : y;
                static_cast<__half *>(seg->out)[at] =
                    __float2half_rn(fminf(fmaxf(v, -65504.0f), 65504.0f));
                continue;
            }
            float *out = static_cast<float *>(seg->out) + at;
            switch (seg->mode) {
            case DGXM_GEMV_STORE: *out = y; break;
            case DGXM_GEMV_ACCUM: *out = prior[j][m] + y; break;
            case DGXM_GEMV_GELU: *out = gelu(y); break;
            }
        }
    }
}

/* The grid: two blocks per SM (one wave) when at most 4 features a warp cover them, rows spread
 * evenly over its warps (a grid of whole 8-feature blocks left a third of the SMs with half the
 * rows of the others: 3072 features on 132 SMs made 192 blocks); beyond that, blocks of 4
 * features a warp. */
struct gemv_grid {
    int blocks, rows_per_warp;
};

gemv_grid grid_for(int features, int sm_count)
{
    const int slots = 2 * (sm_count > 0 ? sm_count : 1);
    const int per_block = DGXM_STEP_GEMV_WARPS * 4;
    if (features > slots * per_block)
        return { (features + per_block - 1) / per_block, 4 };
    const int blocks = features < slots ? features : slots;
    const int warps = blocks * DGXM_STEP_GEMV_WARPS;
    const int most = (features + warps - 1) / warps;
    return { blocks, most };
}

template <int FMT, int M, int RW, int T = tile_loads<RW>()>
dgxm_status launch_rw(const dgxm_gemv_args *a, int blocks, cudaStream_t s, bool pdl,
                      dgxm_error *err)
{
    const size_t smem = dgxm_step_gemv_smem(FMT, M, a->k, dgxm_step_gemv_extra_rows(a));
    const dgxm_gemv_args args = *a;
    const cudaError_t e = dgxm_step_launch(step_gemv_kernel<FMT, M, RW, T>, dim3((unsigned)blocks),
                                           dim3(DGXM_STEP_GEMV_WARPS * 32), smem, s, pdl, args);
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "step gemv", "launch");
    return dgxm_cuda_launched(err, "step gemv");
}

template <int FMT, int M>
dgxm_status launch(const dgxm_gemv_args *a, cudaStream_t s, bool pdl, dgxm_error *err)
{
    int main_features = 0, side_features = 0;
    for (int i = 0; i < a->segments; i++)
        (i < a->segments - a->side_segments ? main_features : side_features) += a->seg[i].features;
    gemv_grid g = grid_for(main_features + side_features, a->sm_count);
    if (side_features > 0) /* the two groups of warps split the grid by their bytes */
        for (;;) {
            const long long warps = (long long)g.blocks * DGXM_STEP_GEMV_WARPS;
            const long long sw =
                dgxm_step_side_warps(warps, main_features, side_features, side_weight<FMT>());
            const long long most_main = (main_features + warps - sw - 1) / (warps - sw);
            const long long most_side = (side_features + sw - 1) / sw;
            g.rows_per_warp = (int)(most_main > most_side ? most_main : most_side);
            if (g.rows_per_warp <= 4)
                break;
            g.blocks += g.blocks / 8 + 1;
        }
    if constexpr (FMT != DGXM_WEIGHT_INT8)
        if (g.rows_per_warp == 4 && a->k / weights<FMT>::per_load >= 8 * 32)
            return launch_rw<FMT, M, 4, LONG_ROW_TILE>(a, g.blocks, s, pdl, err);
    if constexpr (FMT != DGXM_WEIGHT_INT8)
        if (a->rw3_tile3 && g.rows_per_warp == 3 && a->k / weights<FMT>::per_load >= 6 * 32)
            return launch_rw<FMT, M, 3, LONG_ROW_TILE3>(a, g.blocks, s, pdl, err);
    switch (g.rows_per_warp) {
    case 4: return launch_rw<FMT, M, 4>(a, g.blocks, s, pdl, err);
    case 3: return launch_rw<FMT, M, 3>(a, g.blocks, s, pdl, err);
    case 2: return launch_rw<FMT, M, 2>(a, g.blocks, s, pdl, err);
    default: return launch_rw<FMT, M, 1>(a, g.blocks, s, pdl, err);
    }
}

template <int M>
dgxm_status launch_rows(dgxm_weight_format f, const dgxm_gemv_args *a, cudaStream_t s, bool pdl,
                        dgxm_error *err)
{
    switch (f) {
    case DGXM_WEIGHT_F32: return launch<DGXM_WEIGHT_F32, M>(a, s, pdl, err);
    case DGXM_WEIGHT_BF16: return launch<DGXM_WEIGHT_BF16, M>(a, s, pdl, err);
    case DGXM_WEIGHT_F16: return launch<DGXM_WEIGHT_F16, M>(a, s, pdl, err);
    case DGXM_WEIGHT_INT8: return launch<DGXM_WEIGHT_INT8, M>(a, s, pdl, err);
    }
    return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "step gemv: weight format %d", (int)f);
}

template <int FMT, int M> cudaError_t allow_smem(int bytes)
{
    const cudaFuncAttribute attr = cudaFuncAttributeMaxDynamicSharedMemorySize;
    cudaError_t e = cudaFuncSetAttribute(step_gemv_kernel<FMT, M, 1, tile_loads<1>()>, attr, bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(step_gemv_kernel<FMT, M, 2, tile_loads<2>()>, attr, bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(step_gemv_kernel<FMT, M, 3, tile_loads<3>()>, attr, bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(step_gemv_kernel<FMT, M, 4, tile_loads<4>()>, attr, bytes);
    if constexpr (FMT != DGXM_WEIGHT_INT8)
        if (e == cudaSuccess)
            e = cudaFuncSetAttribute(step_gemv_kernel<FMT, M, 4, LONG_ROW_TILE>, attr, bytes);
    if constexpr (FMT != DGXM_WEIGHT_INT8)
        if (e == cudaSuccess)
            e = cudaFuncSetAttribute(step_gemv_kernel<FMT, M, 3, LONG_ROW_TILE3>, attr, bytes);
    return e;
}

} // namespace

dgxm_status dgxm_step_gemv(dgxm_weight_format format, const dgxm_gemv_args *a, cudaStream_t s,
                           bool pdl, dgxm_error *err)
{
    if (a->side_segments < 0 || a->side_segments >= a->segments ||
        a->segments > (int)(sizeof a->seg / sizeof a->seg[0]))
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "step gemv: %d segments, %d side",
                              a->segments, a->side_segments);
    if (format == DGXM_WEIGHT_INT8 && a->stats_x)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "step gemv: int8 weights with folded scores");
    if (a->stats_x && (a->rows != 1 || a->softmax_group <= 0))
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "step gemv: folded scores need one row and softmax groups");
    /* float16 x is staged by its own loop, which keeps no raw row and builds no scores */
    if (a->x_half && (a->side_segments > 0 || a->stats_x))
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "step gemv: float16 x with side segments or folded scores");
    for (int i = 0; i < a->segments; i++)
        if (a->seg[i].out_half && a->seg[i].mode == DGXM_GEMV_ACCUM)
            return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                                  "step gemv: segment %d adds a residual into float16", i);
    if (a->rows == 1)
        return launch_rows<1>(format, a, s, pdl, err);
    if (a->rows == 2)
        return launch_rows<2>(format, a, s, pdl, err);
    return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "step gemv: %d batch rows", a->rows);
}

dgxm_status dgxm_step_gemv_prepare(int k_max, dgxm_error *err)
{
    const int quantised = (int)dgxm_step_gemv_smem(DGXM_WEIGHT_INT8, 2, k_max, 1);
    const int widest = (int)dgxm_step_gemv_smem(DGXM_WEIGHT_F32, 1, k_max, 2);
    const int bytes = quantised > widest ? quantised : widest;
    const cudaError_t e[] = {
        allow_smem<DGXM_WEIGHT_F32, 1>(bytes),  allow_smem<DGXM_WEIGHT_F32, 2>(bytes),
        allow_smem<DGXM_WEIGHT_BF16, 1>(bytes), allow_smem<DGXM_WEIGHT_BF16, 2>(bytes),
        allow_smem<DGXM_WEIGHT_F16, 1>(bytes),  allow_smem<DGXM_WEIGHT_F16, 2>(bytes),
        allow_smem<DGXM_WEIGHT_INT8, 1>(bytes), allow_smem<DGXM_WEIGHT_INT8, 2>(bytes),
    };
    for (cudaError_t x : e)
        if (x != cudaSuccess)
            return dgxm_cuda_fail(err, x, "step gemv", "shared memory for the input rows");
    return DGXM_OK;
}
