/* The device-resident decode step (kernels/fused_step.h on CUDA) against the CPU oracle:
 * - float32 weights: greedy codes equal the CPU's exactly on every fixture model and prompt,
 *   with guidance 3 and without;
 * - step by step, fed the same input columns, the fused step's logits stay within 1e-4 (f32) or
 *   1e-2 (bf16, f16) or 3e-2 (int8 layers, bf16 heads), relative to the largest logit, of the
 *   CPU's float32 logits, and every token
 *   the device chose equals what core/sampler.c picks from the device's own logits, under
 *   greedy, top-k, top-p and plain sampling, on the fixtures, on a 2-layer model at
 *   musicgen-small's real widths (vocabulary 2048, heads of 64) and on 1-layer models at
 *   musicgen-medium's (warps of three rows) and musicgen-large's (warps of four rows);
 * - with LM heads whose rows repeat (so logits tie at and around the k-th value, with more
 *   survivors than the sampler's threads), the device's token is still the host sampler's.
 * Every case runs on each form of the step: one kernel per phase with the cross-attention
 * folded where it pays (the default), always folded (DGXM_CUDA_CROSS_FOLD=1: into the
 * neighbouring launches where the layers are not int8), always folded into two GEMVs of its
 * own (=2), never folded (=0), and the persistent kernel (DGXM_CUDA_PERSISTENT=1: embedding to
 * heads in one cooperative launch, 2 kernels a step) with the cross-attention folded where it pays
 * and never folded, and the default with each opt-in GEMV form (int8 inputs quantised as they
 * are staged, DGXM_CUDA_INT8_FUSE=1; three loads a row a tile, DGXM_CUDA_GEMV_RW3_TILE=3); each
 * case checks the kernel count of its form (a device before sm_90 runs the persistent forms
 * kernel per phase). Steps queued one ahead (core/generate.c) choose the
 * tokens of steps run one at a time, and logits and profiles are refused while a step is queued.
 * Without a CUDA device every case is skipped and says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "checkpoint.h"
#include "cuda/cuda_backend.h"
#include "cuda_test_support.h"
#include "decoder.h"
#include "decoder_fused.h"
#include "generate.h"
#include "safetensors.h"
#include "synthetic_checkpoint.h"
#include "t5.h"
#include "test_support.h"

#include <jansson.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The form of the step a case runs: kernel per phase with the cross-attention folded where it
 * pays (the default), always folded, never folded, the persistent kernel, or the default with
 * one of the opt-in GEMV forms: int8 weights' inputs quantised as they are staged or normalised
 * (DGXM_CUDA_INT8_FUSE=1), three-row warps with three loads a row a tile
 * (DGXM_CUDA_GEMV_RW3_TILE=3). */
typedef enum step_form {
    FORM_DEFAULT,
    FORM_FOLDED,
    FORM_FOLDED_TWO,
    FORM_UNFOLDED,
    FORM_PERSISTENT,
    FORM_PERSISTENT_UNFOLDED,
    FORM_INT8_FUSED,
    FORM_RW3_TILE3
} step_form;
static step_form form;
static const char *const form_names[] = { "per-phase",
                                          "folded",
                                          "folded in two",
                                          "unfolded",
                                          "persistent",
                                          "persistent unfolded",
                                          "int8 quantised as staged",
                                          "three loads a tile" };
static bool persistent_capable; /* the device runs the persistent step (sm_90+, cooperative) */

static int use_form(step_form f)
{
    form = f;
    unsetenv("DGXM_CUDA_CROSS_FOLD");
    unsetenv("DGXM_CUDA_PERSISTENT");
    unsetenv("DGXM_CUDA_INT8_FUSE");
    unsetenv("DGXM_CUDA_GEMV_RW3_TILE");
    if (f == FORM_INT8_FUSED)
        return setenv("DGXM_CUDA_INT8_FUSE", "1", 1);
    if (f == FORM_RW3_TILE3)
        return setenv("DGXM_CUDA_GEMV_RW3_TILE", "3", 1);
    if (f == FORM_FOLDED)
        return setenv("DGXM_CUDA_CROSS_FOLD", "1", 1);
    if (f == FORM_FOLDED_TWO)
        return setenv("DGXM_CUDA_CROSS_FOLD", "2", 1);
    if (f == FORM_UNFOLDED || f == FORM_PERSISTENT_UNFOLDED)
        if (setenv("DGXM_CUDA_CROSS_FOLD", "0", 1))
            return -1;
    if (f == FORM_PERSISTENT_UNFOLDED)
        return setenv("DGXM_CUDA_PERSISTENT", "1", 1);
    if (f == FORM_PERSISTENT)
        return setenv("DGXM_CUDA_PERSISTENT", "1", 1);
    return 0;
}

