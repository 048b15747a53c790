/* A MusicGen checkpoint directory as Hugging Face publishes it (config.json,
 * generation_config.json, model.safetensors or sharded model-*.safetensors + index), opened and
 * checked completely before any inference: every tensor the model needs is present, with the
 * shape the config implies and a float dtype (F32, F16 or BF16).
 *
 * What open requires:
 *   T5 encoder   text_encoder.shared.weight [vocab, d_model] (or, when a file stores only the
 *                tied copy, text_encoder.encoder.embed_tokens.weight; when both are stored the
 *                copy must have the same shape), per block q/k/v [H*d_kv, d_model],
 *                o [d_model, H*d_kv], both layer norms [d_model], wi [d_ff, d_model] (gated-gelu:
 *                wi_0 and wi_1), wo [d_model, d_ff]; relative_attention_bias [buckets, H] in
 *                block 0 only; final_layer_norm [d_model].
 *   projection   enc_to_dec_proj.weight [hidden, d_model] and .bias [hidden], only when
 *                d_model != decoder hidden_size (else transformers uses the identity and so do
 *                we; a stored projection is then ignored).
 *   decoder LM   embed_tokens.{k} [vocab + 1, hidden] and lm_heads.{k} [vocab, hidden] for every
 *                codebook, every layer's attention/FFN matrices and layer norms, the final layer
 *                norm. embed_positions.weights is optional (we recompute the sinusoids); when
 *                stored it must be [max_position_embeddings, hidden].
 *   EnCodec      the whole decoder path (encodec_layout.h plan: convs with bias and a weight-norm
 *                pair, LSTM) and quantizer.layers.{q}.codebook.embed [codebook_size,
 *                codebook_dim] for q < num_quantizers; generation needs nothing else. The
 *                encoder path (audio prompts only) is checked in full when any
 *                audio_encoder.encoder.* tensor is stored and may otherwise be absent.
 * Weight norm: each conv may be stored as <p>.conv.weight_g + weight_v (torch weight_norm) or
 * <p>.conv.parametrizations.weight.original0 + original1 (parametrizations.weight_norm), chosen
 * per conv. Tensors the model does not use (embed_avg, cluster_size, ...) are ignored.
 *
 * Naming: model code finds tensors with dgxm_checkpoint_tensor(ckpt, FORMAT, index...) using the
 * DGXM_*_FMT name formats below (the ones open checked), or takes the checked list of entries.
 *
 * Ownership: open returns an object freed with dgxm_checkpoint_free; every tensor, config and
 * plan it hands out lives until then (tensor data is the read-only file mapping).
 * Threads: open/free on a control thread; every other function is read-only and may be called
 * from any thread once open has returned.
 */
#ifndef DGXM_CHECKPOINT_H
#define DGXM_CHECKPOINT_H

#include "encodec_layout.h"
#include "model_config.h"
#include "weights.h"

/* Tensor names, as printf formats; %d is the block / layer / codebook / quantizer index. */
#define DGXM_T5_SHARED_FMT       "text_encoder.shared.weight"
#define DGXM_T5_EMBED_TOKENS_FMT "text_encoder.encoder.embed_tokens.weight"
#define DGXM_T5_Q_FMT            "text_encoder.encoder.block.%d.layer.0.SelfAttention.q.weight"
#define DGXM_T5_K_FMT            "text_encoder.encoder.block.%d.layer.0.SelfAttention.k.weight"
#define DGXM_T5_V_FMT            "text_encoder.encoder.block.%d.layer.0.SelfAttention.v.weight"
#define DGXM_T5_O_FMT            "text_encoder.encoder.block.%d.layer.0.SelfAttention.o.weight"
#define DGXM_T5_REL_BIAS_FMT \
    "text_encoder.encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
#define DGXM_T5_ATTN_NORM_FMT  "text_encoder.encoder.block.%d.layer.0.layer_norm.weight"
#define DGXM_T5_FF_NORM_FMT    "text_encoder.encoder.block.%d.layer.1.layer_norm.weight"
#define DGXM_T5_WI_FMT         "text_encoder.encoder.block.%d.layer.1.DenseReluDense.wi.weight"
#define DGXM_T5_WI0_FMT        "text_encoder.encoder.block.%d.layer.1.DenseReluDense.wi_0.weight"
#define DGXM_T5_WI1_FMT        "text_encoder.encoder.block.%d.layer.1.DenseReluDense.wi_1.weight"
#define DGXM_T5_WO_FMT         "text_encoder.encoder.block.%d.layer.1.DenseReluDense.wo.weight"
#define DGXM_T5_FINAL_NORM_FMT "text_encoder.encoder.final_layer_norm.weight"

