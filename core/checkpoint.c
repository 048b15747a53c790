/* Open a MusicGen checkpoint directory and check every tensor the model needs: see checkpoint.h.
 * The checks read top to bottom in model order: T5, projection, decoder LM, EnCodec. */
#include "checkpoint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    NAME_MAX_LEN = 256
};

struct dgxm_checkpoint {
    char *dir;
    dgxm_model_config config;
    dgxm_weights *weights;
    const dgxm_tensor *t5_embedding;
    bool has_codec_encoder;
    dgxm_encodec_plan codec_decoder;
    dgxm_encodec_plan codec_encoder;
    dgxm_checkpoint_entry *entries;
    size_t entry_count;
    size_t entry_cap;
    char name[NAME_MAX_LEN]; /* scratch: the tensor name being checked (open only) */
};

/* The status a failed callee left in err (never OK), for callees that return NULL. */
static dgxm_status failure(const dgxm_error *err, dgxm_status fallback)
{
    return err && err->status != DGXM_OK ? err->status : fallback;
}

void dgxm_checkpoint_free(dgxm_checkpoint *ckpt)
{
    if (!ckpt)
        return;
    dgxm_weights_free(ckpt->weights);
    free(ckpt->entries);
    free(ckpt->dir);
    free(ckpt);
}

static dgxm_status record(dgxm_checkpoint *ck, const dgxm_tensor *t, dgxm_weight_role role,
                          dgxm_error *err)
{
    if (ck->entry_count == ck->entry_cap) {
        size_t cap = ck->entry_cap ? 2 * ck->entry_cap : 256;
        dgxm_checkpoint_entry *grown = realloc(ck->entries, cap * sizeof *grown);
        if (!grown)
            return dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", ck->dir);
        ck->entries = grown;
        ck->entry_cap = cap;
    }
    ck->entries[ck->entry_count++] = (dgxm_checkpoint_entry){ t, role };
    return DGXM_OK;
}

/* Checks the tensor named ck->name: required (must exist) or optional (checked when stored). */
static dgxm_status check_named(dgxm_checkpoint *ck, dgxm_weight_role role, bool optional,
                               const int64_t *shape, int ndim, dgxm_error *err)
{
    const dgxm_tensor *t = dgxm_weights_find(ck->weights, ck->name);
    if (!t && optional)
        return DGXM_OK;
    t = dgxm_weights_require(ck->weights, ck->name, ndim, shape, err);
    return t ? record(ck, t, role, err) : failure(err, DGXM_ERR_FORMAT);
}

#define SHAPE(...) ((const int64_t[]){ __VA_ARGS__ })
#define NDIM(...)  ((int)(sizeof((const int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)))
/* Need (required) or allow (optional) a tensor of shape (dims...) named by a printf format and
 * its arguments. Names are formatted in place, not through a variadic helper, so the compiler
 * checks every format against its arguments. */
#define NEED(role, dims, ...)                          \
    (snprintf(ck->name, sizeof ck->name, __VA_ARGS__), \
     check_named(ck, role, false, SHAPE dims, NDIM dims, err))
#define ALLOW(role, dims, ...)                         \
    (snprintf(ck->name, sizeof ck->name, __VA_ARGS__), \
     check_named(ck, role, true, SHAPE dims, NDIM dims, err))

/* shared.weight, or the tied encoder.embed_tokens copy; both stored: same shape. */
static dgxm_status check_t5_embedding(dgxm_checkpoint *ck, dgxm_error *err)
{
    const dgxm_t5_config *t = &ck->config.t5;
    const dgxm_tensor *shared = dgxm_weights_find(ck->weights, DGXM_T5_SHARED_FMT);
    const dgxm_tensor *copy = dgxm_weights_find(ck->weights, DGXM_T5_EMBED_TOKENS_FMT);
    dgxm_status s;
    if (shared || !copy) {
        s = NEED(DGXM_ROLE_T5, (t->vocab_size, t->d_model), DGXM_T5_SHARED_FMT);
        if (!s)
            s = ALLOW(DGXM_ROLE_T5_TIED_COPY, (t->vocab_size, t->d_model),
                      DGXM_T5_EMBED_TOKENS_FMT);
    } else {
        s = NEED(DGXM_ROLE_T5, (t->vocab_size, t->d_model), DGXM_T5_EMBED_TOKENS_FMT);
    }
    ck->t5_embedding = shared ? shared : copy;
    return s;
}

