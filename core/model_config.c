/* config.json and generation_config.json of a MusicGen checkpoint: see model_config.h.
 *
 * Defaults are those of the Hugging Face config classes (transformers T5Config,
 * MusicgenDecoderConfig, EncodecConfig, GenerationConfig); limits are ours: generous for any
 * real checkpoint, small enough that no config can make later code allocate absurd amounts.
 */
#include "model_config.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    CONFIG_MAX_BYTES = 16 << 20,
    MAX_WIDTH = 16384, /* model widths (d_model, hidden_size) */
    MAX_FFN = 65536,   /* feed-forward widths */
    MAX_LAYERS = 256,  /* transformer layers */
    MAX_HEADS = 256,   /* attention heads */
    MAX_VOCAB_T5 = 1 << 20,
    MAX_VOCAB_AUDIO = 65536,
    MAX_POSITIONS = 65536,
    MAX_CODEBOOKS = 64,
    MAX_CODEC_CHANNELS = 65536, /* widest SEANet stage */
    MAX_KERNEL = 63,
    MAX_RATIO = 64,
    MAX_HOP = 65536,
    MAX_SAMPLE_RATE = 1 << 20,
    MAX_BANDWIDTHS = 64
};

/* decoder layers * hidden^2: large (48 * 2048^2) is 2e8; this allows ~40x that */
static const int64_t MAX_DECODER_SQUARE = (int64_t)8 << 30;

/* Where a key is read: the file (for messages) and the section ("decoder", ...). */
typedef struct cfg_ctx {
    const char *file;
    const char *section; /* "" at top level */
    json_t *obj;
    dgxm_error *err;
} cfg_ctx;

static const char *dot(const cfg_ctx *c)
{
    return *c->section ? "." : "";
}

/* The key's value, or NULL when it is absent or null (both mean "use the default"). */
static json_t *value_of(const cfg_ctx *c, const char *key)
{
    json_t *v = json_object_get(c->obj, key);
    return json_is_null(v) ? NULL : v;
}

static dgxm_status bad(const cfg_ctx *c, const char *key, const char *what)
{
    return dgxm_error_set(c->err, DGXM_ERR_FORMAT, "%s: %s%s%s: %s", c->file, c->section, dot(c),
                          key, what);
}

static dgxm_status get_int(const cfg_ctx *c, const char *key, int def, int lo, int hi, int *out)
{
    json_t *v = value_of(c, key);
    if (!v) {
        *out = def;
        return DGXM_OK;
    }
    if (!json_is_integer(v))
        return bad(c, key, "not an integer");
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return dgxm_error_set(c->err, DGXM_ERR_FORMAT, "%s: %s%s%s: %lld is out of range [%d, %d]",
                              c->file, c->section, dot(c), key, (long long)x, lo, hi);
    *out = (int)x;
    return DGXM_OK;
}

/* lo < value <= hi when open_lo, else lo <= value <= hi; integers are accepted as numbers. */
static dgxm_status get_real(const cfg_ctx *c, const char *key, double def, double lo, bool open_lo,
                            double hi, double *out)
{
    json_t *v = value_of(c, key);
    if (!v) {
        *out = def;
        return DGXM_OK;
    }
    if (!json_is_number(v))
        return bad(c, key, "not a number");
    double x = json_number_value(v);
    if (!isfinite(x) || x < lo || (open_lo && x == lo) || x > hi)
        return dgxm_error_set(c->err, DGXM_ERR_FORMAT, "%s: %s%s%s: %g is out of range %c%g, %g]",
                              c->file, c->section, dot(c), key, x, open_lo ? '(' : '[', lo, hi);
    *out = x;
    return DGXM_OK;
}

static dgxm_status get_bool(const cfg_ctx *c, const char *key, bool def, bool *out)
{
    json_t *v = value_of(c, key);
    if (!v) {
        *out = def;
        return DGXM_OK;
    }
    if (!json_is_boolean(v))
        return bad(c, key, "not true or false");
    *out = json_is_true(v);
    return DGXM_OK;
}

/* *out is def when absent (a required key, def NULL, is an error); it points into the JSON
 * document otherwise. *out is never NULL. */
static dgxm_status get_string(const cfg_ctx *c, const char *key, const char *def, const char **out)
{
    json_t *v = value_of(c, key);
    *out = def ? def : "";
    if (!v)
        return def ? DGXM_OK : bad(c, key, "missing");
    if (!json_is_string(v))
        return bad(c, key, "not a string");
    *out = json_string_value(v);
    return DGXM_OK;
}

