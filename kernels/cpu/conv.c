/* 1-d convolutions of the CPU backend (EnCodec). Each task owns a block of output channels; the
 * innermost loop runs along time so it vectorises for stride 1. */
#include "cpu_backend.h"

#include <stdlib.h>
#include <string.h>

/* The padded input: reflect (with the reference's short-input rule) or zeros. */
static float *pad_input(const float *x, int cin, int lin, int pad_left, int pad_right, bool reflect,
                        int *padded_len)
{
    int extended = lin;
    int max_pad = pad_left > pad_right ? pad_left : pad_right;
    if (reflect && lin <= max_pad)
        extended = max_pad + 1; /* zeros appended, mirrored over, then cropped below */
    int full = pad_left + extended + pad_right;
    int len = full - (extended - lin);
    float *p = malloc((size_t)cin * len * sizeof *p + 1);
    if (!p)
        return NULL;
    for (int c = 0; c < cin; c++) {
        const float *xc = x + (size_t)c * lin;
        float *pc = p + (size_t)c * len;
        for (int i = 0; i < len; i++) {
            int j = i - pad_left;
            if (reflect) {
                if (j < 0)
                    j = -j;
                if (j >= extended)
                    j = 2 * (extended - 1) - j;
            }
            pc[i] = j >= 0 && j < lin ? xc[j] : 0.0f;
        }
    }
    *padded_len = len;
    return p;
}

typedef struct conv_job {
    const float *x, *w, *bias;
    float *y;
    int cin, lin, k, stride, dilation, lout, cout;
} conv_job;

static void conv_range(void *ctx, size_t begin, size_t end)
{
    const conv_job *j = ctx;
    for (size_t co = begin; co < end; co++) {
        float *yc = j->y + co * (size_t)j->lout;
        float b = j->bias ? j->bias[co] : 0.0f;
        for (int t = 0; t < j->lout; t++)
            yc[t] = b;
        for (int ci = 0; ci < j->cin; ci++) {
            const float *xc = j->x + (size_t)ci * j->lin;
            const float *wk = j->w + (co * (size_t)j->cin + ci) * j->k;
            for (int kk = 0; kk < j->k; kk++) {
                const float wv = wk[kk];
                const float *xs = xc + (size_t)kk * j->dilation;
                if (j->stride == 1)
                    for (int t = 0; t < j->lout; t++)
                        yc[t] += wv * xs[t];
                else
                    for (int t = 0; t < j->lout; t++)
                        yc[t] += wv * xs[(size_t)t * j->stride];
            }
        }
    }
}

dgxm_status dgxm_cpu_conv1d(dgxm_backend *b, const float *x, int cin, int lin, const float *w,
                            const float *bias, int cout, int k, int stride, int dilation,
                            int pad_left, int pad_right, bool reflect, float *y, dgxm_error *err)
{
    if (cin <= 0 || lin <= 0 || cout <= 0 || k <= 0 || stride <= 0 || dilation <= 0 ||
        pad_left < 0 || pad_right < 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "conv1d: cin %d, lin %d, cout %d, k %d, stride %d, dilation %d", cin,
                              lin, cout, k, stride, dilation);
    int len = 0;
    float *padded = pad_input(x, cin, lin, pad_left, pad_right, reflect, &len);
    if (!padded)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "conv1d: padded input %dx%d", cin, lin);
    int span = dilation * (k - 1) + 1;
    if (len < span) {
        free(padded);
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "conv1d: %d padded samples are shorter than the kernel span %d", len,
                              span);
    }
    conv_job job = { padded, w, bias, y, cin, len, k, stride, dilation, (len - span) / stride + 1,
                     cout };
    dgxm_parallel_for(dgxm_cpu_pool(b), (size_t)cout, 1, conv_range, &job);
    free(padded);
    return DGXM_OK;
}

typedef struct convt_job {
    const float *x, *w, *bias;
    float *y;
    int cin, lin, cout, k, stride, trim_left, lout;
} convt_job;

/* Output-stationary: each output sample gathers the taps that land on it, so no task writes
 * outside its own channels. */
static void convt_range(void *ctx, size_t begin, size_t end)
{
    const convt_job *j = ctx;
    for (size_t co = begin; co < end; co++) {
        float *yc = j->y + co * (size_t)j->lout;
        float b = j->bias ? j->bias[co] : 0.0f;
        for (int o = 0; o < j->lout; o++)
            yc[o] = b;
        for (int ci = 0; ci < j->cin; ci++) {
            const float *xc = j->x + (size_t)ci * j->lin;
            const float *wk = j->w + ((size_t)ci * j->cout + co) * j->k;
            for (int kk = 0; kk < j->k; kk++) {
                const float wv = wk[kk];
                /* full index f = t * stride + kk; output index o = f - trim_left */
                int t0 = 0;
                while (t0 * j->stride + kk - j->trim_left < 0)
                    t0++;
                for (int t = t0; t < j->lin; t++) {
                    int o = t * j->stride + kk - j->trim_left;
                    if (o >= j->lout)
                        break;
                    yc[o] += wv * xc[t];
                }
            }
        }
    }
}

dgxm_status dgxm_cpu_conv_transpose1d(dgxm_backend *b, const float *x, int cin, int lin,
                                      const float *w, const float *bias, int cout, int k,
                                      int stride, int trim_left, int trim_right, float *y,
                                      dgxm_error *err)
{
    int lout = (lin - 1) * stride + k - trim_left - trim_right;
    if (cin <= 0 || lin <= 0 || cout <= 0 || k <= 0 || stride <= 0 || trim_left < 0 ||
        trim_right < 0 || lout <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "conv_transpose1d: cin %d, lin %d, cout %d, k %d, stride %d, trims "
                              "%d/%d",
                              cin, lin, cout, k, stride, trim_left, trim_right);
    convt_job job = { x, w, bias, y, cin, lin, cout, k, stride, trim_left, lout };
    dgxm_parallel_for(dgxm_cpu_pool(b), (size_t)cout, 1, convt_range, &job);
    return DGXM_OK;
}
