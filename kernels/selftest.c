/* The backend self-test of `dgxm doctor`; see selftest.h. Each case uploads inputs, runs one
 * op through the op table, reads the result back and compares it with a float64 reference
 * computed here in plain loops (slow, obviously right). */
#include "selftest.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed-seed xorshift: the same inputs on every run and machine, so numbers compare. */
static float next_uniform(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return (float)((double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *random_floats(size_t n, uint64_t *state)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; p && i < n; i++)
        p[i] = next_uniform(state);
    return p;
}

/* Round to nearest even on the upper 16 bits, as both backends store bf16 weights. */
static float bf16_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) != 0x7f800000u)
        u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Device buffers of one case, freed together. */
typedef struct dev_bufs {
    dgxm_backend *b;
    void *p[6];
    int n;
} dev_bufs;

static float *dev_upload(dev_bufs *d, const float *host, size_t n, dgxm_error *err)
{
    dgxm_backend *b = d->b;
    float *p = b->ops->alloc(b, n * sizeof *p);
    if (!p) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "self-test: %zu bytes on the %s backend", n * sizeof *p,
                       b->ops->name);
        return NULL;
    }
    d->p[d->n++] = p;
    if (host && b->ops->copy_to_device(b, p, host, n * sizeof *p, err) != DGXM_OK)
        return NULL;
    return p;
}

static void dev_free(dev_bufs *d)
{
    for (int i = 0; i < d->n; i++)
        d->b->ops->release(d->b, d->p[i]);
    d->n = 0;
}

static void record(dgxm_selftest *st, const char *name, const float *got, const double *ref,
                   size_t n, double tol)
{
    double max_ref = 0.0, max_diff = 0.0;
    bool finite = true;
    for (size_t i = 0; i < n; i++) {
        finite = finite && isfinite(got[i]);
        max_ref = fmax(max_ref, fabs(ref[i]));
        max_diff = fmax(max_diff, fabs((double)got[i] - ref[i]));
    }
    dgxm_selftest_case *c = &st->cases[st->count++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->max_rel_err = finite ? (max_ref > 0.0 ? max_diff / max_ref : max_diff) : INFINITY;
    c->tolerance = tol;
    c->pass = finite && c->max_rel_err <= tol;
    st->pass = st->pass && c->pass;
    st->worst_rel_err = fmax(st->worst_rel_err, c->max_rel_err);
}

/* y[m][rows] = x[m][cols] . W^T + bias: the decode GEMV (m = 2 guidance rows) or a GEMM. */
static dgxm_status case_linear(dgxm_backend *b, dgxm_selftest *st, int m, int rows, int cols,
                               dgxm_weight_format format, uint64_t *rng, dgxm_error *err)
{
    const size_t nw = (size_t)rows * cols, nx = (size_t)m * cols, ny = (size_t)m * rows;
    float *w = random_floats(nw, rng), *x = random_floats(nx, rng);
    float *bias = random_floats((size_t)rows, rng), *y = malloc(ny * sizeof *y);
    double *ref = malloc(ny * sizeof *ref);
    dev_bufs d = { .b = b };
    dgxm_matrix mat = { 0 };
    dgxm_status s = DGXM_OK;
    if (!w || !x || !bias || !y || !ref) {
        s = dgxm_error_set(err, DGXM_ERR_NOMEM, "self-test: host buffers");
        goto out;
    }
    if ((s = b->ops->matrix_upload(b, w, rows, cols, format, &mat, err)))
        goto out;
    const bool bf16 = format == DGXM_WEIGHT_BF16;
    for (int r = 0; r < m; r++)
        for (int o = 0; o < rows; o++) {
            double acc = bias[o];
            for (int c = 0; c < cols; c++) {
                float wv = w[(size_t)o * cols + c];
                acc += (double)x[(size_t)r * cols + c] * (bf16 ? bf16_round(wv) : wv);
            }
            ref[(size_t)r * rows + o] = acc;
        }
    float *dx = dev_upload(&d, x, nx, err), *db = dx ? dev_upload(&d, bias, rows, err) : NULL;
    float *dy = db ? dev_upload(&d, NULL, ny, err) : NULL;
    if (!dy || (s = b->ops->linear(b, &mat, db, dx, m, dy, false, err)) ||
        (s = b->ops->copy_to_host(b, y, dy, ny * sizeof *y, err))) {
        s = s ? s : err->status;
        goto out;
    }
    char name[64];
    snprintf(name, sizeof name, "linear %s m=%d %dx%d", bf16 ? "bf16" : "f32", m, rows, cols);
    record(st, name, y, ref, ny, 1e-4);
out:
    if (mat.data)
        b->ops->matrix_free(b, &mat);
    dev_free(&d);
    free(w), free(x), free(bias), free(y), free(ref);
    return s;
}

static dgxm_status case_layer_norm(dgxm_backend *b, dgxm_selftest *st, int m, int n, uint64_t *rng,
                                   dgxm_error *err)
{
    const size_t nx = (size_t)m * n;
    float *x = random_floats(nx, rng), *g = random_floats((size_t)n, rng);
    float *beta = random_floats((size_t)n, rng), *y = malloc(nx * sizeof *y);
    double *ref = malloc(nx * sizeof *ref);
    dev_bufs d = { .b = b };
    dgxm_status s = DGXM_OK;
    if (!x || !g || !beta || !y || !ref) {
        s = dgxm_error_set(err, DGXM_ERR_NOMEM, "self-test: host buffers");
        goto out;
    }
    for (int r = 0; r < m; r++) {
        const float *row = x + (size_t)r * n;
        double mean = 0.0, var = 0.0;
        for (int i = 0; i < n; i++)
            mean += row[i];
        mean /= n;
        for (int i = 0; i < n; i++)
            var += (row[i] - mean) * (row[i] - mean);
        var /= n;
        for (int i = 0; i < n; i++)
            ref[(size_t)r * n + i] = (row[i] - mean) / sqrt(var + 1e-5) * g[i] + beta[i];
    }
    float *dx = dev_upload(&d, x, nx, err), *dg = dx ? dev_upload(&d, g, n, err) : NULL;
    float *dbeta = dg ? dev_upload(&d, beta, n, err) : NULL;
    float *dy = dbeta ? dev_upload(&d, NULL, nx, err) : NULL;
    if (!dy || (s = b->ops->layer_norm(b, dx, dg, dbeta, m, n, 1e-5f, dy, err)) ||
        (s = b->ops->copy_to_host(b, y, dy, nx * sizeof *y, err))) {
        s = s ? s : err->status;
        goto out;
    }
    char name[64];
    snprintf(name, sizeof name, "layer_norm %dx%d", m, n);
    record(st, name, y, ref, nx, 1e-4);
out:
    dev_free(&d);
    free(x), free(g), free(beta), free(y), free(ref);
    return s;
}

/* Causal attention of lq queries over lk keys, heads side by side (backend.h's layout). */
static void attention_ref(const float *q, const float *k, const float *v, int heads, int lq, int lk,
                          int hd, float scale, double *out)
{
    const int w = heads * hd;
    double *p = malloc((size_t)lk * sizeof *p);
    if (!p)
        return;
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < lq; i++) {
            const int last = i + (lk - lq);
            double top = -INFINITY, sum = 0.0;
            for (int j = 0; j <= last; j++) {
                double dot = 0.0;
                for (int c = 0; c < hd; c++)
                    dot += (double)q[(size_t)i * w + h * hd + c] * k[(size_t)j * w + h * hd + c];
                p[j] = dot * scale;
                top = fmax(top, p[j]);
            }
            for (int j = 0; j <= last; j++)
                sum += p[j] = exp(p[j] - top);
            for (int c = 0; c < hd; c++) {
                double acc = 0.0;
                for (int j = 0; j <= last; j++)
                    acc += p[j] * v[(size_t)j * w + h * hd + c];
                out[(size_t)i * w + h * hd + c] = acc / sum;
            }
        }
    free(p);
}

