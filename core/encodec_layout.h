/* The layer plan of EnCodec's SEANet encoder and decoder for any EncodecConfig: which module sits
 * at each index n of `audio_encoder.{encoder,decoder}.layers.{n}`, with its channels, kernel,
 * stride and dilation. It mirrors how transformers' EncodecEncoder / EncodecDecoder build their
 * nn.ModuleList (modeling_encodec.py), so the checkpoint checker and the EnCodec code agree on
 * tensor names without either hard-coding the 32 kHz model.
 *
 * Decoder, for ratios r_0..r_{m-1} (upsampling_ratios), R = num_residual_layers, F = num_filters:
 *   conv(hidden_size -> F*2^m, kernel_size), lstm(F*2^m),
 *   per ratio r_i: elu, convtr(C -> C/2, kernel 2*r_i, stride r_i),
 *                  R x resblock(C/2, dilation growth^j)            (C = F*2^(m-i)),
 *   elu, conv(F -> audio_channels, last_kernel_size)
 * Encoder (ratios reversed): conv(audio_channels -> F, kernel_size),
 *   per ratio: R x resblock(C), elu, conv(C -> 2C, kernel 2*r, stride r),
 *   lstm(F*2^m), elu, conv(F*2^m -> hidden_size, last_kernel_size)
 *
 * Tensor names under a layer's prefix:
 *   CONV, CONVTR  <prefix>.conv.bias and the weight-norm pair <prefix>.conv.weight_g/weight_v or
 *                 <prefix>.conv.parametrizations.weight.original0/original1 (see checkpoint.h)
 *   LSTM          <prefix>.lstm.{weight_ih,weight_hh,bias_ih,bias_hh}_l{k}, k < lstm_layers
 *   RESBLOCK      convs <prefix>.block.1 (dim -> hidden, kernel, dilation) and <prefix>.block.3
 *                 (hidden -> dim, kernel 1), plus <prefix>.shortcut (dim -> dim, kernel 1) when
 *                 use_conv_shortcut; ELUs at block.0 and block.2 (dgxm_encodec_resblock_convs)
 *   ELU           none
 *
 * A plain value type: the caller owns it; the functions are pure, any thread.
 */
#ifndef DGXM_ENCODEC_LAYOUT_H
#define DGXM_ENCODEC_LAYOUT_H

#include "model_config.h"

enum {
    /* 4 fixed layers + per ratio (2 + up to 16 residual blocks), at most 8 ratios */
    DGXM_ENCODEC_MAX_LAYERS = 4 + DGXM_MAX_UPSAMPLING_RATIOS * (2 + 16),
    DGXM_ENCODEC_PREFIX_MAX = 64
};

typedef enum dgxm_encodec_layer_kind {
    DGXM_ENCODEC_CONV,     /* EncodecConv1d (padding per use_causal_conv / pad_mode) */
    DGXM_ENCODEC_CONVTR,   /* EncodecConvTranspose1d (trimmed per use_causal_conv) */
    DGXM_ENCODEC_LSTM,     /* EncodecLSTM: lstm_layers x LSTM(C, C), output + input */
    DGXM_ENCODEC_RESBLOCK, /* EncodecResnetBlock: x + block(x) (or shortcut(x) + block(x)) */
    DGXM_ENCODEC_ELU       /* ELU(alpha = 1), no weights */
} dgxm_encodec_layer_kind;

typedef struct dgxm_encodec_layer {
    dgxm_encodec_layer_kind kind;
    int index;                            /* n in layers.{n} */
    char prefix[DGXM_ENCODEC_PREFIX_MAX]; /* "audio_encoder.decoder.layers.{n}" (".block.1" ...
                                           * for the convs of dgxm_encodec_resblock_convs) */
    int in_channels;                      /* RESBLOCK, LSTM: dim (== out_channels) */
    int out_channels;                     /* ELU: the channels passing through */
    int kernel;                           /* CONV, CONVTR; RESBLOCK: kernel of its first conv */
    int stride;                           /* CONV, CONVTR; 1 otherwise */
    int dilation;                         /* CONV: 1; RESBLOCK: dilation of its first conv */
    int hidden;                           /* RESBLOCK: dim / compress */
    bool shortcut;   /* RESBLOCK: a conv shortcut (use_conv_shortcut) instead of identity */
    int lstm_layers; /* LSTM */
} dgxm_encodec_layer;

typedef struct dgxm_encodec_plan {
    int count;
    dgxm_encodec_layer layers[DGXM_ENCODEC_MAX_LAYERS];
} dgxm_encodec_plan;

/* Fill plan with the decoder (codes' latent -> waveform) or encoder (waveform -> latent) layers,
 * in execution order; layers[i].index == i. A config outside what dgxm_model_config_parse
 * accepts gives DGXM_ERR_INVALID_ARG. */
dgxm_status dgxm_encodec_decoder_plan(const dgxm_encodec_config *cfg, dgxm_encodec_plan *plan,
                                      dgxm_error *err);
dgxm_status dgxm_encodec_encoder_plan(const dgxm_encodec_config *cfg, dgxm_encodec_plan *plan,
                                      dgxm_error *err);

/* The weight-normed convs inside a RESBLOCK layer, as CONV layers with full prefixes: block.1,
 * block.3 and, when the block has one, shortcut. Returns how many (2 or 3) were written. */
int dgxm_encodec_resblock_convs(const dgxm_encodec_layer *resblock, dgxm_encodec_layer convs[3]);

/* "conv", "convtr", "lstm", "resblock", "elu". */
const char *dgxm_encodec_layer_kind_name(dgxm_encodec_layer_kind kind);

#endif