static int form_default(void **state)
{
    (void)state;
    return use_form(FORM_DEFAULT);
}

static int form_folded(void **state)
{
    (void)state;
    return use_form(FORM_FOLDED);
}

static int form_folded_two(void **state)
{
    (void)state;
    return use_form(FORM_FOLDED_TWO);
}

static int form_unfolded(void **state)
{
    (void)state;
    return use_form(FORM_UNFOLDED);
}

static int form_persistent(void **state)
{
    (void)state;
    return use_form(FORM_PERSISTENT);
}

static int form_persistent_unfolded(void **state)
{
    (void)state;
    return use_form(FORM_PERSISTENT_UNFOLDED);
}

static int form_int8_fused(void **state)
{
    (void)state;
    return use_form(FORM_INT8_FUSED);
}

static int form_rw3_tile3(void **state)
{
    (void)state;
    return use_form(FORM_RW3_TILE3);
}

static const char *const fixture_models[] = { "mono", "mono-legacy", "stereo", "stereo-legacy" };

static dgxm_backend *gpu_or_skip(void)
{
    dgxm_backend *b = cuda_backend_or_skip();
    const dgxm_cuda_info *info = dgxm_cuda_backend_info(b);
    persistent_capable = info->cc_major >= 9 && info->cooperative_launch;
    return b;
}

typedef struct model {
    dgxm_checkpoint *ckpt;
    const dgxm_model_config *cfg;
    char *tmp; /* synthetic checkpoints live here */
} model;

static void model_open_fixture(model *m, const char *name)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%smodels/%s", test_fixture_path(""), name);
    dgxm_error err;
    dgxm_error_clear(&err);
    memset(m, 0, sizeof *m);
    m->ckpt = dgxm_checkpoint_open(dir, &err);
    if (!m->ckpt)
        fail_msg("%s: %s", name, err.message);
    m->cfg = dgxm_checkpoint_config(m->ckpt);
}

static void model_open_synthetic(model *m, const char *size)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    memset(m, 0, sizeof *m);
    m->tmp = test_make_temp_dir();
    if (dgxm_synthetic_checkpoint_write(m->tmp, size, 0, 11, &err))
        fail_msg("%s", err.message);
    m->ckpt = dgxm_checkpoint_open(m->tmp, &err);
    if (!m->ckpt)
        fail_msg("%s: %s", size, err.message);
    m->cfg = dgxm_checkpoint_config(m->ckpt);
}

static void model_close(model *m)
{
    dgxm_checkpoint_free(m->ckpt);
    if (m->tmp) {
        test_remove_tree(m->tmp);
        free(m->tmp);
    }
}

static dgxm_decoder *decoder(dgxm_backend *b, const model *m, dgxm_weight_format f)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_decoder *d = dgxm_decoder_new(b, dgxm_checkpoint_weights(m->ckpt), m->cfg, f, &err);
    if (!d)
        fail_msg("decoder: %s", err.message);
    return d;
}

/* The fixture's reference prompt through T5 on the CPU. */
static float *fixture_conditioning(const char *name, const model *m, dgxm_backend *cpu, int prompt,
                                   int *lt)
{
    char path[4096], key[32];
    snprintf(path, sizeof path, "%sreference/%s.safetensors", test_fixture_path(""), name);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_safetensors *ref = dgxm_safetensors_open(path, &err);
    snprintf(key, sizeof key, "p%d.ids", prompt);
    const dgxm_tensor *ids_t = ref ? dgxm_safetensors_find(ref, key) : NULL;
    if (!ids_t) {
        dgxm_safetensors_free(ref);
        return NULL;
    }
    const int n = (int)ids_t->numel;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++)
        ids[i] = (int32_t)((const int64_t *)ids_t->data)[i];
    float *cond = malloc((size_t)n * m->cfg->decoder.hidden_size * sizeof *cond);
    dgxm_t5 *t5 = dgxm_t5_new(cpu, dgxm_checkpoint_weights(m->ckpt), m->cfg, &err);
    if (!t5 || dgxm_t5_encode(t5, ids, n, NULL, cond, &err))
        fail_msg("%s", err.message);
    dgxm_t5_free(t5);
    free(ids);
    dgxm_safetensors_free(ref);
    *lt = n;
    return cond;
}

