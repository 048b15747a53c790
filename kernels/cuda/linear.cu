/* Weight matrices and the linear op of the CUDA backend: float32 or bf16 weights (float16 and
 * int8 are uploaded here and multiplied in linear_quant.cu), float32 activations and
 * accumulation.
 *
 * Two kernels. For up to 32 rows (the decode step's guidance pair, a T5 prompt, the
 * cross-attention K/V of the conditioning) the op is a GEMV limited by the bytes of W: one warp
 * per output feature streams its weight row with 16-byte loads and applies it to 4 activation
 * rows at a time, so W is read once per 4 rows (again from L2 after the first). For more rows
 * (long prompts, the LSTM input projection) a shared-memory tiled GEMM reuses each W tile
 * across 64 rows. Reductions run in a fixed order: results do not change from run to run. */
#include "cuda_internal.h"

#include <cuda_fp16.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many activation rows go through the GEMV, 4 at a time: the tiled GEMM below waits
 * for one global round trip per 16 of k with a grid of only n / 64 blocks when m fits one tile,
 * so a short T5 prompt or the cross-attention K/V of one took 48-192 us per matrix. */
static constexpr int GEMV_MAX_ROWS = 32;
static constexpr int GEMV_WARPS = 8;     /* warps per block of the GEMV */
static constexpr int GEMM_TILE = 64;     /* output tile: GEMM_TILE rows x GEMM_TILE features */
static constexpr int GEMM_K = 16;        /* depth of one shared-memory stage */
static constexpr int GEMM_THREADS = 256; /* 16 x 16 threads, 4 x 4 outputs each */

/* --- upload ------------------------------------------------------------------------------- */

/* Round to nearest even, keeping NaN a (quiet) NaN. */
static uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Symmetric int8 per output row: scale = max |w| / 127 (1 for an all-zero row). */
static void quantise_rows(const float *host, int rows, int cols, int8_t *q, float *scales)
{
    for (int r = 0; r < rows; r++) {
        const float *w = host + (size_t)r * cols;
        float top = 0.0f;
        for (int c = 0; c < cols; c++)
            top = fmaxf(top, fabsf(w[c]));
        const float scale = top > 0.0f ? top / 127.0f : 1.0f;
        for (int c = 0; c < cols; c++) {
            long v = lrintf(w[c] / scale);
            q[(size_t)r * cols + c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
        scales[r] = scale;
    }
}

/* Host staging in the target format: NULL when out of memory. */
static void *pack(const float *host, size_t count, int rows, int cols, dgxm_weight_format format,
                  float *scales)
{
    const size_t esize = format == DGXM_WEIGHT_INT8 ? 1 : 2;
    void *packed = malloc(count * esize);
    if (!packed)
        return NULL;
    if (format == DGXM_WEIGHT_BF16)
        for (size_t i = 0; i < count; i++)
            ((uint16_t *)packed)[i] = f32_to_bf16(host[i]);
    else if (format == DGXM_WEIGHT_F16)
        for (size_t i = 0; i < count; i++)
            ((__half *)packed)[i] = __float2half_rn(host[i]);
    else
        quantise_rows(host, rows, cols, (int8_t *)packed, scales);
    return packed;
}

dgxm_status dgxm_cuda_matrix_upload(dgxm_backend *b, const float *host, int rows, int cols,
                                    dgxm_weight_format format, dgxm_matrix *out, dgxm_error *err)
{
    memset(out, 0, sizeof *out);
    if (rows <= 0 || cols <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cuda matrix_upload: shape %dx%d", rows,
                              cols);
    if (format != DGXM_WEIGHT_F32 && format != DGXM_WEIGHT_BF16 && format != DGXM_WEIGHT_F16 &&
        format != DGXM_WEIGHT_INT8)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cuda matrix_upload: weight format %d",
                              (int)format);
    const size_t count = (size_t)rows * (size_t)cols;
    const size_t esize = format == DGXM_WEIGHT_F32 ? 4 : format == DGXM_WEIGHT_INT8 ? 1 : 2;
    const size_t bytes = count * esize, scale_bytes = (size_t)rows * sizeof(float);
    float *scales = NULL;
    if (format == DGXM_WEIGHT_INT8 && !(scales = (float *)malloc(scale_bytes)))
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "cuda matrix_upload: %zu bytes of scales",
                              scale_bytes);
    void *packed = NULL;
    if (format != DGXM_WEIGHT_F32 && !(packed = pack(host, count, rows, cols, format, scales))) {
        free(scales);
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "cuda matrix_upload: %zu bytes of host staging",
                              bytes);
    }
    const void *src = packed ? packed : host;
    void *dev = b->ops->alloc(b, bytes);
    void *dev_scales = scales ? b->ops->alloc(b, scale_bytes) : NULL;
    dgxm_status s = DGXM_OK;
    if (!dev || (scales && !dev_scales))
        s = dgxm_error_set(err, DGXM_ERR_NOMEM, "cuda matrix_upload: %zu bytes for %dx%d", bytes,
                           rows, cols);
    if (!s)
        s = b->ops->copy_to_device(b, dev, src, bytes, err);
    if (!s && scales)
        s = b->ops->copy_to_device(b, dev_scales, scales, scale_bytes, err);
    free(packed);
    free(scales);
    if (s) {
        b->ops->release(b, dev);
        b->ops->release(b, dev_scales);
        return s;
    }
    out->format = format;
    out->rows = rows;
    out->cols = cols;
    out->data = dev;
    out->scales = (float *)dev_scales;
    return DGXM_OK;
}

