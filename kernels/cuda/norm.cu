/* RMS norm (T5) and LayerNorm (MusicGen decoder) on the GPU: one block per row, float32 block
 * reductions in a fixed order. LayerNorm takes the mean first and then the mean squared
 * deviation (two passes over the row, the second from cache), as the CPU oracle does. x and y
 * may alias: each thread writes only the elements it read itself, after the statistics are
 * complete. */
#include "cuda_internal.h"

static constexpr int NORM_MAX_THREADS = 256;

static __global__ void rms_norm_kernel(const float *x, const float *__restrict__ weight, int n,
                                       float eps, float *y)
{
    __shared__ float red[32];
    const float *xr = x + (size_t)blockIdx.x * n;
    float *yr = y + (size_t)blockIdx.x * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        ss += xr[i] * xr[i];
    ss = dgxm_block_sum(ss, red);
    const float inv = rsqrtf(ss / (float)n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        yr[i] = xr[i] * inv * weight[i];
}

static __global__ void layer_norm_kernel(const float *x, const float *__restrict__ weight,
                                         const float *__restrict__ bias, int n, float eps, float *y)
{
    __shared__ float red[32];
    const float *xr = x + (size_t)blockIdx.x * n;
    float *yr = y + (size_t)blockIdx.x * n;
    float sum = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        sum += xr[i];
    const float mean = dgxm_block_sum(sum, red) / (float)n;
    float var = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float d = xr[i] - mean;
        var += d * d;
    }
    var = dgxm_block_sum(var, red) / (float)n;
    const float inv = rsqrtf(var + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float v = (xr[i] - mean) * inv * weight[i];
        yr[i] = bias ? v + bias[i] : v;
    }
}

/* A warp per 32 elements of the row, up to NORM_MAX_THREADS threads. */
static unsigned int norm_threads(int n)
{
    const int t = (n + 31) / 32 * 32;
    return (unsigned int)(t > NORM_MAX_THREADS ? NORM_MAX_THREADS : t);
}

dgxm_status dgxm_cuda_rms_norm(dgxm_backend *b, const float *x, const float *weight, int m, int n,
                               float eps, float *y, dgxm_error *err)
{
    if (m <= 0 || n <= 0)
        return m == 0 ? DGXM_OK
                      : dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cuda rms_norm: %dx%d", m, n);
    rms_norm_kernel<<<(unsigned int)m, norm_threads(n), 0, dgxm_cuda(b)->stream>>>(x, weight, n,
                                                                                   eps, y);
    return dgxm_cuda_launched(err, "rms_norm");
}

dgxm_status dgxm_cuda_layer_norm(dgxm_backend *b, const float *x, const float *weight,
                                 const float *bias, int m, int n, float eps, float *y,
                                 dgxm_error *err)
{
    if (m <= 0 || n <= 0)
        return m == 0 ? DGXM_OK
                      : dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cuda layer_norm: %dx%d", m, n);
    layer_norm_kernel<<<(unsigned int)m, norm_threads(n), 0, dgxm_cuda(b)->stream>>>(
        x, weight, bias, n, eps, y);
    return dgxm_cuda_launched(err, "layer_norm");
}
