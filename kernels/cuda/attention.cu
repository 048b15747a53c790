/* Multi-head attention on the GPU: one block per (query, head), its warps splitting the keys.
 *
 * Each warp walks its keys 32 at a time: lane l scores key base + l against the query (kept in
 * shared memory), then the warp folds the 32 scores into a running softmax (maximum, sum of
 * exponentials, weighted sum of values with lanes over the head dimension), rescaling what it
 * has when the maximum grows. At the end the warps' partial results are merged with the same
 * rescaling. This equals softmax(scores) . V of the CPU oracle; a query with no valid key keeps
 * the maximum at -inf and gets zeros.
 *
 * Decode runs one query against up to 1500 keys for 16-32 heads, i.e. few blocks: a split of
 * the keys over several blocks (flash-decoding) is the performance work still to do. */
#include "cuda_internal.h"

#include <math.h>

static constexpr int ATTN_MAX_WARPS = 8;
static constexpr int ATTN_MAX_HEAD_DIM = 256; /* 8 dimensions per lane */

struct attention_args {
    const float *q, *k, *v, *bias;
    const uint8_t *key_valid;
    float *out;
    int q_stride, kv_stride, lq, lk, head_dim;
    int causal, vec; /* vec: rows 16-byte aligned and head_dim % 4 == 0 */
    float scale;
};

/* DPL: head dimensions per lane (head_dim <= 32 * DPL). */
template <int DPL> static __global__ void attention_kernel(attention_args a)
{
    extern __shared__ float smem[];
    const int i = blockIdx.x, h = blockIdx.y, hd = a.head_dim;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    float *qs = smem;                     /* [hd] */
    float *part = smem + ((hd + 3) & ~3); /* per warp: max, sum, acc[hd] */
    const float *qi = a.q + (size_t)i * a.q_stride + (size_t)h * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x)
        qs[d] = qi[d];
    __syncthreads();

    int last = a.causal ? i + (a.lk - a.lq) : a.lk - 1;
    if (last >= a.lk)
        last = a.lk - 1;
    const float *bias_row = a.bias ? a.bias + ((size_t)h * a.lq + i) * a.lk : NULL;

    float run_max = -INFINITY, run_sum = 0.0f, acc[DPL];
#pragma unroll
    for (int r = 0; r < DPL; r++)
        acc[r] = 0.0f;
    for (int base = warp * 32; base <= last; base += warps * 32) {
        const int j = base + lane;
        float s = -INFINITY;
        if (j <= last && (!a.key_valid || a.key_valid[j])) {
            const float *kj = a.k + (size_t)j * a.kv_stride + (size_t)h * hd;
            float dot = 0.0f;
            if (a.vec) {
                for (int d = 0; d < hd; d += 4) {
                    const float4 kv = __ldg(reinterpret_cast<const float4 *>(kj + d));
                    dot += qs[d] * kv.x + qs[d + 1] * kv.y + qs[d + 2] * kv.z + qs[d + 3] * kv.w;
                }
            } else {
                for (int d = 0; d < hd; d++)
                    dot += qs[d] * __ldg(kj + d);
            }
            s = a.scale * dot;
            if (bias_row)
                s += bias_row[j];
        }
        const float chunk_max = dgxm_warp_max(s);
        if (chunk_max == -INFINITY)
            continue; /* uniform across the warp: nothing valid in these 32 keys */
        const float new_max = fmaxf(run_max, chunk_max);
        const float correction = expf(run_max - new_max); /* 0 while run_max is -inf */
        const float p = s == -INFINITY ? 0.0f : expf(s - new_max);
        run_sum = run_sum * correction + dgxm_warp_sum(p);
#pragma unroll
        for (int r = 0; r < DPL; r++)
            acc[r] *= correction;
        const int count = min(32, last + 1 - base);
        for (int jj = 0; jj < count; jj++) {
            const float pj = __shfl_sync(0xffffffffu, p, jj);
            if (pj == 0.0f)
                continue; /* uniform: masked or underflowed key */
            const float *vj = a.v + (size_t)(base + jj) * a.kv_stride + (size_t)h * hd;
#pragma unroll
            for (int r = 0; r < DPL; r++) {
                const int d = lane + 32 * r;
                if (d < hd)
                    acc[r] += pj * __ldg(vj + d);
            }
        }
        run_max = new_max;
    }

    float *mine = part + (size_t)warp * (hd + 2);
    if (lane == 0)
        mine[0] = run_max, mine[1] = run_sum;
