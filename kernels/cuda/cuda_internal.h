/* Internals shared by the CUDA backend's files (CUDA C, compiled by nvcc): the backend object,
 * error helpers, scratch memory, the op functions and small device helpers.
 *
 * Every host function here runs on the engine thread that owns the backend. */
#ifndef DGXM_CUDA_INTERNAL_H
#define DGXM_CUDA_INTERNAL_H

#include "cublaslt.h"
#include "cuda_backend.h"
#include "fused_step.h"

#include <cuda_runtime.h>

enum {
    DGXM_CUDA_SCRATCH_WORK = 0, /* an op's temporaries (LSTM gates and state) */
    DGXM_CUDA_SCRATCH_IDS = 1,  /* embedding ids copied from the host */
    DGXM_CUDA_SCRATCH_SLOTS = 2
};

typedef struct dgxm_cuda_backend {
    dgxm_backend base; /* first: a dgxm_backend * is a dgxm_cuda_backend * */
    dgxm_cuda_info info;
    cudaStream_t stream; /* every op and copy is queued here */
    void *scratch[DGXM_CUDA_SCRATCH_SLOTS];
    size_t scratch_bytes[DGXM_CUDA_SCRATCH_SLOTS];
    unsigned int *grid_barrier; /* two counters for the persistent LSTM kernel */
    /* Where alloc takes memory from, in the stream's order: a freed buffer is reused by the next
     * alloc without the device-wide wait of cudaFree (EnCodec frees and allocates an activation
     * per layer). NULL where the device has no memory pools: plain cudaMalloc then. */
    cudaMemPool_t pool;
    /* The large matrix products' library; NULL where it is missing or off (lt_why says why),
     * and the backend's own kernels compute them. */
    dgxm_cublaslt *lt;
    /* Float32 GEMMs (EnCodec, the int8 fold) through lt too; else only the fold's 16-bit
     * product. DGXM_CUDA_CUBLASLT_F32=1 turns it on; cuda_backend.cu says why it is off. */
    bool lt_f32;
    char lt_why[192];
    char gemm_library[608]; /* what dgxm_cuda_backend_gemm_library reports */
} dgxm_cuda_backend;

static inline dgxm_cuda_backend *dgxm_cuda(dgxm_backend *b)
{
    return (dgxm_cuda_backend *)b;
}

/* True for the errors that leave the context unusable (a kernel fault): every later call
 * fails the same way until the device is reset. */
bool dgxm_cuda_sticky(cudaError_t e);

/* Records a failed CUDA call as DGXM_ERR_BACKEND: "cuda <op>: <what>: <name>: <string>". Clears
 * the runtime's last error so a later launch check does not report it twice. A sticky error's
 * message adds that the engine must be released and acquired again. */
dgxm_status dgxm_cuda_fail(dgxm_error *err, cudaError_t e, const char *op, const char *what);

/* The check after every kernel launch: a bad configuration, a missing kernel image or an
 * earlier asynchronous fault makes the op fail with the CUDA message. */
dgxm_status dgxm_cuda_launched(dgxm_error *err, const char *op);

/* A device buffer of at least `bytes` in one of the backend's scratch slots, valid until the
 * next call for the same slot. Growing waits for the stream, so queued work using the old
 * buffer finishes first. */
dgxm_status dgxm_cuda_scratch(dgxm_cuda_backend *cb, int slot, size_t bytes, const char *op,
                              void **out, dgxm_error *err);

