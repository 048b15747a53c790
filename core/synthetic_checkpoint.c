/* Synthetic checkpoints: see synthetic_checkpoint.h. The tensor list is generated from the
 * config with the same names the checkpoint checker requires; a test opens the result with
 * dgxm_checkpoint_open, so the two cannot drift apart. */
#include "synthetic_checkpoint.h"
#include "encodec_layout.h"
#include "model_config.h"
#include "tensor.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tensor_spec {
    char name[160];
    int ndim;
    int64_t shape[3];
} tensor_spec;

typedef struct spec_list {
    tensor_spec *items;
    size_t count, cap;
    bool failed;
} spec_list;

static void add(spec_list *l, int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void add(spec_list *l, int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        tensor_spec *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown) {
            l->failed = true;
            return;
        }
        l->items = grown;
        l->cap = cap;
    }
    tensor_spec *t = &l->items[l->count++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->ndim = ndim;
    t->shape[0] = d0, t->shape[1] = d1, t->shape[2] = d2;
}

static void list_t5(spec_list *l, const dgxm_t5_config *c)
{
    const int64_t inner = (int64_t)c->num_heads * c->d_kv, d = c->d_model;
    add(l, 2, c->vocab_size, d, 0, "text_encoder.shared.weight");
    add(l, 2, c->num_buckets, c->num_heads, 0,
        "text_encoder.encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
#define BLOCK "text_encoder.encoder.block.%d.layer."
    for (int i = 0; i < c->num_layers; i++) {
        add(l, 2, inner, d, 0, BLOCK "0.SelfAttention.q.weight", i);
        add(l, 2, inner, d, 0, BLOCK "0.SelfAttention.k.weight", i);
        add(l, 2, inner, d, 0, BLOCK "0.SelfAttention.v.weight", i);
        add(l, 2, d, inner, 0, BLOCK "0.SelfAttention.o.weight", i);
        add(l, 1, d, 0, 0, BLOCK "0.layer_norm.weight", i);
        add(l, 2, c->d_ff, d, 0, BLOCK "1.DenseReluDense.wi.weight", i);
        add(l, 2, d, c->d_ff, 0, BLOCK "1.DenseReluDense.wo.weight", i);
        add(l, 1, d, 0, 0, BLOCK "1.layer_norm.weight", i);
    }
#undef BLOCK
    add(l, 1, d, 0, 0, "text_encoder.encoder.final_layer_norm.weight");
}

static void list_decoder(spec_list *l, const dgxm_model_config *cfg)
{
    const dgxm_decoder_config *c = &cfg->decoder;
    const int64_t d = c->hidden_size, f = c->ffn_dim;
    if (cfg->t5.d_model != c->hidden_size) {
        add(l, 2, d, cfg->t5.d_model, 0, "enc_to_dec_proj.weight");
        add(l, 1, d, 0, 0, "enc_to_dec_proj.bias");
    }
    for (int k = 0; k < c->num_codebooks; k++) {
        add(l, 2, c->vocab_size + 1, d, 0, "decoder.model.decoder.embed_tokens.%d.weight", k);
        add(l, 2, c->vocab_size, d, 0, "decoder.lm_heads.%d.weight", k);
    }
    static const char *const square[] = { "self_attn.q_proj",    "self_attn.k_proj",
                                          "self_attn.v_proj",    "self_attn.out_proj",
                                          "encoder_attn.q_proj", "encoder_attn.k_proj",
                                          "encoder_attn.v_proj", "encoder_attn.out_proj" };
    static const char *const norms[] = { "self_attn_layer_norm", "encoder_attn_layer_norm",
                                         "final_layer_norm" };
    for (int i = 0; i < c->num_layers; i++) {
        for (size_t m = 0; m < sizeof square / sizeof square[0]; m++)
            add(l, 2, d, d, 0, "decoder.model.decoder.layers.%d.%s.weight", i, square[m]);
        add(l, 2, f, d, 0, "decoder.model.decoder.layers.%d.fc1.weight", i);
        add(l, 2, d, f, 0, "decoder.model.decoder.layers.%d.fc2.weight", i);
        for (size_t n = 0; n < sizeof norms / sizeof norms[0]; n++) {
            add(l, 1, d, 0, 0, "decoder.model.decoder.layers.%d.%s.weight", i, norms[n]);
            add(l, 1, d, 0, 0, "decoder.model.decoder.layers.%d.%s.bias", i, norms[n]);
        }
    }
    add(l, 1, d, 0, 0, "decoder.model.decoder.layer_norm.weight");
    add(l, 1, d, 0, 0, "decoder.model.decoder.layer_norm.bias");
}

static void list_conv(spec_list *l, const dgxm_encodec_layer *c)
{
    bool transposed = c->kind == DGXM_ENCODEC_CONVTR;
    int64_t d0 = transposed ? c->in_channels : c->out_channels;
    int64_t d1 = transposed ? c->out_channels : c->in_channels;
    add(l, 3, d0, 1, 1, "%s.conv.weight_g", c->prefix);
    add(l, 3, d0, d1, c->kernel, "%s.conv.weight_v", c->prefix);
    add(l, 1, c->out_channels, 0, 0, "%s.conv.bias", c->prefix);
}

static dgxm_status list_codec(spec_list *l, const dgxm_encodec_config *c, dgxm_error *err)
{
    dgxm_encodec_plan *plan = malloc(sizeof *plan);
    if (!plan)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "synthetic checkpoint: out of memory");
    dgxm_status s = dgxm_encodec_decoder_plan(c, plan, err);
    for (int i = 0; !s && i < plan->count; i++) {
        const dgxm_encodec_layer *layer = &plan->layers[i];
        dgxm_encodec_layer convs[3];
        switch (layer->kind) {
        case DGXM_ENCODEC_CONV:
        case DGXM_ENCODEC_CONVTR: list_conv(l, layer); break;
        case DGXM_ENCODEC_RESBLOCK:
            for (int k = dgxm_encodec_resblock_convs(layer, convs), j = 0; j < k; j++)
                list_conv(l, &convs[j]);
            break;
        case DGXM_ENCODEC_LSTM:
            for (int k = 0; k < layer->lstm_layers; k++) {
                int64_t C = layer->in_channels;
                add(l, 2, 4 * C, C, 0, "%s.lstm.weight_ih_l%d", layer->prefix, k);
                add(l, 2, 4 * C, C, 0, "%s.lstm.weight_hh_l%d", layer->prefix, k);
                add(l, 1, 4 * C, 0, 0, "%s.lstm.bias_ih_l%d", layer->prefix, k);
                add(l, 1, 4 * C, 0, 0, "%s.lstm.bias_hh_l%d", layer->prefix, k);
            }
            break;
        case DGXM_ENCODEC_ELU: break;
        }
    }
    for (int q = 0; q < c->num_quantizers; q++)
        add(l, 2, c->codebook_size, c->codebook_dim, 0,
            "audio_encoder.quantizer.layers.%d.codebook.embed", q);
    free(plan);
    return s;
}

