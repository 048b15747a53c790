/* The compute backend interface: what model code (core/t5.c, the decoder, EnCodec) asks of a
 * device. Model code is written once against this table; kernels/cpu/ implements it in threaded
 * C and is the numerical oracle; other backends are tested against it.
 *
 * Memory model: a backend hands out opaque device pointers (plain host pointers on the CPU
 * backend). Activations are float32, row-major. Weight matrices are uploaded once into a
 * dgxm_matrix in one of the weight formats; the backend owns their storage.
 *
 * Threads: a backend object belongs to one engine thread; every call below is made from that
 * thread only. The backend may use worker threads of its own inside a call; every call returns
 * when its results are visible to the next call.
 */
#ifndef DGXM_BACKEND_H
#define DGXM_BACKEND_H

#include "dgxm/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dgxm_fused_step_ops; /* kernels/fused_step.h */

typedef enum dgxm_weight_format {
    DGXM_WEIGHT_F32,
    DGXM_WEIGHT_BF16,
    DGXM_WEIGHT_F16,
    DGXM_WEIGHT_INT8 /* per-output-row float scales */
} dgxm_weight_format;

/* A weight matrix W[rows][cols] (PyTorch nn.Linear layout: rows = output features) held by a
 * backend. Created by matrix_upload, released by matrix_free. */
typedef struct dgxm_matrix {
    dgxm_weight_format format;
    int rows;
    int cols;
    void *data;    /* backend memory */
    float *scales; /* INT8 only: one per row, backend memory */
} dgxm_matrix;

typedef struct dgxm_backend dgxm_backend;