void dgxm_cuda_matrix_free(dgxm_backend *b, dgxm_matrix *m)
{
    if (!m)
        return;
    b->ops->release(b, m->data);
    b->ops->release(b, m->scales);
    memset(m, 0, sizeof *m);
}

/* --- GEMV: m <= GEMV_MAX_ROWS ------------------------------------------------------------- */

/* Eight weights from 16 bytes at w + c (c a multiple of 4 for f32, of 8 for bf16). */
static __device__ __forceinline__ void load_w4(const float *w, int c, float out[4])
{
    float4 v = __ldg(reinterpret_cast<const float4 *>(w + c));
    out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
}

static __device__ __forceinline__ void load_w8(const uint16_t *w, int c, float out[8])
{
    uint4 v = __ldg(reinterpret_cast<const uint4 *>(w + c));
    out[0] = dgxm_bf16_lo(v.x), out[1] = dgxm_bf16_hi(v.x);
    out[2] = dgxm_bf16_lo(v.y), out[3] = dgxm_bf16_hi(v.y);
    out[4] = dgxm_bf16_lo(v.z), out[5] = dgxm_bf16_hi(v.z);
    out[6] = dgxm_bf16_lo(v.w), out[7] = dgxm_bf16_hi(v.w);
}

template <typename W> struct wtraits;
template <> struct wtraits<float> {
    enum {
        per_vec = 4
    };
    static __device__ __forceinline__ void load(const float *w, int c, float *out)
    {
        load_w4(w, c, out);
    }
    static __device__ __forceinline__ float one(const float *w, int c)
    {
        return __ldg(w + c);
    }
};
template <> struct wtraits<uint16_t> {
    enum {
        per_vec = 8
    };
    static __device__ __forceinline__ void load(const uint16_t *w, int c, float *out)
    {
        load_w8(w, c, out);
    }
    static __device__ __forceinline__ float one(const uint16_t *w, int c)
    {
        return __uint_as_float((unsigned int)__ldg(w + c) << 16);
    }
};

/* One warp per output feature o (grid-stride over features), for m activation rows taken M at
 * a time (the weight row is read again from L1 / L2 for each group of M). VEC: rows of W and x
 * are 16-byte aligned and cols is a multiple of the vector width, so every load is 16 bytes
 * wide. */
template <typename W, int M, bool VEC>
static __global__ void gemv_kernel(const W *__restrict__ w, const float *__restrict__ bias,
                                   const float *__restrict__ x_all, int m, int rows, int cols,
                                   float *__restrict__ y_all, int accumulate)
{
    constexpr int PV = wtraits<W>::per_vec;
    const int lane = threadIdx.x & 31;
    const int warps = (gridDim.x * blockDim.x) >> 5;
    for (int item = (blockIdx.x * blockDim.x + threadIdx.x) >> 5; item < rows * ((m + M - 1) / M);
         item += warps) {
        const int o = item % rows, r0 = item / rows * M; /* neighbouring warps share x rows */
        const int mm = m - r0 < M ? m - r0 : M;
        const float *x = x_all + (size_t)r0 * cols;
        float *y = y_all + (size_t)r0 * rows;
        const W *wr = w + (size_t)o * cols;
        float acc[M];
#pragma unroll
        for (int r = 0; r < M; r++)
            acc[r] = 0.0f;
        if (VEC) {
#pragma unroll 2
            for (int c = lane * PV; c < cols; c += 32 * PV) {
                float wv[PV];
                wtraits<W>::load(wr, c, wv);
#pragma unroll
                for (int r = 0; r < M; r++) {
                    if (r >= mm)
                        break;
                    const float4 *xr = reinterpret_cast<const float4 *>(x + (size_t)r * cols + c);
#pragma unroll
                    for (int q = 0; q < PV / 4; q++) {
                        float4 xv = __ldg(xr + q);
                        acc[r] += wv[4 * q] * xv.x + wv[4 * q + 1] * xv.y + wv[4 * q + 2] * xv.z +
                                  wv[4 * q + 3] * xv.w;
                    }
                }
            }
        } else {
            for (int c = lane; c < cols; c += 32) {
                float wv = wtraits<W>::one(wr, c);
#pragma unroll
                for (int r = 0; r < M; r++)
                    if (r < mm)
                        acc[r] += wv * __ldg(x + (size_t)r * cols + c);
            }
        }
#pragma unroll
        for (int r = 0; r < M; r++) {
            float v = dgxm_warp_sum(acc[r]);
            if (lane == 0 && r < mm) {
                if (bias)
                    v += bias[o];
                float *yo = y + (size_t)r * rows + o;
                *yo = accumulate ? *yo + v : v;
            }
        }
    }
}

