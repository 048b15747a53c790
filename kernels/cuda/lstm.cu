/* One LSTM layer on the GPU (EnCodec's two-layer LSTM over the code frames).
 *
 * The input projection of every step is one GEMM up front: pre[s][g] = W_ih[g] . x[:, s] +
 * b_ih[g] + b_hh[g] (x is channel-major, read through strides). The recurrence then needs only
 * h . W_hh^T per step. It runs as ONE persistent kernel for all steps: each warp owns fixed
 * hidden units (all four gate rows of a unit, so the cell update needs no other warp), each
 * block stages h of the previous step in shared memory, and a grid-wide barrier separates the
 * steps. The launch is cooperative, which guarantees that every block is resident, so the
 * barrier cannot deadlock. On a device without cooperative launch the same kernel runs one
 * launch per step instead (correct, slower). */
#include "cuda_internal.h"

static constexpr int LSTM_THREADS = 256;

/* All blocks of the grid meet here. counter[0] counts arrivals, counter[1] is the generation:
 * the last block to arrive resets the count and advances the generation that the others spin
 * on. Writes before the barrier (this step's h) are visible to every block after it. */
static __device__ void grid_barrier(unsigned int *counter)
{
    __syncthreads();
    if (threadIdx.x == 0) {
        volatile unsigned int *gen = counter + 1;
        const unsigned int my_gen = *gen;
        __threadfence();
        if (atomicAdd(counter, 1u) == gridDim.x - 1) {
            atomicExch(counter, 0u);
            __threadfence();
            atomicAdd(counter + 1, 1u);
        } else {
            while (*gen == my_gen) {
            }
        }
        __threadfence();
    }
    __syncthreads();
}

static __device__ __forceinline__ float sigmoid(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

struct lstm_args {
    const float *pre, *w_hh; /* pre [t][4h], w_hh [4h][h] */
    float *h2, *c, *y;       /* h2: h of even and odd steps [2][h]; c [h]; y [h][t] */
    unsigned int *barrier;
    int hidden, t, s_begin, s_end, vec;
};

static __global__ void __launch_bounds__(LSTM_THREADS) lstm_recurrence_kernel(lstm_args a)
{
    extern __shared__ float hs[]; /* h of the previous step */
    const int H = a.hidden, lane = threadIdx.x & 31;
    const int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int warps = (gridDim.x * blockDim.x) >> 5;
    for (int s = a.s_begin; s < a.s_end; s++) {
        const float *h_prev = a.h2 + (size_t)(s & 1) * H;
        float *h_next = a.h2 + (size_t)((s + 1) & 1) * H;
        for (int i = threadIdx.x; i < H; i += blockDim.x)
            hs[i] = __ldcg(h_prev + i); /* L2: written by other blocks in the last step */
        __syncthreads();
        const float *pre = a.pre + (size_t)s * 4 * H;
        for (int u = warp; u < H; u += warps) {
            float g[4];
#pragma unroll
            for (int q = 0; q < 4; q++) {
                const float *wr = a.w_hh + (size_t)(q * H + u) * H;
                float dot = 0.0f;
                if (a.vec) {
                    for (int c = lane * 4; c < H; c += 128) {
                        const float4 w4 = __ldg(reinterpret_cast<const float4 *>(wr + c));
                        dot +=
                            w4.x * hs[c] + w4.y * hs[c + 1] + w4.z * hs[c + 2] + w4.w * hs[c + 3];
                    }
                } else {
                    for (int c = lane; c < H; c += 32)
                        dot += __ldg(wr + c) * hs[c];
                }
                g[q] = dgxm_warp_sum(dot) + pre[q * H + u];
            }
            if (lane == 0) {
                const float c_new = sigmoid(g[1]) * a.c[u] + sigmoid(g[0]) * tanhf(g[2]);
                const float h_new = sigmoid(g[3]) * tanhf(c_new);
                a.c[u] = c_new;
                h_next[u] = h_new;
                a.y[(size_t)u * a.t + s] = h_new;
            }
        }
        if (s + 1 < a.s_end)
            grid_barrier(a.barrier); /* also keeps hs until every warp of the block is done */
    }
}

dgxm_status dgxm_cuda_lstm(dgxm_backend *b, const float *x, int cin, int t, const float *w_ih,
                           const float *w_hh, const float *b_ih, const float *b_hh, int hidden,
                           float *y, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (cin <= 0 || t <= 0 || hidden <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "lstm: cin %d, steps %d, hidden %d", cin,
                              t, hidden);
    const size_t smem = (size_t)hidden * sizeof(float);
    if (smem > cb->info.smem_per_block)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cuda lstm: hidden size %d needs %zu bytes of shared memory", hidden,
                              smem);
    const int G = 4 * hidden;
    /* scratch: pre [t][G], h [2][hidden], c [hidden] */
    const size_t floats = (size_t)t * G + 3 * (size_t)hidden;
    void *scratch = NULL;
    dgxm_status s = dgxm_cuda_scratch(cb, DGXM_CUDA_SCRATCH_WORK, floats * sizeof(float), "lstm",
                                      &scratch, err);
    if (s)
        return s;
    float *pre = (float *)scratch, *h2 = pre + (size_t)t * G, *c = h2 + 2 * (size_t)hidden;
    s = dgxm_cuda_gemm(cb, x, 1, t, w_ih, false, b_ih, b_hh, t, G, cin, pre, false, "lstm", err);
    if (s)
        return s;
    DGXM_CUDA_TRY(err, "lstm",
                  cudaMemsetAsync(h2, 0, 3 * (size_t)hidden * sizeof(float), cb->stream));
    DGXM_CUDA_TRY(err, "lstm",
                  cudaMemsetAsync(cb->grid_barrier, 0, 2 * sizeof(unsigned int), cb->stream));

    lstm_args a;
    a.pre = pre, a.w_hh = w_hh, a.h2 = h2, a.c = c, a.y = y, a.barrier = cb->grid_barrier;
    a.hidden = hidden, a.t = t;
    a.vec = hidden % 4 == 0 && ((uintptr_t)w_hh & 15u) == 0;
    int per_sm = 0;
    DGXM_CUDA_TRY(err, "lstm",
                  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, lstm_recurrence_kernel,
                                                                LSTM_THREADS, smem));
    const int wanted = (hidden + LSTM_THREADS / 32 - 1) / (LSTM_THREADS / 32);
    int blocks = per_sm * cb->info.sm_count;
    if (blocks > wanted)
        blocks = wanted;
    if (blocks < 1)
        blocks = 1;

    if (cb->info.cooperative_launch && per_sm > 0) {
        a.s_begin = 0, a.s_end = t;
        void *params[] = { &a };
        DGXM_CUDA_TRY(err, "lstm",
                      cudaLaunchCooperativeKernel((const void *)lstm_recurrence_kernel,
                                                  dim3((unsigned int)blocks), dim3(LSTM_THREADS),
                                                  params, smem, cb->stream));
        return dgxm_cuda_launched(err, "lstm");
    }
    for (int step = 0; step < t; step++) {
        a.s_begin = step, a.s_end = step + 1;
        lstm_recurrence_kernel<<<(unsigned int)blocks, LSTM_THREADS, smem, cb->stream>>>(a);
        if ((s = dgxm_cuda_launched(err, "lstm")))
            return s;
    }
    return DGXM_OK;
}
