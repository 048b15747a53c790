/* 1-d convolutions of the CPU backend (EnCodec). Both are register-blocked micro-kernels:
 * 4 output channels x 16 output samples stay in registers while every input channel and tap is
 * accumulated, so each loaded input vector feeds four FMAs. The inputs are copied once into a
 * padded buffer with zero slack, which removes every bounds test from the inner loops. Plain C
 * that compilers vectorise (NEON on ARM64); on x86-64 an AVX2/FMA clone is picked at run time. */
#include "cpu_backend.h"

#include <stdlib.h>
#include <string.h>

enum {
    TB = 16,        /* output samples per micro-block */
    CB = 4,         /* output channels per micro-block */
    TIME_TILE = 256 /* output samples per task */
};

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The padded input: reflect (with the reference's short-input rule) or zeros, then `slack`
 * zeros so micro-blocks may read past the last output's window. */
static float *pad_input(const float *x, int cin, int lin, int pad_left, int pad_right, bool reflect,
                        int slack, int *padded_len, int *row)
{
    int extended = lin;
    int max_pad = pad_left > pad_right ? pad_left : pad_right;
    if (reflect && lin <= max_pad)
        extended = max_pad + 1; /* zeros appended, mirrored over, then cropped below */
    int full = pad_left + extended + pad_right;
    int len = full - (extended - lin);
    *row = len + slack;
    float *p = calloc((size_t)cin * *row, sizeof *p);
    if (!p)
        return NULL;
    for (int c = 0; c < cin; c++) {
        const float *xc = x + (size_t)c * lin;
        float *pc = p + (size_t)c * *row;
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
    int cin, row, k, stride, dilation, lout, cout;
} conv_job;

/* acc[c][t] = bias + sum over ci, kk of w[co+c][ci][kk] * x[ci][(t0+t)*stride + kk*dilation] */
ALWAYS_INLINE void conv_micro(const conv_job *j, int co, int cb, int t0, int n)
{
    dgxm_v8 acc[CB][2];
    for (int c = 0; c < cb; c++)
        acc[c][0] = acc[c][1] = (dgxm_v8){ 0 } + (j->bias ? j->bias[co + c] : 0.0f);
    const size_t wrow = (size_t)j->cin * j->k;
    for (int ci = 0; ci < j->cin; ci++) {
        const float *xc = j->x + (size_t)ci * j->row + (size_t)t0 * j->stride;
        const float *wc = j->w + (size_t)co * wrow + (size_t)ci * j->k;
        for (int kk = 0; kk < j->k; kk++) {
            const float *xs = xc + (size_t)kk * j->dilation;
            dgxm_v8 x0, x1;
            if (j->stride == 1) {
                x0 = dgxm_load8(xs);
                x1 = dgxm_load8(xs + 8);
            } else {
                float g[TB];
                for (int t = 0; t < TB; t++)
                    g[t] = xs[(size_t)t * j->stride];
                x0 = dgxm_load8(g);
                x1 = dgxm_load8(g + 8);
            }
            for (int c = 0; c < cb; c++) {
                const float wv = wc[c * wrow + kk];
                acc[c][0] += wv * x0;
                acc[c][1] += wv * x1;
            }
        }
    }
    for (int c = 0; c < cb; c++) {
        float *yc = j->y + (size_t)(co + c) * j->lout + t0;
        if (n == TB) {
            dgxm_store8(yc, acc[c][0]);
            dgxm_store8(yc + 8, acc[c][1]);
        } else {
            float tmp[TB];
            dgxm_store8(tmp, acc[c][0]);
            dgxm_store8(tmp + 8, acc[c][1]);
            memcpy(yc, tmp, (size_t)n * sizeof(float));
        }
    }
}

DGXM_HOT static void conv_range(void *ctx, size_t begin, size_t end)
{
    const conv_job *j = ctx;
    for (size_t tile = begin; tile < end; tile++) {
        const int tile0 = (int)tile * TIME_TILE;
        const int tile_end = tile0 + TIME_TILE < j->lout ? tile0 + TIME_TILE : j->lout;
        int co = 0;
        for (; co + CB <= j->cout; co += CB)
            for (int t0 = tile0; t0 < tile_end; t0 += TB)
                conv_micro(j, co, CB, t0, tile_end - t0 < TB ? tile_end - t0 : TB);
        for (; co < j->cout; co++)
            for (int t0 = tile0; t0 < tile_end; t0 += TB)
                conv_micro(j, co, 1, t0, tile_end - t0 < TB ? tile_end - t0 : TB);
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
    int len = 0, row = 0;
    float *padded =
        pad_input(x, cin, lin, pad_left, pad_right, reflect, TB * stride + 1, &len, &row);
    if (!padded)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "conv1d: padded input %dx%d", cin, lin);
    int span = dilation * (k - 1) + 1;
    if (len < span) {
        free(padded);
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "conv1d: %d padded samples are shorter than the kernel span %d", len,
                              span);
    }
    conv_job job = { padded, w, bias, y, cin, row, k, stride, dilation, (len - span) / stride + 1,
                     cout };
    size_t tiles = ((size_t)job.lout + TIME_TILE - 1) / TIME_TILE;
    dgxm_parallel_for(dgxm_cpu_pool(b), tiles, 1, conv_range, &job);
    free(padded);
    return DGXM_OK;
}

typedef struct convt_job {
    const float *x;  /* [cin][row], input shifted right by `taps` zeros */
    const float *wp; /* packed weights: [phase][channel block][cin][taps][CB] */
    const float *bias;
    float *y;
    int cin, row, cout, blocks, k, stride, trim_left, lout, taps, tiles;
} convt_job;

/* Output channels per task: a task's packed weights (CONVT_CHANNELS x cin x taps floats a
 * phase) stay in cache while it walks its time tile. */
enum {
    CONVT_CHANNELS = 32
};

/* Polyphase form: output o = q * stride + r - trim_left receives taps kk = r + i * stride from
 * inputs q - i. One micro-block: phase r, channel block cb (CB channels from cb * CB),
 * q0..q0+n; wr is the block's packed weights for this phase. */
ALWAYS_INLINE void convt_micro(const convt_job *j, const float *wr, int r, int cb, int q0, int n)
{
    const int co = cb * CB, count = j->cout - co < CB ? j->cout - co : CB;
    const int taps = (j->k - r + j->stride - 1) / j->stride; /* this phase's */
    dgxm_v8 acc[CB][2];
    for (int c = 0; c < CB; c++)
        acc[c][0] = acc[c][1] = (dgxm_v8){ 0 } + (j->bias && c < count ? j->bias[co + c] : 0.0f);
    for (int ci = 0; ci < j->cin; ci++) {
        const float *xc = j->x + (size_t)ci * j->row + j->taps + q0;
        const float *wc = wr + (size_t)ci * j->taps * CB;
        for (int i = 0; i < taps; i++) {
            const dgxm_v8 x0 = dgxm_load8(xc - i), x1 = dgxm_load8(xc - i + 8);
            for (int c = 0; c < CB; c++) {
                const float wv = wc[i * CB + c];
                acc[c][0] += wv * x0;
                acc[c][1] += wv * x1;
            }
        }
    }
    for (int c = 0; c < count; c++) {
        float tmp[TB];
        dgxm_store8(tmp, acc[c][0]);
        dgxm_store8(tmp + 8, acc[c][1]);
        float *yc = j->y + (size_t)(co + c) * j->lout + r - j->trim_left;
        for (int t = 0; t < n; t++)
            yc[(size_t)(q0 + t) * j->stride] = tmp[t];
    }
}

/* A task: one time tile x one group of CONVT_CHANNELS output channels, every phase. */
DGXM_HOT static void convt_range(void *ctx, size_t begin, size_t end)
{
    const convt_job *j = ctx;
    const int per_task = CONVT_CHANNELS / CB;
    for (size_t task = begin; task < end; task++) {
        const int tile = (int)(task % (size_t)j->tiles);
        const int cb0 = (int)(task / (size_t)j->tiles) * per_task;
        const int cb1 = cb0 + per_task < j->blocks ? cb0 + per_task : j->blocks;
        for (int r = 0; r < j->stride && r < j->k; r++) {
            /* q whose output index q * stride + r - trim_left lies in [0, lout) */
            int qmin = (j->trim_left - r + j->stride - 1) / j->stride;
            if (j->trim_left - r <= 0)
                qmin = 0;
            int last = j->lout - 1 + j->trim_left - r;
            int qmax = last < 0 ? 0 : last / j->stride + 1;
            int lo = tile * TIME_TILE, hi = lo + TIME_TILE;
            lo = lo > qmin ? lo : qmin;
            hi = hi < qmax ? hi : qmax;
            for (int cb = cb0; cb < cb1; cb++) {
                const float *wr = j->wp + ((size_t)r * j->blocks + cb) * j->cin * j->taps * CB;
                for (int q0 = lo; q0 < hi; q0 += TB)
                    convt_micro(j, wr, r, cb, q0, hi - q0 < TB ? hi - q0 : TB);
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
    const int taps = (k + stride - 1) / stride;
    const int qs = (lout + trim_left) / stride + 1; /* q never exceeds this */
    const int row = taps + qs + TB + 1;
    float *shifted = calloc((size_t)cin * row, sizeof *shifted);
    if (!shifted)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "conv_transpose1d: input %dx%d", cin, lin);
    for (int c = 0; c < cin; c++)
        memcpy(shifted + (size_t)c * row + taps, x + (size_t)c * lin, (size_t)lin * sizeof *x);
    /* phases whose taps all lie past k (stride > k) are bias alone */
    for (int co = 0; stride > k && co < cout; co++)
        for (int o = 0; o < lout; o++)
            if ((o + trim_left) % stride >= k)
                y[(size_t)co * lout + o] = bias ? bias[co] : 0.0f;
    const int blocks = (cout + CB - 1) / CB;
    const int phases = stride < k ? stride : k;
    float *wp = calloc((size_t)phases * blocks * cin * taps * CB, sizeof *wp);
    if (!wp) {
        free(shifted);
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "conv_transpose1d: weights %dx%dx%d", cin, cout,
                              k);
    }
    for (int r = 0; r < phases; r++)
        for (int co = 0; co < cout; co++)
            for (int ci = 0; ci < cin; ci++)
                for (int i = 0, kk = r; kk < k; i++, kk += stride)
                    wp[((((size_t)r * blocks + co / CB) * cin + ci) * taps + i) * CB + co % CB] =
                        w[((size_t)ci * cout + co) * k + kk];
    const int tiles = (qs + TIME_TILE - 1) / TIME_TILE;
    convt_job job = { shifted, wp, bias,   y,         cin,  row,  cout,
                      blocks,  k,  stride, trim_left, lout, taps, tiles };
    const size_t groups = ((size_t)blocks * CB + CONVT_CHANNELS - 1) / CONVT_CHANNELS;
    dgxm_parallel_for(dgxm_cpu_pool(b), (size_t)tiles * groups, 1, convt_range, &job);
    free(wp);
    free(shifted);
    return DGXM_OK;
}
