/* Attention of one query per batch row against a KV cache, split over time (flash-decoding):
 * each block scores 128 keys of one (row, head) - one key per lane, four warps - and keeps a
 * partial softmax (max, sum, weighted values); the last block of a (row, head) to arrive merges
 * the partials in split order, so the result does not depend on which block finished last.
 * One launch replaces the score, softmax and value passes of the op-by-op path. Heads of up to
 * 64 (even) dimensions: 64 in every released MusicGen. */
#include "step_internal.h"

namespace
{

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

/* q . k over one 16-byte vector of keys at element offset i. */
__device__ __forceinline__ float dot16(uint4 v, const float *q, const float *)
{
    return q[0] * __uint_as_float(v.x) + q[1] * __uint_as_float(v.y) + q[2] * __uint_as_float(v.z) +
           q[3] * __uint_as_float(v.w);
}
__device__ __forceinline__ float dot16(uint4 v, const float *q, const __half *)
{
    const unsigned int u[4] = { v.x, v.y, v.z, v.w };
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const float2 f = __half22float2(*reinterpret_cast<const __half2 *>(&u[j]));
        s += q[2 * j] * f.x + q[2 * j + 1] * f.y;
    }
    return s;
}

template <typename T>
__global__ void __launch_bounds__(DGXM_STEP_ATTN_CHUNK)
    step_attention_kernel(const dgxm_step_attention_args a)
{
    __shared__ float qs[HD];
    __shared__ float warp_max[WARPS], warp_sum[WARPS];
    __shared__ float warp_acc[WARPS][HD];
    __shared__ int last;
    constexpr int PER_VEC = 16 / sizeof(T), MAX_VECS = HD / PER_VEC;
    dgxm_pdl_trigger();
    dgxm_pdl_wait(); /* q and this step's K/V come from the kernel before */
    const int split = blockIdx.x, head = blockIdx.y, row = blockIdx.z;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int length = a.counters ? a.counters->position + 1 : a.length;
    const int splits = (length + DGXM_STEP_ATTN_CHUNK - 1) / DGXM_STEP_ATTN_CHUNK;
    if (split >= splits)
        return;
    const int hd = a.head_dim, vecs = hd / PER_VEC;
    const T *keys = static_cast<const T *>(a.k) + (long long)row * a.row_stride + head * hd;
    const T *values = static_cast<const T *>(a.v) + (long long)row * a.row_stride + head * hd;
    if (threadIdx.x < hd)
        qs[threadIdx.x] = a.q[row * a.q_stride + head * hd + threadIdx.x];

    /* One key per lane: its whole row in flight at once. */
    const int first = split * DGXM_STEP_ATTN_CHUNK + warp * 32;
    const int pos = first + lane;
    uint4 kv[MAX_VECS];
    const uint4 *kr = reinterpret_cast<const uint4 *>(keys + (long long)pos * a.pos_stride);
#pragma unroll
    for (int i = 0; i < MAX_VECS; i++)
        kv[i] = pos < length && i < vecs ? kr[i] : make_uint4(0, 0, 0, 0);
    /* Values: lane owns dimensions 2 * lane and 2 * lane + 1; all 32 rows in flight. */
    const int valid = length - first < 32 ? length - first : 32;
    const bool owns = 2 * lane < hd;
    float2 vrow[32];
#pragma unroll
    for (int j = 0; j < 32; j++)
        vrow[j] = owns && j < valid
                      ? load2(values + (long long)(first + j) * a.pos_stride + 2 * lane)
                      : make_float2(0.0f, 0.0f);
    __syncthreads(); /* qs */

    float score = -INFINITY;
    if (pos < length) {
        float dot = 0.0f;
#pragma unroll
        for (int i = 0; i < MAX_VECS; i++)
            if (i < vecs)
                dot += dot16(kv[i], qs + i * PER_VEC, static_cast<const T *>(nullptr));
        score = dot * a.scale;
    }
    const float m = dgxm_warp_max(score);
    const float p = pos < length ? expf(score - m) : 0.0f;
    const float l = dgxm_warp_sum(p);
    float2 acc = make_float2(0.0f, 0.0f);
#pragma unroll
    for (int j = 0; j < 32; j++) {
        const float pj = __shfl_sync(0xffffffffu, p, j);
        acc.x += pj * vrow[j].x;
        acc.y += pj * vrow[j].y;
    }
    if (lane == 0) {
        warp_max[warp] = valid > 0 ? m : -INFINITY;
        warp_sum[warp] = valid > 0 ? l : 0.0f;
    }
    if (owns) {
        warp_acc[warp][2 * lane] = valid > 0 ? acc.x : 0.0f;
        warp_acc[warp][2 * lane + 1] = valid > 0 ? acc.y : 0.0f;
    }
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

dgxm_status dgxm_step_attention(const dgxm_step_attention_args *a, cudaStream_t s, bool pdl,
                                dgxm_error *err)
{
    const dim3 grid((unsigned)a->max_splits, (unsigned)a->heads, (unsigned)a->rows);
    const dgxm_step_attention_args args = *a;
    const cudaError_t e = a->kv_half
                              ? dgxm_step_launch(step_attention_kernel<__half>, grid,
                                                 dim3(DGXM_STEP_ATTN_CHUNK), 0, s, pdl, args)
                              : dgxm_step_launch(step_attention_kernel<float>, grid,
                                                 dim3(DGXM_STEP_ATTN_CHUNK), 0, s, pdl, args);
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "step attention", "launch");
    return dgxm_cuda_launched(err, "step attention");
}