#define DGXM_PROJ_WEIGHT_FMT "enc_to_dec_proj.weight"
#define DGXM_PROJ_BIAS_FMT   "enc_to_dec_proj.bias"

#define DGXM_DEC_EMBED_FMT      "decoder.model.decoder.embed_tokens.%d.weight"
#define DGXM_DEC_POSITIONS_FMT  "decoder.model.decoder.embed_positions.weights"
#define DGXM_DEC_LAYER          "decoder.model.decoder.layers.%d."
#define DGXM_DEC_SA_Q_FMT       DGXM_DEC_LAYER "self_attn.q_proj.weight"
#define DGXM_DEC_SA_K_FMT       DGXM_DEC_LAYER "self_attn.k_proj.weight"
#define DGXM_DEC_SA_V_FMT       DGXM_DEC_LAYER "self_attn.v_proj.weight"
#define DGXM_DEC_SA_O_FMT       DGXM_DEC_LAYER "self_attn.out_proj.weight"
#define DGXM_DEC_SA_NORM_W_FMT  DGXM_DEC_LAYER "self_attn_layer_norm.weight"
#define DGXM_DEC_SA_NORM_B_FMT  DGXM_DEC_LAYER "self_attn_layer_norm.bias"
#define DGXM_DEC_CA_Q_FMT       DGXM_DEC_LAYER "encoder_attn.q_proj.weight"
#define DGXM_DEC_CA_K_FMT       DGXM_DEC_LAYER "encoder_attn.k_proj.weight"
#define DGXM_DEC_CA_V_FMT       DGXM_DEC_LAYER "encoder_attn.v_proj.weight"
#define DGXM_DEC_CA_O_FMT       DGXM_DEC_LAYER "encoder_attn.out_proj.weight"
#define DGXM_DEC_CA_NORM_W_FMT  DGXM_DEC_LAYER "encoder_attn_layer_norm.weight"
#define DGXM_DEC_CA_NORM_B_FMT  DGXM_DEC_LAYER "encoder_attn_layer_norm.bias"
#define DGXM_DEC_FC1_FMT        DGXM_DEC_LAYER "fc1.weight"
#define DGXM_DEC_FC2_FMT        DGXM_DEC_LAYER "fc2.weight"
#define DGXM_DEC_FF_NORM_W_FMT  DGXM_DEC_LAYER "final_layer_norm.weight"
#define DGXM_DEC_FF_NORM_B_FMT  DGXM_DEC_LAYER "final_layer_norm.bias"
#define DGXM_DEC_OUT_NORM_W_FMT "decoder.model.decoder.layer_norm.weight"
#define DGXM_DEC_OUT_NORM_B_FMT "decoder.model.decoder.layer_norm.bias"
#define DGXM_DEC_LM_HEAD_FMT    "decoder.lm_heads.%d.weight"

/* EnCodec: %s is a layer prefix from encodec_layout.h, %d the LSTM layer or quantizer. */
#define DGXM_CODEC_LSTM_W_IH_FMT "%s.lstm.weight_ih_l%d"
#define DGXM_CODEC_LSTM_W_HH_FMT "%s.lstm.weight_hh_l%d"
#define DGXM_CODEC_LSTM_B_IH_FMT "%s.lstm.bias_ih_l%d"
#define DGXM_CODEC_LSTM_B_HH_FMT "%s.lstm.bias_hh_l%d"
#define DGXM_CODEC_CODEBOOK_FMT  "audio_encoder.quantizer.layers.%d.codebook.embed"

typedef struct dgxm_checkpoint dgxm_checkpoint;

