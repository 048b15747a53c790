/* One decoder position for every batch row: the per-generation state (KV caches laid out
 * [layer][position][row][d] so one linear call writes both rows' new keys) and the step. */
#include "decoder_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void state_release(dgxm_decoder_state *st)
{
    dgxm_backend *b = st->dec->b;
    float *bufs[] = { st->k_cache, st->v_cache, st->cross_k, st->cross_v, st->x,     st->h,
                      st->q,       st->attn,    st->ff,      st->tmp,     st->logits };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        b->ops->release(b, bufs[i]);
}

void dgxm_decoder_state_free(dgxm_decoder_state *st)
{
    if (!st)
        return;
    state_release(st);
    free(st);
}

/* Cross-attention keys and values depend only on the prompt: computed once per generation. */
dgxm_status dgxm_decoder_project_conditioning(dgxm_decoder *dec, const float *conditioning, int lt,
                                              float *cross_k, float *cross_v, dgxm_error *err)
{
    dgxm_backend *b = dec->b;
    const int d = dec->cfg.hidden_size;
    size_t bytes = (size_t)lt * d * sizeof(float);
    float *cond = b->ops->alloc(b, bytes);
    if (!cond)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "decoder: conditioning of %d tokens", lt);
    dgxm_status s = b->ops->copy_to_device(b, cond, conditioning, bytes, err);
    for (int i = 0; !s && i < dec->cfg.num_layers; i++) {
        size_t off = (size_t)i * lt * d;
        s = b->ops->linear(b, &dec->layers[i].ck, NULL, cond, lt, cross_k + off, false, err);
        if (!s)
            s = b->ops->linear(b, &dec->layers[i].cv, NULL, cond, lt, cross_v + off, false, err);
    }
    b->ops->release(b, cond);
    return s;
}

dgxm_status dgxm_decoder_check_generation(const dgxm_decoder *dec, int rows, int capacity,
                                          const float *conditioning, int lt, dgxm_error *err)
{
    if (rows < 1 || rows > 2 || capacity < 1 || capacity > dec->max_positions || lt < 0 ||
        (lt > 0 && !conditioning))
        return dgxm_error_set(
            err, DGXM_ERR_INVALID_ARG,
            "decoder: rows %d, capacity %d (at most %d positions), %d text tokens", rows, capacity,
            dec->max_positions, lt);
    return DGXM_OK;
}

dgxm_decoder_state *dgxm_decoder_state_new(dgxm_decoder *dec, int rows, int capacity,
                                           const float *conditioning, int lt, dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    const dgxm_decoder_config *c = &dec->cfg;
    if (dgxm_decoder_check_generation(dec, rows, capacity, conditioning, lt, err))
        return NULL;
    dgxm_decoder_state *st = calloc(1, sizeof *st);
    if (!st) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "decoder: out of memory");
        return NULL;
    }
    st->dec = dec;
    st->rows = rows;
    st->capacity = capacity;
    st->lt = lt;
    dgxm_backend *b = dec->b;
    const size_t d = (size_t)c->hidden_size;
    const size_t cache = (size_t)c->num_layers * capacity * rows * d;
    const size_t cross = (size_t)c->num_layers * (lt > 0 ? lt : 1) * d;
    struct {
        float **p;
        size_t n;
    } bufs[] = {
        { &st->k_cache, cache },
        { &st->v_cache, cache },
        { &st->cross_k, cross },
        { &st->cross_v, cross },
        { &st->x, rows * d },
        { &st->h, rows * d },
        { &st->q, rows * d },
        { &st->attn, rows * d },
        { &st->ff, rows * (size_t)c->ffn_dim },
        { &st->tmp, rows * d },
        { &st->logits, rows * (size_t)c->num_codebooks * c->vocab_size },
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        *bufs[i].p = b->ops->alloc(b, bufs[i].n * sizeof(float));
        if (!*bufs[i].p) {
            dgxm_error_set(err, DGXM_ERR_NOMEM,
                           "decoder: %zu bytes of state for %d positions x %d rows",
                           bufs[i].n * sizeof(float), capacity, rows);
            dgxm_decoder_state_free(st);
            return NULL;
        }
    }
    if (lt > 0 && dgxm_decoder_project_conditioning(dec, conditioning, lt, st->cross_k, st->cross_v,
                                                    err) != DGXM_OK) {
        dgxm_decoder_state_free(st);
        return NULL;
    }
    return st;
}

dgxm_status dgxm_decoder_state_seek(dgxm_decoder_state *st, int position, dgxm_error *err)
{
    if (position < 0 || position >= st->capacity)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "decoder: seek to %d outside a capacity of %d", position,
                              st->capacity);
    st->position = position;
    return DGXM_OK;
}

int dgxm_decoder_state_position(const dgxm_decoder_state *st)
{
    return st->position;
}

/* x = sum of the K codebook embeddings + the position's sinusoid, identical for every row. */
static dgxm_status embed_column(dgxm_decoder_state *st, const int32_t *tokens, dgxm_error *err)
{
    dgxm_decoder *dec = st->dec;
    dgxm_backend *b = dec->b;
    const int d = dec->cfg.hidden_size;
    dgxm_status s = b->ops->copy_to_device(b, st->x, dec->positions + (size_t)st->position * d,
                                           (size_t)d * sizeof(float), err);
    for (int k = 0; !s && k < dec->cfg.num_codebooks; k++) {
        s = b->ops->embedding(b, dec->embed[k], dec->cfg.vocab_size + 1, d, &tokens[k], 1, st->tmp,
                              err);
        if (!s)
            s = b->ops->add(b, st->tmp, st->x, (size_t)d, err);
    }
    for (int r = 1; !s && r < st->rows; r++)
        s = b->ops->copy_to_device(b, st->x + (size_t)r * d, st->x, (size_t)d * sizeof(float), err);
    return s;
}

