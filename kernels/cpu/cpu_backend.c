/* The CPU backend object: memory is host memory, copies are memcpy, ops fan out to a
 * persistent thread pool. */
#include "cpu_backend.h"

#include <stdlib.h>
#include <string.h>

static void cpu_destroy(dgxm_backend *b)
{
    dgxm_cpu_backend *cpu = (dgxm_cpu_backend *)b;
    if (!cpu)
        return;
    dgxm_thread_pool_free(cpu->pool);
    free(cpu);
}

/* 64-byte alignment keeps rows on cache-line boundaries for the SIMD loops. */
static void *cpu_alloc(dgxm_backend *b, size_t bytes)
{
    (void)b;
    void *p = NULL;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0)
        return NULL;
    return p;
}

static void cpu_release(dgxm_backend *b, void *ptr)
{
    (void)b;
    free(ptr);
}

static dgxm_status cpu_copy(dgxm_backend *b, void *dst, const void *src, size_t bytes,
                            dgxm_error *err)
{
    (void)b;
    (void)err;
    if (bytes)
        memmove(dst, src, bytes);
    return DGXM_OK;
}

static const dgxm_backend_ops cpu_ops = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .copy_to_device = cpu_copy,
    .copy_to_host = cpu_copy,
    .matrix_upload = dgxm_cpu_matrix_upload,
    .matrix_free = dgxm_cpu_matrix_free,
    .linear = dgxm_cpu_linear,
    .rms_norm = dgxm_cpu_rms_norm,
    .layer_norm = dgxm_cpu_layer_norm,
    .relu = dgxm_cpu_relu,
    .gelu = dgxm_cpu_gelu,
    .scale_rows = dgxm_cpu_scale_rows,
    .attention = dgxm_cpu_attention,
    .elu = dgxm_cpu_elu,
    .conv1d = dgxm_cpu_conv1d,
    .conv_transpose1d = dgxm_cpu_conv_transpose1d,
    .lstm = dgxm_cpu_lstm,
    .add = dgxm_cpu_add,
    .embedding = dgxm_cpu_embedding,
    .fused_step = NULL,
};

dgxm_backend *dgxm_cpu_backend_new(int threads, dgxm_error *err)
{
    dgxm_cpu_backend *cpu = calloc(1, sizeof *cpu);
    if (!cpu) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "cpu backend: out of memory");
        return NULL;
    }
    cpu->base.ops = &cpu_ops;
    cpu->pool = dgxm_thread_pool_new(threads);
    if (!cpu->pool) {
        free(cpu);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "cpu backend: cannot start %d worker threads", threads);
        return NULL;
    }
    return &cpu->base;
}
