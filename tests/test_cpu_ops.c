/* Every CPU kernel against a plain double-precision reference on fresh random inputs, with
 * outputs poisoned first so an unwritten element fails; run with 1 and 3 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "backend.h"
#include "test_random.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static double rel_error(const float *got, const double *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]))
            return INFINITY;
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += want[i] * want[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static dgxm_backend *backend_with(int threads)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *b = dgxm_cpu_backend_new(threads, &err);
    assert_non_null(b);
    return b;
}

static void check_linear(int threads, int m, int rows, int cols, int use_bias, int accumulate)
{
    dgxm_backend *b = backend_with(threads);
    float *w = test_random_floats((size_t)rows * cols), *x = test_random_floats((size_t)m * cols);
    float *bias = use_bias ? test_random_floats(rows) : NULL;
    float *y = accumulate ? test_random_floats((size_t)m * rows) : test_poisoned((size_t)m * rows);
    double *want = malloc((size_t)m * rows * sizeof *want);
    for (int r = 0; r < m; r++)
        for (int o = 0; o < rows; o++) {
            double s = accumulate ? y[(size_t)r * rows + o] : 0.0;
            for (int i = 0; i < cols; i++)
                s += (double)x[(size_t)r * cols + i] * w[(size_t)o * cols + i];
            want[(size_t)r * rows + o] = s + (bias ? bias[o] : 0.0);
        }
    dgxm_matrix mat;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(b->ops->matrix_upload(b, w, rows, cols, DGXM_WEIGHT_F32, &mat, &err), DGXM_OK);
    assert_int_equal(b->ops->linear(b, &mat, bias, x, m, y, accumulate, &err), DGXM_OK);
    assert_true(rel_error(y, want, (size_t)m * rows) < 1e-6);
    b->ops->matrix_free(b, &mat);
    b->ops->destroy(b);
    free(w), free(x), free(bias), free(y), free(want);
}

static void linear_matches_reference(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads += 2) {
        check_linear(threads, 1, 7, 5, 0, 0);
        check_linear(threads, 3, 130, 67, 1, 0);
        check_linear(threads, 17, 257, 768, 1, 1);
        check_linear(threads, 2, 2048, 64, 0, 0);
    }
}

/* bf16 weights: exact float32 math on the rounded weights, within bf16 rounding of the
 * original ones. */
static void linear_bf16_matches_reference(void **state)
{
    (void)state;
    dgxm_backend *b = backend_with(3);
    const int m = 2, rows = 300, cols = 1000;
    float *w = test_random_floats((size_t)rows * cols), *x = test_random_floats((size_t)m * cols);
    float *y = test_poisoned((size_t)m * rows);
    double *exact = malloc((size_t)m * rows * sizeof *exact);
    double *rounded = malloc((size_t)m * rows * sizeof *rounded);
    for (int r = 0; r < m; r++)
        for (int o = 0; o < rows; o++) {
            double e = 0, q = 0;
            for (int i = 0; i < cols; i++) {
                float wv = w[(size_t)o * cols + i];
                uint32_t bits;
                memcpy(&bits, &wv, 4);
                bits = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000u; /* nearest even */
                float wq;
                memcpy(&wq, &bits, 4);
                e += (double)x[(size_t)r * cols + i] * wv;
                q += (double)x[(size_t)r * cols + i] * wq;
            }
            exact[(size_t)r * rows + o] = e;
            rounded[(size_t)r * rows + o] = q;
        }
    dgxm_matrix mat;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(b->ops->matrix_upload(b, w, rows, cols, DGXM_WEIGHT_BF16, &mat, &err),
                     DGXM_OK);
    assert_int_equal(b->ops->linear(b, &mat, NULL, x, m, y, false, &err), DGXM_OK);
    assert_true(rel_error(y, rounded, (size_t)m * rows) < 1e-6);
    double vs_f32 = rel_error(y, exact, (size_t)m * rows);
    assert_true(vs_f32 < 1e-2 && vs_f32 > 1e-5); /* really rounded, within bf16 tolerance */
    b->ops->matrix_free(b, &mat);
    b->ops->destroy(b);
    free(w), free(x), free(y), free(exact), free(rounded);
}