typedef struct dgxm_backend_ops {
    const char *name;
    void (*destroy)(dgxm_backend *b);

    /* Device memory: NULL from alloc means out of memory. copy_* move bytes between host and
     * device memory; both are synchronous. */
    void *(*alloc)(dgxm_backend *b, size_t bytes);
    void (*release)(dgxm_backend *b, void *ptr);
    dgxm_status (*copy_to_device)(dgxm_backend *b, void *dst, const void *src, size_t bytes,
                                  dgxm_error *err);
    dgxm_status (*copy_to_host)(dgxm_backend *b, void *dst, const void *src, size_t bytes,
                                dgxm_error *err);

    /* Converts a host float32 matrix into the backend's storage in the given format. */
    dgxm_status (*matrix_upload)(dgxm_backend *b, const float *host, int rows, int cols,
                                 dgxm_weight_format format, dgxm_matrix *out, dgxm_error *err);
    void (*matrix_free)(dgxm_backend *b, dgxm_matrix *m);

    /* y[m][w.rows] = x[m][w.cols] . W^T + bias (bias may be NULL). With accumulate, the result
     * is added to y instead of replacing it (residual connections). */
    dgxm_status (*linear)(dgxm_backend *b, const dgxm_matrix *w, const float *bias, const float *x,
                          int m, float *y, bool accumulate, dgxm_error *err);

    /* T5 norm: y = x / sqrt(mean(x^2) + eps) * weight, per row of n. x and y may alias. */
    dgxm_status (*rms_norm)(dgxm_backend *b, const float *x, const float *weight, int m, int n,
                            float eps, float *y, dgxm_error *err);

    /* LayerNorm with biased variance: y = (x - mean) / sqrt(var + eps) * weight + bias. */
    dgxm_status (*layer_norm)(dgxm_backend *b, const float *x, const float *weight,
                              const float *bias, int m, int n, float eps, float *y,
                              dgxm_error *err);

    /* In place over n floats. */
    dgxm_status (*relu)(dgxm_backend *b, float *x, size_t n, dgxm_error *err);
    dgxm_status (*gelu)(dgxm_backend *b, float *x, size_t n, dgxm_error *err); /* exact erf */

    /* y[i] = x[i] * row_scale[i / n] over m rows of n: zeroes masked rows (conditioning). */
    dgxm_status (*scale_rows)(dgxm_backend *b, float *x, const float *row_scale, int m, int n,
                              dgxm_error *err);

    /* Multi-head attention over one sequence, heads laid out side by side in each row:
     * q[lq][heads*head_dim], k and v [lk][heads*head_dim] (row strides q_stride / kv_stride
     * floats), out[lq][heads*head_dim].
     * scores[h][i][j] = scale * q_h[i].k_h[j] + (bias ? bias[(h*lq + i)*lk + j] : 0);
     * key_valid (may be NULL) marks keys that may be attended; causal limits query i to keys
     * j <= i + (lk - lq). A query with no valid key gets a zero output. */
    dgxm_status (*attention)(dgxm_backend *b, const float *q, int q_stride, const float *k,
                             const float *v, int kv_stride, const float *bias,
                             const uint8_t *key_valid, bool causal, int heads, int lq, int lk,
                             int head_dim, float scale, float *out, dgxm_error *err);

    /* In place over n floats: x > 0 ? x : expm1(x) (ELU, alpha 1). */
    dgxm_status (*elu)(dgxm_backend *b, float *x, size_t n, dgxm_error *err);

    /* 1-d convolution on channel-major signals: x[cin][lin], w[cout][cin][k], bias[cout] (may
     * be NULL), y[cout][lout] with lout = (lin + pad_left + pad_right - dilation*(k-1) - 1)
     * / stride + 1. reflect pads by mirroring without the edge sample; an input no longer than
     * the larger pad is first zero-extended to max_pad + 1 samples, padded, and the extension
     * cropped again (the reference's rule); otherwise padding is zeros. */
    dgxm_status (*conv1d)(dgxm_backend *b, const float *x, int cin, int lin, const float *w,
                          const float *bias, int cout, int k, int stride, int dilation,
                          int pad_left, int pad_right, bool reflect, float *y, dgxm_error *err);

    /* Transposed 1-d convolution: x[cin][lin], w[cin][cout][k], bias[cout] (may be NULL). The
     * full output of (lin - 1) * stride + k samples is trimmed by trim_left and trim_right:
     * y[cout][(lin - 1) * stride + k - trim_left - trim_right]. */
    dgxm_status (*conv_transpose1d)(dgxm_backend *b, const float *x, int cin, int lin,
                                    const float *w, const float *bias, int cout, int k, int stride,
                                    int trim_left, int trim_right, float *y, dgxm_error *err);

    /* One LSTM layer over t steps from zero state, channel-major in and out: x[cin][t],
     * y[hidden][t]. w_ih[4*hidden][cin], w_hh[4*hidden][hidden], biases [4*hidden]; gate rows
     * in the order input, forget, cell, output. */
    dgxm_status (*lstm)(dgxm_backend *b, const float *x, int cin, int t, const float *w_ih,
                        const float *w_hh, const float *b_ih, const float *b_hh, int hidden,
                        float *y, dgxm_error *err);

    /* y[i] += x[i] over n floats. */
    dgxm_status (*add)(dgxm_backend *b, const float *x, float *y, size_t n, dgxm_error *err);

    /* out[i] = table[ids[i]] for n ids, rows of dim floats; ids are host memory and must be
     * below table_rows (else DGXM_ERR_INVALID_ARG naming the id). */
    dgxm_status (*embedding)(dgxm_backend *b, const float *table, int table_rows, int dim,
                             const int32_t *ids, int n, float *out, dgxm_error *err);

    /* The whole decode step on the device (kernels/fused_step.h); NULL when the backend runs
     * the step op by op. */
    const struct dgxm_fused_step_ops *fused_step;
} dgxm_backend_ops;

struct dgxm_backend {
    const dgxm_backend_ops *ops;
};

/* The CPU backend with `threads` workers (0: one per online core). Freed with
 * b->ops->destroy(b). Control or engine thread. */
dgxm_backend *dgxm_cpu_backend_new(int threads, dgxm_error *err);

#endif