static dgxm_status section(const char *file, json_t *root, const char *name, dgxm_error *err,
                           cfg_ctx *out)
{
    json_t *obj = json_object_get(root, name);
    *out = (cfg_ctx){ file, name, NULL, err };
    if (!obj || json_is_null(obj))
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: %s: missing", file, name);
    if (!json_is_object(obj))
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: %s: not an object", file, name);
    out->obj = obj;
    return DGXM_OK;
}

/* A sub-config's model_type, which transformers needs to build it. */
static dgxm_status expect_type(const cfg_ctx *c, const char *want, bool required)
{
    const char *type;
    dgxm_status s = get_string(c, "model_type", required ? NULL : want, &type);
    if (s)
        return s;
    if (strcmp(type, want) != 0)
        return dgxm_error_set(c->err, DGXM_ERR_UNSUPPORTED,
                              "%s: %s.model_type: \"%s\" is not supported (expected \"%s\")",
                              c->file, c->section, type, want);
    return DGXM_OK;
}

static dgxm_status parse_t5(const cfg_ctx *c, dgxm_t5_config *t)
{
    dgxm_status s = expect_type(c, "t5", true);
    if (!s)
        s = get_int(c, "vocab_size", 32128, 1, MAX_VOCAB_T5, &t->vocab_size);
    if (!s)
        s = get_int(c, "d_model", 512, 1, MAX_WIDTH, &t->d_model);
    if (!s)
        s = get_int(c, "d_kv", 64, 1, 1024, &t->d_kv);
    if (!s)
        s = get_int(c, "num_heads", 8, 1, MAX_HEADS, &t->num_heads);
    if (!s)
        s = get_int(c, "num_layers", 6, 1, MAX_LAYERS, &t->num_layers);
    if (!s)
        s = get_int(c, "d_ff", 2048, 1, MAX_FFN, &t->d_ff);
    if (!s)
        s = get_int(c, "relative_attention_num_buckets", 32, 4, 1024, &t->num_buckets);
    if (!s)
        s = get_int(c, "relative_attention_max_distance", 128, 1, 1 << 20, &t->max_distance);
    if (!s)
        s = get_real(c, "layer_norm_epsilon", 1e-6, 0.0, true, 1.0, &t->layer_norm_eps);
    const char *ff = NULL;
    if (!s)
        s = get_string(c, "feed_forward_proj", "relu", &ff);
    if (s)
        return s;
    if (t->num_heads * t->d_kv > MAX_WIDTH)
        return bad(c, "num_heads", "num_heads * d_kv is too wide");
    /* bidirectional buckets: half per direction, half of those exact; the log-spaced rest needs
     * max_distance beyond the exact range */
    if (t->num_buckets % 2 || t->max_distance <= t->num_buckets / 4)
        return bad(c, "relative_attention_num_buckets",
                   "must be even, with relative_attention_max_distance > num_buckets / 4");
    if (!strcmp(ff, "relu"))
        t->gated_gelu = false;
    else if (!strcmp(ff, "gated-gelu"))
        t->gated_gelu = true;
    else
        return dgxm_error_set(c->err, DGXM_ERR_UNSUPPORTED,
                              "%s: text_encoder.feed_forward_proj: \"%s\" is not supported "
                              "(\"relu\" or \"gated-gelu\")",
                              c->file, ff);
    return DGXM_OK;
}

