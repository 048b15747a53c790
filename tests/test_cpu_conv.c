/* EnCodec's CPU ops (conv1d with reflect padding, transposed conv with trimming, LSTM, ELU)
 * against direct double-precision references on fresh random inputs, outputs poisoned first. */
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

static void assert_close(const float *got, const double *want, size_t n, double tol)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]))
            fail_msg("element %zu was not written", i);
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += want[i] * want[i];
    }
    if (sqrt(num / (den > 0 ? den : 1)) > tol)
        fail_msg("relative error %.3g over %zu elements", sqrt(num / (den > 0 ? den : 1)), n);
}

/* torch.nn.functional.pad semantics, step by step: optional zero extension, reflect (or zero)
 * pad, crop of the extension. */
static double *reference_pad(const float *x, int lin, int pl, int pr, int reflect, int *len)
{
    int max_pad = pl > pr ? pl : pr, extra = (reflect && lin <= max_pad) ? max_pad - lin + 1 : 0;
    int ext = lin + extra;
    double *e = calloc((size_t)ext, sizeof *e);
    for (int i = 0; i < lin; i++)
        e[i] = x[i];
    int full = pl + ext + pr;
    double *p = calloc((size_t)full, sizeof *p);
    for (int i = 0; i < full; i++) {
        int j = i - pl;
        if (reflect && j < 0)
            p[i] = e[-j];
        else if (reflect && j >= ext)
            p[i] = e[2 * (ext - 1) - j];
        else if (j >= 0 && j < ext)
            p[i] = e[j];
    }
    free(e);
    *len = full - extra;
    return p;
}

static void check_conv(int cin, int lin, int cout, int k, int stride, int dil, int pl, int pr,
                       int reflect)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *b = dgxm_cpu_backend_new(3, &err);
    float *x = test_random_floats((size_t)cin * lin),
          *w = test_random_floats((size_t)cout * cin * k);
    float *bias = test_random_floats(cout);
    int len = 0;
    double *pad0 = reference_pad(x, lin, pl, pr, reflect, &len);
    free(pad0);
    int lout = (len - dil * (k - 1) - 1) / stride + 1;
    double *want = calloc((size_t)cout * lout, sizeof *want);
    for (int ci = 0; ci < cin; ci++) {
        double *p = reference_pad(x + (size_t)ci * lin, lin, pl, pr, reflect, &len);
        for (int co = 0; co < cout; co++)
            for (int t = 0; t < lout; t++)
                for (int kk = 0; kk < k; kk++)
                    want[(size_t)co * lout + t] +=
                        w[((size_t)co * cin + ci) * k + kk] * p[t * stride + kk * dil];
        free(p);
    }
    for (int co = 0; co < cout; co++)
        for (int t = 0; t < lout; t++)
            want[(size_t)co * lout + t] += bias[co];
    float *y = test_poisoned((size_t)cout * lout);
    assert_int_equal(
        b->ops->conv1d(b, x, cin, lin, w, bias, cout, k, stride, dil, pl, pr, reflect, y, &err),
        DGXM_OK);
    assert_close(y, want, (size_t)cout * lout, 1e-6);
    b->ops->destroy(b);
    free(x), free(w), free(bias), free(want), free(y);
}

static void conv1d_matches_reference(void **state)
{
    (void)state;
    check_conv(3, 50, 5, 7, 1, 1, 3, 3, 1); /* EnCodec's k7 "same" conv */
    check_conv(4, 20, 2, 3, 1, 1, 1, 1, 1); /* residual k3 */
    check_conv(4, 20, 6, 1, 1, 1, 0, 0, 1); /* residual k1 */
    check_conv(2, 33, 3, 8, 4, 1, 2, 2, 1); /* a strided encoder conv */
    check_conv(2, 30, 2, 3, 1, 3, 3, 3, 1); /* dilation */
    check_conv(3, 12, 2, 5, 1, 1, 2, 2, 0); /* zero padding */
}

static void conv1d_short_input_uses_the_reference_rule(void **state)
{
    (void)state;
    check_conv(2, 1, 3, 7, 1, 1, 3, 3, 1); /* one frame into a k7 conv */
    check_conv(2, 3, 2, 7, 1, 1, 3, 3, 1); /* length == pad */
    check_conv(1, 2, 1, 7, 1, 1, 3, 3, 1);
}

