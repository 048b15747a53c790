/* The loaded model and its text -> codes -> audio path. See musicgen.h. */
#include "musicgen.h"
#include "checkpoint.h"
#include "decoder.h"
#include "encodec.h"
#include "t5.h"
#include "tokenizer.h"

#include <stdlib.h>
#include <string.h>

struct dgxm_musicgen {
    dgxm_checkpoint *ckpt;
    dgxm_tokenizer *tokenizer;
    dgxm_t5 *t5;
    dgxm_decoder *decoder;
    dgxm_encodec *codec;
    dgxm_model_config cfg;
};

dgxm_musicgen *dgxm_musicgen_load(const char *dir, dgxm_backend *backend, dgxm_weight_format format,
                                  dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    dgxm_musicgen *m = calloc(1, sizeof *m);
    if (!m) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "musicgen: out of memory");
        return NULL;
    }
    if (!(m->ckpt = dgxm_checkpoint_open(dir, err)) ||
        !(m->tokenizer = dgxm_tokenizer_load(dir, err))) {
        dgxm_musicgen_free(m);
        return NULL;
    }
    m->cfg = *dgxm_checkpoint_config(m->ckpt);
    const dgxm_weights *w = dgxm_checkpoint_weights(m->ckpt);
    if (!(m->t5 = dgxm_t5_new(backend, w, &m->cfg, err)) ||
        !(m->decoder = dgxm_decoder_new(backend, w, &m->cfg, format, err)) ||
        !(m->codec = dgxm_encodec_new(backend, m->ckpt, err))) {
        dgxm_musicgen_free(m);
        return NULL;
    }
    return m;
}

void dgxm_musicgen_free(dgxm_musicgen *m)
{
    if (!m)
        return;
    dgxm_encodec_free(m->codec);
    dgxm_decoder_free(m->decoder);
    dgxm_t5_free(m->t5);
    dgxm_tokenizer_free(m->tokenizer);
    dgxm_checkpoint_free(m->ckpt);
    free(m);
}

const dgxm_model_config *dgxm_musicgen_config(const dgxm_musicgen *m)
{
    return &m->cfg;
}

int dgxm_musicgen_channels(const dgxm_musicgen *m)
{
    return m->cfg.decoder.audio_channels;
}

int dgxm_musicgen_hop(const dgxm_musicgen *m)
{
    return m->cfg.encodec.hop_length;
}

dgxm_status dgxm_musicgen_condition(dgxm_musicgen *m, const char *text, size_t len,
                                    float **conditioning, int *tokens, dgxm_error *err)
{
    int32_t *ids = NULL;
    size_t count = 0;
    *conditioning = NULL;
    dgxm_status s = dgxm_tokenizer_encode(m->tokenizer, text, len, &ids, &count, err);
    /* T5's position bias is heads x n x n floats: bound it (2048 tokens is ~8000 characters). */
    if (!s && count > DGXM_MAX_PROMPT_TOKENS)
        s = dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "prompt: %zu tokens, at most %d allowed",
                           count, DGXM_MAX_PROMPT_TOKENS);
    if (!s) {
        *conditioning = malloc(count * (size_t)m->cfg.decoder.hidden_size * sizeof(float));
        if (!*conditioning)
            s = dgxm_error_set(err, DGXM_ERR_NOMEM, "prompt: conditioning of %zu tokens", count);
    }
    if (!s)
        s = dgxm_t5_encode(m->t5, ids, (int)count, NULL, *conditioning, err);
    free(ids);
    if (s) {
        free(*conditioning);
        *conditioning = NULL;
        return s;
    }
    *tokens = (int)count;
    return DGXM_OK;
}

dgxm_status dgxm_musicgen_generate_codes(dgxm_musicgen *m, const char *text, size_t len,
                                         const dgxm_generate_options *opt, int32_t *codes,
                                         dgxm_error *err)
{
    float *cond = NULL;
    int lt = 0;
    dgxm_status s = dgxm_musicgen_condition(m, text, len, &cond, &lt, err);
    if (!s)
        s = dgxm_generate_codes(m->decoder, &m->cfg.decoder, m->cfg.encodec.frame_rate, cond, lt,
                                opt, codes, err);
    free(cond);
    return s;
}

dgxm_status dgxm_musicgen_decode(dgxm_musicgen *m, const int32_t *codes, int frames, float *audio,
                                 dgxm_error *err)
{
    const int channels = m->cfg.decoder.audio_channels, q = m->cfg.encodec.num_quantizers;
    const size_t samples = (size_t)frames * m->cfg.encodec.hop_length;
    int32_t *channel_codes = malloc((size_t)q * frames * sizeof *channel_codes);
    if (!channel_codes)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "decode: codes of %d frames", frames);
    dgxm_status s = DGXM_OK;
    /* Codebooks interleave channels: codebook k belongs to channel k % channels. */
    for (int ch = 0; !s && ch < channels; ch++) {
        for (int i = 0; i < q; i++)
            memcpy(channel_codes + (size_t)i * frames, codes + (size_t)(i * channels + ch) * frames,
                   (size_t)frames * sizeof *codes);
        s = dgxm_encodec_decode(m->codec, channel_codes, frames, frames,
                                audio + (size_t)ch * samples, err);
    }
    free(channel_codes);
    return s;
}