static void unsupported_format_is_an_error(void **state)
{
    (void)state;
    dgxm_backend *b = backend_with(1);
    float w[4] = { 1, 2, 3, 4 };
    dgxm_matrix mat;
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(b->ops->matrix_upload(b, w, 2, 2, DGXM_WEIGHT_INT8, &mat, &err),
                     DGXM_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "weight format"));
    b->ops->destroy(b);
}

static void norms_match_reference(void **state)
{
    (void)state;
    dgxm_backend *b = backend_with(3);
    const int m = 9, n = 333;
    float *x = test_random_floats((size_t)m * n), *w = test_random_floats(n),
          *bias = test_random_floats(n);
    float *y = test_poisoned((size_t)m * n);
    double *want = malloc((size_t)m * n * sizeof *want);
    dgxm_error err;
    dgxm_error_clear(&err);

    for (int r = 0; r < m; r++) {
        double ss = 0;
        for (int i = 0; i < n; i++)
            ss += (double)x[r * n + i] * x[r * n + i];
        for (int i = 0; i < n; i++)
            want[r * n + i] = x[r * n + i] / sqrt(ss / n + 1e-6) * w[i];
    }
    assert_int_equal(b->ops->rms_norm(b, x, w, m, n, 1e-6f, y, &err), DGXM_OK);
    assert_true(rel_error(y, want, (size_t)m * n) < 1e-6);

    for (int r = 0; r < m; r++) {
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++)
            mean += x[r * n + i];
        mean /= n;
        for (int i = 0; i < n; i++)
            var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
        var /= n;
        for (int i = 0; i < n; i++)
            want[r * n + i] = (x[r * n + i] - mean) / sqrt(var + 1e-5) * w[i] + bias[i];
    }
    for (int i = 0; i < m * n; i++)
        y[i] = NAN;
    assert_int_equal(b->ops->layer_norm(b, x, w, bias, m, n, 1e-5f, y, &err), DGXM_OK);
    assert_true(rel_error(y, want, (size_t)m * n) < 1e-6);
    b->ops->destroy(b);
    free(x), free(w), free(bias), free(y), free(want);
}

static void activations_match_reference(void **state)
{
    (void)state;
    dgxm_backend *b = backend_with(3);
    const size_t n = 50001;
    float *x = test_random_floats(n), *g = malloc(n * sizeof *g), *r = malloc(n * sizeof *r);
    for (size_t i = 0; i < n; i++)
        x[i] *= 6.0f;
    memcpy(g, x, n * sizeof *g);
    memcpy(r, x, n * sizeof *r);
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(b->ops->gelu(b, g, n, &err), DGXM_OK);
    assert_int_equal(b->ops->relu(b, r, n, &err), DGXM_OK);
    for (size_t i = 0; i < n; i++) {
        double want = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
        assert_true(fabs(g[i] - want) <= 1e-6 * (1.0 + fabs(want)));
        assert_true(r[i] == (x[i] > 0 ? x[i] : 0.0f));
    }
    b->ops->destroy(b);
    free(x), free(g), free(r);
}

static void reference_attention(const float *q, const float *k, const float *v, const float *bias,
                                const uint8_t *valid, int causal, int heads, int lq, int lk, int hd,
                                float scale, double *out)
{
    int width = heads * hd;
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < lq; i++) {
            double s[64], max = -INFINITY, sum = 0;
            int any = 0;
            for (int t = 0; t < lk; t++) {
                int ok = (!valid || valid[t]) && (!causal || t <= i + lk - lq);
                s[t] = -INFINITY;
                if (!ok)
                    continue;
                double d = 0;
                for (int e = 0; e < hd; e++)
                    d += (double)q[i * width + h * hd + e] * k[t * width + h * hd + e];
                s[t] = scale * d + (bias ? bias[(h * lq + i) * lk + t] : 0);
                max = s[t] > max ? s[t] : max;
                any = 1;
            }
            for (int e = 0; e < hd; e++)
                out[i * width + h * hd + e] = 0;
            if (!any)
                continue;
            for (int t = 0; t < lk; t++)
                sum += s[t] == -INFINITY ? 0 : exp(s[t] - max);
            for (int t = 0; t < lk; t++) {
                if (s[t] == -INFINITY)
                    continue;
                double p = exp(s[t] - max) / sum;
                for (int e = 0; e < hd; e++)
                    out[i * width + h * hd + e] += p * v[t * width + h * hd + e];
            }
        }
}

