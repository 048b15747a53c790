/* EnCodec's forward pass from codes to waveform. Each layer returns a new backend buffer and the
 * previous one is released, so peak memory is two activations of the largest stage. */
#include "encodec_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct signal {
    float *data; /* backend memory, [channels][length] */
    int channels, length;
} signal;

static dgxm_status signal_alloc(dgxm_backend *b, int channels, int length, signal *out,
                                dgxm_error *err)
{
    out->channels = channels;
    out->length = length;
    out->data = b->ops->alloc(b, (size_t)channels * length * sizeof(float));
    return out->data ? DGXM_OK
                     : dgxm_error_set(err, DGXM_ERR_NOMEM, "encodec: activations %dx%d", channels,
                                      length);
}

/* The reference's EncodecConv1d: "same" padding (larger half on the left, or all on the left
 * when causal) plus the extra right padding that makes the last strided window complete. */
static dgxm_status run_conv(dgxm_encodec *codec, const dgxm_encodec_layer *spec,
                            const conv_weights *cw, const signal *x, signal *y, dgxm_error *err)
{
    dgxm_backend *b = codec->b;
    int k_eff = (spec->kernel - 1) * spec->dilation + 1;
    int pad_total = k_eff - spec->stride;
    double frames = (double)(x->length - k_eff + pad_total) / spec->stride + 1.0;
    int ideal = ((int)ceil(frames) - 1) * spec->stride + k_eff - pad_total;
    int extra = ideal - x->length;
    int right = codec->cfg.use_causal_conv ? 0 : pad_total / 2;
    int left = pad_total - right;
    int lout = (x->length + left + right + extra - k_eff) / spec->stride + 1;
    dgxm_status s = signal_alloc(b, spec->out_channels, lout, y, err);
    if (!s)
        s = b->ops->conv1d(b, x->data, x->channels, x->length, cw->weight, cw->bias,
                           spec->out_channels, spec->kernel, spec->stride, spec->dilation, left,
                           right + extra, codec->cfg.pad_reflect, y->data, err);
    return s;
}

/* The reference's EncodecConvTranspose1d: a plain transposed conv, then kernel - stride samples
 * trimmed (right half first when non-causal; trim_right_ratio of them on the right when causal). */
static dgxm_status run_convtr(dgxm_encodec *codec, const dgxm_encodec_layer *spec,
                              const conv_weights *cw, const signal *x, signal *y, dgxm_error *err)
{
    dgxm_backend *b = codec->b;
    int pad_total = spec->kernel - spec->stride;
    int right = codec->cfg.use_causal_conv ? (int)ceil(pad_total * codec->cfg.trim_right_ratio)
                                           : pad_total / 2;
    int left = pad_total - right;
    int lout = (x->length - 1) * spec->stride + spec->kernel - pad_total;
    dgxm_status s = signal_alloc(b, spec->out_channels, lout, y, err);
    if (!s)
        s = b->ops->conv_transpose1d(b, x->data, x->channels, x->length, cw->weight, cw->bias,
                                     spec->out_channels, spec->kernel, spec->stride, left, right,
                                     y->data, err);
    return s;
}

static dgxm_status copy_signal(dgxm_backend *b, const signal *x, signal *y, dgxm_error *err)
{
    dgxm_status s = signal_alloc(b, x->channels, x->length, y, err);
    if (!s)
        s = b->ops->copy_to_device(b, y->data, x->data,
                                   (size_t)x->channels * x->length * sizeof(float), err);
    return s;
}