static dgxm_status parse_decoder(const cfg_ctx *c, dgxm_decoder_config *d)
{
    dgxm_status s = expect_type(c, "musicgen_decoder", false);
    if (!s)
        s = get_int(c, "hidden_size", 1024, 1, MAX_WIDTH, &d->hidden_size);
    if (!s)
        s = get_int(c, "num_hidden_layers", 24, 1, MAX_LAYERS, &d->num_layers);
    if (!s)
        s = get_int(c, "num_attention_heads", 16, 1, MAX_HEADS, &d->num_heads);
    if (!s)
        s = get_int(c, "ffn_dim", 4096, 1, MAX_FFN, &d->ffn_dim);
    if (!s)
        s = get_int(c, "vocab_size", 2048, 1, MAX_VOCAB_AUDIO, &d->vocab_size);
    if (!s)
        s = get_int(c, "num_codebooks", 4, 1, MAX_CODEBOOKS, &d->num_codebooks);
    if (!s)
        s = get_int(c, "audio_channels", 1, 1, 2, &d->audio_channels);
    if (!s)
        s = get_int(c, "max_position_embeddings", 2048, 1, MAX_POSITIONS,
                    &d->max_position_embeddings);
    if (!s)
        s = get_int(c, "pad_token_id", 2048, 0, d->vocab_size, &d->pad_token_id);
    if (!s)
        s = get_int(c, "bos_token_id", 2048, 0, d->vocab_size, &d->bos_token_id);
    if (!s)
        s = get_bool(c, "scale_embedding", false, &d->scale_embedding);
    const char *act = NULL;
    if (!s)
        s = get_string(c, "activation_function", "gelu", &act);
    if (s)
        return s;
    if (strcmp(act, "gelu") != 0)
        return dgxm_error_set(c->err, DGXM_ERR_UNSUPPORTED,
                              "%s: decoder.activation_function: \"%s\" is not supported (only "
                              "\"gelu\")",
                              c->file, act);
    /* the HF defaults (2048) may fall outside a smaller vocabulary: tokens index embed_tokens,
     * which has vocab_size + 1 rows */
    if (d->pad_token_id > d->vocab_size || d->bos_token_id > d->vocab_size)
        return dgxm_error_set(
            c->err, DGXM_ERR_FORMAT,
            "%s: decoder.%s: %d is beyond the embedding rows (vocab_size + 1 "
            "= %d)",
            c->file, d->pad_token_id > d->vocab_size ? "pad_token_id" : "bos_token_id",
            d->pad_token_id > d->vocab_size ? d->pad_token_id : d->bos_token_id, d->vocab_size + 1);
    if (d->hidden_size % d->num_heads)
        return dgxm_error_set(c->err, DGXM_ERR_FORMAT,
                              "%s: decoder.num_attention_heads: %d does not divide hidden_size %d",
                              c->file, d->num_heads, d->hidden_size);
    if (d->hidden_size % 2 || d->hidden_size < 4)
        return bad(c, "hidden_size", "must be even and at least 4 (sinusoidal positions)");
    if ((int64_t)d->num_layers * d->hidden_size * d->hidden_size > MAX_DECODER_SQUARE)
        return bad(c, "num_hidden_layers", "num_hidden_layers * hidden_size^2 is too large");
    return DGXM_OK;
}

/* Python's float floor division a // b for b > 0 (float_floor_div in CPython). */
static double py_floordiv(double a, double b)
{
    double mod = fmod(a, b);
    double div = (a - mod) / b;
    if (mod != 0.0 && (mod < 0.0) != (b < 0.0))
        div -= 1.0;
    double fl = floor(div);
    if (div - fl > 0.5)
        fl += 1.0;
    return fl;
}

static dgxm_status parse_ratios(const cfg_ctx *c, dgxm_encodec_config *e)
{
    static const int def[] = { 8, 5, 4, 2 };
    json_t *v = value_of(c, "upsampling_ratios");
    if (v && (!json_is_array(v) || json_array_size(v) < 1 ||
              json_array_size(v) > DGXM_MAX_UPSAMPLING_RATIOS))
        return bad(c, "upsampling_ratios", "expected an array of 1 to 8 integers");
    e->num_ratios = v ? (int)json_array_size(v) : 4;
    e->hop_length = 1;
    for (int i = 0; i < e->num_ratios; i++) {
        json_t *r = v ? json_array_get(v, (size_t)i) : NULL;
        if (r &&
            (!json_is_integer(r) || json_integer_value(r) < 1 || json_integer_value(r) > MAX_RATIO))
            return dgxm_error_set(c->err, DGXM_ERR_FORMAT,
                                  "%s: audio_encoder.upsampling_ratios[%d]: not an integer in "
                                  "[1, %d]",
                                  c->file, i, MAX_RATIO);
        e->upsampling_ratios[i] = r ? (int)json_integer_value(r) : def[i];
        e->hop_length *= e->upsampling_ratios[i];
        if (e->hop_length > MAX_HOP)
            return bad(c, "upsampling_ratios", "product (hop length) is too large");
    }
    if (((int64_t)e->num_filters << e->num_ratios) > MAX_CODEC_CHANNELS)
        return bad(c, "num_filters", "num_filters * 2^len(upsampling_ratios) is too wide");
    e->frame_rate = ceil((double)e->sampling_rate / (double)e->hop_length);
    return DGXM_OK;
}

