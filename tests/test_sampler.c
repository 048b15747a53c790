/* Token choice on synthetic logits: greedy picks the first maximum; top-k and top-p never leave
 * their allowed sets and their frequencies match the renormalised distribution (chi-square);
 * the Philox draws are reproducible and uniform; bad parameters are named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    VOCAB = 64,
    DRAWS = 200000
};

static void make_logits(float *logits, unsigned seed)
{
    for (int i = 0; i < VOCAB; i++)
        logits[i] = 3.0f * dgxm_philox_uniform(seed, 0, (uint32_t)i) - 1.5f;
}

/* 99.9th percentile of chi-square with df degrees of freedom (Wilson-Hilferty). */
static double chi2_bound(int df)
{
    double z = 3.09, a = 2.0 / (9.0 * df);
    return df * pow(1 - a + z * sqrt(a), 3);
}

/* Draws DRAWS tokens and compares counts with expected[] (zero = must never be drawn). */
static void check_frequencies(const float *logits, const dgxm_sampling *p, const double *expected)
{
    dgxm_token_weight work[VOCAB];
    long counts[VOCAB] = { 0 };
    for (int d = 0; d < DRAWS; d++) {
        int tok =
            dgxm_sample_token(logits, VOCAB, p, dgxm_philox_uniform(p->seed, (uint32_t)d, 7), work);
        assert_true(tok >= 0 && tok < VOCAB);
        counts[tok]++;
    }
    double chi2 = 0;
    int df = -1;
    for (int i = 0; i < VOCAB; i++) {
        if (expected[i] == 0) {
            if (counts[i] != 0)
                fail_msg("token %d outside the allowed set was drawn %ld times", i, counts[i]);
            continue;
        }
        double e = expected[i] * DRAWS;
        chi2 += (counts[i] - e) * (counts[i] - e) / e;
        df++;
    }
    if (df > 0 && chi2 > chi2_bound(df))
        fail_msg("chi-square %.1f over the 99.9%% bound %.1f (df %d)", chi2, chi2_bound(df), df);
}

static void softmax_expected(const float *logits, double temperature, const int *allowed,
                             double *expected)
{
    double max = -INFINITY, sum = 0;
    for (int i = 0; i < VOCAB; i++)
        if (allowed[i] && logits[i] / temperature > max)
            max = logits[i] / temperature;
    for (int i = 0; i < VOCAB; i++) {
        expected[i] = allowed[i] ? exp(logits[i] / temperature - max) : 0;
        sum += expected[i];
    }
    for (int i = 0; i < VOCAB; i++)
        expected[i] /= sum;
}

static void greedy_takes_first_maximum(void **state)
{
    (void)state;
    float logits[VOCAB];
    make_logits(logits, 1);
    logits[10] = logits[40] = 9.0f;
    dgxm_sampling p = { .greedy = true };
    dgxm_token_weight work[VOCAB];
    assert_int_equal(dgxm_sample_token(logits, VOCAB, &p, 0.5f, work), 10);
}

static void full_distribution_matches_softmax(void **state)
{
    (void)state;
    float logits[VOCAB];
    make_logits(logits, 2);
    int allowed[VOCAB];
    double expected[VOCAB];
    for (int i = 0; i < VOCAB; i++)
        allowed[i] = 1;
    dgxm_sampling p = { .temperature = 0.7, .top_p = 1.0, .seed = 11 };
    softmax_expected(logits, 0.7, allowed, expected);
    check_frequencies(logits, &p, expected);
}

static void top_k_keeps_k_most_likely(void **state)
{
    (void)state;
    float logits[VOCAB];
    make_logits(logits, 3);
    int k = 9, allowed[VOCAB];
    double expected[VOCAB];
    for (int i = 0; i < VOCAB; i++) { /* rank by counting larger logits */
        int larger = 0;
        for (int j = 0; j < VOCAB; j++)
            larger += logits[j] > logits[i];
        allowed[i] = larger < k;
    }
    dgxm_sampling p = { .temperature = 1.3, .top_k = k, .top_p = 1.0, .seed = 5 };
    softmax_expected(logits, 1.3, allowed, expected);
    check_frequencies(logits, &p, expected);
}

