/* EnCodec on the CUDA backend against the CPU oracle, whole decodes: the same codes decoded by
 * both must agree within 40 dB SNR (the CUDA issue's bound for the audio of the bf16 and int8
 * paths; EnCodec itself runs in float32 whatever the decoder's format). The codes come from the
 * CUDA decoder in bf16 and in int8 (greedy, so the codes the engine would decode), on the
 * Hugging Face fixture models, and at musicgen's real 32 kHz widths from a synthetic checkpoint
 * with spread codes. The per-op checks live in test_cuda_ops. Without a CUDA device every case
 * is skipped and says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "checkpoint.h"
#include "cuda_test_support.h"
#include "decoder.h"
#include "encodec.h"
#include "generate.h"
#include "synthetic_checkpoint.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SNR_DB 40.0

static dgxm_checkpoint *open_or_fail(const char *dir)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_checkpoint *ck = dgxm_checkpoint_open(dir, &err);
    if (!ck)
        fail_msg("%s: %s", dir, err.message);
    return ck;
}

/* One checkpoint's EnCodec on both backends (the CPU one is the oracle). */
typedef struct codecs {
    dgxm_backend *cpu, *gpu;
    dgxm_checkpoint *ck;
    const dgxm_model_config *cfg;
    dgxm_encodec *on_cpu, *on_gpu;
} codecs;

/* Takes gpu (the caller gets it first: a case skips before it has made anything to free). */
static void codecs_open(codecs *c, dgxm_backend *gpu, const char *dir)
{
    memset(c, 0, sizeof *c);
    c->gpu = gpu;
    dgxm_error err;
    dgxm_error_clear(&err);
    c->cpu = dgxm_cpu_backend_new(0, &err);
    if (!c->cpu)
        fail_msg("CPU backend: %s", err.message);
    c->ck = open_or_fail(dir);
    c->cfg = dgxm_checkpoint_config(c->ck);
    c->on_cpu = dgxm_encodec_new(c->cpu, c->ck, &err);
    c->on_gpu = c->on_cpu ? dgxm_encodec_new(c->gpu, c->ck, &err) : NULL;
    if (!c->on_gpu)
        fail_msg("%s: EnCodec: %s", dir, err.message);
}

static void codecs_close(codecs *c)
{
    dgxm_encodec_free(c->on_cpu);
    dgxm_encodec_free(c->on_gpu);
    dgxm_checkpoint_free(c->ck);
    c->cpu->ops->destroy(c->cpu);
    c->gpu->ops->destroy(c->gpu);
}

/* 10 log10(sum ref^2 / sum (ref - x)^2); infinite when they are equal. */
static double snr_db(const float *ref, const float *x, size_t n)
{
    double signal = 0, noise = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)ref[i] - x[i];
        signal += (double)ref[i] * ref[i];
        noise += d * d;
    }
    return noise > 0 ? 10.0 * log10(signal / noise) : INFINITY;
}

/* Decodes channel c's codebooks of codes[K][frames] (stereo: the channels interleave, as the
 * engine decodes them) on both backends and checks their agreement. */
static void check_decode(const char *what, const codecs *cs, const int32_t *codes, int frames)
{
    const dgxm_model_config *cfg = cs->cfg;
    const int Q = cfg->encodec.num_quantizers, channels = cfg->decoder.audio_channels;
    const size_t samples = (size_t)frames * cfg->encodec.hop_length;
    int32_t *mine = malloc((size_t)Q * frames * sizeof *mine);
    float *want = malloc(samples * sizeof *want), *got = malloc(samples * sizeof *got);
    assert_non_null(mine);
    assert_non_null(want);
    assert_non_null(got);
    for (int c = 0; c < channels; c++) {
        for (int q = 0; q < Q; q++)
            memcpy(mine + (size_t)q * frames, codes + (size_t)(q * channels + c) * frames,
                   (size_t)frames * sizeof *mine);
        for (size_t i = 0; i < samples; i++)
            got[i] = NAN; /* poisoned: a sample the device did not write fails */
        dgxm_error err;
        dgxm_error_clear(&err);
        if (dgxm_encodec_decode(cs->on_cpu, mine, frames, frames, want, &err) ||
            dgxm_encodec_decode(cs->on_gpu, mine, frames, frames, got, &err))
            fail_msg("%s: decode: %s", what, err.message);
        double energy = 0;
        for (size_t i = 0; i < samples; i++)
            energy += (double)want[i] * want[i];
        const double snr = snr_db(want, got, samples);
        print_message("%s, channel %d: %zu samples, SNR %.1f dB against the CPU (at least %.0f)\n",
                      what, c, samples, snr, MIN_SNR_DB);
        if (!(energy > 0))
            fail_msg("%s: the CPU decode is silent, so the comparison proves nothing", what);
        if (!(snr >= MIN_SNR_DB))
            fail_msg("%s, channel %d: SNR %.2f dB below %.0f dB", what, c, snr, MIN_SNR_DB);
    }
    free(mine);
    free(want);
    free(got);
}

