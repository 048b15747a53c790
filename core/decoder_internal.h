/* The decoder's weights and per-generation state, shared by decoder.c (weights) and
 * decoder_step.c (state and the step). Private to core/. */
#ifndef DGXM_DECODER_INTERNAL_H
#define DGXM_DECODER_INTERNAL_H

#include "decoder.h"

typedef struct norm_params {
    float *weight, *bias;
} norm_params;

typedef struct decoder_layer {
    norm_params ln_self, ln_cross, ln_ff;
    dgxm_matrix q, k, v, o;     /* self-attention */
    dgxm_matrix cq, ck, cv, co; /* cross-attention */
    dgxm_matrix fc1, fc2;
} decoder_layer;

struct dgxm_decoder {
    dgxm_backend *b;
    dgxm_decoder_config cfg;
    dgxm_weight_format format;
    float **embed;    /* [K] tables of [vocab + 1][d], backend memory */
    float *positions; /* [max_positions][d], host: the stored table, else computed */
    int max_positions;
    decoder_layer *layers;
    norm_params ln_out;
    dgxm_matrix heads; /* the K heads stacked: [K * vocab][d] */
};

struct dgxm_decoder_state {
    dgxm_decoder *dec;
    int rows, capacity, position, lt;
    float *k_cache, *v_cache;                    /* [layers][capacity][rows][d] */
    float *cross_k, *cross_v;                    /* [layers][lt][d], conditioned row only */
    float *x, *h, *q, *attn, *ff, *tmp, *logits; /* activations */
};

/* DGXM_ERR_INVALID_ARG naming the values unless rows (1 or 2), capacity (positions) and lt
 * (text tokens, with conditioning when > 0) fit this decoder: the checks of every generation. */
dgxm_status dgxm_decoder_check_generation(const dgxm_decoder *dec, int rows, int capacity,
                                          const float *conditioning, int lt, dgxm_error *err);

/* cross_k and cross_v [layers][lt][hidden] (backend memory) from host conditioning[lt][hidden]:
 * the text's keys and values, computed once per generation. */
dgxm_status dgxm_decoder_project_conditioning(dgxm_decoder *dec, const float *conditioning, int lt,
                                              float *cross_k, float *cross_v, dgxm_error *err);

#endif
