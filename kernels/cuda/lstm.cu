/* One LSTM layer on the GPU (EnCodec's two-layer LSTM over the code frames).
 *
 * The input projection of every step is one GEMM up front: pre[s][g] = W_ih[g] . x[:, s] +
 * b_ih[g] + b_hh[g] (x is channel-major, read through strides). The recurrence then needs only
 * h . W_hh^T per step. It runs as ONE persistent kernel for all steps: each block owns a range
 * of hidden units and each warp some of them (all four gate rows of a unit, so the cell update
 * needs no other warp); a grid-wide barrier separates the steps. W_hh is the same at every step,
 * so each block keeps its units' rows in shared memory, as many as fit (all of EnCodec's 16 MB
 * on an H100/H200: 8 units of 16 KB a block), and reads only h from L2 per step; rows that do
 * not fit are read from global memory. With a hidden size that is a multiple of 128 each lane
 * holds its slice of h in registers. The launch is cooperative, which guarantees that every
 * block is resident, so the barrier cannot deadlock. On a device without cooperative launch the
 * same kernel runs one launch per step instead (correct, slower). */
#include "cuda_internal.h"

#include <stdlib.h>
#include <string.h>

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

/* The same meeting with one atomic a block: counter[0] only grows, and step s's barrier waits
 * until every block has arrived s + 1 times (the last to arrive does not reset and release the
 * others with two more serialised atomics). The count starts at zero for each launch. */
