/* linear for the weight formats only the fused decode step streams at speed: float16 and int8
 * (symmetric, one scale per output feature). The op-by-op path needs them correct, not fast -
 * the cross-attention K/V projection once per generation and models the fused step declines -
 * so this is one plain warp-per-feature kernel with scalar loads. */
#include "cuda_internal.h"

#include <cuda_fp16.h>

namespace
{

constexpr int ROWS = 4; /* activation rows per pass over a weight row */

template <int FMT> __device__ __forceinline__ float weight(const void *w, size_t i);
template <> __device__ __forceinline__ float weight<DGXM_WEIGHT_F16>(const void *w, size_t i)
{
    return __half2float(static_cast<const __half *>(w)[i]);
}
template <> __device__ __forceinline__ float weight<DGXM_WEIGHT_INT8>(const void *w, size_t i)
{
    return (float)static_cast<const signed char *>(w)[i];
}

template <int FMT>
__global__ void quant_linear_kernel(const void *__restrict__ w, const float *__restrict__ scales,
                                    const float *__restrict__ bias, const float *__restrict__ x,
                                    int m, int rows, int cols, float *__restrict__ y,
                                    int accumulate)
{
    const int lane = threadIdx.x & 31;
    const int warps = (gridDim.x * blockDim.x) >> 5;
    for (int o = (blockIdx.x * blockDim.x + threadIdx.x) >> 5; o < rows; o += warps) {
        const float scale = scales ? scales[o] : 1.0f;
        for (int r0 = 0; r0 < m; r0 += ROWS) {
            float acc[ROWS] = { 0.0f, 0.0f, 0.0f, 0.0f };
            for (int c = lane; c < cols; c += 32) {
                const float wv = weight<FMT>(w, (size_t)o * cols + c);
#pragma unroll
                for (int r = 0; r < ROWS; r++)
                    if (r0 + r < m)
                        acc[r] += wv * x[(size_t)(r0 + r) * cols + c];
            }
#pragma unroll
            for (int r = 0; r < ROWS; r++) {
                float v = dgxm_warp_sum(acc[r]) * scale;
                if (lane != 0 || r0 + r >= m)
                    continue;
                if (bias)
                    v += bias[o];
                float *yo = y + (size_t)(r0 + r) * rows + o;
                *yo = accumulate ? *yo + v : v;
            }
        }
    }
}

} // namespace

dgxm_status dgxm_cuda_linear_quant(dgxm_cuda_backend *cb, const dgxm_matrix *w, const float *bias,
                                   const float *x, int m, float *y, bool accumulate,
                                   dgxm_error *err)
{
    const unsigned threads = 256;
    unsigned blocks = (unsigned)((w->rows + 7) / 8);
    if (blocks > (unsigned)cb->info.sm_count * 32u)
        blocks = (unsigned)cb->info.sm_count * 32u;
    if (w->format == DGXM_WEIGHT_F16)
        quant_linear_kernel<DGXM_WEIGHT_F16><<<blocks, threads, 0, cb->stream>>>(
            w->data, NULL, bias, x, m, w->rows, w->cols, y, accumulate);
    else
        quant_linear_kernel<DGXM_WEIGHT_INT8><<<blocks, threads, 0, cb->stream>>>(
            w->data, w->scales, bias, x, m, w->rows, w->cols, y, accumulate);
    return dgxm_cuda_launched(err, "linear");
}
