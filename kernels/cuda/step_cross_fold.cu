/* Cross-attention folded into its two projections, once per generation (the text's keys and
 * values do not change between steps). For head h and text position t:
 *   score[h][t] = scale * K[t]_h . (Wq LN(x))_h = A[h * L + t] . LN(x),
 *       A[h * L + t][i] = scale * sum_d K[t][h * hd + d] * Wq[h * hd + d][i]
 *   out[o] = sum_h Wo[o]_h . (sum_t p[h][t] V[t]_h) = sum_{h,t} B[o][h * L + t] * p[h][t],
 *       B[o][h * L + t] = sum_d Wo[o][h * hd + d] * V[t][h * hd + d]
 * with p the softmax of each head's scores over its lt positions. The step then runs two small
 * GEMVs (the second with the softmax as its prologue) instead of [LayerNorm + Q], attention and
 * [O + residual]: one kernel fewer per layer, no attention merge, and fewer bytes while
 * heads * L is at most the hidden size. L is lt rounded up to a multiple of 4 (16-byte rows);
 * the padding rows of A and columns of B are zero, and the prologue gives them no weight. */
#include "step_internal.h"

namespace
{

/* Element (r, c) of a [rows][cols] matrix in its upload format, as a float. */
__device__ __forceinline__ float element(const dgxm_matrix &m, int r, int c)
{
    const size_t i = (size_t)r * m.cols + c;
    switch (m.format) {
    case DGXM_WEIGHT_F32: return static_cast<const float *>(m.data)[i];
    case DGXM_WEIGHT_BF16:
        return __uint_as_float((unsigned)static_cast<const unsigned short *>(m.data)[i] << 16);
    case DGXM_WEIGHT_F16: return __half2float(static_cast<const __half *>(m.data)[i]);
    case DGXM_WEIGHT_INT8: return (float)static_cast<const signed char *>(m.data)[i] * m.scales[r];
    }
    return 0.0f;
}

__device__ __forceinline__ void put(const dgxm_matrix &m, size_t i, float v)
{
    switch (m.format) {
    case DGXM_WEIGHT_F32: static_cast<float *>(m.data)[i] = v; break;
    case DGXM_WEIGHT_BF16: {
        /* round to nearest even, as the host's bf16 conversion */
        const unsigned u = __float_as_uint(v);
        static_cast<unsigned short *>(m.data)[i] =
            (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
        break;
    }
    case DGXM_WEIGHT_F16: static_cast<__half *>(m.data)[i] = __float2half_rn(v); break;
    case DGXM_WEIGHT_INT8: break; /* never a fold format */
    }
}

/* A: one thread per (row h * L + t, input i). */
__global__ void fold_query_kernel(const dgxm_matrix wq, const float *k, int lt, int padded,
                                  int head_dim, float scale, dgxm_matrix a)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;
    if (i >= a.cols)
        return;
    const int h = r / padded, t = r % padded, hidden = wq.rows;
    float acc = 0.0f;
    if (t < lt)
        for (int d = 0; d < head_dim; d++)
            acc += k[(size_t)t * hidden + h * head_dim + d] * element(wq, h * head_dim + d, i);
    put(a, (size_t)r * a.cols + i, acc * scale);
}

/* B: one thread per (output o, column h * L + t). */
__global__ void fold_output_kernel(const dgxm_matrix wo, const float *v, int lt, int padded,
                                   int head_dim, dgxm_matrix b)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x, o = blockIdx.y;
    if (c >= b.cols)
        return;
    const int h = c / padded, t = c % padded, hidden = wo.cols;
    float acc = 0.0f;
    if (t < lt)
        for (int d = 0; d < head_dim; d++)
            acc += element(wo, o, h * head_dim + d) * v[(size_t)t * hidden + h * head_dim + d];
    put(b, (size_t)o * b.cols + c, acc);
}

} // namespace

dgxm_status dgxm_step_cross_fold(const dgxm_matrix *wq, const dgxm_matrix *wo, const float *k,
                                 const float *v, int lt, int heads, dgxm_matrix *a, dgxm_matrix *b,
                                 cudaStream_t s, dgxm_error *err)
{
    const int head_dim = wq->rows / heads, padded = a->rows / heads;
    const float scale = 1.0f / sqrtf((float)head_dim);
    const unsigned threads = 128;
    fold_query_kernel<<<dim3((unsigned)(a->cols + threads - 1) / threads, (unsigned)a->rows),
                        threads, 0, s>>>(*wq, k, lt, padded, head_dim, scale, *a);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) {
        fold_output_kernel<<<dim3((unsigned)(b->cols + threads - 1) / threads, (unsigned)b->rows),
                             threads, 0, s>>>(*wo, v, lt, padded, head_dim, *b);
        e = cudaGetLastError();
    }
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "cross-attention fold", "launch");
    return DGXM_OK;
}
