/* The memory estimate and check before a model upload; see memory_need.h. */
#include "memory_need.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024.0 * 1024.0 * 1024.0)

/* Bytes of a [rows][cols] matrix in the weight format (int8 carries a float scale per row). */
static int64_t matrix_bytes(int64_t rows, int64_t cols, dgxm_weight_format format)
{
    switch (format) {
    case DGXM_WEIGHT_BF16:
    case DGXM_WEIGHT_F16: return rows * cols * 2;
    case DGXM_WEIGHT_INT8: return rows * cols + rows * 4;
    case DGXM_WEIGHT_F32:
    default: return rows * cols * 4;
    }
}

const char *dgxm_weight_format_name(dgxm_weight_format format)
{
    switch (format) {
    case DGXM_WEIGHT_BF16: return "bf16";
    case DGXM_WEIGHT_F16: return "f16";
    case DGXM_WEIGHT_INT8: return "int8";
    case DGXM_WEIGHT_F32:
    default: return "f32";
    }
}

static int64_t t5_bytes(const dgxm_model_config *cfg)
{
    const dgxm_t5_config *t = &cfg->t5;
    const int64_t d = t->d_model, inner = (int64_t)t->num_heads * t->d_kv;
    const int64_t ffn = (t->gated_gelu ? 3 : 2) * d * t->d_ff;
    int64_t floats = (int64_t)t->vocab_size * d + d; /* embedding, final norm */
    floats += (int64_t)t->num_layers * (4 * d * inner + ffn + 2 * d);
    const int64_t h = cfg->decoder.hidden_size;
    if (h != d) /* enc_to_dec_proj exists only when the widths differ */
        floats += h * d + h;
    return floats * 4;
}

static int64_t decoder_bytes(const dgxm_decoder_config *c, dgxm_weight_format format)
{
    const int64_t d = c->hidden_size, f = c->ffn_dim;
    int64_t per_layer = 8 * matrix_bytes(d, d, format); /* self and cross q, k, v, o */
    per_layer += matrix_bytes(f, d, format) + matrix_bytes(d, f, format);
    per_layer += 3 * 2 * d * 4; /* three layer norms, weight and bias */
    int64_t bytes = (int64_t)c->num_layers * per_layer;
    bytes += (int64_t)c->num_codebooks * (c->vocab_size + 1) * d * 4; /* embeddings, f32 */
    bytes += 2 * d * 4;                                               /* final norm */
    bytes += matrix_bytes((int64_t)c->num_codebooks * c->vocab_size, d, format); /* heads */
    return bytes;
}

void dgxm_memory_need_estimate(const dgxm_model_config *cfg, dgxm_weight_format format,
                               int64_t codec_bytes, dgxm_memory_need *out)
{
    const dgxm_decoder_config *c = &cfg->decoder;
    memset(out, 0, sizeof *out);
    out->t5 = t5_bytes(cfg);
    out->decoder = decoder_bytes(c, format);
    out->codec = codec_bytes;
    const double frame_rate = cfg->encodec.frame_rate > 0 ? cfg->encodec.frame_rate : 50.0;
    int64_t positions = (int64_t)(frame_rate * 30.0 + 0.5) + c->num_codebooks;
    if (c->max_position_embeddings > 0 && positions > c->max_position_embeddings)
        positions = c->max_position_embeddings;
    const int64_t d = c->hidden_size, layers = c->num_layers;
    out->kv_cache = 2 * layers * positions * 2 * d * 4 + 2 * layers * 512 * d * 4;
    const int64_t rate = cfg->encodec.sampling_rate > 0 ? cfg->encodec.sampling_rate : 32000;
    const int64_t filters = cfg->encodec.num_filters > 0 ? cfg->encodec.num_filters : 64;
    out->working = 3 * filters * rate * 30 * 4 + (int64_t)512 * 1024 * 1024;
    out->total = out->t5 + out->decoder + out->codec + out->kv_cache + out->working;
}

dgxm_status dgxm_memory_need_check(const char *model, const char *device, dgxm_weight_format format,
                                   const dgxm_memory_need *need, int64_t available,
                                   const char *source, dgxm_error *err)
{
    if (need->total <= available)
        return DGXM_OK;
    return dgxm_error_set(
        err, DGXM_ERR_NOMEM,
        "%s: not enough memory on %s: the model needs about %lld bytes (%.2f GiB: %s decoder "
        "weights %.2f GiB, T5 %.2f GiB, EnCodec %.2f GiB, KV cache %.2f GiB, working memory "
        "%.2f GiB) but %lld bytes (%.2f GiB) are available (%s); free memory, use --dtype bf16 "
        "or a smaller model",
        model, device, (long long)need->total, need->total / GIB, dgxm_weight_format_name(format),
        need->decoder / GIB, need->t5 / GIB, need->codec / GIB, need->kv_cache / GIB,
        need->working / GIB, (long long)available, available / GIB, source);
}

int64_t dgxm_host_mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    long long kib = -1;
    while (kib < 0 && fgets(line, sizeof line, f))
        if (!strncmp(line, "MemAvailable:", 13)) {
            char *end = NULL;
            long long v = strtoll(line + 13, &end, 10);
            kib = end != line + 13 && v >= 0 ? v : -1;
        }
    fclose(f);
    return kib < 0 ? -1 : (int64_t)kib * 1024;
}
