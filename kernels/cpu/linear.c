/* Weight matrices and the linear op of the CPU backend, float32 or bfloat16 weights.
 *
 * y = x . W^T: each task owns a block of output features and walks the input rows two at a
 * time, so every weight is loaded once per pair of rows (the decode step's two guidance rows
 * read each weight exactly once) and a block of W stays in cache for the rest. */
#include "cpu_backend.h"
#include "tensor.h"

#include <stdlib.h>
#include <string.h>

dgxm_status dgxm_cpu_matrix_upload(dgxm_backend *b, const float *host, int rows, int cols,
                                   dgxm_weight_format format, dgxm_matrix *out, dgxm_error *err)
{
    memset(out, 0, sizeof *out);
    if (rows <= 0 || cols <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "cpu matrix_upload: shape %dx%d", rows,
                              cols);
    if (format != DGXM_WEIGHT_F32 && format != DGXM_WEIGHT_BF16)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cpu backend: weight format %d is not implemented (f32, bf16)",
                              (int)format);
    size_t count = (size_t)rows * (size_t)cols;
    size_t bytes = count * (format == DGXM_WEIGHT_F32 ? sizeof(float) : sizeof(uint16_t));
    void *data = b->ops->alloc(b, bytes);
    if (!data)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "cpu matrix_upload: %zu bytes", bytes);
    if (format == DGXM_WEIGHT_F32) {
        memcpy(data, host, bytes);
    } else {
        uint16_t *half = data;
        for (size_t i = 0; i < count; i++)
            half[i] = dgxm_f32_to_bf16(host[i]);
    }
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
    const void *w;
    const float *bias;
    const float *x;
    float *y;
    int m;
    int rows;
    int cols;
    bool accumulate;
    bool bf16;
} linear_job;

/* Two rows' dot products with one weight row: 16 floats per step in two independent chains. */
static inline void dot2(const float *x0, const float *x1, const void *wrow, bool bf16, int n,
                        float *out0, float *out1)
{
    dgxm_v8 a0 = { 0 }, a1 = { 0 }, b0 = { 0 }, b1 = { 0 };
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        dgxm_v8 w0, w1;
        if (bf16) {
            w0 = dgxm_load8_bf16((const uint16_t *)wrow + i);
            w1 = dgxm_load8_bf16((const uint16_t *)wrow + i + 8);
        } else {
            w0 = dgxm_load8((const float *)wrow + i);
            w1 = dgxm_load8((const float *)wrow + i + 8);
        }
        a0 += w0 * dgxm_load8(x0 + i);
        b0 += w1 * dgxm_load8(x0 + i + 8);
        a1 += w0 * dgxm_load8(x1 + i);
        b1 += w1 * dgxm_load8(x1 + i + 8);
    }
    float s0 = dgxm_hsum8(a0 + b0), s1 = dgxm_hsum8(a1 + b1);
    for (; i < n; i++) {
        float w = bf16 ? dgxm_bf16_to_f32(((const uint16_t *)wrow)[i]) : ((const float *)wrow)[i];
        s0 += w * x0[i];
        s1 += w * x1[i];
    }
    *out0 = s0;
    *out1 = s1;
}

DGXM_HOT static void linear_range(void *ctx, size_t begin, size_t end)
{
    const linear_job *j = ctx;
    const size_t esize = j->bf16 ? sizeof(uint16_t) : sizeof(float);
    for (int r = 0; r < j->m; r += 2) {
        const float *x0 = j->x + (size_t)r * j->cols;
        const float *x1 = r + 1 < j->m ? x0 + j->cols : x0; /* odd count: last row twice */
        float *y0 = j->y + (size_t)r * j->rows;
        float *y1 = r + 1 < j->m ? y0 + j->rows : NULL;
        for (size_t o = begin; o < end; o++) {
            float v0, v1;
            dot2(x0, x1, (const char *)j->w + o * (size_t)j->cols * esize, j->bf16, j->cols, &v0,
                 &v1);
            if (j->bias) {
                v0 += j->bias[o];
                v1 += j->bias[o];
            }
            y0[o] = j->accumulate ? y0[o] + v0 : v0;
            if (y1)
                y1[o] = j->accumulate ? y1[o] + v1 : v1;
        }
    }
}

dgxm_status dgxm_cpu_linear(dgxm_backend *b, const dgxm_matrix *w, const float *bias,
                            const float *x, int m, float *y, bool accumulate, dgxm_error *err)
{
    if (w->format != DGXM_WEIGHT_F32 && w->format != DGXM_WEIGHT_BF16)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "cpu linear: weight format %d",
                              (int)w->format);
    if (m <= 0)
        return DGXM_OK;
    linear_job job = { w->data, bias,       x,
                       y,       m,          w->rows,
                       w->cols, accumulate, w->format == DGXM_WEIGHT_BF16 };
    /* Keep chunks large enough that a claim costs far less than the work it claims. */
    size_t min_rows = (size_t)(16384 / (w->cols + 1)) + 1;
    dgxm_parallel_for(dgxm_cpu_pool(b), (size_t)w->rows, min_rows, linear_range, &job);
    return DGXM_OK;
}