static int32_t *codes_of(dgxm_decoder *dec, const model *m, const float *cond, int lt,
                         double guidance, int frames, bool op_by_op)
{
    const int K = m->cfg->decoder.num_codebooks;
    int32_t *codes = malloc((size_t)K * frames * sizeof *codes);
    dgxm_generate_options opt = { .sampling = { .greedy = true, .guidance = guidance },
                                  .frames = frames,
                                  .op_by_op = op_by_op };
    dgxm_error err;
    dgxm_error_clear(&err);
    if (dgxm_generate_codes(dec, &m->cfg->decoder, m->cfg->encodec.frame_rate, cond, lt, &opt,
                            codes, &err))
        fail_msg("generate: %s", err.message);
    return codes;
}

static void fused_f32_greedy_codes_equal_cpu(void **state)
{
    (void)state;
    dgxm_backend *gpu = gpu_or_skip();
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *cpu = dgxm_cpu_backend_new(0, &err);
    int cases = 0;
    for (size_t i = 0; i < sizeof fixture_models / sizeof *fixture_models; i++) {
        model m;
        model_open_fixture(&m, fixture_models[i]);
        dgxm_decoder *dc = decoder(cpu, &m, DGXM_WEIGHT_F32);
        dgxm_decoder *dg = decoder(gpu, &m, DGXM_WEIGHT_F32);
        const int K = m.cfg->decoder.num_codebooks, frames = 40;
        for (int p = 0;; p++) {
            int lt = 0;
            float *cond = fixture_conditioning(fixture_models[i], &m, cpu, p, &lt);
            if (!cond)
                break;
            for (int gi = 0; gi < 2; gi++) {
                const double guidance = gi ? 3.0 : 1.0;
                int32_t *want = codes_of(dc, &m, cond, lt, guidance, frames, true);
                int32_t *got = codes_of(dg, &m, cond, lt, guidance, frames, false);
                for (int c = 0; c < K * frames; c++)
                    if (want[c] != got[c])
                        fail_msg("%s prompt %d guidance %g: code %d (codebook %d frame %d) is %d, "
                                 "the CPU's %d",
                                 fixture_models[i], p, guidance, c, c / frames, c % frames, got[c],
                                 want[c]);
                free(want);
                free(got);
                cases++;
            }
            free(cond);
        }
        dgxm_decoder_free(dg);
        dgxm_decoder_free(dc);
        model_close(&m);
    }
    print_message("greedy codes equal on %d model/prompt/guidance cases (%s step)\n", cases,
                  form_names[form]);
    assert_true(cases >= 8);
    cpu->ops->destroy(cpu);
    gpu->ops->destroy(gpu);
}

static double rel_error(const float *got, const float *want, size_t n)
{
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)got[i] - want[i]));
        scale = fmax(scale, fabs((double)want[i]));
    }
    return worst / (scale > 0 ? scale : 1);
}

/* The host's choice from the device's logits for codebook k of this step. */
static int host_choice(const float *logits, const model *m, int rows, int k, const dgxm_sampling *s,
                       int global_step, dgxm_token_weight *work, float *guided)
{
    const int V = m->cfg->decoder.vocab_size, K = m->cfg->decoder.num_codebooks;
    const float *cond = logits + (size_t)k * V;
    if (rows == 2) {
        const float *uncond = logits + ((size_t)K + k) * V;
        for (int i = 0; i < V; i++)
            guided[i] = uncond[i] + (cond[i] - uncond[i]) * (float)s->guidance;
        cond = guided;
    }
    float u = s->greedy ? 0.0f : dgxm_philox_uniform(s->seed, (uint32_t)global_step, (uint32_t)k);
    return dgxm_sample_token(cond, V, s, u, work);
}

