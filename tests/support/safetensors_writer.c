/* Writes safetensors files and tiny MusicGen checkpoints for the loader tests. Tensor names are
 * spelled out here by hand (not taken from core/), so the tests check the loader against an
 * independent list. */
#include "safetensors_writer.h"

#include "test_support.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t test_dtype_size(const char *dtype)
{
    static const struct {
        const char *name;
        size_t size;
    } sizes[] = { { "F32", 4 }, { "F16", 2 }, { "BF16", 2 }, { "F64", 8 }, { "I64", 8 },
                  { "I32", 4 }, { "I16", 2 }, { "I8", 1 },   { "U8", 1 },  { "BOOL", 1 } };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (!strcmp(dtype, sizes[i].name))
            return sizes[i].size;
    return 0;
}

static size_t tensor_bytes(const test_st_tensor *t)
{
    size_t n = test_dtype_size(t->dtype);
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

int test_write_raw_safetensors(const char *dir, const char *file, const char *header,
                               const void *data, size_t data_len)
{
    size_t hlen = strlen(header);
    size_t total = 8 + hlen + data_len;
    unsigned char *buf = malloc(total ? total : 1);
    if (!buf)
        return -1;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    for (size_t i = 0; i < hlen; i++) /* the header is not NUL-terminated in the file */
        buf[8 + i] = (unsigned char)header[i];
    if (data_len)
        memcpy(buf + 8 + hlen, data, data_len);
    int rc = test_write_file(dir, file, buf, total);
    free(buf);
    return rc;
}

int test_write_safetensors(const char *dir, const char *file, const test_st_tensor *tensors,
                           size_t count)
{
    json_t *root = json_object();
    json_object_set_new(root, "__metadata__", json_pack("{s:s}", "format", "pt"));
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        const test_st_tensor *t = &tensors[i];
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        size_t n = tensor_bytes(t);
        json_object_set_new(root, t->name,
                            json_pack("{s:s, s:o, s:[I, I]}", "dtype", t->dtype, "shape", shape,
                                      "data_offsets", (json_int_t)offset,
                                      (json_int_t)offset + (json_int_t)n));
        offset += n;
    }
    char *header = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    unsigned char *data = malloc(offset ? offset : 1);
    if (!header || !data) {
        free(header);
        free(data);
        return -1;
    }
    offset = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = tensor_bytes(&tensors[i]);
        for (size_t b = 0; b < n; b++)
            data[offset + b] = tensors[i].data ? ((const unsigned char *)tensors[i].data)[b]
                                               : (unsigned char)((i * 131 + b * 7 + 1) & 0x3f);
        offset += n;
    }
    int rc = test_write_raw_safetensors(dir, file, header, data, offset);
    free(header);
    free(data);
    return rc;
}

/* ---- the tiny checkpoint ------------------------------------------------------------------ */

typedef struct tensor_list {
    test_st_tensor *items;
    size_t count;
    size_t cap;
    const tiny_options *opt;
    int conv_number; /* for mixed_norm */
} tensor_list;

static void add(tensor_list *l, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(tensor_list *l, int ndim, const int64_t *shape, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    const tiny_options *o = l->opt;
    if (o->drop && !strcmp(o->drop, name))
        return;
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
    }
    test_st_tensor *t = &l->items[l->count++];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->dtype = o->dtype ? o->dtype : "F32";
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    if (o->reshape && !strcmp(o->reshape, name)) {
        t->ndim = 1;
        t->shape[0] = o->reshape_dim0;
    }
    if (o->retype && !strcmp(o->retype, name))
        t->dtype = o->retype_dtype;
}