/* config.json of a released checkpoint: t5-base, the 32 kHz EnCodec, and the decoder size. */
static json_t *preset_config(const char *size, int stereo)
{
    int hidden, layers, heads;
    const char *colon = strchr(size, ':');
    const size_t name_len = colon ? (size_t)(colon - size) : strlen(size);
    if (name_len == 5 && !strncmp(size, "small", 5))
        hidden = 1024, layers = 24, heads = 16;
    else if (name_len == 6 && !strncmp(size, "medium", 6))
        hidden = 1536, layers = 48, heads = 24;
    else if (name_len == 5 && !strncmp(size, "large", 5))
        hidden = 2048, layers = 48, heads = 32;
    else
        return NULL;
    if (colon) { /* "small:2": the real widths with fewer layers, for tests at real shapes */
        char *end;
        long n = strtol(colon + 1, &end, 10);
        if (*end || n < 1 || n > layers)
            return NULL;
        layers = (int)n;
    }
    int channels = stereo ? 2 : 1;
    json_t *t5 = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:s}", "model_type",
                           "t5", "vocab_size", 32128, "d_model", 768, "d_kv", 64, "num_heads", 12,
                           "num_layers", 12, "d_ff", 3072, "relative_attention_num_buckets", 32,
                           "relative_attention_max_distance", 128, "layer_norm_epsilon", 1e-6,
                           "feed_forward_proj", "relu");
    json_t *codec = json_pack(
        "{s:s, s:i, s:i, s:i, s:i, s:i, s:[i,i,i,i], s:[f], s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
        "s:b, s:b, s:s, s:s, s:f, s:b}",
        "model_type", "encodec", "sampling_rate", 32000, "audio_channels", 1, "num_filters", 64,
        "hidden_size", 128, "codebook_size", 2048, "upsampling_ratios", 8, 5, 4, 4,
        "target_bandwidths", 2.2, "num_residual_layers", 1, "residual_kernel_size", 3,
        "dilation_growth_rate", 2, "compress", 2, "kernel_size", 7, "last_kernel_size", 7,
        "num_lstm_layers", 2, "use_causal_conv", 0, "use_conv_shortcut", 0, "pad_mode", "reflect",
        "norm_type", "weight_norm", "trim_right_ratio", 1.0, "normalize", 0);
    json_t *decoder = json_pack(
        "{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:b}", "model_type",
        "musicgen_decoder", "hidden_size", hidden, "num_hidden_layers", layers,
        "num_attention_heads", heads, "ffn_dim", 4 * hidden, "vocab_size", 2048, "num_codebooks",
        4 * channels, "audio_channels", channels, "max_position_embeddings", 2048, "pad_token_id",
        2048, "activation_function", "gelu", "scale_embedding", 0);
    if (!t5 || !codec || !decoder) {
        json_decref(t5), json_decref(codec), json_decref(decoder);
        return NULL;
    }
    return json_pack("{s:s, s:o, s:o, s:o}", "model_type", "musicgen", "text_encoder", t5,
                     "audio_encoder", codec, "decoder", decoder);
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Uniform weights of +-0.05, norm weights 1: activations stay in range through every layer. */
static dgxm_status write_data(FILE *f, const tensor_spec *t, uint64_t *rng, uint16_t *buf,
                              size_t cap)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    size_t len = strlen(t->name);
    bool unit = len > 17 && !strcmp(t->name + len - 17, "layer_norm.weight");
    while (n > 0) {
        size_t chunk = n < cap ? n : cap;
        for (size_t i = 0; i < chunk; i++) {
            float v =
                unit ? 1.0f : (float)((next_random(rng) >> 40) * (1.0 / (1 << 24)) - 0.5) * 0.1f;
            buf[i] = dgxm_f32_to_bf16(v);
        }
        if (fwrite(buf, sizeof *buf, chunk, f) != chunk)
            return DGXM_ERR_IO;
        n -= chunk;
    }
    return DGXM_OK;
}