static dgxm_status check_t5(dgxm_checkpoint *ck, dgxm_error *err)
{
    const dgxm_t5_config *t = &ck->config.t5;
    const int64_t d = t->d_model, inner = (int64_t)t->num_heads * t->d_kv, ff = t->d_ff;
    const dgxm_weight_role r = DGXM_ROLE_T5;
    dgxm_status s = check_t5_embedding(ck, err);
    if (!s)
        s = NEED(r, (t->num_buckets, t->num_heads), DGXM_T5_REL_BIAS_FMT);
    for (int i = 0; !s && i < t->num_layers; i++) {
        s = NEED(r, (inner, d), DGXM_T5_Q_FMT, i);
        if (!s)
            s = NEED(r, (inner, d), DGXM_T5_K_FMT, i);
        if (!s)
            s = NEED(r, (inner, d), DGXM_T5_V_FMT, i);
        if (!s)
            s = NEED(r, (d, inner), DGXM_T5_O_FMT, i);
        if (!s)
            s = NEED(r, (d), DGXM_T5_ATTN_NORM_FMT, i);
        if (!s)
            s = NEED(r, (d), DGXM_T5_FF_NORM_FMT, i);
        if (!s && t->gated_gelu) {
            s = NEED(r, (ff, d), DGXM_T5_WI0_FMT, i);
            if (!s)
                s = NEED(r, (ff, d), DGXM_T5_WI1_FMT, i);
        } else if (!s) {
            s = NEED(r, (ff, d), DGXM_T5_WI_FMT, i);
        }
        if (!s)
            s = NEED(r, (d, ff), DGXM_T5_WO_FMT, i);
    }
    if (!s)
        s = NEED(r, (d), DGXM_T5_FINAL_NORM_FMT);
    return s;
}

static dgxm_status check_projection(dgxm_checkpoint *ck, dgxm_error *err)
{
    if (!dgxm_checkpoint_has_projection(ck))
        return DGXM_OK;
    int64_t d = ck->config.decoder.hidden_size, dt = ck->config.t5.d_model;
    dgxm_status s = NEED(DGXM_ROLE_PROJ, (d, dt), DGXM_PROJ_WEIGHT_FMT);
    if (!s)
        s = NEED(DGXM_ROLE_PROJ, (d), DGXM_PROJ_BIAS_FMT);
    return s;
}

static dgxm_status check_decoder_layer(dgxm_checkpoint *ck, int i, dgxm_error *err)
{
    const dgxm_decoder_config *c = &ck->config.decoder;
    const int64_t d = c->hidden_size, f = c->ffn_dim;
    const dgxm_weight_role lin = DGXM_ROLE_DEC_LINEAR, norm = DGXM_ROLE_DEC_NORM;
    dgxm_status s = NEED(lin, (d, d), DGXM_DEC_SA_Q_FMT, i);
    if (!s)
        s = NEED(lin, (d, d), DGXM_DEC_SA_K_FMT, i);
    if (!s)
        s = NEED(lin, (d, d), DGXM_DEC_SA_V_FMT, i);
    if (!s)
        s = NEED(lin, (d, d), DGXM_DEC_SA_O_FMT, i);
    if (!s)
        s = NEED(norm, (d), DGXM_DEC_SA_NORM_W_FMT, i);
    if (!s)
        s = NEED(norm, (d), DGXM_DEC_SA_NORM_B_FMT, i);
    if (!s)
        s = NEED(lin, (d, d), DGXM_DEC_CA_Q_FMT, i);
    if (!s)
        s = NEED(lin, (d, d), DGXM_DEC_CA_K_FMT, i);
    if (!s)
        s = NEED(lin, (d, d), DGXM_DEC_CA_V_FMT, i);
    if (!s)
        s = NEED(lin, (d, d), DGXM_DEC_CA_O_FMT, i);
    if (!s)
        s = NEED(norm, (d), DGXM_DEC_CA_NORM_W_FMT, i);
    if (!s)
        s = NEED(norm, (d), DGXM_DEC_CA_NORM_B_FMT, i);
    if (!s)
        s = NEED(norm, (d), DGXM_DEC_FF_NORM_W_FMT, i);
    if (!s)
        s = NEED(norm, (d), DGXM_DEC_FF_NORM_B_FMT, i);
    if (!s)
        s = NEED(lin, (f, d), DGXM_DEC_FC1_FMT, i);
    if (!s)
        s = NEED(lin, (d, f), DGXM_DEC_FC2_FMT, i);
    return s;
}