/* y = shortcut(x) + conv_k1(ELU(conv_k(ELU(x)))), shortcut the identity unless a conv. */
static dgxm_status run_resblock(dgxm_encodec *codec, const codec_layer *l, const signal *x,
                                signal *y, dgxm_error *err)
{
    dgxm_backend *b = codec->b;
    signal act = { 0 }, mid = { 0 };
    dgxm_status s = copy_signal(b, x, &act, err);
    if (!s)
        s = b->ops->elu(b, act.data, (size_t)act.channels * act.length, err);
    if (!s)
        s = run_conv(codec, &l->conv_spec[0], &l->conv[0], &act, &mid, err);
    if (!s)
        s = b->ops->elu(b, mid.data, (size_t)mid.channels * mid.length, err);
    if (!s)
        s = run_conv(codec, &l->conv_spec[1], &l->conv[1], &mid, y, err);
    b->ops->release(b, act.data);
    b->ops->release(b, mid.data);
    if (!s && l->conv_count == 3) {
        signal sc = { 0 };
        s = run_conv(codec, &l->conv_spec[2], &l->conv[2], x, &sc, err);
        if (!s)
            s = b->ops->add(b, sc.data, y->data, (size_t)y->channels * y->length, err);
        b->ops->release(b, sc.data);
    } else if (!s) {
        s = b->ops->add(b, x->data, y->data, (size_t)y->channels * y->length, err);
    }
    return s;
}

/* Stacked LSTM over time, plus the input (the reference's skip connection). */
static dgxm_status run_lstm(dgxm_encodec *codec, const codec_layer *l, const signal *x, signal *y,
                            dgxm_error *err)
{
    dgxm_backend *b = codec->b;
    signal in = *x, out = { 0 };
    dgxm_status s = DGXM_OK;
    for (int k = 0; !s && k < l->spec.lstm_layers; k++) {
        const lstm_weights *lw = &l->lstm[k];
        s = signal_alloc(b, x->channels, x->length, &out, err);
        if (!s)
            s = b->ops->lstm(b, in.data, in.channels, in.length, lw->w_ih, lw->w_hh, lw->b_ih,
                             lw->b_hh, x->channels, out.data, err);
        if (in.data != x->data)
            b->ops->release(b, in.data);
        in = out;
        out.data = NULL;
    }
    if (!s)
        s = b->ops->add(b, x->data, in.data, (size_t)x->channels * x->length, err);
    if (s && in.data != x->data)
        b->ops->release(b, in.data);
    else
        *y = in;
    return s;
}

static dgxm_status run_layer(dgxm_encodec *codec, codec_layer *l, signal *cur, dgxm_error *err)
{
    dgxm_backend *b = codec->b;
    signal next = { 0 };
    dgxm_status s;
    switch (l->spec.kind) {
    case DGXM_ENCODEC_ELU:
        return b->ops->elu(b, cur->data, (size_t)cur->channels * cur->length, err);
    case DGXM_ENCODEC_CONV: s = run_conv(codec, &l->spec, &l->conv[0], cur, &next, err); break;
    case DGXM_ENCODEC_CONVTR: s = run_convtr(codec, &l->spec, &l->conv[0], cur, &next, err); break;
    case DGXM_ENCODEC_RESBLOCK: s = run_resblock(codec, l, cur, &next, err); break;
    case DGXM_ENCODEC_LSTM: s = run_lstm(codec, l, cur, &next, err); break;
    default:
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "encodec: layer kind %d",
                              (int)l->spec.kind);
    }
    if (s) {
        b->ops->release(b, next.data);
        return s;
    }
    b->ops->release(b, cur->data);
    *cur = next;
    return DGXM_OK;
}