/* The step took the form this case asks for: 2 kernels (persistent, then the token choice), or 8
 * a layer with the three-phase cross-attention, 7 folded into two GEMVs, 6 folded into the
 * neighbouring launches (int8 layers too: their fold is bf16 side rows), 5 without text, plus 3
 * around them (the embedding, the heads, the token choice with the counter advance). */
static void check_path(const dgxm_decoder_fused *f, int layers, int lt)
{
    const int kernels = dgxm_decoder_fused_kernels(f);
    int want = -1;
    if ((form == FORM_PERSISTENT || form == FORM_PERSISTENT_UNFOLDED) && persistent_capable)
        want = 2; /* the persistent kernel, the token choice */
    else if (form == FORM_FOLDED)
        want = (lt > 0 ? 6 : 5) * layers + 3;
    else if (form == FORM_FOLDED_TWO)
        want = (lt > 0 ? 7 : 5) * layers + 3;
    else if (form == FORM_UNFOLDED)
        want = (lt > 0 ? 8 : 5) * layers + 3;
    if (want >= 0 && kernels != want)
        fail_msg("the %s step runs %d kernels, not %d", form_names[form], kernels, want);
}

/* Runs `steps` steps of one window on both paths, fed the device's choices; returns the worst
 * logit error and fails on any token that differs from the host sampler's. */
static double compare_steps(dgxm_decoder *dc, dgxm_decoder *dg, const model *m, const float *cond,
                            int lt, const dgxm_sampling *s, int steps)
{
    const dgxm_decoder_config *c = &m->cfg->decoder;
    const int K = c->num_codebooks, V = c->vocab_size, rows = s->guidance > 1.0 ? 2 : 1;
    const int D = K / c->audio_channels - 1, frames = steps - D, columns = steps + 1;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_decoder_fused *f = dgxm_decoder_fused_new(dg, rows, steps, cond, lt, s, &err);
    if (!f)
        fail_msg("fused step: %s", err.message);
    check_path(f, m->cfg->decoder.num_layers, lt);
    dgxm_decoder_state *st = dgxm_decoder_state_new(dc, rows, steps, cond, lt, &err);
    int32_t *grid = malloc((size_t)K * columns * sizeof *grid);
    for (int i = 0; i < K * columns; i++)
        grid[i] = c->pad_token_id;
    int32_t in[64], out[64];
    float *want = malloc((size_t)rows * K * V * sizeof *want);
    float *got = malloc((size_t)rows * K * V * sizeof *got);
    float *guided = malloc((size_t)V * sizeof *guided);
    dgxm_token_weight *work = malloc((size_t)V * sizeof *work);
    if (!st || dgxm_decoder_fused_window(f, grid, columns, 0, frames, 100, &err))
        fail_msg("%s", err.message);
    double worst = 0;
    for (int step = 1; step < columns; step++) {
        for (int k = 0; k < K; k++)
            in[k] = grid[k * columns + step - 1];
        if (dgxm_decoder_step(st, in, want, &err) || dgxm_decoder_fused_step(f, out, false, &err) ||
            dgxm_decoder_fused_logits(f, got, &err))
            fail_msg("step %d: %s", step, err.message);
        worst = fmax(worst, rel_error(got, want, (size_t)rows * K * V));
        for (int k = 0; k < K; k++) {
            const int t = step - 1 - k / c->audio_channels;
            const int expect = t >= 0 && t < frames
                                   ? host_choice(got, m, rows, k, s, 100 + step - 1, work, guided)
                                   : c->pad_token_id;
            if (out[k] != expect)
                fail_msg("step %d codebook %d: the device chose %d, the host sampler %d", step, k,
                         out[k], expect);
            grid[k * columns + step] = out[k];
        }
    }
    free(grid), free(want), free(got), free(guided), free(work);
    dgxm_decoder_state_free(st);
    dgxm_decoder_fused_free(f);
    return worst;
}

static const dgxm_sampling samplings[] = {
    { .greedy = true, .guidance = 3.0 },
    { .temperature = 1.0, .top_k = 250, .top_p = 1.0, .guidance = 3.0, .seed = 42 },
    { .temperature = 0.7, .top_k = 0, .top_p = 0.9, .guidance = 3.0, .seed = 7 },
    { .temperature = 1.3, .top_k = 0, .top_p = 1.0, .guidance = 1.0, .seed = 99 },
    { .temperature = 1.0, .top_k = 5, .top_p = 0.5, .guidance = 2.0, .seed = 1 },
};
#define N_SAMPLINGS (sizeof samplings / sizeof *samplings)