#define DGXM_CUDA_TRY(err, op, call)                       \
    do {                                                   \
        cudaError_t e_ = (call);                           \
        if (e_ != cudaSuccess)                             \
            return dgxm_cuda_fail((err), e_, (op), #call); \
    } while (0)

/* Blocks for a 1-d grid-stride loop over n items: enough to fill every SM a few times over,
 * never more than the work needs. */
static inline unsigned int dgxm_cuda_blocks(const dgxm_cuda_backend *cb, size_t n,
                                            unsigned int threads)
{
    size_t need = (n + threads - 1) / threads;
    size_t most = (size_t)cb->info.sm_count * 16;
    if (need > most)
        need = most;
    return need ? (unsigned int)need : 1u;
}

/* The float32 GEMM shared by linear (m > a few rows), the LSTM input projection and the
 * cross-attention fold: y[r][o] = sum_c a[r * a_row + c * a_col] * W[o][c] + bias[o] + bias2[o]
 * (+ y[r][o] when accumulate), W f32 or bf16 [n][k] row-major, biases may be NULL. cuBLASLt
 * computes it where it is loaded, the weights are float32 and x's rows or columns are
 * contiguous; a tiled kernel of the backend's own otherwise. */
dgxm_status dgxm_cuda_gemm(dgxm_cuda_backend *cb, const float *a, long long a_row, long long a_col,
                           const void *w, bool w_bf16, const float *bias, const float *bias2, int m,
                           int n, int k, float *y, bool accumulate, const char *op,
                           dgxm_error *err);

/* linear for float16 and int8 weights (linear_quant.cu). */
dgxm_status dgxm_cuda_linear_quant(dgxm_cuda_backend *cb, const dgxm_matrix *w, const float *bias,
                                   const float *x, int m, float *y, bool accumulate,
                                   dgxm_error *err);

/* The device-resident decode step (step_program.cu). */
extern "C" const dgxm_fused_step_ops dgxm_cuda_fused_step_ops;

/* The op table entries, one file per family of ops. */
dgxm_status dgxm_cuda_matrix_upload(dgxm_backend *b, const float *host, int rows, int cols,
                                    dgxm_weight_format format, dgxm_matrix *out, dgxm_error *err);
void dgxm_cuda_matrix_free(dgxm_backend *b, dgxm_matrix *m);
dgxm_status dgxm_cuda_linear(dgxm_backend *b, const dgxm_matrix *w, const float *bias,
                             const float *x, int m, float *y, bool accumulate, dgxm_error *err);
dgxm_status dgxm_cuda_rms_norm(dgxm_backend *b, const float *x, const float *weight, int m, int n,
                               float eps, float *y, dgxm_error *err);
dgxm_status dgxm_cuda_layer_norm(dgxm_backend *b, const float *x, const float *weight,
                                 const float *bias, int m, int n, float eps, float *y,
                                 dgxm_error *err);
dgxm_status dgxm_cuda_relu(dgxm_backend *b, float *x, size_t n, dgxm_error *err);
dgxm_status dgxm_cuda_gelu(dgxm_backend *b, float *x, size_t n, dgxm_error *err);
dgxm_status dgxm_cuda_elu(dgxm_backend *b, float *x, size_t n, dgxm_error *err);
dgxm_status dgxm_cuda_scale_rows(dgxm_backend *b, float *x, const float *row_scale, int m, int n,
                                 dgxm_error *err);
dgxm_status dgxm_cuda_add(dgxm_backend *b, const float *x, float *y, size_t n, dgxm_error *err);
dgxm_status dgxm_cuda_embedding(dgxm_backend *b, const float *table, int table_rows, int dim,
                                const int32_t *ids, int n, float *out, dgxm_error *err);
dgxm_status dgxm_cuda_attention(dgxm_backend *b, const float *q, int q_stride, const float *k,
                                const float *v, int kv_stride, const float *bias,
                                const uint8_t *key_valid, bool causal, int heads, int lq, int lk,
                                int head_dim, float scale, float *out, dgxm_error *err);
dgxm_status dgxm_cuda_conv1d(dgxm_backend *b, const float *x, int cin, int lin, const float *w,
                             const float *bias, int cout, int k, int stride, int dilation,
                             int pad_left, int pad_right, bool reflect, float *y, dgxm_error *err);
dgxm_status dgxm_cuda_conv_transpose1d(dgxm_backend *b, const float *x, int cin, int lin,
                                       const float *w, const float *bias, int cout, int k,
                                       int stride, int trim_left, int trim_right, float *y,
                                       dgxm_error *err);
dgxm_status dgxm_cuda_lstm(dgxm_backend *b, const float *x, int cin, int t, const float *w_ih,
                           const float *w_hh, const float *b_ih, const float *b_hh, int hidden,
                           float *y, dgxm_error *err);

/* Device helpers. Sums over a warp in a fixed butterfly order, so results are reproducible. */
static __device__ __forceinline__ float dgxm_warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ float dgxm_warp_max(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the
 * result. `shared` holds 32 floats. */
static __device__ __forceinline__ float dgxm_block_sum(float v, float *shared)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    v = dgxm_warp_sum(v);
    if (lane == 0)
        shared[warp] = v;
    __syncthreads();
    v = lane < warps ? shared[lane] : 0.0f;
    v = dgxm_warp_sum(v);
    __syncthreads(); /* every warp has read shared[] before the next call reuses it */
    return v;
}

/* bf16 stored as its 16 raw bits: the upper half of a float32. */
static __device__ __forceinline__ float dgxm_bf16_lo(unsigned int pair)
{
    return __uint_as_float(pair << 16);
}

static __device__ __forceinline__ float dgxm_bf16_hi(unsigned int pair)
{
    return __uint_as_float(pair & 0xffff0000u);
}

#endif
