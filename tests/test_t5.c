/* The T5 encoder and the projection into the decoder against the Hugging Face reference
 * outputs recorded for every fixture model (tests/reference/make_fixtures.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "model_config.h"
#include "safetensors.h"
#include "t5.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fixture_models[] = { "mono", "mono-legacy", "stereo", "stereo-legacy" };

/* Largest per-element error relative to the tensor's largest magnitude, and the norm-wise
 * relative error; the acceptance bound (1e-4) applies to both. */
static void assert_close(const float *got, const dgxm_tensor *ref, const char *what)
{
    const float *want = ref->data;
    double max_ref = 0, max_err = 0, num = 0, den = 0;
    for (int64_t i = 0; i < ref->numel; i++) {
        double d = (double)got[i] - want[i];
        max_ref = fmax(max_ref, fabs((double)want[i]));
        max_err = isnan(got[i]) ? INFINITY : fmax(max_err, fabs(d));
        num += d * d;
        den += (double)want[i] * want[i];
    }
    double rel = sqrt(num / den);
    print_message("%s: relative error %.2g, max error / max |ref| %.2g\n", what, rel,
                  max_err / max_ref);
    if (!(max_err <= 1e-4 * max_ref && rel <= 1e-4))
        fail_msg("%s: max error %.3g (of max |ref| %.3g), relative error %.3g", what, max_err,
                 max_ref, rel);
}

static void check_model(const char *model, int *prompts_checked)
{
    char dir[4096], ref_path[4096];
    snprintf(dir, sizeof dir, "%s", test_fixture_path("models/"));
    strncat(dir, model, sizeof dir - strlen(dir) - 1);
    snprintf(ref_path, sizeof ref_path, "%sreference/%s.safetensors", test_fixture_path(""), model);

    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_model_config cfg;
    if (dgxm_model_config_load(dir, &cfg, &err) != DGXM_OK)
        fail_msg("%s", err.message);
    dgxm_weights *w = dgxm_weights_open(dir, &err);
    dgxm_safetensors *ref = dgxm_safetensors_open(ref_path, &err);
    dgxm_backend *b = dgxm_cpu_backend_new(3, &err);
    dgxm_t5 *t5 = w && b ? dgxm_t5_new(b, w, &cfg, &err) : NULL;
    if (!ref || !t5)
        fail_msg("%s: %s", model, err.message);

    for (int p = 0;; p++) {
        char key[64];
        snprintf(key, sizeof key, "p%d.ids", p);
        const dgxm_tensor *ids_t = dgxm_safetensors_find(ref, key);
        if (!ids_t)
            break;
        snprintf(key, sizeof key, "p%d.t5_hidden", p);
        const dgxm_tensor *hidden_ref = dgxm_safetensors_find(ref, key);
        snprintf(key, sizeof key, "p%d.conditioning", p);
        const dgxm_tensor *cond_ref = dgxm_safetensors_find(ref, key);
        assert_non_null(hidden_ref);
        assert_non_null(cond_ref);
        int n = (int)ids_t->numel;
        assert_int_equal(hidden_ref->shape[0], n);
        assert_int_equal(hidden_ref->shape[1], cfg.t5.d_model);
        assert_int_equal(cond_ref->shape[1], cfg.decoder.hidden_size);

        int32_t *ids = malloc((size_t)n * sizeof *ids);
        const int64_t *ids64 = ids_t->data;
        for (int i = 0; i < n; i++)
            ids[i] = (int32_t)ids64[i];
        float *hidden = malloc((size_t)hidden_ref->numel * sizeof *hidden);
        float *cond = malloc((size_t)cond_ref->numel * sizeof *cond);
        if (dgxm_t5_encode(t5, ids, n, hidden, cond, &err) != DGXM_OK)
            fail_msg("%s prompt %d: %s", model, p, err.message);
        char what[128];
        snprintf(what, sizeof what, "%s prompt %d t5 hidden", model, p);
        assert_close(hidden, hidden_ref, what);
        snprintf(what, sizeof what, "%s prompt %d conditioning", model, p);
        assert_close(cond, cond_ref, what);
        free(ids), free(hidden), free(cond);
        (*prompts_checked)++;
    }
    dgxm_t5_free(t5);
    b->ops->destroy(b);
    dgxm_safetensors_free(ref);
    dgxm_weights_free(w);
}

static void encoder_matches_reference_on_every_fixture(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t m = 0; m < sizeof fixture_models / sizeof fixture_models[0]; m++)
        check_model(fixture_models[m], &checked);
    assert_true(checked >= 8); /* several prompts per model, so the loop did run */
}

/* Thresholds of t5-base's 32 buckets / max distance 128, as the reference's float32 math gives
 * them (reference note, T5 section). */
static void relative_buckets_match_reference_thresholds(void **state)
{
    (void)state;
    const int edges[][2] = {
        { 0, 0 },   { 7, 7 },   { 8, 8 },   { 11, 8 },  { 12, 9 },  { 15, 9 },
        { 16, 10 }, { 22, 10 }, { 23, 11 }, { 31, 11 }, { 32, 12 }, { 45, 12 },
        { 46, 13 }, { 63, 13 }, { 64, 14 }, { 90, 14 }, { 91, 15 }, { 500, 15 }
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        assert_int_equal(dgxm_t5_relative_bucket(-edges[i][0], 32, 128), edges[i][1]);
        if (edges[i][0] > 0)
            assert_int_equal(dgxm_t5_relative_bucket(edges[i][0], 32, 128), edges[i][1] + 16);
    }
}

static void out_of_vocabulary_id_is_an_error(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_fixture_path("models/mono"));
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_model_config cfg;
    assert_int_equal(dgxm_model_config_load(dir, &cfg, &err), DGXM_OK);
    dgxm_weights *w = dgxm_weights_open(dir, &err);
    dgxm_backend *b = dgxm_cpu_backend_new(1, &err);
    dgxm_t5 *t5 = dgxm_t5_new(b, w, &cfg, &err);
    assert_non_null(t5);
    int32_t ids[2] = { 5, cfg.t5.vocab_size };
    float *hidden = malloc(2 * (size_t)cfg.t5.d_model * sizeof *hidden);
    assert_int_equal(dgxm_t5_encode(t5, ids, 2, hidden, NULL, &err), DGXM_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "id"));
    free(hidden);
    dgxm_t5_free(t5);
    b->ops->destroy(b);
    dgxm_weights_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relative_buckets_match_reference_thresholds),
        cmocka_unit_test(encoder_matches_reference_on_every_fixture),
        cmocka_unit_test(out_of_vocabulary_id_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
