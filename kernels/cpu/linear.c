/* Weight matrices and the linear op of the CPU backend (float32 weights).
 *
 * y = x . W^T: each task owns a block of output features and walks every input row, so a block
 * of W stays in cache while the (small) activation matrix streams past it. */
#include "cpu_backend.h"

#include <stdlib.h>
#include <string.h>

dgxm_status dgxm_cpu_matrix_upload(dgxm_backend *b, const float *host, int rows, int cols,
                                   dgxm_weight_format format, dgxm_matrix *out, dgxm_error *err)
{
    memset(out, 0, sizeof *out);
    if (rows <= 0 || cols <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cpu matrix_upload: shape %dx%d", rows,
                              cols);
    if (format != DGXM_WEIGHT_F32)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cpu backend: weight format %d is not implemented yet (f32 only)",
                              (int)format);
    size_t bytes = (size_t)rows * (size_t)cols * sizeof(float);
    float *data = b->ops->alloc(b, bytes);
    if (!data)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "cpu matrix_upload: %zu bytes", bytes);
    memcpy(data, host, bytes);
    out->format = format;
    out->rows = rows;
    out->cols = cols;
    out->data = data;
    return DGXM_OK;
}

void dgxm_cpu_matrix_free(dgxm_backend *b, dgxm_matrix *m)
{
    if (!m)
        return;
    b->ops->release(b, m->data);
    b->ops->release(b, m->scales);
    memset(m, 0, sizeof *m);
}

typedef struct linear_job {
    const float *w;
    const float *bias;
    const float *x;
    float *y;
    int m;
    int rows;
    int cols;
    bool accumulate;
} linear_job;

DGXM_HOT static void linear_range(void *ctx, size_t begin, size_t end)
{
    const linear_job *j = ctx;
    for (int r = 0; r < j->m; r++) {
        const float *xr = j->x + (size_t)r * j->cols;
        float *yr = j->y + (size_t)r * j->rows;
        for (size_t o = begin; o < end; o++) {
            float v = dgxm_dot_f32(xr, j->w + o * (size_t)j->cols, j->cols);
            if (j->bias)
                v += j->bias[o];
            yr[o] = j->accumulate ? yr[o] + v : v;
        }
    }
}

dgxm_status dgxm_cpu_linear(dgxm_backend *b, const dgxm_matrix *w, const float *bias,
                            const float *x, int m, float *y, bool accumulate, dgxm_error *err)
{
    if (w->format != DGXM_WEIGHT_F32)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "cpu linear: weight format %d",
                              (int)w->format);
    if (m <= 0)
        return DGXM_OK;
    linear_job job = { w->data, bias, x, y, m, w->rows, w->cols, accumulate };
    /* Keep chunks large enough that a claim costs far less than the work it claims. */
    size_t min_rows = (size_t)(16384 / (w->cols + 1)) + 1;
    dgxm_parallel_for(dgxm_cpu_pool(b), (size_t)w->rows, min_rows, linear_range, &job);
    return DGXM_OK;
}
