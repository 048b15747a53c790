/* 1-d convolutions of the CUDA backend (EnCodec), direct (no im2col buffer).
 *
 * Both are register-tiled: a thread keeps CONV_SAMPLES outputs x CO output channels of
 * accumulators, so one shared-memory read of an input sample feeds CO multiply-adds and one
 * 16-byte read of weights feeds 4 x CONV_SAMPLES (the earlier one-output-per-thread form spent
 * more shared-memory reads than multiply-adds). A thread's samples lie CONV_THREADS apart, so a
 * warp reads consecutive words (no bank conflicts) and writes coalesced rows. The block stages
 * a group of input channels - the padded input window of its samples and the matching weights,
 * laid out [channel][tap][CO] - in shared memory.
 *
 * conv1d builds the padded window on the fly with exactly the CPU oracle's reflect /
 * short-input rule.
 *
 * conv_transpose1d is output-stationary like the CPU oracle and split by phase: the untrimmed
 * output f = r + stride * m (phase r) gathers taps kk = r + q * stride from input m - q, so the
 * outputs of one phase read consecutive inputs with the same taps. A block owns one phase
 * (blockIdx.z) and CONV_TILE columns m; no two threads write one output and no atomics are
 * needed. Each output sums channels in order and, within a channel, taps in increasing kk. */
#include "cuda_internal.h"

static constexpr int CONV_THREADS = 128;
static constexpr int CONV_SAMPLES = 4; /* outputs per thread, CONV_THREADS apart */
static constexpr int CONV_TILE = CONV_THREADS * CONV_SAMPLES;
static constexpr int CONV_MAX_GROUP = 32;
/* Shared memory a block stages at most: room for 2-4 blocks per multiprocessor. */
static constexpr size_t CONV_SMEM_BUDGET = 48 * 1024;

/* Padded sample p of one input channel: reflect mirrors without the edge sample; an input no
 * longer than the larger pad is treated as zero-extended to `extended` samples first (the
 * reference's rule), so mirrored positions past lin read zeros. */
static __device__ __forceinline__ float padded_at(const float *xc, int lin, int extended,
                                                  int pad_left, int reflect, int p)
{
    int j = p - pad_left;
    if (reflect) {
        if (j < 0)
            j = -j;
        if (j >= extended)
            j = 2 * (extended - 1) - j;
    }
    return j >= 0 && j < lin ? __ldg(xc + j) : 0.0f;
}

/* acc[j][co] += w[co] * x[j] for the CO weights at ws (16-byte aligned). */
template <int CO>
static __device__ __forceinline__ void fma_tile(float (&acc)[CONV_SAMPLES][CO],
                                                const float (&xv)[CONV_SAMPLES], const float *ws)
{
#pragma unroll
    for (int q = 0; q < CO / 4; q++) {
        const float4 w4 = reinterpret_cast<const float4 *>(ws)[q];
#pragma unroll
        for (int j = 0; j < CONV_SAMPLES; j++) {
            acc[j][4 * q] += w4.x * xv[j];
            acc[j][4 * q + 1] += w4.y * xv[j];
            acc[j][4 * q + 2] += w4.z * xv[j];
            acc[j][4 * q + 3] += w4.w * xv[j];
        }
    }
}

/* y[co][o] = acc + bias for the thread's outputs o = first + j * CONV_THREADS below `count`,
 * each at y + o * step (step 1 for conv1d, the stride for one phase of a transposed conv). */
template <int CO>
static __device__ __forceinline__ void
store_tile(const float (&acc)[CONV_SAMPLES][CO], const float *bias, float *y, int co0, int cout,
           int lout, int first, int count, int step, int offset)
{
#pragma unroll
    for (int co = 0; co < CO; co++) {
        if (co0 + co >= cout)
            break;
        const float b = bias ? bias[co0 + co] : 0.0f;
#pragma unroll
        for (int j = 0; j < CONV_SAMPLES; j++) {
            const int m = first + j * CONV_THREADS;
            const long long o = (long long)m * step + offset;
            if (m < count && o >= 0 && o < lout)
                y[(size_t)(co0 + co) * lout + o] = acc[j][co] + b;
        }
    }
}

