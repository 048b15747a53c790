/* EnCodec SEANet layer plans, following transformers' EncodecEncoder / EncodecDecoder
 * constructors: see encodec_layout.h. */
#include "encodec_layout.h"

#include <stdio.h>

typedef struct builder {
    dgxm_encodec_plan *plan;
    const char *part; /* "encoder" or "decoder" */
} builder;

static dgxm_encodec_layer *push(builder *b, dgxm_encodec_layer_kind kind, int in, int out)
{
    dgxm_encodec_plan *p = b->plan;
    dgxm_encodec_layer *l = &p->layers[p->count];
    *l = (dgxm_encodec_layer){ .kind = kind,
                               .index = p->count,
                               .in_channels = in,
                               .out_channels = out,
                               .kernel = 1,
                               .stride = 1,
                               .dilation = 1 };
    snprintf(l->prefix, sizeof l->prefix, "audio_encoder.%s.layers.%d", b->part, p->count);
    p->count++;
    return l;
}

static void conv(builder *b, dgxm_encodec_layer_kind kind, int in, int out, int kernel, int stride)
{
    dgxm_encodec_layer *l = push(b, kind, in, out);
    l->kernel = kernel;
    l->stride = stride;
}

static void resblocks(builder *b, const dgxm_encodec_config *cfg, int dim)
{
    int dilation = 1;
    for (int j = 0; j < cfg->num_residual_layers; j++) {
        dgxm_encodec_layer *l = push(b, DGXM_ENCODEC_RESBLOCK, dim, dim);
        l->kernel = cfg->residual_kernel_size;
        l->dilation = dilation; /* dilation_growth_rate ** j */
        l->hidden = dim / cfg->compress;
        l->shortcut = cfg->use_conv_shortcut;
        dilation *= cfg->dilation_growth_rate;
    }
}

static void lstm(builder *b, const dgxm_encodec_config *cfg, int dim)
{
    push(b, DGXM_ENCODEC_LSTM, dim, dim)->lstm_layers = cfg->num_lstm_layers;
}

/* The limits dgxm_model_config_parse enforces, rechecked so that no config can overflow the plan
 * or an int. */
static dgxm_status check(const dgxm_encodec_config *cfg, dgxm_error *err)
{
    if (cfg->num_ratios < 1 || cfg->num_ratios > DGXM_MAX_UPSAMPLING_RATIOS ||
        cfg->num_residual_layers < 0 || cfg->num_residual_layers > 16 || cfg->num_filters < 1 ||
        cfg->num_filters > 4096 || cfg->compress < 1 || cfg->compress > cfg->num_filters ||
        cfg->dilation_growth_rate < 1 || cfg->dilation_growth_rate > 16 ||
        cfg->num_lstm_layers < 1 || cfg->audio_channels < 1 || cfg->hidden_size < 1)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "EnCodec config outside the supported ranges");
    for (int i = 0; i < cfg->num_ratios; i++)
        if (cfg->upsampling_ratios[i] < 1 || cfg->upsampling_ratios[i] > 64)
            return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                                  "EnCodec upsampling_ratios[%d] = %d outside [1, 64]", i,
                                  cfg->upsampling_ratios[i]);
    if (((long long)cfg->num_filters << cfg->num_ratios) > 65536)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "EnCodec stages too wide");
    return DGXM_OK;
}

dgxm_status dgxm_encodec_decoder_plan(const dgxm_encodec_config *cfg, dgxm_encodec_plan *plan,
                                      dgxm_error *err)
{
    plan->count = 0;
    dgxm_status s = check(cfg, err);
    if (s)
        return s;
    builder b = { plan, "decoder" };
    int scale = 1 << cfg->num_ratios;
    int top = scale * cfg->num_filters;
    conv(&b, DGXM_ENCODEC_CONV, cfg->hidden_size, top, cfg->kernel_size, 1);
    lstm(&b, cfg, top);
    for (int i = 0; i < cfg->num_ratios; i++) {
        int r = cfg->upsampling_ratios[i];
        int c = scale * cfg->num_filters;
        push(&b, DGXM_ENCODEC_ELU, c, c);
        conv(&b, DGXM_ENCODEC_CONVTR, c, c / 2, 2 * r, r);
        resblocks(&b, cfg, c / 2);
        scale /= 2;
    }
    push(&b, DGXM_ENCODEC_ELU, cfg->num_filters, cfg->num_filters);
    conv(&b, DGXM_ENCODEC_CONV, cfg->num_filters, cfg->audio_channels, cfg->last_kernel_size, 1);
    return DGXM_OK;
}

dgxm_status dgxm_encodec_encoder_plan(const dgxm_encodec_config *cfg, dgxm_encodec_plan *plan,
                                      dgxm_error *err)
{
    plan->count = 0;
    dgxm_status s = check(cfg, err);
    if (s)
        return s;
    builder b = { plan, "encoder" };
    conv(&b, DGXM_ENCODEC_CONV, cfg->audio_channels, cfg->num_filters, cfg->kernel_size, 1);
    int scale = 1;
    for (int i = cfg->num_ratios - 1; i >= 0; i--) { /* downsampling: ratios reversed */
        int r = cfg->upsampling_ratios[i];
        int c = scale * cfg->num_filters;
        resblocks(&b, cfg, c);
        push(&b, DGXM_ENCODEC_ELU, c, c);
        conv(&b, DGXM_ENCODEC_CONV, c, 2 * c, 2 * r, r);
        scale *= 2;
    }
    int top = scale * cfg->num_filters;
    lstm(&b, cfg, top);
    push(&b, DGXM_ENCODEC_ELU, top, top);
    conv(&b, DGXM_ENCODEC_CONV, top, cfg->hidden_size, cfg->last_kernel_size, 1);
    return DGXM_OK;
}

static void sub_conv(const dgxm_encodec_layer *res, const char *name, int in, int out, int kernel,
                     int dilation, dgxm_encodec_layer *c)
{
    *c = (dgxm_encodec_layer){ .kind = DGXM_ENCODEC_CONV,
                               .index = res->index,
                               .in_channels = in,
                               .out_channels = out,
                               .kernel = kernel,
                               .stride = 1,
                               .dilation = dilation };
    snprintf(c->prefix, sizeof c->prefix, "%.40s.%s", res->prefix, name);
}

int dgxm_encodec_resblock_convs(const dgxm_encodec_layer *res, dgxm_encodec_layer convs[3])
{
    int dim = res->in_channels;
    sub_conv(res, "block.1", dim, res->hidden, res->kernel, res->dilation, &convs[0]);
    sub_conv(res, "block.3", res->hidden, dim, 1, 1, &convs[1]);
    if (!res->shortcut)
        return 2;
    sub_conv(res, "shortcut", dim, dim, 1, 1, &convs[2]);
    return 3;
}

const char *dgxm_encodec_layer_kind_name(dgxm_encodec_layer_kind kind)
{
    switch (kind) {
    case DGXM_ENCODEC_CONV: return "conv";
    case DGXM_ENCODEC_CONVTR: return "convtr";
    case DGXM_ENCODEC_LSTM: return "lstm";
    case DGXM_ENCODEC_RESBLOCK: return "resblock";
    case DGXM_ENCODEC_ELU: return "elu";
    }
    return "?";
}
