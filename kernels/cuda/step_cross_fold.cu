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
 * the padding rows of A and columns of B are zero, and the prologue gives them no weight.
 *
 * Folded further into its neighbours (dgxm_step_cross_fold_merged), the scores need no kernel
 * of their own. With x1 = x0 + Wo attn the residual after the self-attention, LN(x1) = (x1 -
 * mean) inv g + beta, and Ã[r] = A[r] g - mean(A[r] g) (a row that sums to zero, so the mean of
 * x1 drops out):
 *   score[r] = inv (Ã[r] . x0 + C[r] . attn - mean S[r]) + A[r] . beta,  C[r] = Ã[r] Wo
 * where S[r] is the sum of Ã[r] as stored (zero but for rounding). Ã[r] . x0 joins the layer's
 * [LayerNorm + Q, K, V] launch (on x0 as it was before that norm), C[r] . attn its [O +
 * residual], and the launch that applies B takes the LayerNorm statistics of x1 and the two
 * parts in its prologue: 6 kernels a layer instead of 7, for Ã and C's bytes (each as many as
 * A) and one GEMM per layer per generation. */
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

/* One block per row r of A (float32, in place): Ã[r] = A[r] * ln_w - mean(A[r] * ln_w), stored
 * in the fold's format; A's float32 copy becomes the stored (rounded) values, sums[r] their sum
 * and bias[r] = A[r] . ln_b. */
__global__ void centre_kernel(float *a, int cols, const float *ln_w, const float *ln_b,
                              dgxm_matrix centred, float *sums, float *bias)
{
    __shared__ float red[2][256];
    const int r = blockIdx.x, t = threadIdx.x;
    float *row = a + (size_t)r * cols;
    float g = 0.0f, c = 0.0f;
    for (int i = t; i < cols; i += blockDim.x) {
        g += row[i] * ln_w[i];
        c += row[i] * ln_b[i];
    }
    red[0][t] = g, red[1][t] = c;
    __syncthreads();
    for (int n = blockDim.x / 2; n > 0; n /= 2) {
        if (t < n)
            red[0][t] += red[0][t + n], red[1][t] += red[1][t + n];
        __syncthreads();
    }
    const float mean = red[0][0] / (float)cols, b = red[1][0];
    __syncthreads();
    float sum = 0.0f;
    for (int i = t; i < cols; i += blockDim.x) {
        const size_t at = (size_t)r * cols + i;
        put(centred, at, row[i] * ln_w[i] - mean);
        row[i] = element(centred, r, i);
        sum += row[i];
    }
    red[0][t] = sum;
    __syncthreads();
    for (int n = blockDim.x / 2; n > 0; n /= 2) {
        if (t < n)
            red[0][t] += red[0][t + n];
        __syncthreads();
    }
    if (t == 0)
        sums[r] = red[0][0], bias[r] = b;
}

/* t[j][i] = m[i][j] as float32, 32 x 32 tiles through shared memory. */
__global__ void transpose_kernel(const dgxm_matrix m, float *t)
{
    __shared__ float tile[32][33];
    const int i0 = blockIdx.y * 32, j0 = blockIdx.x * 32;
    for (int y = threadIdx.y; y < 32; y += blockDim.y) {
        const int i = i0 + y, j = j0 + threadIdx.x;
        tile[y][threadIdx.x] = i < m.rows && j < m.cols ? element(m, i, j) : 0.0f;
    }
    __syncthreads();
    for (int y = threadIdx.y; y < 32; y += blockDim.y) {
        const int j = j0 + y, i = i0 + threadIdx.x;
        if (j < m.cols && i < m.rows)
            t[(size_t)j * m.rows + i] = tile[threadIdx.x][y];
    }
}

__global__ void store_kernel(const float *from, size_t n, dgxm_matrix to)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        put(to, i, from[i]);
}

} // namespace

dgxm_status dgxm_step_cross_fold_merged(dgxm_cuda_backend *cb, const dgxm_cross_fold_in *in,
                                        const dgxm_cross_fold_work *work, dgxm_cross_fold_out *out,
                                        dgxm_error *err)
{
    cudaStream_t s = cb->stream;
    const int hidden = in->wq->cols, hl = out->centred->rows;
    const int head_dim = hidden / in->heads, padded = hl / in->heads;
    const float scale = 1.0f / sqrtf((float)head_dim);
    const unsigned threads = 128;
    const dgxm_matrix a32 = { DGXM_WEIGHT_F32, hl, hidden, work->a, NULL };
    fold_query_kernel<<<dim3((unsigned)(hidden + threads - 1) / threads, (unsigned)hl), threads, 0,
                        s>>>(*in->wq, in->k, in->lt, padded, head_dim, scale, a32);
    centre_kernel<<<(unsigned)hl, 256, 0, s>>>(work->a, hidden, in->ln_w, in->ln_b, *out->centred,
                                               out->sums, out->bias);
    const dgxm_matrix *wo = in->wo_self;
    transpose_kernel<<<dim3((unsigned)(wo->cols + 31) / 32, (unsigned)(wo->rows + 31) / 32),
                       dim3(32, 8), 0, s>>>(*wo, work->t);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "cross-attention fold", "launch");
    /* C[r][j] = sum_i Ã[r][i] Wo[i][j] */
    dgxm_status st = dgxm_cuda_gemm(cb, work->a, hidden, 1, work->t, false, NULL, NULL, hl,
                                    wo->cols, hidden, work->c, false, "cross-attention fold", err);
    if (st)
        return st;
    store_kernel<<<256, 256, 0, s>>>(work->c, (size_t)hl * wo->cols, *out->through_o);
    fold_output_kernel<<<dim3((unsigned)(out->b->cols + threads - 1) / threads,
                              (unsigned)out->b->rows),
                         threads, 0, s>>>(*in->wo_cross, in->v, in->lt, padded, head_dim, *out->b);
    e = cudaGetLastError();
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "cross-attention fold", "launch");
    return DGXM_OK;
}

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
