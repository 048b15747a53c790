/* EnCodec's loaded weights, shared by encodec.c (loading) and encodec_decode.c (the forward
 * pass). Private to core/. */
#ifndef DGXM_ENCODEC_INTERNAL_H
#define DGXM_ENCODEC_INTERNAL_H

#include "encodec.h"
#include "encodec_layout.h"

typedef struct conv_weights {
    float *weight; /* CONV [out][in][k], CONVTR [in][out][k]; weight norm folded in */
    float *bias;   /* [out] */
} conv_weights;

typedef struct lstm_weights {
    float *w_ih, *w_hh, *b_ih, *b_hh;
} lstm_weights;

typedef struct codec_layer {
    dgxm_encodec_layer spec;
    conv_weights conv[3]; /* CONV/CONVTR: [0]; RESBLOCK: block.1, block.3, shortcut */
    dgxm_encodec_layer conv_spec[3];
    int conv_count;
    lstm_weights *lstm; /* [lstm_layers] */
} codec_layer;

struct dgxm_encodec {
    dgxm_backend *b;
    dgxm_encodec_config cfg;
    float **codebooks; /* [num_quantizers] of [codebook_size][codebook_dim], host memory */
    dgxm_encodec_plan plan;
    codec_layer *layers;
    dgxm_encodec_layer_time *profile; /* [plan.count + 1] while profiling, else NULL */
};

#endif
