/* Sampling and length on the fixture model: the same seed gives the same codes and audio, other
 * seeds give other music; the windowed extension gives exactly the requested length, its first
 * window equals a plain generation, later windows keep their re-prefilled prompt, and the audio
 * has no discontinuity at the joins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "checkpoint.h"
#include "decoder.h"
#include "encodec.h"
#include "generate.h"
#include "t5.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct model {
    dgxm_checkpoint *ckpt;
    dgxm_backend *b;
    dgxm_t5 *t5;
    dgxm_decoder *dec;
    dgxm_encodec *codec;
    const dgxm_model_config *cfg;
    float *cond;
    int lt;
} model;

static int setup(void **state)
{
    model *m = calloc(1, sizeof *m);
    dgxm_error err;
    dgxm_error_clear(&err);
    m->ckpt = dgxm_checkpoint_open(test_fixture_path("models/mono"), &err);
    m->b = dgxm_cpu_backend_new(3, &err);
    if (!m->ckpt || !m->b)
        return -1;
    m->cfg = dgxm_checkpoint_config(m->ckpt);
    const dgxm_weights *w = dgxm_checkpoint_weights(m->ckpt);
    m->t5 = dgxm_t5_new(m->b, w, m->cfg, &err);
    m->dec = dgxm_decoder_new(m->b, w, m->cfg, DGXM_WEIGHT_F32, &err);
    m->codec = dgxm_encodec_new(m->b, m->ckpt, &err);
    if (!m->t5 || !m->dec || !m->codec)
        return -1;
    const int32_t ids[] = { 237, 11, 52, 36, 4, 14, 989, 89, 6, 91, 1 };
    m->lt = (int)(sizeof ids / sizeof ids[0]);
    m->cond = malloc((size_t)m->lt * m->cfg->decoder.hidden_size * sizeof *m->cond);
    if (dgxm_t5_encode(m->t5, ids, m->lt, NULL, m->cond, &err))
        return -1;
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    model *m = *state;
    free(m->cond);
    dgxm_encodec_free(m->codec);
    dgxm_decoder_free(m->dec);
    dgxm_t5_free(m->t5);
    m->b->ops->destroy(m->b);
    dgxm_checkpoint_free(m->ckpt);
    free(m);
    return 0;
}

static int32_t *generate(model *m, dgxm_generate_options *opt)
{
    int32_t *codes = malloc((size_t)m->cfg->decoder.num_codebooks * opt->frames * sizeof *codes);
    for (int i = 0; i < m->cfg->decoder.num_codebooks * opt->frames; i++)
        codes[i] = -1;
    dgxm_error err;
    dgxm_error_clear(&err);
    if (dgxm_generate_codes(m->dec, &m->cfg->decoder, m->cfg->encodec.frame_rate, m->cond, m->lt,
                            opt, codes, &err))
        fail_msg("%s", err.message);
    return codes;
}

static float *decode(model *m, const int32_t *codes, int frames)
{
    float *audio = malloc((size_t)frames * m->cfg->encodec.hop_length * sizeof *audio);
    dgxm_error err;
    dgxm_error_clear(&err);
    if (dgxm_encodec_decode(m->codec, codes, frames, frames, audio, &err))
        fail_msg("%s", err.message);
    return audio;
}

static dgxm_generate_options sampled(int frames, uint64_t seed)
{
    return (dgxm_generate_options){
        .sampling = { .temperature = 1.0,
                      .top_k = 250,
                      .top_p = 1.0,
                      .guidance = 3.0,
                      .seed = seed },
        .frames = frames,
    };
}

static void same_seed_same_audio_other_seed_other_audio(void **state)
{
    model *m = *state;
    const int frames = 30, K = m->cfg->decoder.num_codebooks;
    dgxm_generate_options a = sampled(frames, 7), b = sampled(frames, 7), c = sampled(frames, 8);
    int32_t *ca = generate(m, &a), *cb = generate(m, &b), *cc = generate(m, &c);
    assert_memory_equal(ca, cb, (size_t)K * frames * sizeof *ca);
    int differ = 0;
    for (int i = 0; i < K * frames; i++)
        differ += ca[i] != cc[i];
    assert_true(differ > K * frames / 4);
    float *wa = decode(m, ca, frames), *wb = decode(m, cb, frames), *wc = decode(m, cc, frames);
    size_t n = (size_t)frames * m->cfg->encodec.hop_length;
    assert_memory_equal(wa, wb, n * sizeof *wa);
    assert_true(memcmp(wa, wc, n * sizeof *wa) != 0);
    free(ca), free(cb), free(cc), free(wa), free(wb), free(wc);
}

static void extension_gives_exact_length_and_keeps_windows(void **state)
{
    model *m = *state;
    const int K = m->cfg->decoder.num_codebooks, window = 40, stride = 24, frames = 137;
    dgxm_generate_options opt = { .sampling = { .greedy = true, .guidance = 3.0 },
                                  .frames = frames,
                                  .window_frames = window,
                                  .stride_frames = stride };
    int32_t *codes = generate(m, &opt);
    for (int i = 0; i < K * frames; i++)
        assert_true(codes[i] >= 0 && codes[i] < m->cfg->decoder.vocab_size);
    /* The first window is a plain generation of `window` frames. */
    dgxm_generate_options first = { .sampling = opt.sampling, .frames = window };
    int32_t *plain = generate(m, &first);
    for (int k = 0; k < K; k++)
        assert_memory_equal(codes + (size_t)k * frames, plain + (size_t)k * window,
                            (size_t)window * sizeof *codes);
    /* The second window re-prefills frames [stride, window) and continues from them: a plain
     * generation from that prompt alone cannot be asked for here, but the continuation must
     * differ from restarting the music at the join. */
    int restarted = 1;
    for (int k = 0; k < K; k++)
        for (int t = 0; t < 8; t++)
            restarted &= codes[(size_t)k * frames + window + t] == plain[(size_t)k * window + t];
    assert_false(restarted);
    assert_int_equal(dgxm_generate_total_steps(&m->cfg->decoder, m->cfg->encodec.frame_rate, &opt),
                     5 * (40 + 3) + (17 + 3)); /* windows at 0, 24, ..., 96, then 120..137 */

    /* Audio: exactly frames * hop samples, and the sample-to-sample change around each join is
     * no outlier against the rest of the clip (the codes are decoded as one sequence). */
    const int hop = m->cfg->encodec.hop_length;
    float *audio = decode(m, codes, frames);
    double *energy = calloc((size_t)frames, sizeof *energy);
    for (int f = 0; f < frames; f++)
        for (int i = 1; i < hop; i++) {
            double d = audio[(size_t)f * hop + i] - audio[(size_t)f * hop + i - 1];
            energy[f] += d * d;
        }
    double mean = 0;
    for (int f = 0; f < frames; f++)
        mean += energy[f] / frames;
    for (int join = window; join < frames; join += stride)
        if (energy[join] > 6 * mean || energy[join - 1] > 6 * mean)
            fail_msg("frame %d at a window join changes %.3g vs a mean of %.3g", join, energy[join],
                     mean);
    free(codes), free(plain), free(audio), free(energy);
}

static void default_windows_are_thirty_seconds(void **state)
{
    model *m = *state;
    double rate = m->cfg->encodec.frame_rate;
    dgxm_generate_options one = { .frames = (int)(30 * rate) };
    dgxm_generate_options five_min = { .frames = (int)(300 * rate) };
    assert_int_equal(dgxm_generate_total_steps(&m->cfg->decoder, rate, &one), 1500 + 3);
    /* 300 s: windows start every 18 s while offset + 12 s of prompt < 300 s: 16 windows. */
    int steps = dgxm_generate_total_steps(&m->cfg->decoder, rate, &five_min);
    assert_int_equal(steps, 15 * (1500 + 3) + (15000 - 15 * 900 + 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_audio_other_seed_other_audio),
        cmocka_unit_test(extension_gives_exact_length_and_keeps_windows),
        cmocka_unit_test(default_windows_are_thirty_seconds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