static void attention_matches_reference(void **state)
{
    (void)state;
    dgxm_backend *b = backend_with(3);
    const int heads = 3, hd = 16, width = heads * hd;
    struct {
        int lq, lk, causal, use_bias, use_mask;
    } cases[] = { { 5, 5, 0, 1, 0 },
                  { 6, 6, 1, 0, 0 },
                  { 1, 40, 1, 0, 0 },
                  { 4, 9, 0, 0, 1 },
                  { 3, 12, 0, 1, 1 } };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int lq = cases[c].lq, lk = cases[c].lk;
        float *q = test_random_floats((size_t)lq * width),
              *k = test_random_floats((size_t)lk * width);
        float *v = test_random_floats((size_t)lk * width), *out = test_poisoned((size_t)lq * width);
        float *bias = cases[c].use_bias ? test_random_floats((size_t)heads * lq * lk) : NULL;
        uint8_t valid[64];
        for (int t = 0; t < lk; t++)
            valid[t] = (uint8_t)(t % 3 != 1);
        double *want = malloc((size_t)lq * width * sizeof *want);
        reference_attention(q, k, v, bias, cases[c].use_mask ? valid : NULL, cases[c].causal, heads,
                            lq, lk, hd, 0.25f, want);
        dgxm_error err;
        dgxm_error_clear(&err);
        assert_int_equal(b->ops->attention(b, q, width, k, v, width, bias,
                                           cases[c].use_mask ? valid : NULL, cases[c].causal, heads,
                                           lq, lk, hd, 0.25f, out, &err),
                         DGXM_OK);
        assert_true(rel_error(out, want, (size_t)lq * width) < 1e-5);
        free(q), free(k), free(v), free(out), free(bias), free(want);
    }
    b->ops->destroy(b);
}

static void fully_masked_query_gives_zeros(void **state)
{
    (void)state;
    dgxm_backend *b = backend_with(1);
    float q[8], k[16], v[16], out[8];
    for (int i = 0; i < 16; i++)
        k[i] = v[i] = test_frand();
    for (int i = 0; i < 8; i++)
        q[i] = test_frand(), out[i] = NAN;
    uint8_t none[2] = { 0, 0 };
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(
        b->ops->attention(b, q, 8, k, v, 8, NULL, none, false, 2, 1, 2, 4, 1.0f, out, &err),
        DGXM_OK);
    for (int i = 0; i < 8; i++)
        assert_true(out[i] == 0.0f);
    b->ops->destroy(b);
}

static void embedding_rejects_bad_id(void **state)
{
    (void)state;
    dgxm_backend *b = backend_with(1);
    float table[6] = { 1, 2, 3, 4, 5, 6 }, out[4];
    int32_t good[2] = { 2, 0 }, bad[2] = { 1, 3 };
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(b->ops->embedding(b, table, 3, 2, good, 2, out, &err), DGXM_OK);
    assert_true(out[0] == 5 && out[1] == 6 && out[2] == 1 && out[3] == 2);
    assert_int_equal(b->ops->embedding(b, table, 3, 2, bad, 2, out, &err), DGXM_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "id 3"));
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_matches_reference),
        cmocka_unit_test(linear_bf16_matches_reference),
        cmocka_unit_test(unsupported_format_is_an_error),
        cmocka_unit_test(norms_match_reference),
        cmocka_unit_test(activations_match_reference),
        cmocka_unit_test(attention_matches_reference),
        cmocka_unit_test(fully_masked_query_gives_zeros),
        cmocka_unit_test(embedding_rejects_bad_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