static dgxm_status check_decoder(dgxm_checkpoint *ck, dgxm_error *err)
{
    const dgxm_decoder_config *c = &ck->config.decoder;
    const int64_t d = c->hidden_size, v = c->vocab_size;
    dgxm_status s = DGXM_OK;
    for (int k = 0; !s && k < c->num_codebooks; k++)
        s = NEED(DGXM_ROLE_DEC_EMBED, (v + 1, d), DGXM_DEC_EMBED_FMT, k);
    if (!s)
        s = ALLOW(DGXM_ROLE_DEC_POSITIONS, (c->max_position_embeddings, d), DGXM_DEC_POSITIONS_FMT);
    for (int i = 0; !s && i < c->num_layers; i++)
        s = check_decoder_layer(ck, i, err);
    if (!s)
        s = NEED(DGXM_ROLE_DEC_NORM, (d), DGXM_DEC_OUT_NORM_W_FMT);
    if (!s)
        s = NEED(DGXM_ROLE_DEC_NORM, (d), DGXM_DEC_OUT_NORM_B_FMT);
    for (int k = 0; !s && k < c->num_codebooks; k++)
        s = NEED(DGXM_ROLE_DEC_HEAD, (v, d), DGXM_DEC_LM_HEAD_FMT, k);
    return s;
}

/* The two spellings of a weight-norm pair: {g, v} suffixes after "<prefix>.conv.". */
static const char *const wn_names[2][2] = {
    { "weight_g", "weight_v" },
    { "parametrizations.weight.original0", "parametrizations.weight.original1" },
};

static const dgxm_tensor *conv_tensor(const dgxm_checkpoint *ck, const char *prefix,
                                      const char *suffix)
{
    char name[NAME_MAX_LEN];
    snprintf(name, sizeof name, "%s.conv.%s", prefix, suffix);
    return dgxm_weights_find(ck->weights, name);
}

dgxm_status dgxm_checkpoint_conv(const dgxm_checkpoint *ck, const char *prefix,
                                 dgxm_conv_tensors *out, dgxm_error *err)
{
    memset(out, 0, sizeof *out);
    int naming =
        conv_tensor(ck, prefix, wn_names[0][0]) || conv_tensor(ck, prefix, wn_names[0][1]) ? 0 : 1;
    out->legacy = naming == 0;
    out->g = conv_tensor(ck, prefix, wn_names[naming][0]);
    out->v = conv_tensor(ck, prefix, wn_names[naming][1]);
    out->bias = conv_tensor(ck, prefix, "bias");
    const char *missing = !out->v      ? wn_names[naming][1]
                          : !out->g    ? wn_names[naming][0]
                          : !out->bias ? "bias"
                                       : NULL;
    if (!missing)
        return DGXM_OK;
    if (!out->v && !out->g)
        return dgxm_error_set(err, DGXM_ERR_FORMAT,
                              "%s: tensor %s.conv.weight_v (or %s.conv.%s): missing", ck->dir,
                              prefix, prefix, wn_names[1][1]);
    return dgxm_error_set(err, DGXM_ERR_FORMAT, "%s: tensor %s.conv.%s: missing", ck->dir, prefix,
                          missing);
}

