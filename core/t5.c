/* T5 encoder (t5-base as used by MusicGen: ReLU feed-forward, RMS norms, relative position
 * bias from block 0 shared by every block, no attention scaling) and enc_to_dec_proj.
 * The math follows the Hugging Face T5EncoderModel; see docs/architecture.md. */
#include "t5.h"
#include "weight_upload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct t5_block {
    float *ln_attn; /* [d] */
    float *ln_ff;   /* [d] */
    dgxm_matrix q, k, v, o, wi, wo;
} t5_block;

struct dgxm_t5 {
    dgxm_backend *b;
    dgxm_t5_config cfg;
    int proj_width;        /* decoder hidden size */
    float *embedding;      /* [vocab][d], backend memory */
    float *rel_bias_table; /* [buckets][heads], host */
    float *ln_final;
    t5_block *blocks;
    dgxm_matrix proj;
    float *proj_bias;
    bool has_proj;
};

int dgxm_t5_relative_bucket(int relative_position, int num_buckets, int max_distance)
{
    int half = num_buckets / 2;
    int bucket = relative_position > 0 ? half : 0;
    int n = abs(relative_position);
    int max_exact = half / 2;
    if (n < max_exact)
        return bucket + n;
    /* float32 throughout, truncation toward zero, like the reference's tensor arithmetic */
    float ratio =
        logf((float)n / (float)max_exact) / (float)log((double)max_distance / (double)max_exact);
    int large = max_exact + (int)(ratio * (float)(half - max_exact));
    if (large > half - 1)
        large = half - 1;
    return bucket + large;
}

static dgxm_status load_block(dgxm_t5 *t5, const dgxm_weights *w, int i, dgxm_error *err)
{
    const dgxm_t5_config *c = &t5->cfg;
    t5_block *blk = &t5->blocks[i];
    const int inner = c->num_heads * c->d_kv;
    const int64_t vec[1] = { c->d_model };
    char name[160];
#define BLOCK_NAME(suffix) \
    (snprintf(name, sizeof name, "text_encoder.encoder.block.%d.layer.%s", i, suffix), name)
    if (!(blk->ln_attn =
              dgxm_weights_upload(t5->b, w, BLOCK_NAME("0.layer_norm.weight"), 1, vec, err)) ||
        !(blk->ln_ff =
              dgxm_weights_upload(t5->b, w, BLOCK_NAME("1.layer_norm.weight"), 1, vec, err)))
        return err ? err->status : DGXM_ERR_FORMAT;
    dgxm_status st;
    if ((st = dgxm_weights_upload_matrix(t5->b, w, BLOCK_NAME("0.SelfAttention.q.weight"), inner,
                                         c->d_model, DGXM_WEIGHT_F32, &blk->q, err)) ||
        (st = dgxm_weights_upload_matrix(t5->b, w, BLOCK_NAME("0.SelfAttention.k.weight"), inner,
                                         c->d_model, DGXM_WEIGHT_F32, &blk->k, err)) ||
        (st = dgxm_weights_upload_matrix(t5->b, w, BLOCK_NAME("0.SelfAttention.v.weight"), inner,
                                         c->d_model, DGXM_WEIGHT_F32, &blk->v, err)) ||
        (st = dgxm_weights_upload_matrix(t5->b, w, BLOCK_NAME("0.SelfAttention.o.weight"),
                                         c->d_model, inner, DGXM_WEIGHT_F32, &blk->o, err)) ||
        (st = dgxm_weights_upload_matrix(t5->b, w, BLOCK_NAME("1.DenseReluDense.wi.weight"),
                                         c->d_ff, c->d_model, DGXM_WEIGHT_F32, &blk->wi, err)) ||
        (st = dgxm_weights_upload_matrix(t5->b, w, BLOCK_NAME("1.DenseReluDense.wo.weight"),
                                         c->d_model, c->d_ff, DGXM_WEIGHT_F32, &blk->wo, err)))
        return st;
#undef BLOCK_NAME
    return DGXM_OK;
}