struct conv_args {
    const float *x, *w, *bias;
    float *y;
    int cin, lin, cout, k, stride, dilation, pad_left, extended, reflect, lout;
    int group, window; /* input channels per stage; padded samples a block reads per channel */
};

template <int CO> static __global__ void __launch_bounds__(CONV_THREADS) conv1d_kernel(conv_args a)
{
    extern __shared__ float4 smem4[];
    float *ws = reinterpret_cast<float *>(smem4); /* [group][k][CO] */
    float *xs = ws + (size_t)a.group * a.k * CO;  /* [group][window] */
    const int t0 = blockIdx.x * CONV_TILE, co0 = blockIdx.y * CO, tt = threadIdx.x;
    const int p0 = t0 * a.stride;
    float acc[CONV_SAMPLES][CO];
#pragma unroll
    for (int j = 0; j < CONV_SAMPLES; j++)
#pragma unroll
        for (int c = 0; c < CO; c++)
            acc[j][c] = 0.0f;
    for (int ci0 = 0; ci0 < a.cin; ci0 += a.group) {
        const int n = min(a.group, a.cin - ci0);
        __syncthreads(); /* the previous group is consumed */
        for (int e = tt; e < n * a.window; e += CONV_THREADS) {
            const int c = e / a.window, off = e % a.window;
            xs[e] = padded_at(a.x + (size_t)(ci0 + c) * a.lin, a.lin, a.extended, a.pad_left,
                              a.reflect, p0 + off);
        }
        for (int e = tt; e < n * a.k * CO; e += CONV_THREADS) {
            const int c = e / (a.k * CO), rem = e % (a.k * CO);
            const int kk = rem / CO, co = co0 + rem % CO;
            ws[e] = co < a.cout ? __ldg(a.w + ((size_t)co * a.cin + ci0 + c) * a.k + kk) : 0.0f;
        }
        __syncthreads();
        for (int c = 0; c < n; c++) {
            const float *xc = xs + (size_t)c * a.window + tt * a.stride;
            const float *wc = ws + (size_t)c * a.k * CO;
            for (int kk = 0; kk < a.k; kk++) {
                float xv[CONV_SAMPLES];
#pragma unroll
                for (int j = 0; j < CONV_SAMPLES; j++)
                    xv[j] = xc[j * CONV_THREADS * a.stride + kk * a.dilation];
                fma_tile<CO>(acc, xv, wc + kk * CO);
            }
        }
    }
    store_tile<CO>(acc, a.bias, a.y, co0, a.cout, a.lout, t0 + tt, a.lout, 1, 0);
}

/* Shared memory a block of either convolution may stage. */
static size_t smem_budget(const dgxm_cuda_backend *cb)
{
    return cb->info.smem_per_block < CONV_SMEM_BUDGET ? cb->info.smem_per_block : CONV_SMEM_BUDGET;
}

/* Input channels a block stages at once: as many as the budget holds, at most CONV_MAX_GROUP
 * and cin (per_channel <= budget). */
static int channel_group(size_t budget, size_t per_channel, int cin)
{
    const size_t fit = budget / per_channel;
    const int most = cin < CONV_MAX_GROUP ? cin : CONV_MAX_GROUP;
    return fit < (size_t)most ? (int)fit : most;
}

/* Output channels per block: 16 where there are that many (more reuse of every input read),
 * else 4 (EnCodec's final one-channel conv). */
static int channels_per_block(int cout)
{
    return cout >= 16 ? 16 : 4;
}

