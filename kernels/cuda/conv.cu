/* 1-d convolutions of the CUDA backend (EnCodec), direct (no im2col buffer).
 *
 * conv1d: a block computes CONV_TIME consecutive output samples for CONV_CO output channels,
 * one sample and CONV_CO accumulators per thread. It stages a group of input channels in
 * shared memory - the padded input window its samples read, built on the fly with exactly the
 * CPU oracle's reflect / short-input rule - and the matching weights, then every thread reads
 * them from shared memory. The group size comes from the device's shared memory per block.
 *
 * conv_transpose1d: output-stationary like the CPU oracle: output sample o gathers the taps
 * kk = (o + trim_left) mod stride, + stride, ... from input t = (o + trim_left - kk) / stride,
 * so no two threads write one output and no atomics are needed. */
#include "cuda_internal.h"

static constexpr int CONV_TIME = 128; /* output samples per block = threads per block */
static constexpr int CONV_CO = 8;     /* output channels per thread */
static constexpr int CONV_MAX_GROUP = 32;

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

struct conv_args {
    const float *x, *w, *bias;
    float *y;
    int cin, lin, cout, k, stride, dilation, pad_left, extended, reflect, lout;
    int group, window; /* input channels per stage; padded samples a block reads per channel */
};

static __global__ void __launch_bounds__(CONV_TIME) conv1d_kernel(conv_args a)
{
    extern __shared__ float smem[];
    float *xs = smem;                              /* [group][window] */
    float *ws = smem + (size_t)a.group * a.window; /* [group][CONV_CO][k] */
    const int t0 = blockIdx.x * CONV_TIME, co0 = blockIdx.y * CONV_CO;
    const int tt = threadIdx.x, t = t0 + tt;
    const int p0 = t0 * a.stride;
    float acc[CONV_CO];
#pragma unroll
    for (int c = 0; c < CONV_CO; c++)
        acc[c] = 0.0f;
    for (int ci0 = 0; ci0 < a.cin; ci0 += a.group) {
        const int n = min(a.group, a.cin - ci0);
        __syncthreads(); /* the previous group is consumed */
        for (int e = tt; e < n * a.window; e += CONV_TIME) {
            const int c = e / a.window, off = e % a.window;
            xs[e] = padded_at(a.x + (size_t)(ci0 + c) * a.lin, a.lin, a.extended, a.pad_left,
                              a.reflect, p0 + off);
        }
        for (int e = tt; e < n * CONV_CO * a.k; e += CONV_TIME) {
            const int c = e / (CONV_CO * a.k), rem = e % (CONV_CO * a.k);
            const int co = co0 + rem / a.k, kk = rem % a.k;
            ws[e] = co < a.cout ? __ldg(a.w + ((size_t)co * a.cin + ci0 + c) * a.k + kk) : 0.0f;
        }
        __syncthreads();
        if (t < a.lout)
            for (int c = 0; c < n; c++) {
                const float *xc = xs + (size_t)c * a.window + tt * a.stride;
                const float *wc = ws + (size_t)c * CONV_CO * a.k;
                for (int kk = 0; kk < a.k; kk++) {
                    const float xv = xc[kk * a.dilation];
#pragma unroll
                    for (int co = 0; co < CONV_CO; co++)
                        acc[co] += wc[co * a.k + kk] * xv;
                }
            }
    }
    if (t >= a.lout)
        return;
#pragma unroll
    for (int co = 0; co < CONV_CO; co++)
        if (co0 + co < a.cout)
            a.y[(size_t)(co0 + co) * a.lout + t] = acc[co] + (a.bias ? a.bias[co0 + co] : 0.0f);
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
    const long long window = (long long)(CONV_TIME - 1) * stride + span;
    const size_t per_channel = (size_t)(window + (long long)CONV_CO * k) * sizeof(float);
    const size_t budget = cb->info.smem_per_block;
    if (per_channel > budget)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cuda conv1d: k %d, stride %d, dilation %d need %zu bytes of shared "
                              "memory per channel, over the %zu a block has",
                              k, stride, dilation, per_channel, budget);
    int group = (int)(budget / per_channel);
    if (group > CONV_MAX_GROUP)
        group = CONV_MAX_GROUP;
    if (group > cin)
        group = cin;
    a.group = group;
    a.window = (int)window;
    const dim3 grid((unsigned int)((a.lout + CONV_TIME - 1) / CONV_TIME),
                    (unsigned int)((cout + CONV_CO - 1) / CONV_CO));
    if (grid.y > 65535)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "cuda conv1d: %d output channels", cout);
    conv1d_kernel<<<grid, CONV_TIME, (size_t)group * per_channel, cb->stream>>>(a);
    return dgxm_cuda_launched(err, "conv1d");
}