/* Every weight format against the CPU's f32 steps, over `steps` steps with the samplings
 * [first, first + count). */
static void check_model(model *m, const float *cond, int lt, const char *label, int steps,
                        size_t first, size_t count)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *gpu = gpu_or_skip();
    dgxm_backend *cpu = dgxm_cpu_backend_new(0, &err);
    dgxm_decoder *dc = decoder(cpu, m, DGXM_WEIGHT_F32);
    static const struct {
        dgxm_weight_format f;
        const char *name;
        double tol;
    } formats[] = { { DGXM_WEIGHT_F32, "f32", 1e-4 },
                    { DGXM_WEIGHT_BF16, "bf16", 1e-2 },
                    { DGXM_WEIGHT_F16, "f16", 1e-2 },
                    { DGXM_WEIGHT_INT8, "int8", 3e-2 } };
    for (size_t fi = 0; fi < sizeof formats / sizeof *formats; fi++) {
        dgxm_decoder *dg = decoder(gpu, m, formats[fi].f);
        for (size_t si = first; si < first + count; si++) {
            double e = compare_steps(dc, dg, m, cond, lt, &samplings[si], steps);
            print_message("%s %s %s sampling %zu: worst logit error %.2e (limit %.0e), every "
                          "token equals the host sampler's\n",
                          form_names[form], label, formats[fi].name, si, e, formats[fi].tol);
            if (!(e <= formats[fi].tol))
                fail_msg("%s %s: logit error %.3e above %.0e", label, formats[fi].name, e,
                         formats[fi].tol);
        }
        dgxm_decoder_free(dg);
    }
    dgxm_decoder_free(dc);
    cpu->ops->destroy(cpu);
    gpu->ops->destroy(gpu);
}

static void fused_steps_match_cpu_on_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fixture_models / sizeof *fixture_models; i++) {
        if (dgxm_cuda_device_count() == 0)
            gpu_or_skip();
        model m;
        model_open_fixture(&m, fixture_models[i]);
        dgxm_error err;
        dgxm_error_clear(&err);
        dgxm_backend *cpu = dgxm_cpu_backend_new(0, &err);
        int lt = 0;
        float *cond = fixture_conditioning(fixture_models[i], &m, cpu, 0, &lt);
        cpu->ops->destroy(cpu);
        check_model(&m, cond, lt, fixture_models[i], 24, 0, N_SAMPLINGS);
        free(cond);
        model_close(&m);
    }
}

/* lt x d text-encoder states, uniform in [-0.5, 0.5) from seed (a 64-bit LCG). */
static float *random_conditioning(int lt, int d, uint64_t seed)
{
    float *cond = malloc((size_t)lt * d * sizeof *cond);
    assert_non_null(cond);
    uint64_t r = seed;
    for (int i = 0; i < lt * d; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        cond[i] = (float)((double)(r >> 11) / 9007199254740992.0 - 0.5);
    }
    return cond;
}

/* check_model on a synthetic checkpoint (core/synthetic_checkpoint.c names the sizes) with 12
 * random text positions drawn from seed. */
static void check_synthetic(const char *size, uint64_t seed, const char *label, int steps,
                            size_t first, size_t count)
{
    if (dgxm_cuda_device_count() == 0)
        gpu_or_skip();
    model m;
    model_open_synthetic(&m, size);
    const int lt = 12;
    float *cond = random_conditioning(lt, m.cfg->decoder.hidden_size, seed);
    check_model(&m, cond, lt, label, steps, first, count);
    free(cond);
    model_close(&m);
}

static void fused_steps_match_cpu_at_real_widths(void **state)
{
    (void)state;
    check_synthetic("small:2", 5, "small:2", 24, 0, N_SAMPLINGS);
}

/* musicgen-large's widths: warps of four rows (fc1, Q,K,V with the fold, the heads) */
static void fused_steps_match_cpu_at_large_widths(void **state)
{
    (void)state;
    check_synthetic("large:1", 23, "large:1", 16, 0, 2);
}