static dgxm_status parse_bandwidths(const cfg_ctx *c, dgxm_encodec_config *e)
{
    json_t *v = value_of(c, "target_bandwidths");
    double last = 24.0; /* default list [1.5, 3.0, 6.0, 12.0, 24.0] */
    if (v) {
        size_t n = json_is_array(v) ? json_array_size(v) : 0;
        if (n < 1 || n > MAX_BANDWIDTHS)
            return bad(c, "target_bandwidths", "expected an array of 1 to 64 numbers");
        for (size_t i = 0; i < n; i++) {
            json_t *b = json_array_get(v, i);
            double x = json_is_number(b) ? json_number_value(b) : -1.0;
            if (!isfinite(x) || x <= 0.0 || x > 1e6)
                return dgxm_error_set(c->err, DGXM_ERR_FORMAT,
                                      "%s: audio_encoder.target_bandwidths[%zu]: not a positive "
                                      "number",
                                      c->file, i);
            last = x;
        }
    }
    /* EncodecConfig.num_quantizers: int(1000 * target_bandwidths[-1] // (frame_rate * nbits))
     * with nbits = ceil(log2(codebook_size)); older transformers releases wrote a fixed 10 bits,
     * which gives the same count for every released MusicGen (2200 // 550 == 2200 // 500). */
    int nbits = 0;
    while ((1 << nbits) < e->codebook_size)
        nbits++;
    double nq = py_floordiv(1000.0 * last, e->frame_rate * nbits);
    if (nq < 1.0 || nq > MAX_CODEBOOKS)
        return dgxm_error_set(c->err, DGXM_ERR_FORMAT,
                              "%s: audio_encoder.target_bandwidths: %g kbps at %g frames/s gives "
                              "%g quantizers, expected 1 to %d",
                              c->file, last, e->frame_rate, nq, MAX_CODEBOOKS);
    e->target_bandwidth = last;
    e->num_quantizers = (int)nq;
    return DGXM_OK;
}

static dgxm_status parse_codec_strings(const cfg_ctx *c, dgxm_encodec_config *e)
{
    const char *pad = NULL, *norm = NULL;
    dgxm_status s = get_string(c, "pad_mode", "reflect", &pad);
    if (!s)
        s = get_string(c, "norm_type", "weight_norm", &norm);
    if (s)
        return s;
    if (strcmp(pad, "reflect") != 0 && strcmp(pad, "constant") != 0)
        return dgxm_error_set(c->err, DGXM_ERR_UNSUPPORTED,
                              "%s: audio_encoder.pad_mode: \"%s\" is not supported (\"reflect\" "
                              "or \"constant\")",
                              c->file, pad);
    e->pad_reflect = !strcmp(pad, "reflect");
    if (strcmp(norm, "weight_norm") != 0)
        return dgxm_error_set(c->err, DGXM_ERR_UNSUPPORTED,
                              "%s: audio_encoder.norm_type: \"%s\" is not supported (only "
                              "\"weight_norm\")",
                              c->file, norm);
    return DGXM_OK;
}

static dgxm_status parse_encodec_sizes(const cfg_ctx *c, dgxm_encodec_config *e)
{
    dgxm_status s = expect_type(c, "encodec", true);
    if (!s)
        s = get_int(c, "sampling_rate", 24000, 1, MAX_SAMPLE_RATE, &e->sampling_rate);
    if (!s)
        s = get_int(c, "audio_channels", 1, 1, 2, &e->audio_channels);
    if (!s)
        s = get_int(c, "num_filters", 32, 1, 4096, &e->num_filters);
    if (!s)
        s = get_int(c, "hidden_size", 128, 1, 4096, &e->hidden_size);
    if (!s)
        s = get_int(c, "codebook_size", 1024, 2, MAX_VOCAB_AUDIO, &e->codebook_size);
    if (!s)
        s = get_int(c, "codebook_dim", e->hidden_size, 1, 4096, &e->codebook_dim);
    if (!s)
        s = get_int(c, "num_residual_layers", 1, 0, 16, &e->num_residual_layers);
    if (!s)
        s = get_int(c, "residual_kernel_size", 3, 1, MAX_KERNEL, &e->residual_kernel_size);
    if (!s)
        s = get_int(c, "dilation_growth_rate", 2, 1, 16, &e->dilation_growth_rate);
    if (!s)
        s = get_int(c, "compress", 2, 1, 4096, &e->compress);
    if (!s)
        s = get_int(c, "kernel_size", 7, 1, MAX_KERNEL, &e->kernel_size);
    if (!s)
        s = get_int(c, "last_kernel_size", 7, 1, MAX_KERNEL, &e->last_kernel_size);
    if (!s)
        s = get_int(c, "num_lstm_layers", 2, 1, 8, &e->num_lstm_layers);
    return s;
}

