/* MusicGen decoder: weights, per-generation state and one step. See decoder.h. */
#include "decoder_internal.h"
#include "weight_upload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYER_NAME(buf, i, suffix) \
    (snprintf((buf), sizeof(buf), "decoder.model.decoder.layers.%d.%s", (i), (suffix)), (buf))

static dgxm_status load_norm(dgxm_decoder *dec, const dgxm_weights *w, const char *prefix,
                             norm_params *out, dgxm_error *err)
{
    const int64_t shape[1] = { dec->cfg.hidden_size };
    char name[192];
    snprintf(name, sizeof name, "%s.weight", prefix);
    out->weight = dgxm_weights_upload(dec->b, w, name, 1, shape, err);
    snprintf(name, sizeof name, "%s.bias", prefix);
    if (out->weight)
        out->bias = dgxm_weights_upload(dec->b, w, name, 1, shape, err);
    return out->bias ? DGXM_OK : err->status;
}

static dgxm_status load_layer(dgxm_decoder *dec, const dgxm_weights *w, int i, dgxm_error *err)
{
    decoder_layer *l = &dec->layers[i];
    const int d = dec->cfg.hidden_size, f = dec->cfg.ffn_dim;
    char name[192];
    struct {
        const char *suffix;
        int rows, cols;
        dgxm_matrix *m;
    } mats[] = {
        { "self_attn.q_proj.weight", d, d, &l->q },
        { "self_attn.k_proj.weight", d, d, &l->k },
        { "self_attn.v_proj.weight", d, d, &l->v },
        { "self_attn.out_proj.weight", d, d, &l->o },
        { "encoder_attn.q_proj.weight", d, d, &l->cq },
        { "encoder_attn.k_proj.weight", d, d, &l->ck },
        { "encoder_attn.v_proj.weight", d, d, &l->cv },
        { "encoder_attn.out_proj.weight", d, d, &l->co },
        { "fc1.weight", f, d, &l->fc1 },
        { "fc2.weight", d, f, &l->fc2 },
    };
    dgxm_status st = DGXM_OK;
    for (size_t m = 0; !st && m < sizeof mats / sizeof mats[0]; m++)
        st = dgxm_weights_upload_matrix(dec->b, w, LAYER_NAME(name, i, mats[m].suffix),
                                        mats[m].rows, mats[m].cols, dec->format, mats[m].m, err);
    if (!st)
        st = load_norm(dec, w, LAYER_NAME(name, i, "self_attn_layer_norm"), &l->ln_self, err);
    if (!st)
        st = load_norm(dec, w, LAYER_NAME(name, i, "encoder_attn_layer_norm"), &l->ln_cross, err);
    if (!st)
        st = load_norm(dec, w, LAYER_NAME(name, i, "final_layer_norm"), &l->ln_ff, err);
    return st;
}

/* The sinusoidal table ([cos | sin], frequency divisor half - 1) in float32 arithmetic as the
 * reference builds it. */
static void compute_positions(float *table, int rows, int d)
{
    int half = d / 2;
    float step = (float)(log(10000.0) / (half - 1));
    for (int p = 0; p < rows; p++)
        for (int i = 0; i < half; i++) {
            float angle = (float)p * expf((float)i * -step);
            table[(size_t)p * d + i] = cosf(angle);
            table[(size_t)p * d + half + i] = sinf(angle);
        }
}

/* Always computed: the reference keeps the table as a non-persistent buffer and rebuilds it in
 * float32, so a table stored in an older checkpoint is never what it uses. */
static dgxm_status load_positions(dgxm_decoder *dec, dgxm_error *err)
{
    const int d = dec->cfg.hidden_size;
    dec->max_positions = dec->cfg.max_position_embeddings;
    dec->positions = malloc((size_t)dec->max_positions * d * sizeof(float));
    if (!dec->positions)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "decoder: position table");
    compute_positions(dec->positions, dec->max_positions, d);
    return DGXM_OK;
}

/* The heads pick tokens from small logit differences: with int8 layers they stay bf16. */
static dgxm_weight_format heads_format(dgxm_weight_format layers)
{
    return layers == DGXM_WEIGHT_INT8 ? DGXM_WEIGHT_BF16 : layers;
}

static dgxm_status load_heads(dgxm_decoder *dec, const dgxm_weights *w, dgxm_error *err)
{
    const int d = dec->cfg.hidden_size, v = dec->cfg.vocab_size, k = dec->cfg.num_codebooks;
    float *stacked = malloc((size_t)k * v * d * sizeof(float));
    if (!stacked)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "decoder: lm heads");
    const int64_t shape[2] = { v, d };
    dgxm_status st = DGXM_OK;
    for (int c = 0; !st && c < k; c++) {
        char name[96];
        snprintf(name, sizeof name, "decoder.lm_heads.%d.weight", c);
        const dgxm_tensor *t = dgxm_weights_require(w, name, 2, shape, err);
        st = t ? dgxm_tensor_to_f32(t, stacked + (size_t)c * v * d, err) : err->status;
    }
    if (!st)
        st = dec->b->ops->matrix_upload(dec->b, stacked, k * v, d, heads_format(dec->format),
                                        &dec->heads, err);
    free(stacked);
    return st;
}