/* musicgen-medium's widths: warps of three rows with six loads a lane a row (fc1; Q,K,V) */
static void fused_steps_match_cpu_at_medium_widths(void **state)
{
    (void)state;
    check_synthetic("medium:1", 29, "medium:1", 16, 0, 2);
}

/* 300 steps: the self-attention splits into three blocks of keys a head, whose partials the
 * last block to finish merges (24 steps never leave the first split). */
static void fused_steps_match_cpu_past_one_attention_split(void **state)
{
    (void)state;
    check_synthetic("small:2", 11, "small:2, 300 steps", 300, 1, 1);
}

/* The columns of one window stepped with queue_next: each step's logits are gone once the
 * next is queued, so the reference is the same window stepped without. */
static int32_t *window_columns(dgxm_decoder *dg, const model *m, const float *cond, int lt,
                               const dgxm_sampling *s, int steps, bool queue_next)
{
    const dgxm_decoder_config *c = &m->cfg->decoder;
    const int K = c->num_codebooks, columns = steps + 1;
    const int frames = steps - (K / c->audio_channels - 1);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_decoder_fused *f = dgxm_decoder_fused_new(dg, 2, steps, cond, lt, s, &err);
    if (!f)
        fail_msg("fused step: %s", err.message);
    int32_t *grid = malloc((size_t)K * columns * sizeof *grid);
    int32_t *got = malloc((size_t)K * columns * sizeof *got);
    float *logits = malloc((size_t)2 * K * c->vocab_size * sizeof *logits);
    for (int i = 0; i < K * columns; i++)
        grid[i] = c->pad_token_id;
    if (dgxm_decoder_fused_window(f, grid, columns, 0, frames, 0, &err))
        fail_msg("%s", err.message);
    int32_t column[64];
    for (int step = 1; step < columns; step++) {
        if (dgxm_decoder_fused_step(f, column, queue_next, &err))
            fail_msg("step %d: %s", step, err.message);
        for (int k = 0; k < K; k++)
            got[k * columns + step] = column[k];
        /* while a step is queued its logits would pass for this one's: refused, not wrong */
        const dgxm_status read = dgxm_decoder_fused_logits(f, logits, &err);
        const bool queued = queue_next && step < columns - 1;
        if (queued && read != DGXM_ERR_INVALID_ARG)
            fail_msg("step %d: logits read with a step queued ahead", step);
        if (!queued && read)
            fail_msg("step %d: %s", step, err.message);
        dgxm_error_clear(&err);
        dgxm_fused_profile_entry prof[32]; /* a profile would run the step after the queued one */
        if (queued && (dgxm_decoder_fused_profile(f, prof, 32, &err) != -1 ||
                       err.status != DGXM_ERR_INVALID_ARG))
            fail_msg("step %d: profile run with a step queued ahead", step);
        dgxm_error_clear(&err);
    }
    /* a new window after a queued one starts from its own first step */
    if (queue_next && (dgxm_decoder_fused_window(f, grid, columns, 0, frames, 0, &err) ||
                       dgxm_decoder_fused_step(f, column, true, &err) ||
                       dgxm_decoder_fused_step(f, column, true, &err)))
        fail_msg("second window: %s", err.message);
    for (int k = 0; queue_next && k < K; k++)
        if (column[k] != got[k * columns + 2])
            fail_msg("second window, step 2, codebook %d: %d, the first window's %d", k, column[k],
                     got[k * columns + 2]);
    free(grid), free(logits);
    dgxm_decoder_fused_free(f);
    return got;
}

/* Steps queued one ahead (what core/generate.c asks for) choose the tokens of steps run one at a
 * time, every format, sampled with a seed. */