dgxm_status dgxm_cuda_conv1d(dgxm_backend *b, const float *x, int cin, int lin, const float *w,
                             const float *bias, int cout, int k, int stride, int dilation,
                             int pad_left, int pad_right, bool reflect, float *y, dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    if (cin <= 0 || lin <= 0 || cout <= 0 || k <= 0 || stride <= 0 || dilation <= 0 ||
        pad_left < 0 || pad_right < 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "conv1d: cin %d, lin %d, cout %d, k %d, stride %d, dilation %d", cin,
                              lin, cout, k, stride, dilation);
    const int max_pad = pad_left > pad_right ? pad_left : pad_right;
    const int extended = reflect && lin <= max_pad ? max_pad + 1 : lin;
    const long long len = (long long)pad_left + lin + pad_right; /* the extension is cropped */
    const long long span = (long long)dilation * (k - 1) + 1;
    if (len < span)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "conv1d: %lld padded samples are shorter than the kernel span %lld",
                              len, span);
    conv_args a;
    a.x = x, a.w = w, a.bias = bias, a.y = y;
    a.cin = cin, a.lin = lin, a.cout = cout, a.k = k, a.stride = stride, a.dilation = dilation;
    a.pad_left = pad_left, a.extended = extended, a.reflect = reflect;
    a.lout = (int)((len - span) / stride + 1);
    const int co_block = channels_per_block(cout);
    const long long window = (long long)(CONV_TILE - 1) * stride + span;
    const size_t per_channel = (size_t)(window + (long long)co_block * k) * sizeof(float);
    const size_t budget = smem_budget(cb);
    if (per_channel > budget)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cuda conv1d: k %d, stride %d, dilation %d need %zu bytes of shared "
                              "memory per channel, over the %zu a block may use",
                              k, stride, dilation, per_channel, budget);
    const int group = channel_group(budget, per_channel, cin);
    a.group = group;
    a.window = (int)window;
    const dim3 grid((unsigned int)((a.lout + CONV_TILE - 1) / CONV_TILE),
                    (unsigned int)((cout + co_block - 1) / co_block));
    if (grid.y > 65535)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "cuda conv1d: %d output channels", cout);
    const size_t smem = (size_t)group * per_channel;
    if (co_block == 16)
        conv1d_kernel<16><<<grid, CONV_THREADS, smem, cb->stream>>>(a);
    else
        conv1d_kernel<4><<<grid, CONV_THREADS, smem, cb->stream>>>(a);
    return dgxm_cuda_launched(err, "conv1d");
}

struct convt_args {
    const float *x, *w, *bias;
    float *y;
    int cin, lin, cout, k, stride, trim_left, lout, group;
    int taps;    /* the most taps of any phase: ceil(k / stride) */
    int columns; /* m of the longest phase */
};

template <int CO>
static __global__ void __launch_bounds__(CONV_THREADS) conv_transpose1d_kernel(convt_args a)
{
    extern __shared__ float4 smem4[];
    const int window = CONV_TILE + a.taps - 1;
    float *ws = reinterpret_cast<float *>(smem4);   /* [group][taps][CO] */
    float *xs = ws + (size_t)a.group * a.taps * CO; /* [group][window] */
    const int r = blockIdx.z, m0 = blockIdx.x * CONV_TILE, co0 = blockIdx.y * CO;
    const int tt = threadIdx.x;
    const int taps = r < a.k ? (a.k - r + a.stride - 1) / a.stride : 0; /* this phase's */
    const int x0 = m0 - (a.taps - 1);                                   /* input of xs[0] */
    float acc[CONV_SAMPLES][CO];
#pragma unroll
    for (int j = 0; j < CONV_SAMPLES; j++)
#pragma unroll
        for (int c = 0; c < CO; c++)
            acc[j][c] = 0.0f;
    for (int ci0 = 0; ci0 < a.cin; ci0 += a.group) {
        const int n = min(a.group, a.cin - ci0);
        __syncthreads(); /* the previous group is consumed */
        for (int e = tt; e < n * window; e += CONV_THREADS) {
            const int c = e / window, t = x0 + e % window;
            xs[e] = t >= 0 && t < a.lin ? __ldg(a.x + (size_t)(ci0 + c) * a.lin + t) : 0.0f;
        }
        for (int e = tt; e < n * a.taps * CO; e += CONV_THREADS) {
            const int c = e / (a.taps * CO), rem = e % (a.taps * CO);
            const int kk = r + (rem / CO) * a.stride, co = co0 + rem % CO;
            ws[e] = co < a.cout && kk < a.k
                        ? __ldg(a.w + ((size_t)(ci0 + c) * a.cout + co) * a.k + kk)
                        : 0.0f;
        }
        __syncthreads();
        for (int c = 0; c < n; c++) {
            /* column m's tap q reads input m - q: xs index m - m0 - q + taps - 1 */
            const float *xc = xs + (size_t)c * window + tt + a.taps - 1;
            const float *wc = ws + (size_t)c * a.taps * CO;
            for (int q = 0; q < taps; q++) {
                float xv[CONV_SAMPLES];
#pragma unroll
                for (int j = 0; j < CONV_SAMPLES; j++)
                    xv[j] = xc[j * CONV_THREADS - q];
                fma_tile<CO>(acc, xv, wc + q * CO);
            }
        }
    }
    /* untrimmed f = r + stride * m, trimmed o = f - trim_left */
    store_tile<CO>(acc, a.bias, a.y, co0, a.cout, a.lout, m0 + tt, a.columns, a.stride,
                   r - a.trim_left);
}

