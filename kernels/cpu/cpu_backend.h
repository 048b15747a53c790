/* Internals shared by the CPU backend's files: the backend object and its op functions.
 * Every function runs on the engine thread that owns the backend and fans work out to the
 * backend's thread pool. */
#ifndef DGXM_CPU_BACKEND_H
#define DGXM_CPU_BACKEND_H

#include "backend.h"
#include "thread_pool.h"

#include <stdint.h>
#include <string.h>

typedef struct dgxm_cpu_backend {
    dgxm_backend base; /* first: a dgxm_backend * is a dgxm_cpu_backend * */
    dgxm_thread_pool *pool;
} dgxm_cpu_backend;

/* Hot loops get an AVX2/FMA clone on x86-64, chosen at load time from the CPU's features; other
 * architectures compile the same portable C for their baseline SIMD (NEON on ARM64). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DGXM_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DGXM_HOT
#endif

/* Eight floats as one value: GCC and Clang lower it to one AVX register on x86-64 and two NEON
 * registers on ARM64, so the micro-kernels are one portable source for both. */
typedef float dgxm_v8 __attribute__((vector_size(32)));

static inline dgxm_v8 dgxm_load8(const float *p)
{
    dgxm_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void dgxm_store8(float *p, dgxm_v8 v)
{
    memcpy(p, &v, sizeof v);
}

typedef uint16_t dgxm_u16x8 __attribute__((vector_size(16)));
typedef uint32_t dgxm_u32x8 __attribute__((vector_size(32)));

/* Eight bfloat16 values widened to float32: the top half of each float's bits. */
static inline dgxm_v8 dgxm_load8_bf16(const uint16_t *p)
{
    dgxm_u16x8 h;
    memcpy(&h, p, sizeof h);
    dgxm_u32x8 w = __builtin_convertvector(h, dgxm_u32x8) << 16;
    dgxm_v8 f;
    memcpy(&f, &w, sizeof f);
    return f;
}

static inline float dgxm_hsum8(dgxm_v8 v)
{
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

static inline dgxm_thread_pool *dgxm_cpu_pool(dgxm_backend *b)
{
    return ((dgxm_cpu_backend *)b)->pool;
}

/* Dot product of n floats with eight independent partial sums, so the compiler can keep them
 * in one SIMD register (SSE/AVX on x86-64, NEON on ARM64) without reassociating. */
static inline float dgxm_dot_f32(const float *a, const float *b, int n)
{
    float acc[8] = { 0 };
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

dgxm_status dgxm_cpu_matrix_upload(dgxm_backend *b, const float *host, int rows, int cols,
                                   dgxm_weight_format format, dgxm_matrix *out, dgxm_error *err);
void dgxm_cpu_matrix_free(dgxm_backend *b, dgxm_matrix *m);
dgxm_status dgxm_cpu_linear(dgxm_backend *b, const dgxm_matrix *w, const float *bias,
                            const float *x, int m, float *y, bool accumulate, dgxm_error *err);
dgxm_status dgxm_cpu_rms_norm(dgxm_backend *b, const float *x, const float *weight, int m, int n,
                              float eps, float *y, dgxm_error *err);
dgxm_status dgxm_cpu_layer_norm(dgxm_backend *b, const float *x, const float *weight,
                                const float *bias, int m, int n, float eps, float *y,
                                dgxm_error *err);
dgxm_status dgxm_cpu_relu(dgxm_backend *b, float *x, size_t n, dgxm_error *err);
dgxm_status dgxm_cpu_gelu(dgxm_backend *b, float *x, size_t n, dgxm_error *err);
dgxm_status dgxm_cpu_scale_rows(dgxm_backend *b, float *x, const float *row_scale, int m, int n,
                                dgxm_error *err);
dgxm_status dgxm_cpu_attention(dgxm_backend *b, const float *q, int q_stride, const float *k,
                               const float *v, int kv_stride, const float *bias,
                               const uint8_t *key_valid, bool causal, int heads, int lq, int lk,
                               int head_dim, float scale, float *out, dgxm_error *err);
dgxm_status dgxm_cpu_add(dgxm_backend *b, const float *x, float *y, size_t n, dgxm_error *err);
dgxm_status dgxm_cpu_embedding(dgxm_backend *b, const float *table, int table_rows, int dim,
                               const int32_t *ids, int n, float *out, dgxm_error *err);

dgxm_status dgxm_cpu_elu(dgxm_backend *b, float *x, size_t n, dgxm_error *err);
dgxm_status dgxm_cpu_conv1d(dgxm_backend *b, const float *x, int cin, int lin, const float *w,
                            const float *bias, int cout, int k, int stride, int dilation,
                            int pad_left, int pad_right, bool reflect, float *y, dgxm_error *err);
dgxm_status dgxm_cpu_conv_transpose1d(dgxm_backend *b, const float *x, int cin, int lin,
                                      const float *w, const float *bias, int cout, int k,
                                      int stride, int trim_left, int trim_right, float *y,
                                      dgxm_error *err);
dgxm_status dgxm_cpu_lstm(dgxm_backend *b, const float *x, int cin, int t, const float *w_ih,
                          const float *w_hh, const float *b_ih, const float *b_hh, int hidden,
                          float *y, dgxm_error *err);

#endif