/* latent[d][t] = sum over quantizers of codebook_q[code_q[t]][d], summed in quantizer order. */
static dgxm_status build_latent(dgxm_encodec *codec, const int32_t *codes, int stride, int frames,
                                signal *latent, dgxm_error *err)
{
    const dgxm_encodec_config *c = &codec->cfg;
    const int dim = c->codebook_dim;
    float *host = calloc((size_t)dim * frames, sizeof *host);
    if (!host)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "encodec: latent of %d frames", frames);
    dgxm_status s = DGXM_OK;
    for (int q = 0; !s && q < c->num_quantizers; q++)
        for (int t = 0; !s && t < frames; t++) {
            int32_t code = codes[(size_t)q * stride + t];
            if (code < 0 || code >= c->codebook_size) {
                s = dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                                   "encodec: code %d (quantizer %d, frame %d) outside the "
                                   "codebook of %d",
                                   (int)code, q, t, c->codebook_size);
                break;
            }
            const float *e = codec->codebooks[q] + (size_t)code * dim;
            for (int d = 0; d < dim; d++)
                host[(size_t)d * frames + t] += e[d];
        }
    if (!s)
        s = signal_alloc(codec->b, dim, frames, latent, err);
    if (!s)
        s = codec->b->ops->copy_to_device(codec->b, latent->data, host,
                                          (size_t)dim * frames * sizeof(float), err);
    free(host);
    return s;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *layer_kind_name(dgxm_encodec_layer_kind kind)
{
    switch (kind) {
    case DGXM_ENCODEC_ELU: return "elu";
    case DGXM_ENCODEC_CONV: return "conv";
    case DGXM_ENCODEC_CONVTR: return "convtr";
    case DGXM_ENCODEC_RESBLOCK: return "resblock";
    case DGXM_ENCODEC_LSTM: return "lstm";
    }
    return "?";
}

/* While profiling: waits for the device to finish the stage that made x (a 4-byte copy is the
 * one wait every backend offers), then adds the time since *since to entry i. */
static dgxm_status profile_mark(dgxm_encodec *codec, int i, const signal *x, double *since,
                                dgxm_error *err)
{
    if (!codec->profile)
        return DGXM_OK;
    float probe;
    dgxm_status s = codec->b->ops->copy_to_host(codec->b, &probe, x->data, sizeof probe, err);
    const double t = now_ms();
    dgxm_encodec_layer_time *e = &codec->profile[i];
    e->kind = i == 0 ? "latent" : layer_kind_name(codec->layers[i - 1].spec.kind);
    e->channels = x->channels, e->length = x->length;
    e->ms += t - *since;
    *since = t;
    return s;
}

dgxm_status dgxm_encodec_set_profile(dgxm_encodec *codec, bool on, dgxm_error *err)
{
    free(codec->profile);
    codec->profile = NULL;
    if (!on)
        return DGXM_OK;
    codec->profile = calloc((size_t)codec->plan.count + 1, sizeof *codec->profile);
    return codec->profile ? DGXM_OK
                          : dgxm_error_set(err, DGXM_ERR_NOMEM, "encodec: profile of %d layers",
                                           codec->plan.count);
}

int dgxm_encodec_profile(const dgxm_encodec *codec, dgxm_encodec_layer_time *out, int max)
{
    const int n = codec->profile ? codec->plan.count + 1 : 0;
    for (int i = 0; i < n && i < max; i++)
        out[i] = codec->profile[i];
    return n;
}

dgxm_status dgxm_encodec_decode(dgxm_encodec *codec, const int32_t *codes, int code_stride,
                                int frames, float *audio, dgxm_error *err)
{
    if (frames < 1 || code_stride < frames)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "encodec: %d frames, code stride %d",
                              frames, code_stride);
    signal cur = { 0 };
    double since = now_ms();
    dgxm_status s = build_latent(codec, codes, code_stride, frames, &cur, err);
    if (!s)
        s = profile_mark(codec, 0, &cur, &since, err);
    for (int i = 0; !s && i < codec->plan.count; i++) {
        s = run_layer(codec, &codec->layers[i], &cur, err);
        if (!s)
            s = profile_mark(codec, i + 1, &cur, &since, err);
    }
    if (!s && (cur.channels != 1 || cur.length != frames * codec->cfg.hop_length))
        s = dgxm_error_set(err, DGXM_ERR_FORMAT,
                           "encodec: decoder produced %d channel(s) x %d samples, expected 1 x %d",
                           cur.channels, cur.length, frames * codec->cfg.hop_length);
    if (!s)
        s = codec->b->ops->copy_to_host(codec->b, audio, cur.data,
                                        (size_t)cur.length * sizeof(float), err);
    codec->b->ops->release(codec->b, cur.data);
    return s;
}