static dgxm_status write_safetensors(const char *path, const spec_list *l, uint64_t seed,
                                     dgxm_error *err)
{
    json_t *header = json_object();
    size_t offset = 0;
    for (size_t i = 0; header && i < l->count; i++) {
        const tensor_spec *t = &l->items[i];
        json_t *shape = json_array();
        size_t n = 1;
        for (int d = 0; d < t->ndim; d++) {
            json_array_append_new(shape, json_integer(t->shape[d]));
            n *= (size_t)t->shape[d];
        }
        size_t end = offset + 2 * n;
        json_object_set_new(header, t->name,
                            json_pack("{s:s, s:o, s:[I,I]}", "dtype", "BF16", "shape", shape,
                                      "data_offsets", (json_int_t)offset, (json_int_t)end));
        offset = end;
    }
    char *text = header ? json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(header);
    FILE *f = text ? fopen(path, "wb") : NULL;
    uint16_t *buf = malloc((size_t)1 << 21);
    dgxm_status s = DGXM_OK;
    if (!text || !buf)
        s = dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: out of memory", path);
    else if (!f)
        s = dgxm_error_set(err, DGXM_ERR_IO, "%s: cannot create", path);
    if (!s) {
        uint64_t len = strlen(text), rng = seed | 1;
        unsigned char le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (unsigned char)(len >> (8 * i));
        if (fwrite(le, 1, 8, f) != 8 || fwrite(text, 1, len, f) != len)
            s = DGXM_ERR_IO;
        for (size_t i = 0; !s && i < l->count; i++)
            s = write_data(f, &l->items[i], &rng, buf, ((size_t)1 << 21) / sizeof *buf);
        if (s)
            dgxm_error_set(err, DGXM_ERR_IO, "%s: write failed (disk full?)", path);
    }
    if (f && fclose(f) != 0 && !s)
        s = dgxm_error_set(err, DGXM_ERR_IO, "%s: write failed", path);
    free(buf);
    free(text);
    return s;
}

dgxm_status dgxm_synthetic_checkpoint_write(const char *dir, const char *size, int stereo,
                                            uint64_t seed, dgxm_error *err)
{
    json_t *config = preset_config(size, stereo);
    if (!config)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "synthetic model size '%s': use small, medium or large, optionally "
                              "with fewer layers as small:N",
                              size);
    char *text = json_dumps(config, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(config);
    dgxm_model_config cfg;
    dgxm_status s = text ? dgxm_model_config_parse("config.json", text, strlen(text), &cfg, err)
                         : dgxm_error_set(err, DGXM_ERR_NOMEM, "config.json: out of memory");
    char path[4096];
    if (!s) {
        snprintf(path, sizeof path, "%s/config.json", dir);
        FILE *f = fopen(path, "w");
        if (!f || fputs(text, f) == EOF || fclose(f) != 0)
            s = dgxm_error_set(err, DGXM_ERR_IO, "%s: cannot write", path);
    }
    free(text);
    spec_list list = { 0 };
    if (!s) {
        list_t5(&list, &cfg.t5);
        list_decoder(&list, &cfg);
        s = list_codec(&list, &cfg.encodec, err);
    }
    if (!s && list.failed)
        s = dgxm_error_set(err, DGXM_ERR_NOMEM, "synthetic checkpoint: out of memory");
    if (!s) {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        s = write_safetensors(path, &list, seed, err);
    }
    free(list.items);
    return s;
}