dgxm_t5 *dgxm_t5_new(dgxm_backend *backend, const dgxm_weights *w, const dgxm_model_config *cfg,
                     dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    if (cfg->t5.gated_gelu) {
        dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                       "config.json: text_encoder.feed_forward_proj: gated-gelu T5 encoders are "
                       "not supported (every released MusicGen uses relu t5-base)");
        return NULL;
    }
    dgxm_t5 *t5 = calloc(1, sizeof *t5);
    if (!t5) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "t5: out of memory");
        return NULL;
    }
    t5->b = backend;
    t5->cfg = cfg->t5;
    t5->proj_width = cfg->decoder.hidden_size;
    const dgxm_t5_config *c = &t5->cfg;
    t5->blocks = calloc((size_t)c->num_layers, sizeof *t5->blocks);
    if (!t5->blocks) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "t5: out of memory");
        dgxm_t5_free(t5);
        return NULL;
    }

    /* The embedding is tied: "shared" is canonical, encoder.embed_tokens a saved alias. */
    const int64_t emb_shape[2] = { c->vocab_size, c->d_model };
    const char *emb_name = dgxm_weights_find(w, "text_encoder.shared.weight")
                               ? "text_encoder.shared.weight"
                               : "text_encoder.encoder.embed_tokens.weight";
    const int64_t rel_shape[2] = { c->num_buckets, c->num_heads };
    const int64_t vec[1] = { c->d_model };
    t5->embedding = dgxm_weights_upload(backend, w, emb_name, 2, emb_shape, err);
    if (t5->embedding)
        t5->rel_bias_table = dgxm_weights_load_host(
            w, "text_encoder.encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            2, rel_shape, err);
    if (t5->rel_bias_table)
        t5->ln_final = dgxm_weights_upload(
            backend, w, "text_encoder.encoder.final_layer_norm.weight", 1, vec, err);
    if (!t5->ln_final) {
        dgxm_t5_free(t5);
        return NULL;
    }
    for (int i = 0; i < c->num_layers; i++) {
        if (load_block(t5, w, i, err) != DGXM_OK) {
            dgxm_t5_free(t5);
            return NULL;
        }
    }
    /* The reference creates enc_to_dec_proj only when the widths differ; with equal widths a
     * stored projection is never used. */
    t5->has_proj = c->d_model != t5->proj_width;
    if (t5->has_proj) {
        const int64_t bias_shape[1] = { t5->proj_width };
        if (dgxm_weights_upload_matrix(backend, w, "enc_to_dec_proj.weight", t5->proj_width,
                                       c->d_model, DGXM_WEIGHT_F32, &t5->proj, err) != DGXM_OK ||
            !(t5->proj_bias =
                  dgxm_weights_upload(backend, w, "enc_to_dec_proj.bias", 1, bias_shape, err))) {
            dgxm_t5_free(t5);
            return NULL;
        }
    }
    return t5;
}

void dgxm_t5_free(dgxm_t5 *t5)
{
    if (!t5)
        return;
    dgxm_backend *b = t5->b;
    for (int i = 0; t5->blocks && i < t5->cfg.num_layers; i++) {
        t5_block *blk = &t5->blocks[i];
        b->ops->release(b, blk->ln_attn);
        b->ops->release(b, blk->ln_ff);
        dgxm_matrix *mats[] = { &blk->q, &blk->k, &blk->v, &blk->o, &blk->wi, &blk->wo };
        for (size_t m = 0; m < sizeof mats / sizeof mats[0]; m++)
            if (mats[m]->data)
                b->ops->matrix_free(b, mats[m]);
    }
    free(t5->blocks);
    if (t5->proj.data)
        b->ops->matrix_free(b, &t5->proj);
    b->ops->release(b, t5->proj_bias);
    b->ops->release(b, t5->embedding);
    b->ops->release(b, t5->ln_final);
    free(t5->rel_bias_table);
    free(t5);
}

/* Scratch activations of one encode call, in backend memory. */
typedef struct t5_scratch {
    float *x, *h, *q, *k, *v, *attn, *ff, *bias;
} t5_scratch;

static void scratch_free(dgxm_backend *b, t5_scratch *s)
{
    float *all[] = { s->x, s->h, s->q, s->k, s->v, s->attn, s->ff, s->bias };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        b->ops->release(b, all[i]);
}

static dgxm_status scratch_alloc(dgxm_t5 *t5, int n, t5_scratch *s, dgxm_error *err)
{
    const dgxm_t5_config *c = &t5->cfg;
    size_t inner = (size_t)c->num_heads * c->d_kv;
    size_t wide =
        (size_t)c->d_ff > (size_t)t5->proj_width ? (size_t)c->d_ff : (size_t)t5->proj_width;
    size_t sizes[] = { (size_t)c->d_model, (size_t)c->d_model, inner, inner, inner, inner, wide };
    float **bufs[] = { &s->x, &s->h, &s->q, &s->k, &s->v, &s->attn, &s->ff };
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (!(*bufs[i] = t5->b->ops->alloc(t5->b, sizes[i] * (size_t)n * sizeof(float))))
            return dgxm_error_set(err, DGXM_ERR_NOMEM, "t5: activations for %d tokens", n);
    s->bias = t5->b->ops->alloc(t5->b, (size_t)c->num_heads * n * n * sizeof(float));
    if (!s->bias)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "t5: position bias for %d tokens", n);
    return DGXM_OK;
}