/* Greedy codes of the fixture's decoder in format f on the device, from random conditioning. */
static int32_t *device_codes(dgxm_backend *gpu, const dgxm_checkpoint *ck,
                             const dgxm_model_config *cfg, dgxm_weight_format f, int frames)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_decoder *dec = dgxm_decoder_new(gpu, dgxm_checkpoint_weights(ck), cfg, f, &err);
    if (!dec)
        fail_msg("decoder: %s", err.message);
    const int lt = 6, h = cfg->decoder.hidden_size;
    float *cond = malloc((size_t)lt * h * sizeof *cond);
    int32_t *codes = malloc((size_t)cfg->decoder.num_codebooks * frames * sizeof *codes);
    assert_non_null(cond);
    assert_non_null(codes);
    srand(7);
    for (int i = 0; i < lt * h; i++)
        cond[i] = (float)rand() / RAND_MAX - 0.5f;
    dgxm_generate_options opt = { .sampling = { .greedy = true, .guidance = 3.0 },
                                  .frames = frames };
    if (dgxm_generate_codes(dec, &cfg->decoder, cfg->encodec.frame_rate, cond, lt, &opt, codes,
                            &err))
        fail_msg("generate: %s", err.message);
    free(cond);
    dgxm_decoder_free(dec);
    return codes;
}

static void fixture_codes_decode_alike(void **state)
{
    (void)state;
    static const char *const models[] = { "mono", "stereo" };
    static const dgxm_weight_format formats[] = { DGXM_WEIGHT_BF16, DGXM_WEIGHT_INT8 };
    static const char *const format_names[] = { "bf16", "int8" };
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%smodels/%s", test_fixture_path(""), models[i]);
        codecs cs;
        codecs_open(&cs, cuda_backend_or_skip(), dir);
        for (size_t f = 0; f < sizeof formats / sizeof *formats; f++) {
            const int frames = 40;
            int32_t *codes = device_codes(cs.gpu, cs.ck, cs.cfg, formats[f], frames);
            char what[64];
            snprintf(what, sizeof what, "%s, codes of the %s path", models[i], format_names[f]);
            check_decode(what, &cs, codes, frames);
            free(codes);
        }
        codecs_close(&cs);
    }
}

/* musicgen's own EnCodec widths (32 kHz, 4 codebooks of 2048, its LSTM of 1024): 1 s of codes
 * spread over every codebook. */
static void real_width_codes_decode_alike(void **state)
{
    (void)state;
    dgxm_backend *gpu = cuda_backend_or_skip();
    dgxm_error err;
    dgxm_error_clear(&err);
    char *tmp = test_make_temp_dir();
    if (dgxm_synthetic_checkpoint_write(tmp, "small:2", 0, 3, &err))
        fail_msg("%s", err.message);
    codecs cs;
    codecs_open(&cs, gpu, tmp);
    const int frames = 50, K = cs.cfg->decoder.num_codebooks;
    int32_t *codes = malloc((size_t)K * frames * sizeof *codes);
    assert_non_null(codes);
    for (int i = 0; i < K * frames; i++)
        codes[i] = (int32_t)(((long long)i * 7919) % cs.cfg->encodec.codebook_size);
    check_decode("32 kHz widths, spread codes", &cs, codes, frames);
    free(codes);
    codecs_close(&cs);
    test_remove_tree(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixture_codes_decode_alike),
        cmocka_unit_test(real_width_codes_decode_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
