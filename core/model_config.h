/* The hyper-parameters of a MusicGen checkpoint, read from its config.json (nested
 * text_encoder / audio_encoder / decoder) and generation_config.json.
 *
 * A plain value type: the caller owns it, any thread may read it.
 */
#ifndef DGXM_MODEL_CONFIG_H
#define DGXM_MODEL_CONFIG_H

#include "dgxm/status.h"

#include <stdbool.h>
#include <stddef.h>

enum {
    DGXM_MAX_UPSAMPLING_RATIOS = 8
};

/* Every field below is read from the key named in its comment; a key absent from the file (or
 * null) takes the default of the Hugging Face config class (T5Config, MusicgenDecoderConfig,
 * EncodecConfig, GenerationConfig), so a config.json saved with only non-default keys reads as
 * transformers reads it. */
typedef struct dgxm_t5_config {
    int vocab_size;        /* vocab_size: rows of the shared embedding */
    int d_model;           /* d_model */
    int d_kv;              /* d_kv: per-head width */
    int num_heads;         /* num_heads */
    int num_layers;        /* num_layers */
    int d_ff;              /* d_ff */
    int num_buckets;       /* relative_attention_num_buckets */
    int max_distance;      /* relative_attention_max_distance */
    double layer_norm_eps; /* layer_norm_epsilon */
    bool gated_gelu;       /* feed_forward_proj "gated-gelu" (flan-t5); false for "relu" */
} dgxm_t5_config;

typedef struct dgxm_decoder_config {
    int hidden_size;
    int num_layers; /* num_hidden_layers */
    int num_heads;  /* num_attention_heads */
    int ffn_dim;
    int vocab_size; /* per codebook; embeddings have vocab_size + 1 rows */
    int num_codebooks;
    int audio_channels; /* 1 mono, 2 stereo (codebooks interleaved L0 R0 L1 R1 ...) */
    int max_position_embeddings;
    int pad_token_id; /* also the BOS / special token, normally == vocab_size */
    int bos_token_id; /* default 2048 */
    bool scale_embedding;
} dgxm_decoder_config;

typedef struct dgxm_encodec_config {
    int sampling_rate;
    int audio_channels;
    int num_filters;
    int hidden_size; /* latent dimension */
    int codebook_size;
    int codebook_dim;        /* == hidden_size for the released models */
    int num_quantizers;      /* from the last target_bandwidth, as HF: int(1000 * bw //
                              * (frame_rate * ceil(log2(codebook_size)))) */
    double target_bandwidth; /* the last entry of target_bandwidths (kbps) */
    int upsampling_ratios[DGXM_MAX_UPSAMPLING_RATIOS];
    int num_ratios;
    int hop_length;    /* product of upsampling_ratios */
    double frame_rate; /* ceil(sampling_rate / hop_length), as HF (integral) */
    int num_residual_layers;
    int residual_kernel_size;
    int dilation_growth_rate;
    int compress;
    int kernel_size;
    int last_kernel_size;
    int num_lstm_layers;
    bool use_causal_conv;
    bool use_conv_shortcut;
    bool pad_reflect; /* pad_mode "reflect" (true) or "constant" (false) */
    double trim_right_ratio;
    bool normalize; /* input RMS scaling on encode; decode for generation ignores it */
} dgxm_encodec_config;

typedef struct dgxm_generation_config {
    bool do_sample;
    double guidance_scale;      /* 1.0 when absent (guidance off) */
    int top_k;                  /* 0 when absent (the engine picks; HF would use 50) */
    double top_p;               /* 1.0 when absent */
    double temperature;         /* 1.0 when absent */
    int max_length;             /* 0 when absent */
    int decoder_start_token_id; /* decoder.bos_token_id when absent */
} dgxm_generation_config;

typedef struct dgxm_model_config {
    bool stereo;
    dgxm_t5_config t5;
    dgxm_decoder_config decoder;
    dgxm_encodec_config encodec;
    dgxm_generation_config generation;
} dgxm_model_config;

/* Reads dir/config.json (required) and dir/generation_config.json (optional; defaults when
 * absent). Checks model_type "musicgen" ("musicgen_melody" is refused as unsupported), the
 * sub-config types (t5, encodec, musicgen_decoder), every key the engine needs (right JSON type,
 * in range: sizes positive and bounded so that a hostile file cannot ask for terabytes) and
 * cross-field rules (decoder vocab == codebook_size, head width integral, codebooks ==
 * audio_channels * num_quantizers, codebook_dim == hidden_size, T5 feed-forward "relu" or
 * "gated-gelu", decoder activation "gelu", pad_mode reflect|constant, norm_type weight_norm).
 * Errors name the file and the key path, e.g. "DIR/config.json: decoder.hidden_size: missing".
 * Control thread (any thread for parse). */
dgxm_status dgxm_model_config_load(const char *dir, dgxm_model_config *cfg, dgxm_error *err);

/* Parses config.json text already in memory (len bytes; for tests and the fuzz target);
 * generation defaults are filled in. */
dgxm_status dgxm_model_config_parse(const char *name_for_errors, const char *json, size_t len,
                                    dgxm_model_config *cfg, dgxm_error *err);

/* Parses generation_config.json text into gen (defaults for absent keys; decoder supplies the
 * default start token and the token range). */
dgxm_status dgxm_generation_config_parse(const char *name_for_errors, const char *json, size_t len,
                                         const dgxm_decoder_config *decoder,
                                         dgxm_generation_config *gen, dgxm_error *err);

/* The generation settings used when generation_config.json is absent. */
void dgxm_generation_config_defaults(const dgxm_decoder_config *decoder,
                                     dgxm_generation_config *gen);

#endif