/* bias[h][i][j] = table[bucket(j - i)][h]: built once per prompt on the host, shared by every
 * block (block 0's table is the only one). */
static dgxm_status upload_position_bias(dgxm_t5 *t5, int n, float *dev, dgxm_error *err)
{
    const dgxm_t5_config *c = &t5->cfg;
    size_t count = (size_t)c->num_heads * n * n;
    float *host = malloc(count * sizeof *host);
    if (!host)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "t5: position bias for %d tokens", n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int bucket = dgxm_t5_relative_bucket(j - i, c->num_buckets, c->max_distance);
            for (int h = 0; h < c->num_heads; h++)
                host[((size_t)h * n + i) * n + j] = t5->rel_bias_table[bucket * c->num_heads + h];
        }
    dgxm_status st = t5->b->ops->copy_to_device(t5->b, dev, host, count * sizeof *host, err);
    free(host);
    return st;
}

static dgxm_status run_block(dgxm_t5 *t5, const t5_block *blk, int n, t5_scratch *s,
                             dgxm_error *err)
{
    const dgxm_backend_ops *op = t5->b->ops;
    dgxm_backend *b = t5->b;
    const dgxm_t5_config *c = &t5->cfg;
    const int inner = c->num_heads * c->d_kv;
    const float eps = (float)c->layer_norm_eps;
    dgxm_status st;
    if ((st = op->rms_norm(b, s->x, blk->ln_attn, n, c->d_model, eps, s->h, err)) ||
        (st = op->linear(b, &blk->q, NULL, s->h, n, s->q, false, err)) ||
        (st = op->linear(b, &blk->k, NULL, s->h, n, s->k, false, err)) ||
        (st = op->linear(b, &blk->v, NULL, s->h, n, s->v, false, err)) ||
        /* T5 folds 1/sqrt(d_kv) into its weights: the scores are not scaled */
        (st = op->attention(b, s->q, inner, s->k, s->v, inner, s->bias, NULL, false, c->num_heads,
                            n, n, c->d_kv, 1.0f, s->attn, err)) ||
        (st = op->linear(b, &blk->o, NULL, s->attn, n, s->x, true, err)) ||
        (st = op->rms_norm(b, s->x, blk->ln_ff, n, c->d_model, eps, s->h, err)) ||
        (st = op->linear(b, &blk->wi, NULL, s->h, n, s->ff, false, err)) ||
        (st = op->relu(b, s->ff, (size_t)n * c->d_ff, err)) ||
        (st = op->linear(b, &blk->wo, NULL, s->ff, n, s->x, true, err)))
        return st;
    return DGXM_OK;
}

dgxm_status dgxm_t5_encode(dgxm_t5 *t5, const int32_t *ids, int n, float *hidden,
                           float *conditioning, dgxm_error *err)
{
    if (n <= 0)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "t5: a prompt needs at least one id");
    const dgxm_t5_config *c = &t5->cfg;
    dgxm_backend *b = t5->b;
    t5_scratch s;
    dgxm_status st = scratch_alloc(t5, n, &s, err);
    if (!st)
        st = b->ops->embedding(b, t5->embedding, c->vocab_size, c->d_model, ids, n, s.x, err);
    if (!st)
        st = upload_position_bias(t5, n, s.bias, err);
    for (int i = 0; !st && i < c->num_layers; i++)
        st = run_block(t5, &t5->blocks[i], n, &s, err);
    if (!st)
        st = b->ops->rms_norm(b, s.x, t5->ln_final, n, c->d_model, (float)c->layer_norm_eps, s.h,
                              err);
    size_t hidden_bytes = (size_t)n * c->d_model * sizeof(float);
    if (!st && hidden)
        st = b->ops->copy_to_host(b, hidden, s.h, hidden_bytes, err);
    if (!st && conditioning) {
        size_t cond_bytes = (size_t)n * t5->proj_width * sizeof(float);
        if (t5->has_proj) {
            st = b->ops->linear(b, &t5->proj, t5->proj_bias, s.h, n, s.ff, false, err);
            if (!st)
                st = b->ops->copy_to_host(b, conditioning, s.ff, cond_bytes, err);
        } else {
            st = b->ops->copy_to_host(b, conditioning, s.h, cond_bytes, err);
        }
    }
    scratch_free(b, &s);
    return st;
}