static __device__ void grid_barrier_counted(unsigned int *counter, unsigned int target)
{
    __syncthreads();
    if (threadIdx.x == 0) {
        volatile unsigned int *count = counter;
        __threadfence();
        atomicAdd(counter, 1u);
        while (*count < target) {
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
    int hidden, t, s_begin, s_end;
    int units;    /* hidden units per block */
    int resident; /* of them, how many have their rows in shared memory */
    int counted;  /* grid_barrier_counted (DGXM_CUDA_LSTM_BARRIER=generation: grid_barrier) */
};

/* q . h over one gate row: HV > 0, lane holds h[lane * 4 + i * 128] for i < HV in hv (hidden =
 * 128 HV, rows 16-byte aligned); HV == 0, h is in shared memory (hs) and the row is read a float
 * at a time. The same order as the CPU-checked form: per lane, chunks in increasing c. */
template <int HV>
static __device__ __forceinline__ float gate_dot(const float *wr,
                                                 const float4 (&hv)[HV > 0 ? HV : 1],
                                                 const float *hs, int hidden, int lane)
{
    float dot = 0.0f;
    if constexpr (HV > 0) {
#pragma unroll
        for (int i = 0; i < HV; i++) {
            const float4 w4 = reinterpret_cast<const float4 *>(wr)[lane + 32 * i];
            dot += w4.x * hv[i].x + w4.y * hv[i].y + w4.z * hv[i].z + w4.w * hv[i].w;
        }
    } else {
        for (int c = lane; c < hidden; c += 32)
            dot += wr[c] * hs[c];
    }
    return dot;
}

template <int HV>
static __global__ void __launch_bounds__(LSTM_THREADS) lstm_recurrence_kernel(lstm_args a)
{
    extern __shared__ float4 smem4[];
    const int H = a.hidden, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    float *ws = reinterpret_cast<float *>(smem4); /* [resident][4][H] */
    float *hs = ws + (size_t)a.resident * 4 * H;  /* [H] when HV == 0 */
    const int u0 = blockIdx.x * a.units;
    /* this block's resident rows, once per launch */
    const int resident = min(a.resident, max(0, H - u0));
    for (int i = threadIdx.x; i < resident * 4 * H; i += blockDim.x) {
        const int lu = i / (4 * H), q = (i / H) % 4, c = i % H;
        ws[i] = __ldg(a.w_hh + ((size_t)q * H + u0 + lu) * H + c);
    }
    __syncthreads();
    for (int s = a.s_begin; s < a.s_end; s++) {
        const float *h_prev = a.h2 + (size_t)(s & 1) * H;
        float *h_next = a.h2 + (size_t)((s + 1) & 1) * H;
        float4 hv[HV > 0 ? HV : 1];
        if constexpr (HV > 0) {
#pragma unroll
            for (int i = 0; i < HV; i++) /* L2: written by other blocks in the last step */
                hv[i] = __ldcg(reinterpret_cast<const float4 *>(h_prev) + lane + 32 * i);
        } else {
            for (int i = threadIdx.x; i < H; i += blockDim.x)
                hs[i] = __ldcg(h_prev + i);
            __syncthreads();
        }
        const float *pre = a.pre + (size_t)s * 4 * H;
        for (int lu = warp; lu < a.units && u0 + lu < H; lu += warps) {
            const int u = u0 + lu;
            float g[4];
#pragma unroll
            for (int q = 0; q < 4; q++) {
                const float *wr = lu < resident ? ws + ((size_t)lu * 4 + q) * H
                                                : a.w_hh + ((size_t)q * H + u) * H;
                g[q] = dgxm_warp_sum(gate_dot<HV>(wr, hv, hs, H, lane)) + pre[q * H + u];
            }
            if (lane == 0) {
                const float c_new = sigmoid(g[1]) * a.c[u] + sigmoid(g[0]) * tanhf(g[2]);
                const float h_new = sigmoid(g[3]) * tanhf(c_new);
                a.c[u] = c_new;
                h_next[u] = h_new;
                a.y[(size_t)u * a.t + s] = h_new;
            }
        }
        if (s + 1 < a.s_end && a.counted) /* also keeps hs until every warp of the block is done */
            grid_barrier_counted(a.barrier, (unsigned int)(s + 1 - a.s_begin) * gridDim.x);
        else if (s + 1 < a.s_end)
            grid_barrier(a.barrier);
    }
}

/* The recurrence of one hidden size class: fits the grid (one block per SM at most, as many
 * resident rows as shared memory takes) and launches it. */
template <int HV>
static dgxm_status launch_recurrence(dgxm_cuda_backend *cb, lstm_args a, dgxm_error *err)
{
    const int H = a.hidden;
    const size_t row_bytes = (size_t)4 * H * sizeof(float); /* a unit's four gate rows */
    const size_t h_bytes = (size_t)(HV > 0 ? 0 : H) * sizeof(float);
    const size_t optin = cb->info.smem_per_block_optin > cb->info.smem_per_block
                             ? cb->info.smem_per_block_optin
                             : cb->info.smem_per_block;
    if constexpr (HV == 0) {
        if (h_bytes > optin)
            return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                                  "cuda lstm: hidden size %d needs %zu bytes of shared memory", H,
                                  h_bytes);
    }
    const int warps = LSTM_THREADS / 32;
    int blocks = (H + warps - 1) / warps;
    if (blocks > cb->info.sm_count)
        blocks = cb->info.sm_count > 0 ? cb->info.sm_count : 1;
    a.units = (H + blocks - 1) / blocks;
    blocks = (H + a.units - 1) / a.units;
    size_t fit = (optin - h_bytes) / row_bytes;
    a.resident = (int)(fit < (size_t)a.units ? fit : (size_t)a.units);
    const size_t smem = h_bytes + (size_t)a.resident * row_bytes;
    DGXM_CUDA_TRY(err, "lstm",
                  cudaFuncSetAttribute(lstm_recurrence_kernel<HV>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    int per_sm = 0;
    DGXM_CUDA_TRY(err, "lstm",
                  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, lstm_recurrence_kernel<HV>,
                                                                LSTM_THREADS, smem));
    if (cb->info.cooperative_launch && per_sm > 0 && blocks <= per_sm * cb->info.sm_count) {
        a.s_begin = 0, a.s_end = a.t;
        void *params[] = { &a };
        DGXM_CUDA_TRY(err, "lstm",
                      cudaLaunchCooperativeKernel((const void *)lstm_recurrence_kernel<HV>,
                                                  dim3((unsigned int)blocks), dim3(LSTM_THREADS),
                                                  params, smem, cb->stream));
        return dgxm_cuda_launched(err, "lstm");
    }
    for (int step = 0; step < a.t; step++) {
        a.s_begin = step, a.s_end = step + 1;
        lstm_recurrence_kernel<HV><<<(unsigned int)blocks, LSTM_THREADS, smem, cb->stream>>>(a);
        dgxm_status s = dgxm_cuda_launched(err, "lstm");
        if (s)
            return s;
    }
    return DGXM_OK;
}

dgxm_status dgxm_cuda_lstm(dgxm_backend *b, const float *x, int cin, int t, const float *w_ih,
                           const float *w_hh, const float *b_ih, const float *b_hh, int hidden,
                           float *y, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (cin <= 0 || t <= 0 || hidden <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "lstm: cin %d, steps %d, hidden %d", cin,
                              t, hidden);
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
    memset(&a, 0, sizeof a);
    a.pre = pre, a.w_hh = w_hh, a.h2 = h2, a.c = c, a.y = y, a.barrier = cb->grid_barrier;
    a.hidden = hidden, a.t = t;
    const char *barrier = getenv("DGXM_CUDA_LSTM_BARRIER");
    a.counted = !(barrier && strcmp(barrier, "generation") == 0);
    const bool vec = ((uintptr_t)w_hh & 15u) == 0 && ((uintptr_t)h2 & 15u) == 0;
    switch (vec ? hidden : 0) {
    case 512: return launch_recurrence<4>(cb, a, err);
    case 1024: return launch_recurrence<8>(cb, a, err);
    case 2048: return launch_recurrence<16>(cb, a, err);
    default: return launch_recurrence<0>(cb, a, err);
    }
}