struct convt_args {
    const float *x, *w, *bias;
    float *y;
    int cin, lin, cout, k, stride, trim_left, lout, group;
};

static __global__ void __launch_bounds__(CONV_TIME) conv_transpose1d_kernel(convt_args a)
{
    extern __shared__ float ws[]; /* [group][CONV_CO][k] */
    const int o = blockIdx.x * CONV_TIME + threadIdx.x, co0 = blockIdx.y * CONV_CO;
    const int f = o + a.trim_left; /* index into the untrimmed output */
    const int first = f % a.stride;
    float acc[CONV_CO];
#pragma unroll
    for (int c = 0; c < CONV_CO; c++)
        acc[c] = 0.0f;
    for (int ci0 = 0; ci0 < a.cin; ci0 += a.group) {
        const int n = min(a.group, a.cin - ci0);
        __syncthreads();
        for (int e = threadIdx.x; e < n * CONV_CO * a.k; e += CONV_TIME) {
            const int c = e / (CONV_CO * a.k), rem = e % (CONV_CO * a.k);
            const int co = co0 + rem / a.k, kk = rem % a.k;
            ws[e] = co < a.cout ? __ldg(a.w + ((size_t)(ci0 + c) * a.cout + co) * a.k + kk) : 0.0f;
        }
        __syncthreads();
        if (o < a.lout)
            for (int c = 0; c < n; c++) {
                const float *xc = a.x + (size_t)(ci0 + c) * a.lin;
                const float *wc = ws + (size_t)c * CONV_CO * a.k;
                for (int kk = first; kk < a.k && kk <= f; kk += a.stride) {
                    const int t = (f - kk) / a.stride;
                    if (t >= a.lin)
                        continue;
                    const float xv = __ldg(xc + t);
#pragma unroll
                    for (int co = 0; co < CONV_CO; co++)
                        acc[co] += wc[co * a.k + kk] * xv;
                }
            }
    }
    if (o >= a.lout)
        return;
#pragma unroll
    for (int co = 0; co < CONV_CO; co++)
        if (co0 + co < a.cout)
            a.y[(size_t)(co0 + co) * a.lout + o] = acc[co] + (a.bias ? a.bias[co0 + co] : 0.0f);
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
    const size_t per_channel = (size_t)CONV_CO * k * sizeof(float);
    const size_t budget = cb->info.smem_per_block;
    if (per_channel > budget)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "cuda conv_transpose1d: k %d", k);
    int group = (int)(budget / per_channel);
    if (group > CONV_MAX_GROUP)
        group = CONV_MAX_GROUP;
    if (group > cin)
        group = cin;
    convt_args a;
    a.x = x, a.w = w, a.bias = bias, a.y = y;
    a.cin = cin, a.lin = lin, a.cout = cout, a.k = k, a.stride = stride, a.trim_left = trim_left;
    a.lout = (int)lout, a.group = group;
    const dim3 grid((unsigned int)((lout + CONV_TIME - 1) / CONV_TIME),
                    (unsigned int)((cout + CONV_CO - 1) / CONV_CO));
    if (grid.y > 65535)
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "cuda conv_transpose1d: %d output channels", cout);
    conv_transpose1d_kernel<<<grid, CONV_TIME, (size_t)group * per_channel, cb->stream>>>(a);
    return dgxm_cuda_launched(err, "conv_transpose1d");
}