static void check_convt(int cin, int lin, int cout, int k, int stride)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *b = dgxm_cpu_backend_new(3, &err);
    float *x = test_random_floats((size_t)cin * lin),
          *w = test_random_floats((size_t)cin * cout * k);
    float *bias = test_random_floats(cout);
    int total = k > stride ? k - stride : 0, tr = total / 2, tl = total - tr; /* EnCodec's trim */
    int full = (lin - 1) * stride + k, lout = full - tl - tr;
    double *f = calloc((size_t)cout * full, sizeof *f);
    for (int ci = 0; ci < cin; ci++)
        for (int co = 0; co < cout; co++)
            for (int t = 0; t < lin; t++)
                for (int kk = 0; kk < k; kk++)
                    f[(size_t)co * full + t * stride + kk] +=
                        (double)x[(size_t)ci * lin + t] * w[((size_t)ci * cout + co) * k + kk];
    double *want = malloc((size_t)cout * lout * sizeof *want);
    for (int co = 0; co < cout; co++)
        for (int o = 0; o < lout; o++)
            want[(size_t)co * lout + o] = f[(size_t)co * full + tl + o] + bias[co];
    float *y = test_poisoned((size_t)cout * lout);
    if (k >= stride)
        assert_int_equal(lout, lin * stride);
    assert_int_equal(
        b->ops->conv_transpose1d(b, x, cin, lin, w, bias, cout, k, stride, tl, tr, y, &err),
        DGXM_OK);
    assert_close(y, want, (size_t)cout * lout, 1e-6);
    b->ops->destroy(b);
    free(x), free(w), free(bias), free(f), free(want), free(y);
}

static void conv_transpose1d_matches_reference(void **state)
{
    (void)state;
    check_convt(6, 9, 4, 16, 8);
    check_convt(4, 7, 3, 10, 5);
    check_convt(3, 11, 5, 8, 4);
    check_convt(2, 1, 2, 8, 4);
    check_convt(3, 5, 6, 3, 5);    /* stride > k: phases of bias alone */
    check_convt(5, 40, 70, 16, 8); /* channels over several tasks, and a partial block */
}

static double sigmoid(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

static void lstm_matches_reference(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *b = dgxm_cpu_backend_new(3, &err);
    const int cin = 12, hid = 10, T = 23, G = 4 * hid;
    float *x = test_random_floats((size_t)cin * T), *wih = test_random_floats((size_t)G * cin);
    float *whh = test_random_floats((size_t)G * hid), *bih = test_random_floats(G),
          *bhh = test_random_floats(G);
    double h[10] = { 0 }, c[10] = { 0 }, g[40];
    double *want = malloc((size_t)hid * T * sizeof *want);
    for (int s = 0; s < T; s++) {
        for (int r = 0; r < G; r++) {
            g[r] = (double)bih[r] + bhh[r];
            for (int i = 0; i < cin; i++)
                g[r] += (double)wih[r * cin + i] * x[i * T + s];
            for (int i = 0; i < hid; i++)
                g[r] += (double)whh[r * hid + i] * h[i];
        }
        for (int i = 0; i < hid; i++) {
            c[i] = sigmoid(g[hid + i]) * c[i] + sigmoid(g[i]) * tanh(g[2 * hid + i]);
            h[i] = sigmoid(g[3 * hid + i]) * tanh(c[i]);
            want[i * T + s] = h[i];
        }
    }
    float *y = test_poisoned((size_t)hid * T);
    assert_int_equal(b->ops->lstm(b, x, cin, T, wih, whh, bih, bhh, hid, y, &err), DGXM_OK);
    assert_close(y, want, (size_t)hid * T, 1e-6);
    b->ops->destroy(b);
    free(x), free(wih), free(whh), free(bih), free(bhh), free(want), free(y);
}

static void elu_matches_reference(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *b = dgxm_cpu_backend_new(3, &err);
    const size_t n = 30000;
    float *x = test_random_floats(n), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] *= 8.0f;
    assert_int_equal(b->ops->elu(b, y, n, &err), DGXM_OK);
    for (size_t i = 0; i < n; i++) {
        double want = x[i] > 0 ? x[i] : expm1((double)x[i]);
        assert_true(fabs(y[i] - want) <= 1e-6 * (1 + fabs(want)));
    }
    b->ops->destroy(b);
    free(x), free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv1d_matches_reference),
        cmocka_unit_test(conv1d_short_input_uses_the_reference_rule),
        cmocka_unit_test(conv_transpose1d_matches_reference),
        cmocka_unit_test(lstm_matches_reference),
        cmocka_unit_test(elu_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