static dgxm_status case_attention(dgxm_backend *b, dgxm_selftest *st, int heads, int lq, int lk,
                                  int hd, uint64_t *rng, dgxm_error *err)
{
    const int w = heads * hd;
    const size_t nq = (size_t)lq * w, nk = (size_t)lk * w;
    const float scale = 1.0f / sqrtf((float)hd);
    float *q = random_floats(nq, rng), *k = random_floats(nk, rng), *v = random_floats(nk, rng);
    float *y = malloc(nq * sizeof *y);
    double *ref = calloc(nq, sizeof *ref);
    dev_bufs d = { .b = b };
    dgxm_status s = DGXM_OK;
    if (!q || !k || !v || !y || !ref) {
        s = dgxm_error_set(err, DGXM_ERR_NOMEM, "self-test: host buffers");
        goto out;
    }
    attention_ref(q, k, v, heads, lq, lk, hd, scale, ref);
    float *dq = dev_upload(&d, q, nq, err), *dk = dq ? dev_upload(&d, k, nk, err) : NULL;
    float *dv = dk ? dev_upload(&d, v, nk, err) : NULL;
    float *dy = dv ? dev_upload(&d, NULL, nq, err) : NULL;
    if (!dy ||
        (s = b->ops->attention(b, dq, w, dk, dv, w, NULL, NULL, true, heads, lq, lk, hd, scale, dy,
                               err)) ||
        (s = b->ops->copy_to_host(b, y, dy, nq * sizeof *y, err))) {
        s = s ? s : err->status;
        goto out;
    }
    char name[64];
    snprintf(name, sizeof name, "attention %dh x %d lq %d lk %d causal", heads, hd, lq, lk);
    record(st, name, y, ref, nq, 1e-4);
out:
    dev_free(&d);
    free(q), free(k), free(v), free(y), free(ref);
    return s;
}

dgxm_status dgxm_selftest_run(dgxm_backend *b, dgxm_selftest *out, dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    memset(out, 0, sizeof *out);
    out->pass = true;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    dgxm_status s = case_linear(b, out, 2, 1024, 1024, DGXM_WEIGHT_F32, &rng, err);
    if (!s)
        s = case_linear(b, out, 2, 4096, 1024, DGXM_WEIGHT_BF16, &rng, err);
    if (!s)
        s = case_linear(b, out, 40, 768, 768, DGXM_WEIGHT_F32, &rng, err);
    if (!s)
        s = case_layer_norm(b, out, 2, 1024, &rng, err);
    if (!s)
        s = case_attention(b, out, 16, 1, 500, 64, &rng, err);
    if (!s)
        s = case_attention(b, out, 12, 20, 20, 64, &rng, err);
    if (s)
        out->pass = false;
    return s;
}
