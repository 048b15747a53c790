/* Builds the backend's fused-step description from the decoder's uploaded weights. */
#include "decoder_fused.h"

#include "decoder_internal.h"
#include "fused_step.h"

#include <stdlib.h>

struct dgxm_decoder_fused {
    dgxm_decoder *dec;
    const dgxm_fused_step_ops *ops;
    dgxm_fused_program *program;
    float *cross_k, *cross_v; /* [layers][lt][hidden], backend memory */
};

void dgxm_decoder_fused_free(dgxm_decoder_fused *f)
{
    if (!f)
        return;
    dgxm_backend *b = f->dec->b;
    if (f->program)
        f->ops->program_free(b, f->program);
    b->ops->release(b, f->cross_k);
    b->ops->release(b, f->cross_v);
    free(f);
}

static dgxm_fused_layer layer_of(const decoder_layer *l, const float *ck, const float *cv)
{
    return (dgxm_fused_layer){ .ln_self_w = l->ln_self.weight,
                               .ln_self_b = l->ln_self.bias,
                               .ln_cross_w = l->ln_cross.weight,
                               .ln_cross_b = l->ln_cross.bias,
                               .ln_ff_w = l->ln_ff.weight,
                               .ln_ff_b = l->ln_ff.bias,
                               .q = &l->q,
                               .k = &l->k,
                               .v = &l->v,
                               .o = &l->o,
                               .cq = &l->cq,
                               .co = &l->co,
                               .fc1 = &l->fc1,
                               .fc2 = &l->fc2,
                               .cross_k = ck,
                               .cross_v = cv };
}

static dgxm_status build(dgxm_decoder_fused *f, int rows, int capacity, const float *conditioning,
                         int lt, const dgxm_sampling *sampling, dgxm_error *err)
{
    dgxm_decoder *dec = f->dec;
    dgxm_backend *b = dec->b;
    const dgxm_decoder_config *c = &dec->cfg;
    const size_t cross = (size_t)c->num_layers * (lt > 0 ? lt : 1) * c->hidden_size;
    f->cross_k = b->ops->alloc(b, cross * sizeof(float));
    f->cross_v = b->ops->alloc(b, cross * sizeof(float));
    if (!f->cross_k || !f->cross_v)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "decoder: cross-attention memory for %d tokens",
                              lt);
    dgxm_status s = DGXM_OK;
    if (lt > 0 &&
        (s = dgxm_decoder_project_conditioning(dec, conditioning, lt, f->cross_k, f->cross_v, err)))
        return s;
    dgxm_fused_layer *layers = malloc((size_t)c->num_layers * sizeof *layers);
    if (!layers)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "decoder: out of memory");
    for (int i = 0; i < c->num_layers; i++) {
        size_t off = (size_t)i * lt * c->hidden_size;
        layers[i] = layer_of(&dec->layers[i], f->cross_k + off, f->cross_v + off);
    }
    dgxm_fused_desc d = {
        .layers = c->num_layers,
        .hidden = c->hidden_size,
        .heads = c->num_heads,
        .ffn = c->ffn_dim,
        .codebooks = c->num_codebooks,
        .vocab = c->vocab_size,
        .channels = c->audio_channels,
        .rows = rows,
        .capacity = capacity,
        .lt = lt,
        .embed = (const float *const *)dec->embed,
        .positions_host = dec->positions,
        .layer = layers,
        .ln_out_w = dec->ln_out.weight,
        .ln_out_b = dec->ln_out.bias,
        .lm_heads = &dec->heads,
        .sampling = { .greedy = sampling->greedy,
                      .temperature = sampling->temperature,
                      .top_k = sampling->top_k,
                      .top_p = sampling->top_p,
                      .guidance = (float)sampling->guidance,
                      .seed = sampling->seed },
    };
    f->program = f->ops->program_new(b, &d, err);
    free(layers);
    return f->program ? DGXM_OK : err->status;
}

dgxm_decoder_fused *dgxm_decoder_fused_new(dgxm_decoder *dec, int rows, int capacity,
                                           const float *conditioning, int lt,
                                           const dgxm_sampling *sampling, dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    const dgxm_fused_step_ops *ops = dec->b->ops->fused_step;
    if (!ops) {
        dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "decoder: the %s backend steps op by op",
                       dec->b->ops->name);
        return NULL;
    }
    if (dgxm_decoder_check_generation(dec, rows, capacity, conditioning, lt, err))
        return NULL;
    dgxm_decoder_fused *f = calloc(1, sizeof *f);
    if (!f) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "decoder: out of memory");
        return NULL;
    }
    f->dec = dec;
    f->ops = ops;
    if (build(f, rows, capacity, conditioning, lt, sampling, err)) {
        dgxm_decoder_fused_free(f);
        return NULL;
    }
    return f;
}

dgxm_status dgxm_decoder_fused_window(dgxm_decoder_fused *f, const int32_t *grid, int columns,
                                      int prompt, int frames, int step_base, dgxm_error *err)
{
    return f->ops->window_begin(f->dec->b, f->program, grid, columns, prompt, frames, step_base,
                                err);
}

dgxm_status dgxm_decoder_fused_step(dgxm_decoder_fused *f, int32_t *column, bool queue_next,
                                    dgxm_error *err)
{
    return f->ops->step(f->dec->b, f->program, column, queue_next, err);
}

dgxm_status dgxm_decoder_fused_logits(dgxm_decoder_fused *f, float *logits, dgxm_error *err)
{
    return f->ops->read_logits(f->dec->b, f->program, logits, err);
}

int dgxm_decoder_fused_kernels(const dgxm_decoder_fused *f)
{
    return f->ops->kernels_per_step(f->program);
}

int dgxm_decoder_fused_profile(dgxm_decoder_fused *f, dgxm_fused_profile_entry *out, int max,
                               dgxm_error *err)
{
    return f->ops->profile(f->dec->b, f->program, out, max, err);
}
