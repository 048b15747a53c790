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

#include <cuda_bf16.h>
#include <mma.h>

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

/* Text positions a block of the fold's two set-up kernels holds in shared memory at a time. */
constexpr int FOLD_QUERY_T = 16, FOLD_OUTPUT_T = 32;

/* A[h L + t][i] = scale K[t] (head h) . Wq (head h's rows, column i): a block per (head, 128
 * inputs), the head's keys in shared memory 16 positions at a time, so each weight is read once
 * per 16 positions instead of once per element of A. Sums over d in increasing order. */
__global__ void __launch_bounds__(128) fold_query_kernel(const dgxm_matrix wq, const float *k,
                                                         int lt, int padded, int head_dim,
                                                         float scale, dgxm_matrix a)
{
    __shared__ float ks[FOLD_QUERY_T][DGXM_STEP_HEAD_DIM];
    const int i = blockIdx.x * blockDim.x + threadIdx.x, h = blockIdx.y, hidden = wq.rows;
    for (int t0 = 0; t0 < padded; t0 += FOLD_QUERY_T) {
        __syncthreads(); /* the previous chunk's reads are done */
        for (int e = threadIdx.x; e < FOLD_QUERY_T * head_dim; e += blockDim.x) {
            const int t = t0 + e / head_dim, d = e % head_dim;
            ks[e / head_dim][d] = t < lt ? k[(size_t)t * hidden + h * head_dim + d] : 0.0f;
        }
        __syncthreads();
        if (i >= a.cols)
            continue;
        float acc[FOLD_QUERY_T] = {};
        for (int d = 0; d < head_dim; d++) {
            const float w = element(wq, h * head_dim + d, i);
#pragma unroll
            for (int u = 0; u < FOLD_QUERY_T; u++)
                acc[u] += ks[u][d] * w;
        }
        for (int u = 0; u < FOLD_QUERY_T && t0 + u < padded; u++)
            put(a, (size_t)(h * padded + t0 + u) * a.cols + i, acc[u] * scale);
    }
}

/* B[o][h L + t] = Wo[o] (head h's columns) . V[t] (head h): a block per (head, 8 outputs o), a
 * warp per output with a lane per position, so a warp's weight reads are one broadcast; the
 * head's values in shared memory 32 positions at a time (rows padded against bank conflicts).
 * Sums over d in increasing order. */
__global__ void __launch_bounds__(256) fold_output_kernel(const dgxm_matrix wo, const float *v,
                                                          int lt, int padded, int head_dim,
                                                          dgxm_matrix b)
{
    __shared__ float vs[FOLD_OUTPUT_T][DGXM_STEP_HEAD_DIM + 1];
    const int h = blockIdx.y, o = blockIdx.x * 8 + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    const int hidden = wo.cols;
    for (int t0 = 0; t0 < padded; t0 += FOLD_OUTPUT_T) {
        __syncthreads(); /* the previous chunk's reads are done */
        for (int e = threadIdx.x; e < FOLD_OUTPUT_T * head_dim; e += blockDim.x) {
            const int t = t0 + e / head_dim, d = e % head_dim;
            vs[e / head_dim][d] = t < lt ? v[(size_t)t * hidden + h * head_dim + d] : 0.0f;
        }
        __syncthreads();
        const int t = t0 + lane;
        if (o >= wo.rows || t >= padded)
            continue;
        float acc = 0.0f;
        if (t < lt)
            for (int d = 0; d < head_dim; d++)
                acc += element(wo, o, h * head_dim + d) * vs[lane][d];
        put(b, (size_t)o * b.cols + h * padded + t, acc);
    }
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

/* C = A B for 16-bit A [m][k] and B [k][n], both row-major, with float32 sums: the fold's
 * Ã Wo on the tensor cores. A warp owns a 32 x 32 corner of C (2 x 2 fragments), a block four
 * warps; m, n and k are multiples of 16, so a fragment is wholly in C or wholly out. The products
 * of two 16-bit values are exact in float32, so this differs from the float32 GEMM only in the
 * order of the sums. */
template <typename T>
__global__ void __launch_bounds__(128)
    fold_through_o_mma_kernel(const T *a, const T *b, int m, int n, int k, float *c)
{
    using namespace nvcuda;
    const int warp = threadIdx.x >> 5;
    const int r0 = blockIdx.y * 64 + (warp >> 1) * 32, c0 = blockIdx.x * 64 + (warp & 1) * 32;
    const bool row_in[2] = { r0 < m, r0 + 16 < m }, col_in[2] = { c0 < n, c0 + 16 < n };
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++)
            wmma::fill_fragment(acc[i][j], 0.0f);
    for (int kk = 0; kk < k; kk += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa[2];
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            if (row_in[i])
                wmma::load_matrix_sync(fa[i], a + (size_t)(r0 + 16 * i) * k + kk, (unsigned)k);
            if (col_in[i])
                wmma::load_matrix_sync(fb[i], b + (size_t)kk * n + c0 + 16 * i, (unsigned)n);
        }
#pragma unroll
        for (int i = 0; i < 2; i++)
#pragma unroll
            for (int j = 0; j < 2; j++)
                if (row_in[i] && col_in[j])
                    wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++)
            if (row_in[i] && col_in[j])
                wmma::store_matrix_sync(c + (size_t)(r0 + 16 * i) * n + c0 + 16 * j, acc[i][j],
                                        (unsigned)n, wmma::mem_row_major);
}