static void queued_steps_choose_the_same_tokens(void **state)
{
    (void)state;
    if (dgxm_cuda_device_count() == 0)
        gpu_or_skip();
    model m;
    model_open_synthetic(&m, "small:2");
    const int lt = 12, steps = 40, K = m.cfg->decoder.num_codebooks;
    float *cond = random_conditioning(lt, m.cfg->decoder.hidden_size, 29);
    dgxm_backend *gpu = gpu_or_skip();
    const dgxm_weight_format formats[] = { DGXM_WEIGHT_F32, DGXM_WEIGHT_BF16, DGXM_WEIGHT_INT8 };
    for (size_t fi = 0; fi < sizeof formats / sizeof *formats; fi++) {
        dgxm_decoder *dg = decoder(gpu, &m, formats[fi]);
        const int32_t *one = window_columns(dg, &m, cond, lt, &samplings[1], steps, false);
        int32_t *ahead = window_columns(dg, &m, cond, lt, &samplings[1], steps, true);
        for (int step = 1; step <= steps; step++)
            for (int k = 0; k < K; k++)
                if (ahead[k * (steps + 1) + step] != one[k * (steps + 1) + step])
                    fail_msg("format %d step %d codebook %d: queued %d, one at a time %d",
                             (int)formats[fi], step, k, ahead[k * (steps + 1) + step],
                             one[k * (steps + 1) + step]);
        print_message("format %d: %d queued steps chose the tokens of steps one at a time\n",
                      (int)formats[fi], steps);
        free((void *)one), free(ahead);
        dgxm_decoder_free(dg);
    }
    gpu->ops->destroy(gpu);
    free(cond);
    model_close(&m);
}

/* Rewrites rows of lm_heads.{k}.weight in dir/model.safetensors (BF16 [vocab][hidden]) so the
 * logits tie: row i takes row from(k, i), or zeros when it returns -1. */
static void tie_head_rows(const char *dir, int codebooks, int vocab, int hidden,
                          int (*from)(int k, int i))
{
    char path[4200], name[64];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    unsigned char len8[8];
    assert_int_equal(fread(len8, 1, 8, f), 8);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--)
        header_len = header_len << 8 | len8[i];
    char *header = malloc(header_len + 1);
    assert_non_null(header);
    assert_int_equal(fread(header, 1, header_len, f), header_len);
    header[header_len] = 0;
    json_error_t jerr;
    json_t *root = json_loads(header, 0, &jerr);
    assert_non_null(root);
    const size_t row_bytes = (size_t)hidden * 2;
    unsigned char *head = malloc((size_t)vocab * row_bytes), *row = malloc(row_bytes);
    assert_non_null(head);
    assert_non_null(row);
    for (int k = 0; k < codebooks; k++) {
        snprintf(name, sizeof name, "decoder.lm_heads.%d.weight", k);
        const json_t *offsets = json_object_get(json_object_get(root, name), "data_offsets");
        assert_non_null(offsets);
        const long start = (long)(8 + header_len + json_integer_value(json_array_get(offsets, 0)));
        assert_int_equal(fseek(f, start, SEEK_SET), 0);
        assert_int_equal(fread(head, row_bytes, (size_t)vocab, f), (size_t)vocab);
        assert_int_equal(fseek(f, start, SEEK_SET), 0);
        for (int i = 0; i < vocab; i++) {
            const int src = from(k, i);
            if (src < 0)
                memset(row, 0, row_bytes);
            else
                memcpy(row, head + (size_t)src * row_bytes, row_bytes);
            assert_int_equal(fwrite(row, row_bytes, 1, f), 1);
        }
    }
    assert_int_equal(fclose(f), 0);
    json_decref(root);
    free(header), free(head), free(row);
}

/* Codebook 0: every logit 8 times (the 250th ties with 6 more); 1: rows 0-1499 one value, the
 * rest exact zeros (1500 survivors, or 548 zeros tied at the 250th); 2: the last 548 rows one
 * value; 3: untouched. */
static int tied_row(int k, int i)
{
    switch (k) {
    case 0: return i & ~7;
    case 1: return i < 1500 ? 0 : -1;
    case 2: return i < 1500 ? i : 1500;
    default: return i;
    }
}

/* Ties at the k-th logit: the device's top-k keeps every logit equal to the k-th value and
 * orders equal logits by index, as core/sampler.c does, including more survivors than threads. */