static void top_k_keeps_ties_at_the_threshold(void **state)
{
    (void)state;
    float logits[VOCAB];
    for (int i = 0; i < VOCAB; i++)
        logits[i] = -5.0f;
    logits[3] = 2.0f;
    logits[20] = logits[30] = logits[50] = 1.0f; /* the 2nd value, tied three ways */
    int allowed[VOCAB] = { 0 };
    allowed[3] = allowed[20] = allowed[30] = allowed[50] = 1;
    double expected[VOCAB];
    dgxm_sampling p = { .temperature = 1.0, .top_k = 2, .top_p = 1.0, .seed = 9 };
    softmax_expected(logits, 1.0, allowed, expected);
    check_frequencies(logits, &p, expected);
}

static void top_p_keeps_smallest_set_reaching_p(void **state)
{
    (void)state;
    float logits[VOCAB];
    make_logits(logits, 4);
    double probs[VOCAB];
    int all[VOCAB], allowed[VOCAB] = { 0 };
    for (int i = 0; i < VOCAB; i++)
        all[i] = 1;
    softmax_expected(logits, 1.0, all, probs);
    /* The reference removes, from the least likely end, tokens whose cumulative mass stays
     * within 1 - p. */
    const double top_p = 0.6;
    int order[VOCAB];
    for (int i = 0; i < VOCAB; i++)
        order[i] = i;
    for (int i = 0; i < VOCAB; i++) /* ascending by probability */
        for (int j = i + 1; j < VOCAB; j++)
            if (probs[order[j]] < probs[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    double cum = 0;
    for (int i = 0; i < VOCAB; i++) {
        cum += probs[order[i]];
        allowed[order[i]] = !(cum <= 1.0 - top_p) || i == VOCAB - 1;
    }
    double expected[VOCAB];
    dgxm_sampling p = { .temperature = 1.0, .top_p = top_p, .seed = 21 };
    softmax_expected(logits, 1.0, allowed, expected);
    check_frequencies(logits, &p, expected);
}

static void philox_is_reproducible_and_uniform(void **state)
{
    (void)state;
    /* Random123's known answer for Philox4x32-10 with zero counter and key: 0x6627e8d5 ... */
    assert_true(dgxm_philox_uniform(0, 0, 0) == (float)(0x6627e8d5u >> 8) / 16777216.0f);
    assert_true(dgxm_philox_uniform(42, 7, 3) == dgxm_philox_uniform(42, 7, 3));
    assert_true(dgxm_philox_uniform(42, 7, 3) != dgxm_philox_uniform(43, 7, 3));
    assert_true(dgxm_philox_uniform(42, 7, 3) != dgxm_philox_uniform(42, 8, 3));
    long bins[16] = { 0 };
    for (uint32_t i = 0; i < 160000; i++) {
        float u = dgxm_philox_uniform(1234, i, 0);
        assert_true(u >= 0.0f && u < 1.0f);
        bins[(int)(u * 16)]++;
    }
    double chi2 = 0;
    for (int b = 0; b < 16; b++)
        chi2 += (bins[b] - 10000.0) * (bins[b] - 10000.0) / 10000.0;
    assert_true(chi2 < chi2_bound(15));
}

static void bad_parameters_are_named(void **state)
{
    (void)state;
    struct {
        dgxm_sampling p;
        const char *word;
    } cases[] = {
        { { .temperature = NAN, .top_p = 1, .guidance = 3 }, "temperature" },
        { { .temperature = 0, .top_p = 1, .guidance = 3 }, "temperature" },
        { { .temperature = 1, .top_p = 1, .guidance = NAN }, "guidance" },
        { { .temperature = 1, .top_p = 1, .guidance = -1 }, "guidance" },
        { { .temperature = 1, .top_p = 0, .guidance = 3 }, "top-p" },
        { { .temperature = 1, .top_p = 1.5, .guidance = 3 }, "top-p" },
        { { .temperature = 1, .top_p = 1, .top_k = -2, .guidance = 3 }, "top-k" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dgxm_error err;
        dgxm_error_clear(&err);
        assert_int_equal(dgxm_sampling_validate(&cases[i].p, &err), DGXM_ERR_INVALID_ARG);
        assert_non_null(strstr(err.message, cases[i].word));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greedy_takes_first_maximum),
        cmocka_unit_test(full_distribution_matches_softmax),
        cmocka_unit_test(top_k_keeps_k_most_likely),
        cmocka_unit_test(top_k_keeps_ties_at_the_threshold),
        cmocka_unit_test(top_p_keeps_smallest_set_reaching_p),
        cmocka_unit_test(philox_is_reproducible_and_uniform),
        cmocka_unit_test(bad_parameters_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