template <typename W, int M>
static void launch_gemv(const dgxm_cuda_backend *cb, const W *w, const float *bias, const float *x,
                        int m, int rows, int cols, float *y, bool accumulate)
{
    constexpr int PV = wtraits<W>::per_vec;
    /* rows of x start 16-byte aligned too when cols is a multiple of the vector width */
    const bool vec = cols % PV == 0 && ((uintptr_t)w & 15u) == 0 && ((uintptr_t)x & 15u) == 0;
    const unsigned int threads = GEMV_WARPS * 32;
    const long long items = (long long)rows * ((m + M - 1) / M);
    unsigned int blocks = (unsigned int)((items + GEMV_WARPS - 1) / GEMV_WARPS);
    const unsigned int most = (unsigned int)cb->info.sm_count * 32u;
    if (blocks > most)
        blocks = most;
    if (vec)
        gemv_kernel<W, M, true>
            <<<blocks, threads, 0, cb->stream>>>(w, bias, x, m, rows, cols, y, accumulate);
    else
        gemv_kernel<W, M, false>
            <<<blocks, threads, 0, cb->stream>>>(w, bias, x, m, rows, cols, y, accumulate);
}

template <typename W>
static void gemv_rows(const dgxm_cuda_backend *cb, const W *w, const float *bias, const float *x,
                      int m, int rows, int cols, float *y, bool accumulate)
{
    switch (m) {
    case 1: launch_gemv<W, 1>(cb, w, bias, x, m, rows, cols, y, accumulate); break;
    case 2: launch_gemv<W, 2>(cb, w, bias, x, m, rows, cols, y, accumulate); break;
    case 3: launch_gemv<W, 3>(cb, w, bias, x, m, rows, cols, y, accumulate); break;
    default: launch_gemv<W, 4>(cb, w, bias, x, m, rows, cols, y, accumulate); break;
    }
}

/* --- tiled GEMM ---------------------------------------------------------------------------- */

/* Thread (ty, tx) of a 16 x 16 block owns rows ty + 16 i and features tx + 16 j of the tile, so
 * a warp reads shared memory without bank conflicts and writes 16 consecutive features. */
template <bool BF16>
static __global__ void __launch_bounds__(GEMM_THREADS)
    gemm_kernel(const float *__restrict__ a, long long a_row, long long a_col,
                const void *__restrict__ wv, const float *__restrict__ bias,
                const float *__restrict__ bias2, int m, int n, int k, float *__restrict__ y,
                int accumulate)
{
    __shared__ float as[GEMM_K][GEMM_TILE + 4];
    __shared__ float ws[GEMM_K][GEMM_TILE + 4];
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int row0 = blockIdx.y * GEMM_TILE, col0 = blockIdx.x * GEMM_TILE;
    float acc[4][4] = {};
    for (int k0 = 0; k0 < k; k0 += GEMM_K) {
        for (int e = tid; e < GEMM_TILE * GEMM_K; e += GEMM_THREADS) {
            const int i = e / GEMM_K, kk = e % GEMM_K, c = k0 + kk;
            const int r = row0 + i, o = col0 + i;
            as[kk][i] = r < m && c < k ? __ldg(a + r * a_row + c * a_col) : 0.0f;
            float wval = 0.0f;
            if (o < n && c < k) {
                if (BF16)
                    wval = __uint_as_float(
                        (unsigned int)__ldg((const uint16_t *)wv + (size_t)o * k + c) << 16);
                else
                    wval = __ldg((const float *)wv + (size_t)o * k + c);
            }
            ws[kk][i] = wval;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < GEMM_K; kk++) {
            float ar[4], wr[4];
#pragma unroll
            for (int i = 0; i < 4; i++)
                ar[i] = as[kk][ty + 16 * i], wr[i] = ws[kk][tx + 16 * i];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++)
                    acc[i][j] += ar[i] * wr[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int r = row0 + ty + 16 * i;
        if (r >= m)
            continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int o = col0 + tx + 16 * j;
            if (o >= n)
                continue;
            float v = acc[i][j];
            if (bias)
                v += bias[o];
            if (bias2)
                v += bias2[o];
            float *yo = y + (size_t)r * n + o;
            *yo = accumulate ? *yo + v : v;
        }
    }
}

