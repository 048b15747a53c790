/* RMS norm (T5) and LayerNorm (MusicGen decoder) on the CPU, in float32 with double-precision
 * row statistics so long rows do not drift from the reference. */
#include "cpu_backend.h"

#include <math.h>

typedef struct norm_job {
    const float *x;
    const float *weight;
    const float *bias;
    float *y;
    int n;
    float eps;
} norm_job;

DGXM_HOT static void rms_range(void *ctx, size_t begin, size_t end)
{
    const norm_job *j = ctx;
    for (size_t r = begin; r < end; r++) {
        const float *xr = j->x + r * (size_t)j->n;
        float *yr = j->y + r * (size_t)j->n;
        double ss = 0.0;
        for (int i = 0; i < j->n; i++)
            ss += (double)xr[i] * xr[i];
        float inv = (float)(1.0 / sqrt(ss / j->n + j->eps));
        for (int i = 0; i < j->n; i++)
            yr[i] = xr[i] * inv * j->weight[i];
    }
}

DGXM_HOT static void layer_norm_range(void *ctx, size_t begin, size_t end)
{
    const norm_job *j = ctx;
    for (size_t r = begin; r < end; r++) {
        const float *xr = j->x + r * (size_t)j->n;
        float *yr = j->y + r * (size_t)j->n;
        double sum = 0.0;
        for (int i = 0; i < j->n; i++)
            sum += xr[i];
        double mean = sum / j->n;
        double var = 0.0;
        for (int i = 0; i < j->n; i++)
            var += ((double)xr[i] - mean) * ((double)xr[i] - mean);
        float inv = (float)(1.0 / sqrt(var / j->n + j->eps));
        float meanf = (float)mean;
        for (int i = 0; i < j->n; i++) {
            float v = (xr[i] - meanf) * inv * j->weight[i];
            yr[i] = j->bias ? v + j->bias[i] : v;
        }
    }
}

dgxm_status dgxm_cpu_rms_norm(dgxm_backend *b, const float *x, const float *weight, int m, int n,
                              float eps, float *y, dgxm_error *err)
{
    (void)err;
    norm_job job = { x, weight, NULL, y, n, eps };
    dgxm_parallel_for(dgxm_cpu_pool(b), (size_t)m, 8, rms_range, &job);
    return DGXM_OK;
}

dgxm_status dgxm_cpu_layer_norm(dgxm_backend *b, const float *x, const float *weight,
                                const float *bias, int m, int n, float eps, float *y,
                                dgxm_error *err)
{
    (void)err;
    norm_job job = { x, weight, bias, y, n, eps };
    dgxm_parallel_for(dgxm_cpu_pool(b), (size_t)m, 8, layer_norm_range, &job);
    return DGXM_OK;
}