static dgxm_status parse_encodec(const cfg_ctx *c, dgxm_encodec_config *e)
{
    dgxm_status s = parse_encodec_sizes(c, e);
    if (!s)
        s = get_bool(c, "use_causal_conv", true, &e->use_causal_conv);
    if (!s)
        s = get_bool(c, "use_conv_shortcut", true, &e->use_conv_shortcut);
    if (!s)
        s = get_bool(c, "normalize", false, &e->normalize);
    if (!s)
        s = get_real(c, "trim_right_ratio", 1.0, 0.0, false, 1.0, &e->trim_right_ratio);
    if (!s)
        s = parse_codec_strings(c, e);
    if (!s)
        s = parse_ratios(c, e);
    if (!s)
        s = parse_bandwidths(c, e);
    if (s)
        return s;
    if (e->codebook_dim != e->hidden_size)
        return dgxm_error_set(c->err, DGXM_ERR_UNSUPPORTED,
                              "%s: audio_encoder.codebook_dim: %d differs from hidden_size %d "
                              "(EnCodec has no codebook projection)",
                              c->file, e->codebook_dim, e->hidden_size);
    if (e->compress > e->num_filters)
        return bad(c, "compress", "larger than num_filters: a residual branch would be empty");
    int64_t dil = 1;
    for (int j = 1; j < e->num_residual_layers; j++)
        dil *= e->dilation_growth_rate;
    if (dil > 4096)
        return bad(c, "dilation_growth_rate",
                   "dilation_growth_rate^(num_residual_layers - 1) is too large");
    if (!e->use_causal_conv && e->trim_right_ratio != 1.0)
        return bad(c, "trim_right_ratio", "must be 1.0 unless use_causal_conv is true");
    return DGXM_OK;
}

static dgxm_status check_model_type(const char *file, json_t *root, dgxm_error *err)
{
    cfg_ctx top = { file, "", root, err };
    const char *type;
    dgxm_status s = get_string(&top, "model_type", NULL, &type);
    if (s)
        return s;
    if (!strcmp(type, "musicgen"))
        return DGXM_OK;
    if (!strcmp(type, "musicgen_melody"))
        return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                              "%s: model_type: \"musicgen_melody\" (MusicGen-Melody, chroma "
                              "conditioning) is not supported; only \"musicgen\" checkpoints are",
                              file);
    return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                          "%s: model_type: \"%s\" is an unknown model type (expected \"musicgen\")",
                          file, type);
}

static dgxm_status cross_check(const char *file, const dgxm_model_config *cfg, dgxm_error *err)
{
    const dgxm_decoder_config *d = &cfg->decoder;
    const dgxm_encodec_config *e = &cfg->encodec;
    if (d->vocab_size != e->codebook_size)
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: decoder.vocab_size: %d differs from audio_encoder.codebook_size "
                              "%d",
                              file, d->vocab_size, e->codebook_size);
    if (d->num_codebooks != d->audio_channels * e->num_quantizers)
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: decoder.num_codebooks: %d, expected decoder.audio_channels (%d) "
                              "x audio_encoder num_quantizers (%d)",
                              file, d->num_codebooks, d->audio_channels, e->num_quantizers);
    return DGXM_OK;
}

dgxm_status dgxm_model_config_parse(const char *name_for_errors, const char *json, size_t len,
                                    dgxm_model_config *cfg, dgxm_error *err)
{
    const char *file = name_for_errors ? name_for_errors : "config.json";
    memset(cfg, 0, sizeof *cfg);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: JSON: %s (line %d, column %d)", file,
                              jerr.text, jerr.line, jerr.column);
    dgxm_status s = DGXM_OK;
    cfg_ctx t5 = { 0 }, dec = { 0 }, codec = { 0 };
    if (!json_is_object(root))
        s = dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: not a JSON object", file);
    if (!s)
        s = check_model_type(file, root, err);
    if (!s)
        s = section(file, root, "text_encoder", err, &t5);
    if (!s)
        s = section(file, root, "audio_encoder", err, &codec);
    if (!s)
        s = section(file, root, "decoder", err, &dec);
    if (!s)
        s = parse_t5(&t5, &cfg->t5);
    if (!s)
        s = parse_decoder(&dec, &cfg->decoder);
    if (!s)
        s = parse_encodec(&codec, &cfg->encodec);
    if (!s)
        s = cross_check(file, cfg, err);
    json_decref(root);
    if (s)
        return s;
    cfg->stereo = cfg->decoder.audio_channels == 2;
    dgxm_generation_config_defaults(&cfg->decoder, &cfg->generation);
    return DGXM_OK;
}

