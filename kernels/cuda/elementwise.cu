/* Element-wise CUDA ops: activations, row scaling, add and embedding lookup. Grid-stride loops
 * over size_t indices, so any n works with a grid sized from the SM count. */
#include "cuda_internal.h"

static constexpr int EW_THREADS = 256;

static __global__ void relu_kernel(float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* The exact (erf) GELU, as the CPU oracle. */
static __global__ void gelu_kernel(float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
}

static __global__ void elu_kernel(float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] = x[i] > 0.0f ? x[i] : expm1f(x[i]);
}

static __global__ void scale_rows_kernel(float *x, const float *__restrict__ row_scale, size_t n,
                                         size_t total)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] *= row_scale[i / n];
}

static __global__ void add_kernel(const float *x, float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}

static __global__ void embedding_kernel(const float *__restrict__ table, int dim,
                                        const int32_t *__restrict__ ids, int n,
                                        float *__restrict__ out)
{
    const size_t total = (size_t)n * dim;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t row = i / (size_t)dim, col = i % (size_t)dim;
        out[i] = table[(size_t)ids[row] * dim + col];
    }
}

dgxm_status dgxm_cuda_relu(dgxm_backend *b, float *x, size_t n, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (!n)
        return DGXM_OK;
    relu_kernel<<<dgxm_cuda_blocks(cb, n, EW_THREADS), EW_THREADS, 0, cb->stream>>>(x, n);
    return dgxm_cuda_launched(err, "relu");
}

dgxm_status dgxm_cuda_gelu(dgxm_backend *b, float *x, size_t n, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (!n)
        return DGXM_OK;
    gelu_kernel<<<dgxm_cuda_blocks(cb, n, EW_THREADS), EW_THREADS, 0, cb->stream>>>(x, n);
    return dgxm_cuda_launched(err, "gelu");
}

dgxm_status dgxm_cuda_elu(dgxm_backend *b, float *x, size_t n, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (!n)
        return DGXM_OK;
    elu_kernel<<<dgxm_cuda_blocks(cb, n, EW_THREADS), EW_THREADS, 0, cb->stream>>>(x, n);
    return dgxm_cuda_launched(err, "elu");
}

dgxm_status dgxm_cuda_scale_rows(dgxm_backend *b, float *x, const float *row_scale, int m, int n,
                                 dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (m <= 0 || n <= 0)
        return DGXM_OK;
    const size_t total = (size_t)m * n;
    scale_rows_kernel<<<dgxm_cuda_blocks(cb, total, EW_THREADS), EW_THREADS, 0, cb->stream>>>(
        x, row_scale, (size_t)n, total);
    return dgxm_cuda_launched(err, "scale_rows");
}

dgxm_status dgxm_cuda_add(dgxm_backend *b, const float *x, float *y, size_t n, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (!n)
        return DGXM_OK;
    add_kernel<<<dgxm_cuda_blocks(cb, n, EW_THREADS), EW_THREADS, 0, cb->stream>>>(x, y, n);
    return dgxm_cuda_launched(err, "add");
}

/* The ids are host memory: checked here, then copied into a scratch buffer on the stream (a
 * pageable source is staged before cudaMemcpyAsync returns, so the caller may reuse it). */
dgxm_status dgxm_cuda_embedding(dgxm_backend *b, const float *table, int table_rows, int dim,
                                const int32_t *ids, int n, float *out, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= table_rows)
            return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                                  "embedding: id %d at position %d outside the table of %d rows",
                                  (int)ids[i], i, table_rows);
    if (n <= 0 || dim <= 0)
        return DGXM_OK;
    void *dev_ids = NULL;
    dgxm_status s = dgxm_cuda_scratch(cb, DGXM_CUDA_SCRATCH_IDS, (size_t)n * sizeof *ids,
                                      "embedding", &dev_ids, err);
    if (s)
        return s;
    DGXM_CUDA_TRY(
        err, "embedding",
        cudaMemcpyAsync(dev_ids, ids, (size_t)n * sizeof *ids, cudaMemcpyHostToDevice, cb->stream));
    const size_t total = (size_t)n * dim;
    embedding_kernel<<<dgxm_cuda_blocks(cb, total, EW_THREADS), EW_THREADS, 0, cb->stream>>>(
        table, dim, (const int32_t *)dev_ids, n, out);
    return dgxm_cuda_launched(err, "embedding");
}