static dgxm_status self_attention(dgxm_decoder_state *st, int layer, dgxm_error *err)
{
    dgxm_decoder *dec = st->dec;
    dgxm_backend *b = dec->b;
    const decoder_layer *l = &dec->layers[layer];
    const int d = dec->cfg.hidden_size, rows = st->rows, heads = dec->cfg.num_heads;
    const int head_dim = d / heads;
    float *k_layer = st->k_cache + (size_t)layer * st->capacity * rows * d;
    float *v_layer = st->v_cache + (size_t)layer * st->capacity * rows * d;
    float *k_new = k_layer + (size_t)st->position * rows * d;
    float *v_new = v_layer + (size_t)st->position * rows * d;
    dgxm_status s;
    if ((s = b->ops->layer_norm(b, st->x, l->ln_self.weight, l->ln_self.bias, rows, d, 1e-5f, st->h,
                                err)) ||
        (s = b->ops->linear(b, &l->q, NULL, st->h, rows, st->q, false, err)) ||
        (s = b->ops->linear(b, &l->k, NULL, st->h, rows, k_new, false, err)) ||
        (s = b->ops->linear(b, &l->v, NULL, st->h, rows, v_new, false, err)))
        return s;
    for (int r = 0; r < rows; r++) {
        s = b->ops->attention(b, st->q + (size_t)r * d, d, k_layer + (size_t)r * d,
                              v_layer + (size_t)r * d, rows * d, NULL, NULL, false, heads, 1,
                              st->position + 1, head_dim, 1.0f / sqrtf((float)head_dim),
                              st->attn + (size_t)r * d, err);
        if (s)
            return s;
    }
    return b->ops->linear(b, &l->o, NULL, st->attn, rows, st->x, true, err);
}

/* Only the conditioned row (row 0) attends to the text: the null row's memory is zeros, so its
 * values and therefore its whole cross-attention output are exactly zero. */
static dgxm_status cross_attention(dgxm_decoder_state *st, int layer, dgxm_error *err)
{
    if (st->lt == 0)
        return DGXM_OK;
    dgxm_decoder *dec = st->dec;
    dgxm_backend *b = dec->b;
    const decoder_layer *l = &dec->layers[layer];
    const int d = dec->cfg.hidden_size, heads = dec->cfg.num_heads, head_dim = d / heads;
    size_t off = (size_t)layer * st->lt * d;
    dgxm_status s;
    if ((s = b->ops->layer_norm(b, st->x, l->ln_cross.weight, l->ln_cross.bias, 1, d, 1e-5f, st->h,
                                err)) ||
        (s = b->ops->linear(b, &l->cq, NULL, st->h, 1, st->q, false, err)) ||
        (s = b->ops->attention(b, st->q, d, st->cross_k + off, st->cross_v + off, d, NULL, NULL,
                               false, heads, 1, st->lt, head_dim, 1.0f / sqrtf((float)head_dim),
                               st->attn, err)))
        return s;
    return b->ops->linear(b, &l->co, NULL, st->attn, 1, st->x, true, err);
}

static dgxm_status feed_forward(dgxm_decoder_state *st, int layer, dgxm_error *err)
{
    dgxm_decoder *dec = st->dec;
    dgxm_backend *b = dec->b;
    const decoder_layer *l = &dec->layers[layer];
    const int d = dec->cfg.hidden_size, rows = st->rows;
    dgxm_status s;
    if ((s = b->ops->layer_norm(b, st->x, l->ln_ff.weight, l->ln_ff.bias, rows, d, 1e-5f, st->h,
                                err)) ||
        (s = b->ops->linear(b, &l->fc1, NULL, st->h, rows, st->ff, false, err)) ||
        (s = b->ops->gelu(b, st->ff, (size_t)rows * dec->cfg.ffn_dim, err)))
        return s;
    return b->ops->linear(b, &l->fc2, NULL, st->ff, rows, st->x, true, err);
}

dgxm_status dgxm_decoder_step(dgxm_decoder_state *st, const int32_t *tokens, float *logits,
                              dgxm_error *err)
{
    dgxm_decoder *dec = st->dec;
    dgxm_backend *b = dec->b;
    const dgxm_decoder_config *c = &dec->cfg;
    if (st->position >= st->capacity)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "decoder: position %d is past the generation's capacity %d",
                              st->position, st->capacity);
    dgxm_status s = embed_column(st, tokens, err);
    for (int i = 0; !s && i < c->num_layers; i++) {
        s = self_attention(st, i, err);
        if (!s)
            s = cross_attention(st, i, err);
        if (!s)
            s = feed_forward(st, i, err);
    }
    if (!s)
        s = b->ops->layer_norm(b, st->x, dec->ln_out.weight, dec->ln_out.bias, st->rows,
                               c->hidden_size, 1e-5f, st->h, err);
    if (!s)
        s = b->ops->linear(b, &dec->heads, NULL, st->h, st->rows, st->logits, false, err);
    if (!s)
        s = b->ops->copy_to_host(
            b, logits, st->logits,
            (size_t)st->rows * c->num_codebooks * c->vocab_size * sizeof(float), err);
    if (!s)
        st->position++;
    return s;
}
