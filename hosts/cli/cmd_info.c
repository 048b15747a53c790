/* dgxm info DIR: open a Hugging Face MusicGen checkpoint directory, check it completely, and
 * describe it: model kind, parameters per part, stored dtypes, audio format, shapes, and the
 * memory each weight format would need. One "key: value" per line, so scripts can grep it.
 * Exit status 0 when the checkpoint is usable, 1 with one line on stderr when it is not. */
#include "commands.h"

#include "checkpoint.h"
#include "model_info.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: dgxm info DIR\n"
               "DIR: a Hugging Face MusicGen checkpoint directory (config.json, "
               "model.safetensors or model.safetensors.index.json + shards)\n");
}

/* "1234567 bytes (1.18 MiB)" */
static void print_bytes(const char *key, int64_t bytes)
{
    double v = (double)bytes;
    const char *unit = "KiB";
    v /= 1024.0;
    if (v >= 1024.0) {
        v /= 1024.0;
        unit = "MiB";
    }
    if (v >= 1024.0) {
        v /= 1024.0;
        unit = "GiB";
    }
    printf("%-28s %lld bytes (%.2f %s)\n", key, (long long)bytes, v, unit);
}

static void print_dtypes(const dgxm_model_info *info)
{
    printf("%-28s", "stored dtypes:");
    const char *sep = " ";
    for (int d = 0; d < DGXM_DTYPE_COUNT; d++) {
        if (!info->dtype_tensors[d])
            continue;
        printf("%s%s (%zu tensors)", sep, dgxm_dtype_name((dgxm_dtype)d), info->dtype_tensors[d]);
        sep = ", ";
    }
    printf("\n");
}

static void print_params(const dgxm_model_info *info)
{
    printf("%-28s %lld%s\n", "params text encoder:", (long long)info->params_text_encoder,
           info->t5_tied_copy_stored ? " (tied embed_tokens copy stored, counted once)" : "");
    printf("%-28s %lld\n", "params projection:", (long long)info->params_projection);
    printf("%-28s %lld\n", "params decoder LM:", (long long)info->params_decoder);
    printf("%-28s %lld\n", "params audio codec:", (long long)info->params_codec);
    if (info->params_other)
        printf("%-28s %lld (unused tensors)\n", "params other:", (long long)info->params_other);
    printf("%-28s %lld\n", "params total:", (long long)info->params_total);
    if (info->positions_stored)
        printf("%-28s yes (%lld values in params decoder LM; recomputed at run time)\n",
               "embed_positions stored:", (long long)info->positions_params);
    else
        printf("%-28s no (recomputed at run time)\n", "embed_positions stored:");
    printf("%-28s %s\n", "codec encoder stored:",
           info->codec_encoder_stored ? "yes (checked; audio prompts)" : "no");
}

static void print_shapes(const dgxm_model_config *c)
{
    const dgxm_t5_config *t = &c->t5;
    const dgxm_decoder_config *d = &c->decoder;
    const dgxm_encodec_config *e = &c->encodec;
    printf("%-28s %d layers, d_model %d, %d heads x %d, d_ff %d, %s, vocab %d\n",
           "text encoder (T5):", t->num_layers, t->d_model, t->num_heads, t->d_kv, t->d_ff,
           t->gated_gelu ? "gated-gelu" : "relu", t->vocab_size);
    printf("%-28s %d layers, hidden %d, %d heads x %d, ffn %d, max positions %d\n",
           "decoder LM:", d->num_layers, d->hidden_size, d->num_heads,
           d->hidden_size / d->num_heads, d->ffn_dim, d->max_position_embeddings);
    printf("%-28s %d Hz\n", "sample rate:", e->sampling_rate);
    printf("%-28s %g frames/s\n", "frame rate:", e->frame_rate);
    printf("%-28s %d samples\n", "hop:", e->hop_length);
    printf("%-28s %d (%d audio channel(s) x %d quantizers)\n", "codebooks:", d->num_codebooks,
           d->audio_channels, e->num_quantizers);
    printf("%-28s %d (+1 special token %d)\n", "codebook size:", e->codebook_size, d->pad_token_id);
    printf("%-28s %d (%s)\n", "audio channels:", d->audio_channels,
           d->audio_channels == 2 ? "stereo" : "mono");
}

static void print_memory(const dgxm_model_info *info)
{
    print_bytes("memory decoder LM f32:", info->decoder_bytes_f32);
    print_bytes("memory decoder LM bf16/f16:", info->decoder_bytes_16);
    print_bytes("memory decoder LM int8:", info->decoder_bytes_int8);
    printf("%-28s per-output-row f32 scales; embeddings and lm_heads bf16; norms f32\n",
           "  (int8 layout)");
    print_bytes("memory T5 + projection f32:", info->t5_bytes_f32);
    print_bytes("memory EnCodec f32:", info->codec_bytes_f32);
}

static void print_info(const dgxm_checkpoint *ck)
{
    const dgxm_model_config *c = dgxm_checkpoint_config(ck);
    dgxm_model_info info;
    dgxm_model_info_get(ck, &info);
    printf("%-28s %s\n", "checkpoint:", dgxm_checkpoint_dir(ck));
    printf("%-28s musicgen %s %s (decoder hidden %d)\n", "model:", info.stereo ? "stereo" : "mono",
           info.size_class, c->decoder.hidden_size);
    printf("%-28s %s, %zu file(s), %zu tensors\n", "weights:",
           info.sharded ? "sharded (model.safetensors.index.json)" : "model.safetensors",
           info.file_count, info.tensor_count);
    print_bytes("stored tensor bytes:", info.stored_bytes);
    print_dtypes(&info);
    print_params(&info);
    print_shapes(c);
    print_memory(&info);
}

int dgxm_cmd_info(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        usage(stderr);
        return 1;
    }
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_checkpoint *ck = dgxm_checkpoint_open(argv[1], &err);
    if (!ck) {
        fprintf(stderr, "dgxm info: %s\n", err.message);
        return 1;
    }
    print_info(ck);
    dgxm_checkpoint_free(ck);
    return fflush(stdout) == 0 ? 0 : 1;
}
