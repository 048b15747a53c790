/* Element-wise CPU ops: activations, row scaling and embedding lookup. */
#include "cpu_backend.h"

#include <math.h>
#include <string.h>

typedef struct unary_job {
    float *x;
} unary_job;

static void relu_range(void *ctx, size_t begin, size_t end)
{
    float *x = ((unary_job *)ctx)->x;
    for (size_t i = begin; i < end; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* The exact (erf) GELU the MusicGen decoder was trained with, not the tanh approximation. */
static void gelu_range(void *ctx, size_t begin, size_t end)
{
    float *x = ((unary_job *)ctx)->x;
    for (size_t i = begin; i < end; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

static void elu_range(void *ctx, size_t begin, size_t end)
{
    float *x = ((unary_job *)ctx)->x;
    for (size_t i = begin; i < end; i++)
        x[i] = x[i] > 0.0f ? x[i] : expm1f(x[i]);
}

dgxm_status dgxm_cpu_elu(dgxm_backend *b, float *x, size_t n, dgxm_error *err)
{
    (void)err;
    unary_job job = { x };
    dgxm_parallel_for(dgxm_cpu_pool(b), n, 8192, elu_range, &job);
    return DGXM_OK;
}

dgxm_status dgxm_cpu_relu(dgxm_backend *b, float *x, size_t n, dgxm_error *err)
{
    (void)err;
    unary_job job = { x };
    dgxm_parallel_for(dgxm_cpu_pool(b), n, 16384, relu_range, &job);
    return DGXM_OK;
}

dgxm_status dgxm_cpu_gelu(dgxm_backend *b, float *x, size_t n, dgxm_error *err)
{
    (void)err;
    unary_job job = { x };
    dgxm_parallel_for(dgxm_cpu_pool(b), n, 4096, gelu_range, &job);
    return DGXM_OK;
}

dgxm_status dgxm_cpu_scale_rows(dgxm_backend *b, float *x, const float *row_scale, int m, int n,
                                dgxm_error *err)
{
    (void)b;
    (void)err;
    for (int r = 0; r < m; r++)
        for (int i = 0; i < n; i++)
            x[(size_t)r * n + i] *= row_scale[r];
    return DGXM_OK;
}

dgxm_status dgxm_cpu_add(dgxm_backend *b, const float *x, float *y, size_t n, dgxm_error *err)
{
    (void)b;
    (void)err;
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
    return DGXM_OK;
}

dgxm_status dgxm_cpu_embedding(dgxm_backend *b, const float *table, int table_rows, int dim,
                               const int32_t *ids, int n, float *out, dgxm_error *err)
{
    (void)b;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= table_rows)
            return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                                  "embedding: id %d at position %d outside the table of %d rows",
                                  (int)ids[i], i, table_rows);
        memcpy(out + (size_t)i * dim, table + (size_t)ids[i] * dim, (size_t)dim * sizeof(float));
    }
    return DGXM_OK;
}