void dgxm_generation_config_defaults(const dgxm_decoder_config *decoder,
                                     dgxm_generation_config *gen)
{
    *gen = (dgxm_generation_config){
        .do_sample = false,
        .guidance_scale = 1.0,
        .top_k = 0,
        .top_p = 1.0,
        .temperature = 1.0,
        .max_length = 0,
        .decoder_start_token_id = decoder->bos_token_id,
    };
}

dgxm_status dgxm_generation_config_parse(const char *name_for_errors, const char *json, size_t len,
                                         const dgxm_decoder_config *decoder,
                                         dgxm_generation_config *gen, dgxm_error *err)
{
    const char *file = name_for_errors ? name_for_errors : "generation_config.json";
    dgxm_generation_config_defaults(decoder, gen);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: JSON: %s (line %d, column %d)", file,
                              jerr.text, jerr.line, jerr.column);
    cfg_ctx c = { file, "", root, err };
    dgxm_status s = DGXM_OK;
    if (!json_is_object(root))
        s = dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: not a JSON object", file);
    if (!s)
        s = get_bool(&c, "do_sample", false, &gen->do_sample);
    if (!s)
        s = get_real(&c, "guidance_scale", 1.0, 0.0, false, 1000.0, &gen->guidance_scale);
    if (!s)
        s = get_int(&c, "top_k", 0, 0, 1 << 20, &gen->top_k);
    if (!s)
        s = get_real(&c, "top_p", 1.0, 0.0, false, 1.0, &gen->top_p);
    if (!s)
        s = get_real(&c, "temperature", 1.0, 0.0, true, 1000.0, &gen->temperature);
    if (!s)
        s = get_int(&c, "max_length", 0, 0, 1 << 24, &gen->max_length);
    if (!s)
        s = get_int(&c, "decoder_start_token_id", decoder->bos_token_id, 0, decoder->vocab_size,
                    &gen->decoder_start_token_id);
    json_decref(root);
    return s;
}

/* Reads dir/name into a malloc'ed buffer; *missing is set (and OK returned) when absent. */
static dgxm_status read_text(const char *dir, const char *name, char **text, size_t *len,
                             bool *missing, char *path, size_t path_size, dgxm_error *err)
{
    snprintf(path, path_size, "%s/%s", dir, name);
    *text = NULL;
    *missing = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            *missing = true;
            return DGXM_OK;
        }
        return dgxm_error_set(err, DGXM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    char *buf = malloc(CONFIG_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CONFIG_MAX_BYTES + 1, f) : 0;
    bool failed = buf && ferror(f);
    fclose(f);
    if (!buf)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", path);
    if (failed || n > CONFIG_MAX_BYTES) {
        free(buf);
        return dgxm_error_set(err, failed ? DGXM_ERR_IO : DGXM_ERR_FORMAT,
                              failed ? "%s: read error" : "%s: larger than any config file", path);
    }
    *text = buf;
    *len = n;
    return DGXM_OK;
}

dgxm_status dgxm_model_config_load(const char *dir, dgxm_model_config *cfg, dgxm_error *err)
{
    char path[4096];
    char *text;
    size_t len = 0;
    bool missing;
    dgxm_status s = read_text(dir, "config.json", &text, &len, &missing, path, sizeof path, err);
    if (s)
        return s;
    if (missing)
        return dgxm_error_set(err, DGXM_ERR_IO, "%s: missing (a Hugging Face checkpoint needs it)",
                              path);
    s = dgxm_model_config_parse(path, text, len, cfg, err);
    free(text);
    if (s)
        return s;
    s = read_text(dir, "generation_config.json", &text, &len, &missing, path, sizeof path, err);
    if (s || missing)
        return s;
    s = dgxm_generation_config_parse(path, text, len, &cfg->decoder, &cfg->generation, err);
    free(text);
    return s;
}
