/* Parameter counts and weight-format memory of a checkpoint: see model_info.h. */
#include "model_info.h"

#include <string.h>

static bool has_prefix(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static const char *size_class(int hidden)
{
    switch (hidden) {
    case 1024: return "small";
    case 1536: return "medium";
    case 2048: return "large";
    default: return "custom";
    }
}

/* Stored parameters by prefix, and which optional tensors are there. */
static void count_stored(const dgxm_checkpoint *ck, dgxm_model_info *info)
{
    const dgxm_weights *w = dgxm_checkpoint_weights(ck);
    const dgxm_tensor *embedding = dgxm_checkpoint_t5_embedding(ck);
    for (size_t i = 0; i < dgxm_weights_count(w); i++) {
        const dgxm_tensor *t = dgxm_weights_at(w, i);
        info->tensor_count++;
        info->stored_bytes += (int64_t)t->nbytes;
        info->dtype_tensors[t->dtype]++;
        bool tied_copy = !strcmp(t->name, DGXM_T5_EMBED_TOKENS_FMT) && embedding && embedding != t;
        if (tied_copy) {
            info->t5_tied_copy_stored = true;
            continue;
        }
        if (!strcmp(t->name, DGXM_DEC_POSITIONS_FMT)) {
            info->positions_stored = true;
            info->positions_params = t->numel;
        }
        if (has_prefix(t->name, "text_encoder."))
            info->params_text_encoder += t->numel;
        else if (has_prefix(t->name, "enc_to_dec_proj."))
            info->params_projection += t->numel;
        else if (has_prefix(t->name, "decoder."))
            info->params_decoder += t->numel;
        else if (has_prefix(t->name, "audio_encoder."))
            info->params_codec += t->numel;
        else
            info->params_other += t->numel;
    }
    info->params_total = info->params_text_encoder + info->params_projection +
                         info->params_decoder + info->params_codec + info->params_other;
}

/* Loaded bytes per weight format, from the tensors the checkpoint checked for generation. */
static void size_formats(const dgxm_checkpoint *ck, dgxm_model_info *info)
{
    for (size_t i = 0; i < dgxm_checkpoint_entry_count(ck); i++) {
        const dgxm_checkpoint_entry *e = dgxm_checkpoint_entry_at(ck, i);
        int64_t n = e->tensor->numel;
        switch (e->role) {
        case DGXM_ROLE_DEC_LINEAR:
            info->decoder_bytes_f32 += 4 * n;
            info->decoder_bytes_16 += 2 * n;
            info->decoder_bytes_int8 += n + 4 * e->tensor->shape[0]; /* + a scale per row */
            break;
        case DGXM_ROLE_DEC_EMBED:
        case DGXM_ROLE_DEC_HEAD:
            info->decoder_bytes_f32 += 4 * n;
            info->decoder_bytes_16 += 2 * n;
            info->decoder_bytes_int8 += 2 * n;
            break;
        case DGXM_ROLE_DEC_NORM:
            info->decoder_bytes_f32 += 4 * n;
            info->decoder_bytes_16 += 4 * n;
            info->decoder_bytes_int8 += 4 * n;
            break;
        case DGXM_ROLE_T5:
        case DGXM_ROLE_PROJ: info->t5_bytes_f32 += 4 * n; break;
        case DGXM_ROLE_CODEC_WEIGHT:
        case DGXM_ROLE_CODEC_CODEBOOK: info->codec_bytes_f32 += 4 * n; break;
        case DGXM_ROLE_T5_TIED_COPY:
        case DGXM_ROLE_DEC_POSITIONS:
        case DGXM_ROLE_CODEC_NORM_G:
        case DGXM_ROLE_CODEC_ENCODER: break; /* not loaded for generation */
        }
    }
}

void dgxm_model_info_get(const dgxm_checkpoint *ckpt, dgxm_model_info *info)
{
    memset(info, 0, sizeof *info);
    const dgxm_model_config *c = dgxm_checkpoint_config(ckpt);
    const dgxm_weights *w = dgxm_checkpoint_weights(ckpt);
    info->stereo = c->stereo;
    info->size_class = size_class(c->decoder.hidden_size);
    info->file_count = dgxm_weights_file_count(w);
    info->sharded = dgxm_weights_sharded(w);
    info->codec_encoder_stored = dgxm_checkpoint_has_codec_encoder(ckpt);
    count_stored(ckpt, info);
    size_formats(ckpt, info);
}