dgxm_status dgxm_cuda_conv_transpose1d(dgxm_backend *b, const float *x, int cin, int lin,
                                       const float *w, const float *bias, int cout, int k,
                                       int stride, int trim_left, int trim_right, float *y,
                                       dgxm_error *err)
{
    dgxm_cuda_backend *cb = dgxm_cuda(b);
    const long long lout = (long long)(lin - 1) * stride + k - trim_left - trim_right;
    if (cin <= 0 || lin <= 0 || cout <= 0 || k <= 0 || stride <= 0 || trim_left < 0 ||
        trim_right < 0 || lout <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "conv_transpose1d: cin %d, lin %d, cout %d, k %d, stride %d, trims "
                              "%d/%d",
                              cin, lin, cout, k, stride, trim_left, trim_right);
    if (lout > 0x7fffffffLL - trim_left)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "cuda conv_transpose1d: %lld samples",
                              lout);
    const int co_block = channels_per_block(cout);
    const int taps = (k + stride - 1) / stride;
    const size_t per_channel =
        (size_t)((long long)CONV_TILE + taps - 1 + (long long)co_block * taps) * sizeof(float);
    const size_t budget = smem_budget(cb);
    if (per_channel > budget)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cuda conv_transpose1d: k %d, stride %d need %zu bytes of shared "
                              "memory per channel, over the %zu a block may use",
                              k, stride, per_channel, budget);
    const int group = channel_group(budget, per_channel, cin);
    convt_args a;
    a.x = x, a.w = w, a.bias = bias, a.y = y;
    a.cin = cin, a.lin = lin, a.cout = cout, a.k = k, a.stride = stride, a.trim_left = trim_left;
    a.lout = (int)lout, a.group = group, a.taps = taps;
    /* phase 0 has the most columns: f = stride * m up to trim_left + lout - 1 */
    a.columns = (int)(((long long)trim_left + lout - 1) / stride + 1);
    const dim3 grid((unsigned int)((a.columns + CONV_TILE - 1) / CONV_TILE),
                    (unsigned int)((cout + co_block - 1) / co_block), (unsigned int)stride);
    if (grid.y > 65535 || grid.z > 65535)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cuda conv_transpose1d: %d output channels, stride %d", cout, stride);
    const size_t smem = (size_t)group * per_channel;
    if (co_block == 16)
        conv_transpose1d_kernel<16><<<grid, CONV_THREADS, smem, cb->stream>>>(a);
    else
        conv_transpose1d_kernel<4><<<grid, CONV_THREADS, smem, cb->stream>>>(a);
    return dgxm_cuda_launched(err, "conv_transpose1d");
}