#define S(...)                                                               \
    (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (int64_t[]) \
    {                                                                        \
        __VA_ARGS__                                                          \
    }

enum {
    T5_VOCAB = 10,
    T5_D = 8,
    T5_DKV = 4,
    T5_HEADS = 2,
    T5_LAYERS = 2,
    T5_FF = 12,
    T5_BUCKETS = 8,
    DEC_D = 16,
    DEC_LAYERS = 2,
    DEC_FF = 24,
    VOCAB = 32,
    MAX_POS = 64,
    CODEC_LATENT = 4
};

static void add_t5(tensor_list *l)
{
    const tiny_options *o = l->opt;
    int64_t d = o->same_width ? DEC_D : T5_D, in = T5_HEADS * T5_DKV;
    add(l, S(T5_VOCAB, d), "text_encoder.shared.weight");
    if (o->t5_embed_copy)
        add(l, S(T5_VOCAB, d), "text_encoder.encoder.embed_tokens.weight");
    const char *p = "text_encoder.encoder.block";
    add(l, S(T5_BUCKETS, T5_HEADS), "%s.0.layer.0.SelfAttention.relative_attention_bias.weight", p);
    for (int i = 0; i < T5_LAYERS; i++) {
        add(l, S(in, d), "%s.%d.layer.0.SelfAttention.q.weight", p, i);
        add(l, S(in, d), "%s.%d.layer.0.SelfAttention.k.weight", p, i);
        add(l, S(in, d), "%s.%d.layer.0.SelfAttention.v.weight", p, i);
        add(l, S(d, in), "%s.%d.layer.0.SelfAttention.o.weight", p, i);
        add(l, S(d), "%s.%d.layer.0.layer_norm.weight", p, i);
        if (o->gated_gelu) {
            add(l, S(T5_FF, d), "%s.%d.layer.1.DenseReluDense.wi_0.weight", p, i);
            add(l, S(T5_FF, d), "%s.%d.layer.1.DenseReluDense.wi_1.weight", p, i);
        } else {
            add(l, S(T5_FF, d), "%s.%d.layer.1.DenseReluDense.wi.weight", p, i);
        }
        add(l, S(d, T5_FF), "%s.%d.layer.1.DenseReluDense.wo.weight", p, i);
        add(l, S(d), "%s.%d.layer.1.layer_norm.weight", p, i);
    }
    add(l, S(d), "text_encoder.encoder.final_layer_norm.weight");
    if (!o->same_width) {
        add(l, S(DEC_D, T5_D), "enc_to_dec_proj.weight");
        add(l, S(DEC_D), "enc_to_dec_proj.bias");
    }
}

static void add_decoder(tensor_list *l)
{
    int k_count = l->opt->stereo ? 4 : 2;
    const char *p = "decoder.model.decoder";
    for (int k = 0; k < k_count; k++)
        add(l, S(VOCAB + 1, DEC_D), "%s.embed_tokens.%d.weight", p, k);
    if (l->opt->positions)
        add(l, S(MAX_POS, DEC_D), "%s.embed_positions.weights", p);
    static const char *const mats[] = { "self_attn.q_proj",    "self_attn.k_proj",
                                        "self_attn.v_proj",    "self_attn.out_proj",
                                        "encoder_attn.q_proj", "encoder_attn.k_proj",
                                        "encoder_attn.v_proj", "encoder_attn.out_proj" };
    static const char *const norms[] = { "self_attn_layer_norm", "encoder_attn_layer_norm",
                                         "final_layer_norm" };
    for (int i = 0; i < DEC_LAYERS; i++) {
        for (size_t m = 0; m < sizeof mats / sizeof *mats; m++)
            add(l, S(DEC_D, DEC_D), "%s.layers.%d.%s.weight", p, i, mats[m]);
        for (size_t n = 0; n < sizeof norms / sizeof *norms; n++) {
            add(l, S(DEC_D), "%s.layers.%d.%s.weight", p, i, norms[n]);
            add(l, S(DEC_D), "%s.layers.%d.%s.bias", p, i, norms[n]);
        }
        add(l, S(DEC_FF, DEC_D), "%s.layers.%d.fc1.weight", p, i);
        add(l, S(DEC_D, DEC_FF), "%s.layers.%d.fc2.weight", p, i);
    }
    add(l, S(DEC_D), "%s.layer_norm.weight", p);
    add(l, S(DEC_D), "%s.layer_norm.bias", p);
    for (int k = 0; k < k_count; k++)
        add(l, S(VOCAB, DEC_D), "decoder.lm_heads.%d.weight", k);
}

/* One weight-normed conv at prefix: v [d0, d1, k], g [d0, 1, 1], bias [out]. */
static void add_conv(tensor_list *l, const char *prefix, int64_t d0, int64_t d1, int64_t k,
                     int64_t out)
{
    bool legacy = l->opt->mixed_norm ? (l->conv_number++ % 2) == 0 : l->opt->legacy_norm;
    add(l, S(d0, 1, 1), "%s.conv.%s", prefix,
        legacy ? "weight_g" : "parametrizations.weight.original0");
    add(l, S(d0, d1, k), "%s.conv.%s", prefix,
        legacy ? "weight_v" : "parametrizations.weight.original1");
    add(l, S(out), "%s.conv.bias", prefix);
}

static void add_resblock(tensor_list *l, const char *part, int n, int64_t dim)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "audio_encoder.%s.layers.%d.block.1", part, n);
    add_conv(l, prefix, dim / 2, dim, 3, dim / 2);
    snprintf(prefix, sizeof prefix, "audio_encoder.%s.layers.%d.block.3", part, n);
    add_conv(l, prefix, dim, dim / 2, 1, dim);
}

