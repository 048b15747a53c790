/* Attention of one query per batch row against a KV cache, split over time (flash-decoding):
 * a block of WARPS warps scores WARPS * 32 keys of one (row, head) - one key per lane - and keeps
 * a partial softmax (max, sum, weighted values); the last block of a (row, head) to arrive
 * merges the partials in split order, so the result does not depend on which block finished
 * last. Shared by the one-launch attention kernel (step_attention.cu) and the persistent step
 * (step_persistent.cu). Heads of up to 64 (even) dimensions: 64 in every released MusicGen. */
#ifndef DGXM_CUDA_STEP_ATTENTION_BLOCK_CUH
#define DGXM_CUDA_STEP_ATTENTION_BLOCK_CUH

#include "step_internal.h"

namespace dgxm_step
{

constexpr int HD = DGXM_STEP_HEAD_DIM; /* the most; a.head_dim is the actual size */
constexpr int PART = 2 + HD;           /* max, sum, values */
constexpr int MERGE_LOADS = 16;        /* splits merged from registers: 2048 keys */

/* Orders this thread's memory operations at GPU scope without the cost of a sequentially
 * consistent fence (__threadfence): with the arrival counter it forms the release and acquire
 * sides of the partials' hand-over. */
__device__ __forceinline__ void fence_acq_rel(void)
{
    asm volatile("fence.acq_rel.gpu;" ::: "memory");
}

/* Two adjacent cache values as stored (kept packed in registers until used) and widened. */
template <typename T> struct pair;
template <> struct pair<float> {
    typedef float2 raw;
    static __device__ __forceinline__ raw load(const float *p)
    {
        return __ldcg(reinterpret_cast<const float2 *>(p));
    }
    static __device__ __forceinline__ raw zero(void)
    {
        return make_float2(0.0f, 0.0f);
    }
    static __device__ __forceinline__ float2 wide(raw v)
    {
        return v;
    }
};
template <> struct pair<__half> {
    typedef __half2 raw;
    static __device__ __forceinline__ raw load(const __half *p)
    {
        return __ldcg(reinterpret_cast<const __half2 *>(p));
    }
    static __device__ __forceinline__ raw zero(void)
    {
        return __float2half2_rn(0.0f);
    }
    static __device__ __forceinline__ float2 wide(raw v)
    {
        return __half22float2(v);
    }
};

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

/* The block's shared memory for one split. */
template <int WARPS> struct attention_shared {
    float qs[HD];
    float warp_max[WARPS], warp_sum[WARPS];
    float warp_acc[WARPS][HD];
    int last;
};

/* Keys a.counters' position + 1 (causal) or a.length. */
__device__ __forceinline__ int attention_length(const dgxm_step_attention_args &a)
{
    return a.counters ? a.counters->position + 1 : a.length;
}

/* One split of WARPS * 32 keys of (row, head), by a block of WARPS warps (more threads idle);
 * split < the length's splits. Everything the step wrote earlier (q, this position's K/V, the
 * partials) is read through L2 only: in the persistent kernel other blocks wrote it in the same
 * launch. With EARLY, the graph's kernel: every causal-cache row older than the step is put in
 * flight before dgxm_pdl_wait(), so its DRAM latency overlaps the kernel before's tail, and only
 * q and the newest row are read after it. The persistent step loads everything at once (its
 * registers allow no second set of loads). */
template <typename T, int WARPS, bool EARLY>
__device__ void attention_split(const dgxm_step_attention_args &a, int split, int head, int row,
                                attention_shared<WARPS> &sh)
{
    constexpr int CHUNK = WARPS * 32;
    constexpr int PER_VEC = 16 / sizeof(T), MAX_VECS = HD / PER_VEC;
    float *qs = sh.qs, *warp_max = sh.warp_max, *warp_sum = sh.warp_sum;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int length = attention_length(a);
    const int splits = (length + CHUNK - 1) / CHUNK;
    const bool in_block = warp < WARPS;
    const int hd = a.head_dim, vecs = hd / PER_VEC;
    const T *keys = static_cast<const T *>(a.k) + (long long)row * a.row_stride + head * hd;
    const T *values = static_cast<const T *>(a.v) + (long long)row * a.row_stride + head * hd;

    /* One key per lane: its whole row in flight at once. */
    const int first = split * CHUNK + warp * 32;
    const int pos = in_block ? first + lane : length;
    uint4 kv[MAX_VECS];
    const uint4 *kr = reinterpret_cast<const uint4 *>(keys + (long long)pos * a.pos_stride);
    /* Values: lane owns dimensions 2 * lane and 2 * lane + 1; all 32 rows in flight. */
    const int valid = !in_block ? 0 : length - first < 32 ? length - first : 32;
    const bool owns = in_block && 2 * lane < hd;
    typename pair<T>::raw vrow[32];
    if constexpr (EARLY) {
        /* rows before `fresh` are older than the step; without counters every row may be new */
        const int fresh = a.counters ? length - 1 : 0;
#pragma unroll
        for (int i = 0; i < MAX_VECS; i++)
            kv[i] = pos < fresh && i < vecs ? __ldcg(kr + i) : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int j = 0; j < 32; j++)
            vrow[j] = owns && j < valid && first + j < fresh
                          ? pair<T>::load(values + (long long)(first + j) * a.pos_stride + 2 * lane)
                          : pair<T>::zero();
        dgxm_pdl_wait(); /* q and this step's K/V come from the kernel before */
        if (pos >= fresh && pos < length)
#pragma unroll
            for (int i = 0; i < MAX_VECS; i++)
                if (i < vecs)
                    kv[i] = __ldcg(kr + i);
#pragma unroll
        for (int j = 0; j < 32; j++) /* compile-time j keeps vrow in registers */
            if (owns && j < valid && first + j >= fresh)
                vrow[j] = pair<T>::load(values + (long long)(first + j) * a.pos_stride + 2 * lane);
    } else {
#pragma unroll
        for (int i = 0; i < MAX_VECS; i++)
            kv[i] = pos < length && i < vecs ? __ldcg(kr + i) : make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int j = 0; j < 32; j++)
            vrow[j] = owns && j < valid
                          ? pair<T>::load(values + (long long)(first + j) * a.pos_stride + 2 * lane)
                          : pair<T>::zero();
    }
    if (threadIdx.x < hd)
        qs[threadIdx.x] = __ldcg(a.q + row * a.q_stride + head * hd + threadIdx.x);
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
        const float2 v = pair<T>::wide(vrow[j]);
        acc.x += pj * v.x;
        acc.y += pj * v.y;
    }
    if (in_block && lane == 0) {
        warp_max[warp] = valid > 0 ? m : -INFINITY;
        warp_sum[warp] = valid > 0 ? l : 0.0f;
    }
    if (owns) {
        sh.warp_acc[warp][2 * lane] = valid > 0 ? acc.x : 0.0f;
        sh.warp_acc[warp][2 * lane + 1] = valid > 0 ? acc.y : 0.0f;
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
            bo += sh.warp_acc[w][threadIdx.x] * f;
        }
        if (splits == 1) { /* the whole result: the merge of one split is the identity */
            a.out[row * a.out_stride + head * hd + threadIdx.x] = bo / bl;
        } else {
            part[2 + threadIdx.x] = bo;
            if (threadIdx.x == 0)
                part[0] = bm, part[1] = bl;
        }
    }
    /* one split: no partials to hand over, so no fence, arrival or merge */
    if (splits == 1) {
        __syncthreads(); /* sh is reused by the block's next split */
        return;
    }
    fence_acq_rel(); /* this block's partial before its arrival */
    __syncthreads();
    if (threadIdx.x == 0)
        sh.last = atomicAdd(&a.arrivals[rh], 1) == splits - 1;
    __syncthreads();
    const bool merges = sh.last;
    __syncthreads(); /* sh is reused by the block's next split */
    if (!merges)
        return;
    fence_acq_rel(); /* every other block's partial after their arrivals */

    /* The last block merges every split in order and resets the arrival count; up to
     * MERGE_LOADS splits are read in one round trip of L2, the partials all in flight at once
     * (the running maximum needs every split's before any scale). */
    if (threadIdx.x < hd) {
        const float *parts = a.partials + (long long)rh * a.max_splits * PART;
        float gm = -INFINITY, gl = 0.0f, go = 0.0f;
        if (EARLY && splits <= MERGE_LOADS) { /* the persistent step's registers are spent */
            float pm[MERGE_LOADS], pl[MERGE_LOADS], po[MERGE_LOADS];
#pragma unroll
            for (int s = 0; s < MERGE_LOADS; s++)
                if (s < splits) {
                    pm[s] = __ldcg(parts + s * PART);
                    pl[s] = __ldcg(parts + s * PART + 1);
                    po[s] = __ldcg(parts + s * PART + 2 + threadIdx.x);
                }
#pragma unroll
            for (int s = 0; s < MERGE_LOADS; s++)
                if (s < splits)
                    gm = fmaxf(gm, pm[s]);
#pragma unroll
            for (int s = 0; s < MERGE_LOADS; s++)
                if (s < splits) {
                    const float f = expf(pm[s] - gm);
                    gl += pl[s] * f;
                    go += po[s] * f;
                }
        } else {
            for (int s = 0; s < splits; s++)
                gm = fmaxf(gm, __ldcg(parts + s * PART));
            for (int s = 0; s < splits; s++) {
                const float f = expf(__ldcg(parts + s * PART) - gm);
                gl += __ldcg(parts + s * PART + 1) * f;
                go += __ldcg(parts + s * PART + 2 + threadIdx.x) * f;
            }
        }
        a.out[row * a.out_stride + head * hd + threadIdx.x] = go / gl;
    }
    if (threadIdx.x == 0)
        a.arrivals[rh] = 0;
    __syncthreads();
}

} // namespace dgxm_step

#endif