/* y[r][o] += bias[o] + bias2[o], after a product that had no bias (either may be NULL). */
static __global__ void add_bias_kernel(float *y, const float *bias, const float *bias2, int m,
                                       int n)
{
    const size_t total = (size_t)m * n;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int o = (int)(i % n);
        y[i] += (bias ? bias[o] : 0.0f) + (bias2 ? bias2[o] : 0.0f);
    }
}

/* The float32 product through cuBLASLt where it is loaded. Column-major, Y^T = W X^T: W [n][k]
 * row-major is k x n column-major, transposed; X is k x m column-major when its inputs are
 * contiguous (a_col == 1), or m x k transposed when its rows are (a_row == 1, the LSTM's
 * channel-major x). *ran false: another layout, or no algorithm, and the tiled kernel runs. */
static dgxm_status gemm_library(dgxm_cuda_backend *cb, const float *a, long long a_row,
                                long long a_col, const float *w, const float *bias,
                                const float *bias2, int m, int n, int k, float *y, bool accumulate,
                                bool *ran, const char *op, dgxm_error *err)
{
    *ran = false;
    const bool x_rows = a_col == 1 && a_row >= k;
    if (!cb->lt || !cb->lt_f32 || (!x_rows && !(a_row == 1 && a_col >= m)))
        return DGXM_OK;
    dgxm_status s = dgxm_cublaslt_gemm(cb->lt, cb->stream, CUDA_R_32F, true, w, k, !x_rows, a,
                                       x_rows ? a_row : a_col, y, n, n, m, k,
                                       accumulate ? 1.0f : 0.0f, ran, op, err);
    if (s || !*ran || (!bias && !bias2))
        return s;
    add_bias_kernel<<<dgxm_cuda_blocks(cb, (size_t)m * n, 256), 256, 0, cb->stream>>>(y, bias,
                                                                                      bias2, m, n);
    return dgxm_cuda_launched(err, op);
}

dgxm_status dgxm_cuda_gemm(dgxm_cuda_backend *cb, const float *a, long long a_row, long long a_col,
                           const void *w, bool w_bf16, const float *bias, const float *bias2, int m,
                           int n, int k, float *y, bool accumulate, const char *op, dgxm_error *err)
{
    if (!w_bf16) {
        bool ran = false;
        dgxm_status s = gemm_library(cb, a, a_row, a_col, (const float *)w, bias, bias2, m, n, k,
                                     y, accumulate, &ran, op, err);
        if (s || ran)
            return s;
    }
    if ((m + GEMM_TILE - 1) / GEMM_TILE > 65535)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "cuda %s: %d rows is too many", op, m);
    dim3 grid((unsigned int)((n + GEMM_TILE - 1) / GEMM_TILE),
              (unsigned int)((m + GEMM_TILE - 1) / GEMM_TILE));
    if (w_bf16)
        gemm_kernel<true><<<grid, GEMM_THREADS, 0, cb->stream>>>(a, a_row, a_col, w, bias, bias2, m,
                                                                 n, k, y, accumulate);
    else
        gemm_kernel<false><<<grid, GEMM_THREADS, 0, cb->stream>>>(a, a_row, a_col, w, bias, bias2,
                                                                  m, n, k, y, accumulate);
    return dgxm_cuda_launched(err, op);
}

dgxm_status dgxm_cuda_linear(dgxm_backend *b, const dgxm_matrix *w, const float *bias,
                             const float *x, int m, float *y, bool accumulate, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (m <= 0)
        return DGXM_OK;
    if (w->format == DGXM_WEIGHT_F16 || w->format == DGXM_WEIGHT_INT8)
        return dgxm_cuda_linear_quant(cb, w, bias, x, m, y, accumulate, err);
    const bool bf16 = w->format == DGXM_WEIGHT_BF16;
    if (m > GEMV_MAX_ROWS)
        return dgxm_cuda_gemm(cb, x, w->cols, 1, w->data, bf16, bias, NULL, m, w->rows, w->cols, y,
                              accumulate, "linear", err);
    if (bf16)
        gemv_rows(cb, (const uint16_t *)w->data, bias, x, m, w->rows, w->cols, y, accumulate);
    else
        gemv_rows(cb, (const float *)w->data, bias, x, m, w->rows, w->cols, y, accumulate);
    return dgxm_cuda_launched(err, "linear");
}
