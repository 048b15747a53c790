/* Diagnostic queries of the CUDA runtime and of a started backend; see cuda_query.h. */
#include "cuda_query.h"

#include "cuda_internal.h"

#include <stdio.h>
#include <string.h>

void dgxm_cuda_probe(dgxm_cuda_probe_result *out)
{
    memset(out, 0, sizeof *out);
    /* Both version calls work without a device; the driver one reports 0 without a driver. */
    if (cudaDriverGetVersion(&out->driver_version) != cudaSuccess)
        out->driver_version = 0;
    if (cudaRuntimeGetVersion(&out->runtime_version) != cudaSuccess)
        out->runtime_version = 0;
    cudaError_t e = cudaGetDeviceCount(&out->device_count);
    if (e != cudaSuccess) {
        out->device_count = 0;
        snprintf(out->error, sizeof out->error, "%s: %s", cudaGetErrorName(e),
                 cudaGetErrorString(e));
    }
    (void)cudaGetLastError();
}

dgxm_status dgxm_cuda_memory(dgxm_backend *b, size_t *free_bytes, size_t *total_bytes,
                             dgxm_error *err)
{
    *free_bytes = *total_bytes = 0;
    if (!dgxm_cuda_backend_info(b))
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cuda memory: not a CUDA backend");
    DGXM_CUDA_TRY(err, "memory", cudaSetDevice(dgxm_cuda(b)->info.device));
    DGXM_CUDA_TRY(err, "memory", cudaMemGetInfo(free_bytes, total_bytes));
    return DGXM_OK;
}

/* Best of `repeats` copies of `bytes` from src to dst on the stream, in GB/s. */
static dgxm_status time_copy(dgxm_cuda_backend *cb, void *dst, const void *src, size_t bytes,
                             int repeats, cudaEvent_t t0, cudaEvent_t t1, double *gbs,
                             dgxm_error *err)
{
    float best_ms = 0.0f;
    for (int i = 0; i <= repeats; i++) { /* i == 0 warms up: first-touch and clock ramp */
        DGXM_CUDA_TRY(err, "bandwidth", cudaEventRecord(t0, cb->stream));
        DGXM_CUDA_TRY(err, "bandwidth",
                      cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, cb->stream));
        DGXM_CUDA_TRY(err, "bandwidth", cudaEventRecord(t1, cb->stream));
        DGXM_CUDA_TRY(err, "bandwidth", cudaEventSynchronize(t1));
        float ms = 0.0f;
        DGXM_CUDA_TRY(err, "bandwidth", cudaEventElapsedTime(&ms, t0, t1));
        if (i > 0 && (best_ms == 0.0f || ms < best_ms))
            best_ms = ms;
    }
    *gbs = best_ms > 0.0f ? (double)bytes / (best_ms * 1e-3) / 1e9 : 0.0;
    return DGXM_OK;
}

dgxm_status dgxm_cuda_measure_bandwidth(dgxm_backend *b, size_t bytes, int repeats,
                                        dgxm_cuda_bandwidth *out, dgxm_error *err)
{
    memset(out, 0, sizeof *out);
    if (!dgxm_cuda_backend_info(b))
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cuda bandwidth: not a CUDA backend");
    if (bytes < 4096 || repeats < 1)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cuda bandwidth: %zu bytes, %d repeats",
                              bytes, repeats);
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    void *host = NULL, *dev_a = NULL, *dev_b = NULL;
    cudaEvent_t t0 = NULL, t1 = NULL;
    dgxm_status s = DGXM_OK;
    cudaError_t e = cudaMallocHost(&host, bytes);
    if (e == cudaSuccess)
        e = cudaMalloc(&dev_a, bytes);
    if (e == cudaSuccess)
        e = cudaMalloc(&dev_b, bytes);
    if (e == cudaSuccess)
        e = cudaEventCreate(&t0);
    if (e == cudaSuccess)
        e = cudaEventCreate(&t1);
    if (e != cudaSuccess)
        s = dgxm_cuda_fail(err, e, "bandwidth", "buffers for the copies");
    if (!s) {
        memset(host, 0x5a, bytes); /* touched, so no copy pays for first-touch faults */
        s = time_copy(cb, dev_a, host, bytes, repeats, t0, t1, &out->h2d_gbs, err);
    }
    if (!s)
        s = time_copy(cb, host, dev_a, bytes, repeats, t0, t1, &out->d2h_gbs, err);
    if (!s)
        s = time_copy(cb, dev_b, dev_a, bytes, repeats, t0, t1, &out->d2d_gbs, err);
    out->bytes = bytes;
    if (t0)
        cudaEventDestroy(t0);
    if (t1)
        cudaEventDestroy(t1);
    cudaFree(dev_a);
    cudaFree(dev_b);
    cudaFreeHost(host);
    (void)cudaGetLastError();
    return s;
}