#pragma unroll
    for (int r = 0; r < DPL; r++) {
        const int d = lane + 32 * r;
        if (d < hd)
            mine[2 + d] = acc[r];
    }
    __syncthreads();

    float *oi = a.out + (size_t)i * a.q_stride + (size_t)h * hd;
    float total_max = -INFINITY;
    for (int w = 0; w < warps; w++)
        total_max = fmaxf(total_max, part[(size_t)w * (hd + 2)]);
    float total_sum = 0.0f;
    if (total_max != -INFINITY)
        for (int w = 0; w < warps; w++) {
            const float *pw = part + (size_t)w * (hd + 2);
            if (pw[0] != -INFINITY)
                total_sum += pw[1] * expf(pw[0] - total_max);
        }
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float o = 0.0f;
        if (total_max != -INFINITY) {
            for (int w = 0; w < warps; w++) {
                const float *pw = part + (size_t)w * (hd + 2);
                if (pw[0] != -INFINITY)
                    o += pw[2 + d] * expf(pw[0] - total_max);
            }
            o /= total_sum;
        }
        oi[d] = o;
    }
}

dgxm_status dgxm_cuda_attention(dgxm_backend *b, const float *q, int q_stride, const float *k,
                                const float *v, int kv_stride, const float *bias,
                                const uint8_t *key_valid, bool causal, int heads, int lq, int lk,
                                int head_dim, float scale, float *out, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (heads <= 0 || lq <= 0 || lk <= 0 || head_dim <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "attention: heads %d, lq %d, lk %d, head_dim %d", heads, lq, lk,
                              head_dim);
    if (head_dim > ATTN_MAX_HEAD_DIM)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cuda attention: head_dim %d is over the %d this kernel handles",
                              head_dim, ATTN_MAX_HEAD_DIM);
    if (heads > 65535)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "cuda attention: %d heads", heads);
    attention_args a;
    a.q = q, a.k = k, a.v = v, a.bias = bias, a.key_valid = key_valid, a.out = out;
    a.q_stride = q_stride, a.kv_stride = kv_stride, a.lq = lq, a.lk = lk, a.head_dim = head_dim;
    a.causal = causal, a.scale = scale;
    a.vec = head_dim % 4 == 0 && kv_stride % 4 == 0 && ((uintptr_t)k & 15u) == 0;
    int warps = (lk + 31) / 32;
    if (warps > ATTN_MAX_WARPS)
        warps = ATTN_MAX_WARPS;
    const size_t smem =
        ((size_t)((head_dim + 3) & ~3) + (size_t)warps * (head_dim + 2)) * sizeof(float);
    if (smem > cb->info.smem_per_block)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cuda attention: %zu bytes of shared memory per block", smem);
    const dim3 grid((unsigned int)lq, (unsigned int)heads);
    const unsigned int threads = (unsigned int)warps * 32u;
    const int dpl = (head_dim + 31) / 32;
    if (dpl <= 1)
        attention_kernel<1><<<grid, threads, smem, cb->stream>>>(a);
    else if (dpl <= 2)
        attention_kernel<2><<<grid, threads, smem, cb->stream>>>(a);
    else if (dpl <= 4)
        attention_kernel<4><<<grid, threads, smem, cb->stream>>>(a);
    else
        attention_kernel<8><<<grid, threads, smem, cb->stream>>>(a);
    return dgxm_cuda_launched(err, "attention");
}