/* What a checked tensor is for; model_info sizes weight formats from it. */
typedef enum dgxm_weight_role {
    DGXM_ROLE_T5,             /* T5 encoder weights */
    DGXM_ROLE_T5_TIED_COPY,   /* encoder.embed_tokens stored beside shared: same values */
    DGXM_ROLE_PROJ,           /* enc_to_dec_proj */
    DGXM_ROLE_DEC_LINEAR,     /* attention and FFN matrices of the decoder layers */
    DGXM_ROLE_DEC_EMBED,      /* embed_tokens.{k} */
    DGXM_ROLE_DEC_HEAD,       /* lm_heads.{k} */
    DGXM_ROLE_DEC_NORM,       /* decoder layer-norm weights and biases */
    DGXM_ROLE_DEC_POSITIONS,  /* stored sinusoid table: recomputed, never loaded */
    DGXM_ROLE_CODEC_WEIGHT,   /* EnCodec decoder conv weight_v / original1, LSTM, biases */
    DGXM_ROLE_CODEC_NORM_G,   /* weight_g / original0: folded into the weight at load */
    DGXM_ROLE_CODEC_CODEBOOK, /* quantizer codebook.embed */
    DGXM_ROLE_CODEC_ENCODER   /* EnCodec encoder path (audio prompts only) */
} dgxm_weight_role;

typedef struct dgxm_checkpoint_entry {
    const dgxm_tensor *tensor; /* tensor->name is the HF name */
    dgxm_weight_role role;
} dgxm_checkpoint_entry;

/* The tensors of one weight-normed conv: W = g * v / ||v|| (norm over all dims but dim 0 of the
 * stored v; g is [dim0, 1, 1]). legacy is true for the weight_g / weight_v spelling. */
typedef struct dgxm_conv_tensors {
    const dgxm_tensor *g;
    const dgxm_tensor *v;
    const dgxm_tensor *bias;
    bool legacy;
} dgxm_conv_tensors;

/* Opens and checks dir as described above. A missing directory or file, a malformed file, an
 * unsupported model type or a missing / misshapen / integer tensor is an error naming the file
 * or directory and the field or tensor. Control thread. */
dgxm_checkpoint *dgxm_checkpoint_open(const char *dir, dgxm_error *err);
void dgxm_checkpoint_free(dgxm_checkpoint *ckpt);

const char *dgxm_checkpoint_dir(const dgxm_checkpoint *ckpt);
const dgxm_model_config *dgxm_checkpoint_config(const dgxm_checkpoint *ckpt);
const dgxm_weights *dgxm_checkpoint_weights(const dgxm_checkpoint *ckpt);

/* The tensor named by printf(fmt, ...), or NULL when the checkpoint does not store it. Names
 * that open checked are always found with the checked shape. */
const dgxm_tensor *dgxm_checkpoint_tensor(const dgxm_checkpoint *ckpt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The T5 token embedding: shared.weight, or the tied encoder.embed_tokens copy when that is the
 * only one stored. */
const dgxm_tensor *dgxm_checkpoint_t5_embedding(const dgxm_checkpoint *ckpt);

/* Whether enc_to_dec_proj is used (d_model != hidden_size); whether the EnCodec encoder path is
 * stored (and so was checked). */
bool dgxm_checkpoint_has_projection(const dgxm_checkpoint *ckpt);
bool dgxm_checkpoint_has_codec_encoder(const dgxm_checkpoint *ckpt);

/* The EnCodec decoder and encoder layer plans for this config (encoder plan: NULL when the
 * encoder path is not stored). */
const dgxm_encodec_plan *dgxm_checkpoint_codec_decoder_plan(const dgxm_checkpoint *ckpt);
const dgxm_encodec_plan *dgxm_checkpoint_codec_encoder_plan(const dgxm_checkpoint *ckpt);

/* Finds the weight-norm pair and bias of the conv module at prefix (a CONV / CONVTR layer prefix
 * or a resblock sub-conv prefix from encodec_layout.h), in either naming. Errors name the
 * missing tensor and the directory. Shapes are not checked here (open did that for every conv
 * of the plans). */
dgxm_status dgxm_checkpoint_conv(const dgxm_checkpoint *ckpt, const char *prefix,
                                 dgxm_conv_tensors *out, dgxm_error *err);

/* Every tensor open checked and the model uses, with its role, in checking order. */
size_t dgxm_checkpoint_entry_count(const dgxm_checkpoint *ckpt);
const dgxm_checkpoint_entry *dgxm_checkpoint_entry_at(const dgxm_checkpoint *ckpt, size_t index);

#endif
