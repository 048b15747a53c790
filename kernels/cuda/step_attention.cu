/* Attention of one query per batch row against a KV cache, split over time (flash-decoding):
 * each block scores 128 keys of one (row, head) - one key per lane, four warps - and keeps a
 * partial softmax (max, sum, weighted values); the last block of a (row, head) to arrive merges
 * the partials in split order, so the result does not depend on which block finished last.
 * One launch replaces the score, softmax and value passes of the op-by-op path. Heads of up to
 * 64 (even) dimensions: 64 in every released MusicGen. */
#include "step_internal.h"

namespace {

constexpr int HD = DGXM_STEP_HEAD_DIM; /* the most; a.head_dim is the actual size */
constexpr int WARPS = DGXM_STEP_ATTN_CHUNK / 32;
constexpr int PART = 2 + HD; /* max, sum, values */

template <typename T> __device__ __forceinline__ float2 load2(const T *p);
template <> __device__ __forceinline__ float2 load2<float>(const float *p)
{
    return *reinterpret_cast<const float2 *>(p);
}
template <> __device__ __forceinline__ float2 load2<__half>(const __half *p)
{
    return __half22float2(*reinterpret_cast<const __half2 *>(p));
}

template <typename T>
__global__ void __launch_bounds__(DGXM_STEP_ATTN_CHUNK) step_attention_kernel(
    const dgxm_step_attention_args a)
{
    __shared__ float qs[HD];
    __shared__ float warp_max[WARPS], warp_sum[WARPS];
    __shared__ float warp_acc[WARPS][HD];
    __shared__ int last;
    const int split = blockIdx.x, head = blockIdx.y, row = blockIdx.z;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int length = a.counters ? a.counters->position + 1 : a.length;
    const int splits = (length + DGXM_STEP_ATTN_CHUNK - 1) / DGXM_STEP_ATTN_CHUNK;
    if (split >= splits)
        return;
    const int hd = a.head_dim;
    const T *keys = static_cast<const T *>(a.k) + (long long)row * a.row_stride + head * hd;
    const T *values = static_cast<const T *>(a.v) + (long long)row * a.row_stride + head * hd;
    if (threadIdx.x < hd)
        qs[threadIdx.x] = a.q[row * a.q_stride + head * hd + threadIdx.x];
    __syncthreads();

    /* One key per lane. */
    const int first = split * DGXM_STEP_ATTN_CHUNK + warp * 32;
    const int pos = first + lane;
    float score = -INFINITY;
    if (pos < length) {
        const T *kr = keys + (long long)pos * a.pos_stride;
        float dot = 0.0f;
#pragma unroll 8
        for (int i = 0; i < hd; i += 2) {
            const float2 k2 = load2(kr + i);
            dot += qs[i] * k2.x + qs[i + 1] * k2.y;
        }
        score = dot * a.scale;
    }
    const float m = dgxm_warp_max(score);
    const float p = pos < length ? expf(score - m) : 0.0f;
    const float l = dgxm_warp_sum(p);

    /* Values: lane owns dimensions 2 * lane and 2 * lane + 1. */
    float2 acc = make_float2(0.0f, 0.0f);
    const int valid = length - first < 32 ? length - first : 32;
    const bool owns = 2 * lane < hd;
    for (int j = 0; j < valid; j++) {
        const float pj = __shfl_sync(0xffffffffu, p, j);
        if (!owns)
            continue;
        const float2 v2 = load2(values + (long long)(first + j) * a.pos_stride + 2 * lane);
        acc.x += pj * v2.x;
        acc.y += pj * v2.y;
    }
    if (lane == 0) {
        warp_max[warp] = valid > 0 ? m : -INFINITY;
        warp_sum[warp] = valid > 0 ? l : 0.0f;
    }
    warp_acc[warp][2 * lane] = valid > 0 ? acc.x : 0.0f;
    warp_acc[warp][2 * lane + 1] = valid > 0 ? acc.y : 0.0f;
    __syncthreads();

    /* This block's partial, in warp order. */
    const int rh = row * a.heads + head;
    float *part = a.partials + ((long long)rh * a.max_splits + split) * PART;
    if (threadIdx.x < hd) {
        float bm = -INFINITY;
        for (int w = 0; w < WARPS; w++)
            bm = fmaxf(bm, warp_max[w]);
        float bl = 0.0f, bo = 0.0f;
        for (int w = 0; w < WARPS; w++) {
            if (warp_sum[w] == 0.0f)
                continue;
            const float f = expf(warp_max[w] - bm);
            bl += warp_sum[w] * f;
            bo += warp_acc[w][threadIdx.x] * f;
        }
        part[2 + threadIdx.x] = bo;
        if (threadIdx.x == 0)
            part[0] = bm, part[1] = bl;
    }
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0)
        last = atomicAdd(&a.arrivals[rh], 1) == splits - 1;
    __syncthreads();
    if (!last)
        return;
    __threadfence();

    /* The last block merges every split in order and resets the arrival count. */
    if (threadIdx.x < hd) {
        const float *parts = a.partials + (long long)rh * a.max_splits * PART;
        float gm = -INFINITY;
        for (int s = 0; s < splits; s++)
            gm = fmaxf(gm, __ldcg(parts + s * PART));
        float gl = 0.0f, go = 0.0f;
        for (int s = 0; s < splits; s++) {
            const float f = expf(__ldcg(parts + s * PART) - gm);
            gl += __ldcg(parts + s * PART + 1) * f;
            go += __ldcg(parts + s * PART + 2 + threadIdx.x) * f;
        }
        a.out[row * a.out_stride + head * hd + threadIdx.x] = go / gl;
    }
    if (threadIdx.x == 0)
        a.arrivals[rh] = 0;
}

} // namespace

dgxm_status dgxm_step_attention(const dgxm_step_attention_args *a, cudaStream_t s,
                                dgxm_error *err)
{
    const dim3 grid((unsigned)a->max_splits, (unsigned)a->heads, (unsigned)a->rows);
    if (a->kv_half)
        step_attention_kernel<__half><<<grid, DGXM_STEP_ATTN_CHUNK, 0, s>>>(*a);
    else
        step_attention_kernel<float><<<grid, DGXM_STEP_ATTN_CHUNK, 0, s>>>(*a);
    return dgxm_cuda_launched(err, "step attention");
}