static void add_lstm(tensor_list *l, const char *part, int n, int64_t c)
{
    const char *p = "audio_encoder";
    add(l, S(4 * c, c), "%s.%s.layers.%d.lstm.weight_ih_l0", p, part, n);
    add(l, S(4 * c, c), "%s.%s.layers.%d.lstm.weight_hh_l0", p, part, n);
    add(l, S(4 * c), "%s.%s.layers.%d.lstm.bias_ih_l0", p, part, n);
    add(l, S(4 * c), "%s.%s.layers.%d.lstm.bias_hh_l0", p, part, n);
}

/* EnCodec with num_filters 2, ratios [2, 2], 1 residual layer, 1 LSTM layer, kernels 3: the
 * layer indices written out as transformers numbers them. */
static void add_codec(tensor_list *l)
{
    add_conv(l, "audio_encoder.decoder.layers.0", 8, CODEC_LATENT, 3, 8);
    add_lstm(l, "decoder", 1, 8);
    add_conv(l, "audio_encoder.decoder.layers.3", 8, 4, 4, 4); /* convtr: v [in, out, k] */
    add_resblock(l, "decoder", 4, 4);
    add_conv(l, "audio_encoder.decoder.layers.6", 4, 2, 4, 2);
    add_resblock(l, "decoder", 7, 2);
    add_conv(l, "audio_encoder.decoder.layers.9", 1, 2, 3, 1);
    for (int q = 0; q < 2; q++) {
        add(l, S(VOCAB, CODEC_LATENT), "audio_encoder.quantizer.layers.%d.codebook.embed", q);
        add(l, S(VOCAB, CODEC_LATENT), "audio_encoder.quantizer.layers.%d.codebook.embed_avg", q);
        add(l, S(VOCAB), "audio_encoder.quantizer.layers.%d.codebook.cluster_size", q);
        add(l, S(1), "audio_encoder.quantizer.layers.%d.codebook.inited", q);
    }
    if (!l->opt->codec_encoder)
        return;
    add_conv(l, "audio_encoder.encoder.layers.0", 2, 1, 3, 2);
    add_resblock(l, "encoder", 1, 2);
    add_conv(l, "audio_encoder.encoder.layers.3", 4, 2, 4, 4);
    add_resblock(l, "encoder", 4, 4);
    add_conv(l, "audio_encoder.encoder.layers.6", 8, 4, 4, 8);
    add_lstm(l, "encoder", 7, 8);
    add_conv(l, "audio_encoder.encoder.layers.9", CODEC_LATENT, 8, 3, CODEC_LATENT);
}