dgxm_decoder *dgxm_decoder_new(dgxm_backend *backend, const dgxm_weights *w,
                               const dgxm_model_config *cfg, dgxm_weight_format format,
                               dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    dgxm_decoder *dec = calloc(1, sizeof *dec);
    if (!dec) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "decoder: out of memory");
        return NULL;
    }
    dec->b = backend;
    dec->cfg = cfg->decoder;
    dec->format = format;
    const dgxm_decoder_config *c = &dec->cfg;
    dec->embed = calloc((size_t)c->num_codebooks, sizeof *dec->embed);
    dec->layers = calloc((size_t)c->num_layers, sizeof *dec->layers);
    if (!dec->embed || !dec->layers) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "decoder: out of memory");
        dgxm_decoder_free(dec);
        return NULL;
    }
    dgxm_status st = DGXM_OK;
    const int64_t emb_shape[2] = { c->vocab_size + 1, c->hidden_size };
    for (int k = 0; !st && k < c->num_codebooks; k++) {
        char name[96];
        snprintf(name, sizeof name, "decoder.model.decoder.embed_tokens.%d.weight", k);
        dec->embed[k] = dgxm_weights_upload(backend, w, name, 2, emb_shape, err);
        st = dec->embed[k] ? DGXM_OK : err->status;
    }
    for (int i = 0; !st && i < c->num_layers; i++)
        st = load_layer(dec, w, i, err);
    if (!st)
        st = load_norm(dec, w, "decoder.model.decoder.layer_norm", &dec->ln_out, err);
    if (!st)
        st = load_positions(dec, err);
    if (!st)
        st = load_heads(dec, w, err);
    if (st) {
        dgxm_decoder_free(dec);
        return NULL;
    }
    return dec;
}

static void free_norm(dgxm_backend *b, norm_params *n)
{
    b->ops->release(b, n->weight);
    b->ops->release(b, n->bias);
}

static void free_matrix(dgxm_backend *b, dgxm_matrix *m)
{
    if (m->data)
        b->ops->matrix_free(b, m);
}

void dgxm_decoder_free(dgxm_decoder *dec)
{
    if (!dec)
        return;
    dgxm_backend *b = dec->b;
    for (int k = 0; dec->embed && k < dec->cfg.num_codebooks; k++)
        b->ops->release(b, dec->embed[k]);
    for (int i = 0; dec->layers && i < dec->cfg.num_layers; i++) {
        decoder_layer *l = &dec->layers[i];
        dgxm_matrix *mats[] = { &l->q,  &l->k,  &l->v,  &l->o,   &l->cq,
                                &l->ck, &l->cv, &l->co, &l->fc1, &l->fc2 };
        for (size_t m = 0; m < sizeof mats / sizeof mats[0]; m++)
            free_matrix(b, mats[m]);
        free_norm(b, &l->ln_self);
        free_norm(b, &l->ln_cross);
        free_norm(b, &l->ln_ff);
    }
    free_norm(b, &dec->ln_out);
    free_matrix(b, &dec->heads);
    free(dec->embed);
    free(dec->layers);
    free(dec->positions);
    free(dec);
}

static double matrix_bytes(const dgxm_matrix *m)
{
    double per = m->format == DGXM_WEIGHT_F32 ? 4 : m->format == DGXM_WEIGHT_INT8 ? 1 : 2;
    return (double)m->rows * m->cols * per + (m->scales ? 4.0 * m->rows : 0);
}

double dgxm_decoder_step_weight_bytes(const dgxm_decoder *dec)
{
    const dgxm_decoder_config *c = &dec->cfg;
    double bytes = matrix_bytes(&dec->heads);
    bytes += 4.0 * c->num_codebooks * c->hidden_size; /* one embedding row per codebook */
    for (int i = 0; i < c->num_layers; i++) {
        const decoder_layer *l = &dec->layers[i];
        const dgxm_matrix *per_step[] = { &l->q,  &l->k,  &l->v,   &l->o,
                                          &l->cq, &l->co, &l->fc1, &l->fc2 };
        for (size_t m = 0; m < sizeof per_step / sizeof per_step[0]; m++)
            bytes += matrix_bytes(per_step[m]);
        bytes += 4.0 * 6 * c->hidden_size; /* three layer norms */
    }
    return bytes;
}
