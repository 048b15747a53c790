/* EnCodec decoder, following the layer plan of encodec_layout.h; the padding and trimming rules
 * are those of the reference's EncodecConv1d / EncodecConvTranspose1d. Activations are
 * channel-major [channels][time]. */
#include "encodec_internal.h"
#include "weight_upload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* W = g * V / ||V||, the norm over every dimension but the first of the stored V (output
 * channels of a conv, input channels of a transposed conv); no epsilon, as in torch. */
static dgxm_status load_conv(dgxm_encodec *codec, const dgxm_checkpoint *ck,
                             const dgxm_encodec_layer *spec, conv_weights *out, dgxm_error *err)
{
    bool transposed = spec->kind == DGXM_ENCODEC_CONVTR;
    int d0 = transposed ? spec->in_channels : spec->out_channels;
    int d1 = transposed ? spec->out_channels : spec->in_channels;
    const int64_t v_shape[3] = { d0, d1, spec->kernel }, g_shape[3] = { d0, 1, 1 };
    const dgxm_weights *w = dgxm_checkpoint_weights(ck);
    dgxm_conv_tensors t;
    if (dgxm_checkpoint_conv(ck, spec->prefix, &t, err))
        return err->status;
    size_t per = (size_t)d1 * spec->kernel;
    float *vf = dgxm_weights_load_host(w, t.v->name, 3, v_shape, err);
    float *gf = vf ? dgxm_weights_load_host(w, t.g->name, 3, g_shape, err) : NULL;
    if (!vf || !gf) {
        free(vf);
        free(gf);
        return err->status;
    }
    dgxm_status s = DGXM_OK;
    for (int i = 0; i < d0; i++) {
        double norm = 0;
        for (size_t j = 0; j < per; j++)
            norm += (double)vf[i * per + j] * vf[i * per + j];
        float scale = gf[i] / (float)sqrt(norm);
        for (size_t j = 0; j < per; j++)
            vf[i * per + j] *= scale;
    }
    if (!s) {
        out->weight = dgxm_backend_upload_floats(codec->b, vf, (size_t)d0 * per, t.v->name, err);
        const int64_t b_shape[1] = { spec->out_channels };
        if (out->weight)
            out->bias = dgxm_weights_upload(codec->b, w, t.bias->name, 1, b_shape, err);
        s = out->bias ? DGXM_OK : err->status;
    }
    free(vf);
    free(gf);
    return s;
}

static dgxm_status load_lstm(dgxm_encodec *codec, const dgxm_weights *w, codec_layer *layer,
                             dgxm_error *err)
{
    const int C = layer->spec.in_channels, L = layer->spec.lstm_layers;
    layer->lstm = calloc((size_t)L, sizeof *layer->lstm);
    if (!layer->lstm)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "encodec: lstm");
    const int64_t mat[2] = { 4 * C, C }, vec[1] = { 4 * C };
    for (int l = 0; l < L; l++) {
        char name[160];
        lstm_weights *lw = &layer->lstm[l];
#define LSTM_NAME(part) \
    (snprintf(name, sizeof name, "%s.lstm.%s_l%d", layer->spec.prefix, part, l), name)
        if (!(lw->w_ih = dgxm_weights_upload(codec->b, w, LSTM_NAME("weight_ih"), 2, mat, err)) ||
            !(lw->w_hh = dgxm_weights_upload(codec->b, w, LSTM_NAME("weight_hh"), 2, mat, err)) ||
            !(lw->b_ih = dgxm_weights_upload(codec->b, w, LSTM_NAME("bias_ih"), 1, vec, err)) ||
            !(lw->b_hh = dgxm_weights_upload(codec->b, w, LSTM_NAME("bias_hh"), 1, vec, err)))
            return err->status;
#undef LSTM_NAME
    }
    return DGXM_OK;
}

static dgxm_status load_layer(dgxm_encodec *codec, const dgxm_checkpoint *ck, codec_layer *layer,
                              dgxm_error *err)
{
    switch (layer->spec.kind) {
    case DGXM_ENCODEC_CONV:
    case DGXM_ENCODEC_CONVTR:
        layer->conv_spec[0] = layer->spec;
        layer->conv_count = 1;
        break;
    case DGXM_ENCODEC_RESBLOCK:
        layer->conv_count = dgxm_encodec_resblock_convs(&layer->spec, layer->conv_spec);
        break;
    case DGXM_ENCODEC_LSTM: return load_lstm(codec, dgxm_checkpoint_weights(ck), layer, err);
    case DGXM_ENCODEC_ELU: return DGXM_OK;
    }
    for (int i = 0; i < layer->conv_count; i++) {
        dgxm_status s = load_conv(codec, ck, &layer->conv_spec[i], &layer->conv[i], err);
        if (s)
            return s;
    }
    return DGXM_OK;
}

dgxm_encodec *dgxm_encodec_new(dgxm_backend *backend, const dgxm_checkpoint *ck, dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    dgxm_encodec *codec = calloc(1, sizeof *codec);
    if (!codec) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "encodec: out of memory");
        return NULL;
    }
    codec->b = backend;
    codec->cfg = dgxm_checkpoint_config(ck)->encodec;
    codec->plan = *dgxm_checkpoint_codec_decoder_plan(ck); /* made and checked by open */
    const dgxm_encodec_config *c = &codec->cfg;
    const dgxm_weights *w = dgxm_checkpoint_weights(ck);
    codec->codebooks = calloc((size_t)c->num_quantizers, sizeof *codec->codebooks);
    codec->layers = calloc((size_t)codec->plan.count + 1, sizeof *codec->layers);
    dgxm_status s = DGXM_OK;
    if (!codec->codebooks || !codec->layers) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "encodec: out of memory");
        dgxm_encodec_free(codec);
        return NULL;
    }
    const int64_t cb_shape[2] = { c->codebook_size, c->codebook_dim };
    for (int q = 0; !s && q < c->num_quantizers; q++) {
        char name[128];
        snprintf(name, sizeof name, "audio_encoder.quantizer.layers.%d.codebook.embed", q);
        codec->codebooks[q] = dgxm_weights_load_host(w, name, 2, cb_shape, err);
        s = codec->codebooks[q] ? DGXM_OK : err->status;
    }
    for (int i = 0; !s && i < codec->plan.count; i++) {
        codec->layers[i].spec = codec->plan.layers[i];
        s = load_layer(codec, ck, &codec->layers[i], err);
    }
    if (s) {
        dgxm_encodec_free(codec);
        return NULL;
    }
    return codec;
}

void dgxm_encodec_free(dgxm_encodec *codec)
{
    if (!codec)
        return;
    dgxm_backend *b = codec->b;
    for (int q = 0; codec->codebooks && q < codec->cfg.num_quantizers; q++)
        free(codec->codebooks[q]);
    for (int i = 0; codec->layers && i < codec->plan.count; i++) {
        codec_layer *l = &codec->layers[i];
        for (int c = 0; c < 3; c++) {
            b->ops->release(b, l->conv[c].weight);
            b->ops->release(b, l->conv[c].bias);
        }
        for (int k = 0; l->lstm && k < l->spec.lstm_layers; k++) {
            b->ops->release(b, l->lstm[k].w_ih);
            b->ops->release(b, l->lstm[k].w_hh);
            b->ops->release(b, l->lstm[k].b_ih);
            b->ops->release(b, l->lstm[k].b_hh);
        }
        free(l->lstm);
    }
    free(codec->codebooks);
    free(codec->layers);
    free(codec->profile);
    free(codec);
}