const char *tiny_config_json(const tiny_options *opt)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"model_type\": \"musicgen\", \"architectures\": "
             "[\"MusicgenForConditionalGeneration\"], \"is_encoder_decoder\": true,\n"
             " \"text_encoder\": {\"model_type\": \"t5\", \"vocab_size\": %d, \"d_model\": %d, "
             "\"d_kv\": %d, \"num_heads\": %d, \"num_layers\": %d, \"d_ff\": %d, "
             "\"relative_attention_num_buckets\": %d, \"relative_attention_max_distance\": 16, "
             "\"layer_norm_epsilon\": 1e-06, \"feed_forward_proj\": \"%s\"},\n"
             " \"audio_encoder\": {\"model_type\": \"encodec\", \"sampling_rate\": 800, "
             "\"audio_channels\": 1, \"num_filters\": 2, \"hidden_size\": %d, "
             "\"codebook_size\": %d, \"codebook_dim\": null, \"upsampling_ratios\": [2, 2], "
             "\"target_bandwidths\": [2.0], \"num_residual_layers\": 1, "
             "\"residual_kernel_size\": 3, \"dilation_growth_rate\": 2, \"compress\": 2, "
             "\"kernel_size\": 3, \"last_kernel_size\": 3, \"num_lstm_layers\": 1, "
             "\"use_causal_conv\": false, \"use_conv_shortcut\": false, \"pad_mode\": "
             "\"reflect\", \"norm_type\": \"weight_norm\", \"trim_right_ratio\": 1.0, "
             "\"normalize\": false, \"chunk_length_s\": null, \"overlap\": null},\n"
             " \"decoder\": {\"model_type\": \"musicgen_decoder\", \"hidden_size\": %d, "
             "\"num_hidden_layers\": %d, \"num_attention_heads\": 2, \"ffn_dim\": %d, "
             "\"vocab_size\": %d, \"num_codebooks\": %d, \"audio_channels\": %d, "
             "\"max_position_embeddings\": %d, \"pad_token_id\": %d, \"bos_token_id\": %d, "
             "\"activation_function\": \"gelu\", \"scale_embedding\": false, "
             "\"dropout\": 0.1, \"tie_word_embeddings\": false}}\n",
             T5_VOCAB, opt->same_width ? DEC_D : T5_D, T5_DKV, T5_HEADS, T5_LAYERS, T5_FF,
             T5_BUCKETS, opt->gated_gelu ? "gated-gelu" : "relu", CODEC_LATENT, VOCAB, DEC_D,
             DEC_LAYERS, DEC_FF, VOCAB, opt->stereo ? 4 : 2, opt->stereo ? 2 : 1, MAX_POS, VOCAB,
             VOCAB);
    return buf;
}

static const char generation_json[] =
    "{\"do_sample\": true, \"guidance_scale\": 3.0, \"max_length\": 1500, "
    "\"decoder_start_token_id\": 32, \"pad_token_id\": 32, \"bos_token_id\": 32}\n";

static int write_sharded(const char *dir, const tensor_list *l)
{
    size_t half = l->count / 2;
    if (test_write_safetensors(dir, "model-00001-of-00002.safetensors", l->items, half) ||
        test_write_safetensors(dir, "model-00002-of-00002.safetensors", l->items + half,
                               l->count - half))
        return -1;
    json_t *map = json_object();
    for (size_t i = 0; i < l->count; i++)
        json_object_set_new(map, l->items[i].name,
                            json_string(i < half ? "model-00001-of-00002.safetensors"
                                                 : "model-00002-of-00002.safetensors"));
    json_t *index =
        json_pack("{s:{s:I}, s:o}", "metadata", "total_size", (json_int_t)0, "weight_map", map);
    char *text = json_dumps(index, JSON_INDENT(2));
    json_decref(index);
    int rc = text ? test_write_file(dir, "model.safetensors.index.json", text, strlen(text)) : -1;
    free(text);
    return rc;
}

int tiny_checkpoint_write(const char *dir, const tiny_options *opt)
{
    tensor_list l = { .opt = opt };
    add_t5(&l);
    add_decoder(&l);
    add_codec(&l);
    const char *config = tiny_config_json(opt);
    int rc = test_write_file(dir, "config.json", config, strlen(config));
    if (!rc)
        rc = test_write_file(dir, "generation_config.json", generation_json,
                             strlen(generation_json));
    if (!rc)
        rc = opt->sharded ? write_sharded(dir, &l)
                          : test_write_safetensors(dir, "model.safetensors", l.items, l.count);
    int count = rc ? -1 : (int)l.count;
    for (size_t i = 0; i < l.count; i++)
        free((char *)l.items[i].name);
    free(l.items);
    return count;
}