static void device_sampler_keeps_ties_as_the_host(void **state)
{
    (void)state;
    if (dgxm_cuda_device_count() == 0)
        gpu_or_skip();
    model m;
    memset(&m, 0, sizeof m);
    m.tmp = test_make_temp_dir();
    dgxm_error err;
    dgxm_error_clear(&err);
    if (dgxm_synthetic_checkpoint_write(m.tmp, "small:2", 0, 13, &err))
        fail_msg("%s", err.message);
    tie_head_rows(m.tmp, 4, 2048, 1024, tied_row);
    m.ckpt = dgxm_checkpoint_open(m.tmp, &err);
    if (!m.ckpt)
        fail_msg("%s", err.message);
    m.cfg = dgxm_checkpoint_config(m.ckpt);
    assert_int_equal(m.cfg->decoder.vocab_size, 2048);
    dgxm_backend *gpu = gpu_or_skip();
    dgxm_backend *cpu = dgxm_cpu_backend_new(0, &err);
    dgxm_decoder *dc = decoder(cpu, &m, DGXM_WEIGHT_F32);
    const int lt = 12;
    float *cond = random_conditioning(lt, m.cfg->decoder.hidden_size, 17);
    static const dgxm_sampling tied[] = {
        { .temperature = 1.0, .top_k = 250, .top_p = 1.0, .guidance = 3.0, .seed = 3 },
        { .temperature = 0.8, .top_k = 1200, .top_p = 0.95, .guidance = 1.0, .seed = 4 },
        { .greedy = true, .guidance = 3.0 },
    };
    const dgxm_weight_format formats[] = { DGXM_WEIGHT_F32, DGXM_WEIGHT_BF16 };
    for (size_t fi = 0; fi < 2; fi++) {
        dgxm_decoder *dg = decoder(gpu, &m, formats[fi]);
        for (size_t si = 0; si < sizeof tied / sizeof *tied; si++) {
            const double e = compare_steps(dc, dg, &m, cond, lt, &tied[si], 16);
            const double tol = formats[fi] == DGXM_WEIGHT_F32 ? 1e-4 : 1e-2;
            print_message("tied heads, format %d, sampling %zu: worst logit error %.2e (limit "
                          "%.0e), every token equals the host sampler's\n",
                          (int)formats[fi], si, e, tol);
            if (!(e <= tol))
                fail_msg("tied heads: logit error %.3e above %.0e", e, tol);
        }
        dgxm_decoder_free(dg);
    }
    free(cond);
    dgxm_decoder_free(dc);
    cpu->ops->destroy(cpu);
    gpu->ops->destroy(gpu);
    model_close(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(fused_f32_greedy_codes_equal_cpu, form_default),
        cmocka_unit_test_setup(fused_steps_match_cpu_on_fixtures, form_default),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_real_widths, form_default),
        cmocka_unit_test_setup(fused_steps_match_cpu_past_one_attention_split, form_default),
        cmocka_unit_test_setup(fused_f32_greedy_codes_equal_cpu, form_folded),
        cmocka_unit_test_setup(fused_steps_match_cpu_on_fixtures, form_folded),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_real_widths, form_folded),
        cmocka_unit_test_setup(fused_f32_greedy_codes_equal_cpu, form_folded_two),
        cmocka_unit_test_setup(fused_steps_match_cpu_on_fixtures, form_folded_two),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_real_widths, form_folded_two),
        cmocka_unit_test_setup(fused_f32_greedy_codes_equal_cpu, form_unfolded),
        cmocka_unit_test_setup(fused_steps_match_cpu_on_fixtures, form_unfolded),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_real_widths, form_unfolded),
        cmocka_unit_test_setup(fused_f32_greedy_codes_equal_cpu, form_persistent),
        cmocka_unit_test_setup(fused_steps_match_cpu_on_fixtures, form_persistent),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_real_widths, form_persistent),
        cmocka_unit_test_setup(fused_steps_match_cpu_past_one_attention_split, form_persistent),
        cmocka_unit_test_setup(fused_f32_greedy_codes_equal_cpu, form_persistent_unfolded),
        cmocka_unit_test_setup(fused_steps_match_cpu_on_fixtures, form_persistent_unfolded),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_real_widths, form_persistent_unfolded),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_large_widths, form_default),
        cmocka_unit_test_setup(fused_steps_match_cpu_on_fixtures, form_int8_fused),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_real_widths, form_int8_fused),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_large_widths, form_int8_fused),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_medium_widths, form_default),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_medium_widths, form_int8_fused),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_medium_widths, form_rw3_tile3),
        cmocka_unit_test_setup(fused_steps_match_cpu_at_large_widths, form_rw3_tile3),
        cmocka_unit_test_setup(device_sampler_keeps_ties_as_the_host, form_default),
        cmocka_unit_test_setup(queued_steps_choose_the_same_tokens, form_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