/* A weight-normed conv: v [out, in, k] (convtr: [in, out, k]), g [dim0, 1, 1], bias [out]. */
static dgxm_status check_conv(dgxm_checkpoint *ck, const dgxm_encodec_layer *l,
                              dgxm_weight_role role, dgxm_error *err)
{
    dgxm_conv_tensors c;
    dgxm_status s = dgxm_checkpoint_conv(ck, l->prefix, &c, err);
    if (s)
        return s;
    bool tr = l->kind == DGXM_ENCODEC_CONVTR;
    int64_t d0 = tr ? l->in_channels : l->out_channels, d1 = tr ? l->out_channels : l->in_channels;
    s = dgxm_weights_check(ck->weights, c.v, 3, SHAPE(d0, d1, l->kernel), err);
    if (!s)
        s = dgxm_weights_check(ck->weights, c.g, 3, SHAPE(d0, 1, 1), err);
    if (!s)
        s = dgxm_weights_check(ck->weights, c.bias, 1, SHAPE(l->out_channels), err);
    if (!s)
        s = record(ck, c.v, role, err);
    if (!s)
        s = record(ck, c.g, role == DGXM_ROLE_CODEC_WEIGHT ? DGXM_ROLE_CODEC_NORM_G : role, err);
    if (!s)
        s = record(ck, c.bias, role, err);
    return s;
}

static dgxm_status check_lstm(dgxm_checkpoint *ck, const dgxm_encodec_layer *l,
                              dgxm_weight_role role, dgxm_error *err)
{
    const int64_t c = l->in_channels;
    dgxm_status s = DGXM_OK;
    for (int k = 0; !s && k < l->lstm_layers; k++) {
        s = NEED(role, (4 * c, c), DGXM_CODEC_LSTM_W_IH_FMT, l->prefix, k);
        if (!s)
            s = NEED(role, (4 * c, c), DGXM_CODEC_LSTM_W_HH_FMT, l->prefix, k);
        if (!s)
            s = NEED(role, (4 * c), DGXM_CODEC_LSTM_B_IH_FMT, l->prefix, k);
        if (!s)
            s = NEED(role, (4 * c), DGXM_CODEC_LSTM_B_HH_FMT, l->prefix, k);
    }
    return s;
}

static dgxm_status check_codec_plan(dgxm_checkpoint *ck, const dgxm_encodec_plan *plan,
                                    dgxm_weight_role role, dgxm_error *err)
{
    dgxm_status s = DGXM_OK;
    for (int i = 0; !s && i < plan->count; i++) {
        const dgxm_encodec_layer *l = &plan->layers[i];
        switch (l->kind) {
        case DGXM_ENCODEC_CONV:
        case DGXM_ENCODEC_CONVTR: s = check_conv(ck, l, role, err); break;
        case DGXM_ENCODEC_LSTM: s = check_lstm(ck, l, role, err); break;
        case DGXM_ENCODEC_RESBLOCK: {
            dgxm_encodec_layer convs[3];
            int n = dgxm_encodec_resblock_convs(l, convs);
            for (int j = 0; !s && j < n; j++)
                s = check_conv(ck, &convs[j], role, err);
            break;
        }
        case DGXM_ENCODEC_ELU: break;
        }
    }
    return s;
}

static bool stores_prefix(const dgxm_weights *w, const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < dgxm_weights_count(w); i++)
        if (!strncmp(dgxm_weights_at(w, i)->name, prefix, n))
            return true;
    return false;
}