/* Whether C = Ã Wo can take the tensor cores: both 16-bit and of one format, every dimension a
 * multiple of a fragment's 16, and 32-byte aligned rows (what a fragment load asks). */
bool mma_fits(const dgxm_matrix &centred, const dgxm_matrix &wo)
{
    const bool half = centred.format == DGXM_WEIGHT_BF16 || centred.format == DGXM_WEIGHT_F16;
    return half && wo.format == centred.format && centred.cols == wo.rows && centred.rows % 16 == 0 &&
           wo.rows % 16 == 0 && wo.cols % 16 == 0 && ((uintptr_t)centred.data & 31u) == 0 &&
           ((uintptr_t)wo.data & 31u) == 0;
}

/* work->c = Ã Wo, float32 [hl][wo->cols], as `through` says (DGXM_FOLD_GEMM_*). */
dgxm_status through_o(dgxm_cuda_backend *cb, const dgxm_matrix &centred, const dgxm_matrix &wo,
                      const dgxm_cross_fold_work *work, int through, dgxm_error *err)
{
    cudaStream_t s = cb->stream;
    const int hl = centred.rows, hidden = centred.cols;
    const bool half = centred.format == DGXM_WEIGHT_BF16 || centred.format == DGXM_WEIGHT_F16;
    if (through == DGXM_FOLD_GEMM_AUTO && half && wo.format == centred.format &&
        centred.cols == wo.rows) {
        /* column-major, C^T = Wo^T Ã^T: Wo [hidden][n] row-major is n x hidden, Ã [hl][hidden]
         * is hidden x hl; the 16-bit products are exact and the sums float32, as the WMMA
         * kernel's */
        bool ran = false;
        const cudaDataType_t type = centred.format == DGXM_WEIGHT_BF16 ? CUDA_R_16BF : CUDA_R_16F;
        dgxm_status st = dgxm_cublaslt_gemm(cb->lt, s, type, false, wo.data, wo.cols, false,
                                            centred.data, hidden, work->c, wo.cols, wo.cols, hl,
                                            hidden, 0.0f, &ran, "cross-attention fold", err);
        if (st || ran)
            return st;
    }
    if (through != DGXM_FOLD_GEMM_TILED && mma_fits(centred, wo)) {
        const dim3 grid((unsigned)(wo.cols + 63) / 64, (unsigned)(hl + 63) / 64);
        if (centred.format == DGXM_WEIGHT_BF16)
            fold_through_o_mma_kernel<<<grid, 128, 0, s>>>(
                static_cast<const __nv_bfloat16 *>(centred.data),
                static_cast<const __nv_bfloat16 *>(wo.data), hl, wo.cols, hidden, work->c);
        else
            fold_through_o_mma_kernel<<<grid, 128, 0, s>>>(static_cast<const __half *>(centred.data),
                                                           static_cast<const __half *>(wo.data), hl,
                                                           wo.cols, hidden, work->c);
        return dgxm_cuda_launched(err, "cross-attention fold");
    }
    transpose_kernel<<<dim3((unsigned)(wo.cols + 31) / 32, (unsigned)(wo.rows + 31) / 32),
                       dim3(32, 8), 0, s>>>(wo, work->t);
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "cross-attention fold", "launch");
    /* C[r][j] = sum_i Ã[r][i] Wo[i][j] */
    return dgxm_cuda_gemm(cb, work->a, hidden, 1, work->t, false, NULL, NULL, hl, wo.cols, hidden,
                          work->c, false, "cross-attention fold", err);
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
    const dgxm_matrix a32 = { DGXM_WEIGHT_F32, hl, hidden, work->a, NULL };
    fold_query_kernel<<<dim3((unsigned)(hidden + 127) / 128, (unsigned)in->heads), 128, 0, s>>>(
        *in->wq, in->k, in->lt, padded, head_dim, scale, a32);
    centre_kernel<<<(unsigned)hl, 256, 0, s>>>(work->a, hidden, in->ln_w, in->ln_b, *out->centred,
                                               out->sums, out->bias);
    const dgxm_matrix *wo = in->wo_self;
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "cross-attention fold", "launch");
    dgxm_status st = through_o(cb, *out->centred, *wo, work, in->through, err);
    if (st)
        return st;
    store_kernel<<<256, 256, 0, s>>>(work->c, (size_t)hl * wo->cols, *out->through_o);
    fold_output_kernel<<<dim3((unsigned)(out->b->rows + 7) / 8, (unsigned)in->heads), 256, 0, s>>>(
        *in->wo_cross, in->v, in->lt, padded, head_dim, *out->b);
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
    fold_query_kernel<<<dim3((unsigned)(a->cols + 127) / 128, (unsigned)heads), 128, 0, s>>>(
        *wq, k, lt, padded, head_dim, scale, *a);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) {
        fold_output_kernel<<<dim3((unsigned)(b->rows + 7) / 8, (unsigned)heads), 256, 0, s>>>(
            *wo, v, lt, padded, head_dim, *b);
        e = cudaGetLastError();
    }
    if (e != cudaSuccess)
        return dgxm_cuda_fail(err, e, "cross-attention fold", "launch");
    return DGXM_OK;
}