static dgxm_status check_codec(dgxm_checkpoint *ck, dgxm_error *err)
{
    const dgxm_encodec_config *e = &ck->config.encodec;
    dgxm_status s = dgxm_encodec_decoder_plan(e, &ck->codec_decoder, err);
    if (!s)
        s = check_codec_plan(ck, &ck->codec_decoder, DGXM_ROLE_CODEC_WEIGHT, err);
    for (int q = 0; !s && q < e->num_quantizers; q++)
        s = NEED(DGXM_ROLE_CODEC_CODEBOOK, (e->codebook_size, e->codebook_dim),
                 DGXM_CODEC_CODEBOOK_FMT, q);
    ck->has_codec_encoder = stores_prefix(ck->weights, "audio_encoder.encoder.");
    if (!s && ck->has_codec_encoder) {
        s = dgxm_encodec_encoder_plan(e, &ck->codec_encoder, err);
        if (!s)
            s = check_codec_plan(ck, &ck->codec_encoder, DGXM_ROLE_CODEC_ENCODER, err);
    }
    return s;
}

dgxm_checkpoint *dgxm_checkpoint_open(const char *dir, dgxm_error *err)
{
    if (dgxm_checkpoint_dir_check(dir, err) != DGXM_OK)
        return NULL;
    dgxm_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->dir = strdup(dir))) {
        free(ck);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "%s: no memory", dir);
        return NULL;
    }
    dgxm_status s = dgxm_model_config_load(dir, &ck->config, err);
    if (!s) {
        ck->weights = dgxm_weights_open(dir, err);
        s = ck->weights ? DGXM_OK : failure(err, DGXM_ERR_IO);
    }
    if (!s)
        s = check_t5(ck, err);
    if (!s)
        s = check_projection(ck, err);
    if (!s)
        s = check_decoder(ck, err);
    if (!s)
        s = check_codec(ck, err);
    if (s) {
        dgxm_checkpoint_free(ck);
        return NULL;
    }
    return ck;
}

const char *dgxm_checkpoint_dir(const dgxm_checkpoint *ckpt)
{
    return ckpt->dir;
}

const dgxm_model_config *dgxm_checkpoint_config(const dgxm_checkpoint *ckpt)
{
    return &ckpt->config;
}

const dgxm_weights *dgxm_checkpoint_weights(const dgxm_checkpoint *ckpt)
{
    return ckpt->weights;
}

const dgxm_tensor *dgxm_checkpoint_tensor(const dgxm_checkpoint *ckpt, const char *fmt, ...)
{
    char name[NAME_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    /* clang-tidy 14 reports an uninitialized va_list here when it analyses another file first in
     * the same run (a checker state leak between translation units, not a real problem). */
    int n = vsnprintf(name, sizeof name, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return NULL;
    return dgxm_weights_find(ckpt->weights, name);
}

const dgxm_tensor *dgxm_checkpoint_t5_embedding(const dgxm_checkpoint *ckpt)
{
    return ckpt->t5_embedding;
}

bool dgxm_checkpoint_has_projection(const dgxm_checkpoint *ckpt)
{
    return ckpt->config.t5.d_model != ckpt->config.decoder.hidden_size;
}

bool dgxm_checkpoint_has_codec_encoder(const dgxm_checkpoint *ckpt)
{
    return ckpt->has_codec_encoder;
}

const dgxm_encodec_plan *dgxm_checkpoint_codec_decoder_plan(const dgxm_checkpoint *ckpt)
{
    return &ckpt->codec_decoder;
}

const dgxm_encodec_plan *dgxm_checkpoint_codec_encoder_plan(const dgxm_checkpoint *ckpt)
{
    return ckpt->has_codec_encoder ? &ckpt->codec_encoder : NULL;
}

size_t dgxm_checkpoint_entry_count(const dgxm_checkpoint *ckpt)
{
    return ckpt->entry_count;
}

const dgxm_checkpoint_entry *dgxm_checkpoint_entry_at(const dgxm_checkpoint *ckpt, size_t index)
{
    return index < ckpt->entry_count ? &ckpt->entries[index] : NULL;
}
