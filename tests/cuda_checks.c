/* The CUDA backend's op checks against the CPU backend; see cuda_checks.h. Shapes are the
 * model's: decode GEMVs of MusicGen small (m = 2, 1024 -> 4096), T5 prompt GEMMs, attention of
 * 16 heads x 64 over 1500 cached keys, EnCodec 32 kHz convolutions and its 1024-wide LSTM. */
#include "cuda_checks.h"

#include "cuda/cuda_backend.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    MAX_BUFS = 16
};

const char *const cuda_check_groups[] = { "linear",    "norm", "activation", "rows", "conv",
                                          "attention", "lstm", "errors",     NULL };

/* --- inputs ---------------------------------------------------------------------------------- */

static float frand(cuda_checks *c) /* uniform in [-1, 1) */
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (float)((c->rng >> 40) * (1.0 / (1ull << 24))) * 2.0f - 1.0f;
}

static float *host_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "cuda checks: out of host memory for %zu floats\n", n);
        abort();
    }
    return p;
}

static float *random_floats(cuda_checks *c, size_t n, float scale)
{
    float *p = host_floats(n);
    for (size_t i = 0; i < n; i++)
        p[i] = frand(c) * scale;
    return p;
}

static float *nan_floats(size_t n)
{
    float *p = host_floats(n);
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

static float *copy_floats(const float *src, size_t n)
{
    float *p = host_floats(n);
    memcpy(p, src, n * sizeof *p);
    return p;
}

/* What a bf16 upload keeps of a float: round to nearest even (the backend's rule). */
static float round_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* --- one case -------------------------------------------------------------------------------- */

typedef struct check_case {
    cuda_checks *c;
    cuda_check_result r;
    void *bufs[MAX_BUFS]; /* GPU buffers released at the end */
    int nbufs;
} check_case;

static void begin(check_case *k, cuda_checks *c, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void begin(check_case *k, cuda_checks *c, const char *op, const char *fmt, ...)
{
    memset(k, 0, sizeof *k);
    k->c = c;
    k->r.ok = true;
    snprintf(k->r.op, sizeof k->r.op, "%s", op);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->r.shape, sizeof k->r.shape, fmt, ap);
    va_end(ap);
}

static void failf(check_case *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void failf(check_case *k, const char *fmt, ...)
{
    if (!k->r.ok)
        return; /* the first cause wins */
    k->r.ok = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->r.message, sizeof k->r.message, fmt, ap);
    va_end(ap);
}

/* A call's status: false (and the case failed) unless DGXM_OK. */
static bool ok_call(check_case *k, const char *what, dgxm_status s, const dgxm_error *err)
{
    if (s == DGXM_OK)
        return true;
    failf(k, "%s: %s: %s", what, dgxm_status_name(s), err->message);
    return false;
}

static float *gpu_put(check_case *k, const float *host, size_t n)
{
    dgxm_backend *g = k->c->gpu;
    if (k->nbufs == MAX_BUFS) {
        failf(k, "test bug: more than %d GPU buffers", MAX_BUFS);
        return NULL;
    }
    float *d = g->ops->alloc(g, n * sizeof *d);
    if (!d) {
        failf(k, "cuda alloc of %zu floats failed", n);
        return NULL;
    }
    k->bufs[k->nbufs++] = d;
    dgxm_error err;
    dgxm_error_clear(&err);
    if (host && !ok_call(k, "copy_to_device",
                         g->ops->copy_to_device(g, d, host, n * sizeof *d, &err), &err))
        return NULL;
    return d;
}

static bool gpu_get(check_case *k, float *host, const float *dev, size_t n)
{
    dgxm_backend *g = k->c->gpu;
    dgxm_error err;
    dgxm_error_clear(&err);
    return ok_call(k, "copy_to_host", g->ops->copy_to_host(g, host, dev, n * sizeof *host, &err),
                   &err);
}

/* ||got - want|| / ||want|| over n elements; any NaN in got fails (an unwritten element). */
static void compare(check_case *k, const float *got, const float *want, size_t n, double tol)
{
    double num = 0, den = 0, max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) && !isnan(want[i])) {
            failf(k, "element %zu of %zu is NaN (not written?)", i, n);
            k->r.rel_error = k->r.max_error = INFINITY;
            return;
        }
        if (isnan(want[i])) {
            failf(k, "the oracle's element %zu is NaN", i);
            return;
        }
        double d = (double)got[i] - want[i];
        num += d * d;
        den += (double)want[i] * want[i];
        if (fabs(d) > max_diff)
            max_diff = fabs(d);
        if (fabs((double)want[i]) > max_ref)
            max_ref = fabs((double)want[i]);
    }
    k->r.tol = tol;
    k->r.rel_error = den > 0 ? sqrt(num / den) : sqrt(num);
    k->r.max_error = max_ref > 0 ? max_diff / max_ref : max_diff;
    if (!(k->r.rel_error <= tol))
        failf(k, "relative error %.3g over the tolerance %.1g", k->r.rel_error, tol);
}

static void finish(check_case *k)
{
    dgxm_backend *g = k->c->gpu;
    for (int i = 0; i < k->nbufs; i++)
        g->ops->release(g, k->bufs[i]);
    k->c->run++;
    if (!k->r.ok)
        k->c->failed++;
    if (k->c->report)
        k->c->report(k->c->ctx, &k->r);
}

/* --- linear ---------------------------------------------------------------------------------- */

/* rounded: the oracle gets the bf16-rounded weights, so only the arithmetic is compared. */
static void check_linear(cuda_checks *c, dgxm_weight_format fmt, bool rounded, int m, int rows,
                         int cols, bool use_bias, bool accumulate)
{
    check_case k;
    const bool bf16 = fmt == DGXM_WEIGHT_BF16;
    static const char *const names[] = { "linear f32", "linear bf16", "linear f16", "linear int8" };
    begin(&k, c, bf16 && rounded ? "linear bf16 (rw)" : names[fmt], "m=%d %dx%d%s%s", m, rows, cols,
          use_bias ? " bias" : "", accumulate ? " acc" : "");
    const size_t nw = (size_t)rows * cols, nx = (size_t)m * cols, ny = (size_t)m * rows;
    float *w = random_floats(c, nw, 1.0f), *x = random_floats(c, nx, 1.0f);
    float *bias = use_bias ? random_floats(c, (size_t)rows, 1.0f) : NULL;
    float *y0 = accumulate ? random_floats(c, ny, 1.0f) : nan_floats(ny);
    float *y_cpu = copy_floats(y0, ny), *y_gpu = nan_floats(ny);
    float *w_oracle = copy_floats(w, nw);
    if (rounded)
        for (size_t i = 0; i < nw; i++)
            w_oracle[i] = round_bf16(w[i]);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_matrix mc, mg;
    memset(&mg, 0, sizeof mg);
    dgxm_backend *cpu = c->cpu, *gpu = c->gpu;
    bool ok =
        ok_call(&k, "cpu matrix_upload",
                cpu->ops->matrix_upload(cpu, w_oracle, rows, cols, DGXM_WEIGHT_F32, &mc, &err),
                &err) &&
        ok_call(&k, "cpu linear", cpu->ops->linear(cpu, &mc, bias, x, m, y_cpu, accumulate, &err),
                &err);
    if (ok)
        cpu->ops->matrix_free(cpu, &mc);
    float *dx = ok ? gpu_put(&k, x, nx) : NULL, *dy = dx ? gpu_put(&k, y0, ny) : NULL;
    float *db = dy && bias ? gpu_put(&k, bias, (size_t)rows) : NULL;
    if (dy && (!bias || db) &&
        ok_call(&k, "cuda matrix_upload",
                gpu->ops->matrix_upload(gpu, w, rows, cols, fmt, &mg, &err), &err) &&
        ok_call(&k, "cuda linear", gpu->ops->linear(gpu, &mg, db, dx, m, dy, accumulate, &err),
                &err) &&
        gpu_get(&k, y_gpu, dy, ny))
        compare(&k, y_gpu, y_cpu, ny,
                fmt == DGXM_WEIGHT_INT8                        ? 3e-2
                : fmt == DGXM_WEIGHT_F16 || (bf16 && !rounded) ? 1e-2
                                                               : 1e-5);
    if (mg.data)
        gpu->ops->matrix_free(gpu, &mg);
    finish(&k);
    free(w), free(x), free(bias), free(y0), free(y_cpu), free(y_gpu), free(w_oracle);
}

static void group_linear(cuda_checks *c)
{
    const dgxm_weight_format F = DGXM_WEIGHT_F32, B = DGXM_WEIGHT_BF16;
    check_linear(c, F, false, 2, 4096, 1024, false, false); /* small fc1, guidance pair */
    check_linear(c, F, false, 2, 1024, 4096, true, true);   /* fc2 + residual */
    check_linear(c, F, false, 1, 2048, 1024, true, false);  /* one row */
    check_linear(c, F, false, 3, 130, 67, true, false);     /* odd widths: scalar path */
    check_linear(c, F, false, 4, 256, 768, false, true);
    check_linear(c, F, false, 12, 768, 768, false, false); /* T5 prompt: GEMV, 4 rows a pass */
    check_linear(c, F, false, 17, 257, 768, true, true);   /* GEMV, a ragged last pass */
    check_linear(c, F, false, 7, 130, 67, true, true);     /* odd widths, ragged: scalar path */
    check_linear(c, F, false, 33, 257, 768, true, true);   /* tiled GEMM, ragged tiles */
    check_linear(c, F, false, 64, 768, 768, false, false); /* long T5 prompt */
    check_linear(c, F, false, 300, 1024, 96, true, false);
    check_linear(c, B, false, 2, 4096, 1024, false, false);
    check_linear(c, B, true, 2, 4096, 1024, false, false);
    check_linear(c, B, true, 2, 1024, 4096, true, true);
    check_linear(c, B, true, 1, 100, 37, true, false);      /* scalar bf16 path */
    check_linear(c, B, true, 32, 1536, 1536, false, false); /* cross K/V of a 32-token prompt */
    check_linear(c, B, false, 40, 1536, 768, true, false);
    check_linear(c, B, true, 40, 1536, 768, true, false);
    /* float16 and int8 (per-row scales): the formats only the fused step streams fast */
    check_linear(c, DGXM_WEIGHT_F16, false, 2, 1024, 4096, true, true);
    check_linear(c, DGXM_WEIGHT_F16, false, 12, 768, 1024, false, false);
    check_linear(c, DGXM_WEIGHT_INT8, false, 2, 4096, 1024, false, false);
    check_linear(c, DGXM_WEIGHT_INT8, false, 12, 1024, 1024, true, true);
}

/* --- norms ----------------------------------------------------------------------------------- */

static void check_norm(cuda_checks *c, bool layer, int m, int n, bool in_place)
{
    check_case k;
    begin(&k, c, layer ? "layer_norm" : "rms_norm", "%dx%d%s", m, n, in_place ? " in place" : "");
    const size_t nx = (size_t)m * n;
    float *x = random_floats(c, nx, 2.0f), *w = random_floats(c, (size_t)n, 1.0f);
    float *bias = random_floats(c, (size_t)n, 1.0f);
    for (size_t i = 0; i < nx; i++)
        x[i] += 0.75f; /* a mean away from zero */
    float *y_cpu = nan_floats(nx), *y_gpu = nan_floats(nx);
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *cpu = c->cpu, *gpu = c->gpu;
    bool ok = layer ? ok_call(&k, "cpu layer_norm",
                              cpu->ops->layer_norm(cpu, x, w, bias, m, n, 1e-5f, y_cpu, &err), &err)
                    : ok_call(&k, "cpu rms_norm",
                              cpu->ops->rms_norm(cpu, x, w, m, n, 1e-6f, y_cpu, &err), &err);
    float *dx = ok ? gpu_put(&k, x, nx) : NULL, *dw = dx ? gpu_put(&k, w, (size_t)n) : NULL;
    float *db = dw ? gpu_put(&k, bias, (size_t)n) : NULL;
    float *dy = db ? (in_place ? dx : gpu_put(&k, y_gpu, nx)) : NULL;
    if (dy) {
        dgxm_status s = layer ? gpu->ops->layer_norm(gpu, dx, dw, db, m, n, 1e-5f, dy, &err)
                              : gpu->ops->rms_norm(gpu, dx, dw, m, n, 1e-6f, dy, &err);
        if (ok_call(&k, "cuda norm", s, &err) && gpu_get(&k, y_gpu, dy, nx))
            compare(&k, y_gpu, y_cpu, nx, 1e-5);
    }
    finish(&k);
    free(x), free(w), free(bias), free(y_cpu), free(y_gpu);
}

static void group_norm(cuda_checks *c)
{
    check_norm(c, false, 2, 1024, false);
    check_norm(c, false, 40, 768, true);
    check_norm(c, false, 9, 333, false);
    check_norm(c, true, 2, 1024, false);
    check_norm(c, true, 2, 2048, true);
    check_norm(c, true, 9, 333, false);
    check_norm(c, true, 3, 5000, false);
}

/* --- activations ----------------------------------------------------------------------------- */

typedef dgxm_status (*unary_op)(dgxm_backend *b, float *x, size_t n, dgxm_error *err);

static void check_unary(cuda_checks *c, const char *name, size_t n)
{
    check_case k;
    begin(&k, c, name, "n=%zu", n);
    float *x = random_floats(c, n, 4.0f), *y_cpu = copy_floats(x, n), *y_gpu = nan_floats(n);
    unary_op cpu_op = c->cpu->ops->relu, gpu_op = c->gpu->ops->relu;
    if (!strcmp(name, "gelu"))
        cpu_op = c->cpu->ops->gelu, gpu_op = c->gpu->ops->gelu;
    else if (!strcmp(name, "elu"))
        cpu_op = c->cpu->ops->elu, gpu_op = c->gpu->ops->elu;
    dgxm_error err;
    dgxm_error_clear(&err);
    float *dx = NULL;
    if (ok_call(&k, "cpu op", cpu_op(c->cpu, y_cpu, n, &err), &err) && (dx = gpu_put(&k, x, n)) &&
        ok_call(&k, "cuda op", gpu_op(c->gpu, dx, n, &err), &err) && gpu_get(&k, y_gpu, dx, n))
        compare(&k, y_gpu, y_cpu, n, 1e-5);
    finish(&k);
    free(x), free(y_cpu), free(y_gpu);
}

static void group_activation(cuda_checks *c)
{
    check_unary(c, "relu", 100003);
    check_unary(c, "gelu", 2 * 4096);
    check_unary(c, "gelu", 1000003);
    check_unary(c, "elu", 64 * 24000 + 7);
}

/* --- row ops: scale_rows, add, embedding ------------------------------------------------------ */

static void check_scale_rows(cuda_checks *c, int m, int n)
{
    check_case k;
    begin(&k, c, "scale_rows", "%dx%d", m, n);
    const size_t nx = (size_t)m * n;
    float *x = random_floats(c, nx, 1.0f), *s = random_floats(c, (size_t)m, 2.0f);
    s[m / 2] = 0.0f; /* a masked row */
    float *y_cpu = copy_floats(x, nx), *y_gpu = nan_floats(nx);
    dgxm_error err;
    dgxm_error_clear(&err);
    float *dx = NULL, *ds = NULL;
    if (ok_call(&k, "cpu", c->cpu->ops->scale_rows(c->cpu, y_cpu, s, m, n, &err), &err) &&
        (dx = gpu_put(&k, x, nx)) && (ds = gpu_put(&k, s, (size_t)m)) &&
        ok_call(&k, "cuda", c->gpu->ops->scale_rows(c->gpu, dx, ds, m, n, &err), &err) &&
        gpu_get(&k, y_gpu, dx, nx))
        compare(&k, y_gpu, y_cpu, nx, 1e-5);
    finish(&k);
    free(x), free(s), free(y_cpu), free(y_gpu);
}

static void check_add(cuda_checks *c, size_t n)
{
    check_case k;
    begin(&k, c, "add", "n=%zu", n);
    float *x = random_floats(c, n, 1.0f), *y = random_floats(c, n, 1.0f);
    float *y_cpu = copy_floats(y, n), *y_gpu = nan_floats(n);
    dgxm_error err;
    dgxm_error_clear(&err);
    float *dx = NULL, *dy = NULL;
    if (ok_call(&k, "cpu", c->cpu->ops->add(c->cpu, x, y_cpu, n, &err), &err) &&
        (dx = gpu_put(&k, x, n)) && (dy = gpu_put(&k, y, n)) &&
        ok_call(&k, "cuda", c->gpu->ops->add(c->gpu, dx, dy, n, &err), &err) &&
        gpu_get(&k, y_gpu, dy, n))
        compare(&k, y_gpu, y_cpu, n, 1e-5);
    finish(&k);
    free(x), free(y), free(y_cpu), free(y_gpu);
}

static void check_embedding(cuda_checks *c, int rows, int dim, int n)
{
    check_case k;
    begin(&k, c, "embedding", "%d ids from %dx%d", n, rows, dim);
    float *table = random_floats(c, (size_t)rows * dim, 1.0f);
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++) {
        frand(c);
        ids[i] = (int32_t)((c->rng >> 20) % (uint64_t)rows);
    }
    ids[n - 1] = rows - 1; /* the last row (MusicGen's special token) */
    const size_t ny = (size_t)n * dim;
    float *y_cpu = nan_floats(ny), *y_gpu = nan_floats(ny);
    dgxm_error err;
    dgxm_error_clear(&err);
    float *dt = NULL, *dy = NULL;
    if (ok_call(&k, "cpu", c->cpu->ops->embedding(c->cpu, table, rows, dim, ids, n, y_cpu, &err),
                &err) &&
        (dt = gpu_put(&k, table, (size_t)rows * dim)) && (dy = gpu_put(&k, y_gpu, ny)) &&
        ok_call(&k, "cuda", c->gpu->ops->embedding(c->gpu, dt, rows, dim, ids, n, dy, &err),
                &err) &&
        gpu_get(&k, y_gpu, dy, ny))
        compare(&k, y_gpu, y_cpu, ny, 0.0);
    finish(&k);
    free(table), free(ids), free(y_cpu), free(y_gpu);
}

static void group_rows(cuda_checks *c)
{
    check_scale_rows(c, 4, 1000);
    check_scale_rows(c, 2, 768 * 40);
    check_add(c, 100003);
    check_add(c, 2 * 1024);
    check_embedding(c, 2049, 1024, 4);
    check_embedding(c, 32128, 768, 50);
}

/* --- attention ------------------------------------------------------------------------------- */

typedef struct attention_shape {
    int heads, lq, lk, head_dim, q_stride, kv_stride;
    bool bias, causal;
    int valid; /* 0: no mask, 1: random mask, 2: every key masked */
} attention_shape;

static void check_attention(cuda_checks *c, attention_shape s)
{
    check_case k;
    begin(&k, c, "attention", "%dh x %d, lq %d lk %d%s%s%s", s.heads, s.head_dim, s.lq, s.lk,
          s.bias ? " bias" : "", s.causal ? " causal" : "",
          s.valid == 1   ? " key_valid"
          : s.valid == 2 ? " all keys masked"
                         : "");
    const size_t nq = (size_t)s.lq * s.q_stride, nkv = (size_t)s.lk * s.kv_stride;
    const size_t nb = (size_t)s.heads * s.lq * s.lk;
    float *q = random_floats(c, nq, 1.0f), *kk = random_floats(c, nkv, 1.0f);
    float *v = random_floats(c, nkv, 1.0f);
    float *bias = s.bias ? random_floats(c, nb, 3.0f) : NULL;
    uint8_t *valid = NULL;
    float *valid_f = NULL; /* key_valid travels as bytes; packed 4 per float for gpu_put */
    if (s.valid) {
        size_t words = ((size_t)s.lk + 3) / 4;
        valid_f = host_floats(words);
        memset(valid_f, 0, words * sizeof *valid_f);
        valid = (uint8_t *)valid_f;
        for (int j = 0; j < s.lk; j++)
            valid[j] = s.valid == 1 && frand(c) > -0.6f; /* ~80 % valid */
    }
    /* Outputs use the query row stride, as the CPU oracle; the gaps stay poisoned on both. */
    float *o_cpu = nan_floats(nq), *o_gpu = nan_floats(nq);
    const float scale = 1.0f / sqrtf((float)s.head_dim);
    dgxm_error err;
    dgxm_error_clear(&err);
    bool ok = ok_call(&k, "cpu attention",
                      c->cpu->ops->attention(c->cpu, q, s.q_stride, kk, v, s.kv_stride, bias, valid,
                                             s.causal, s.heads, s.lq, s.lk, s.head_dim, scale,
                                             o_cpu, &err),
                      &err);
    float *dq = ok ? gpu_put(&k, q, nq) : NULL, *dk = dq ? gpu_put(&k, kk, nkv) : NULL;
    float *dv = dk ? gpu_put(&k, v, nkv) : NULL;
    float *db = dv && bias ? gpu_put(&k, bias, nb) : NULL;
    float *dvalid = dv && valid ? gpu_put(&k, valid_f, ((size_t)s.lk + 3) / 4) : NULL;
    float *dout = dv ? gpu_put(&k, o_gpu, nq) : NULL;
    if (dout && (!bias || db) && (!valid || dvalid) &&
        ok_call(&k, "cuda attention",
                c->gpu->ops->attention(c->gpu, dq, s.q_stride, dk, dv, s.kv_stride, db,
                                       (const uint8_t *)dvalid, s.causal, s.heads, s.lq, s.lk,
                                       s.head_dim, scale, dout, &err),
                &err) &&
        gpu_get(&k, o_gpu, dout, nq)) {
        /* compare only the written columns: heads * head_dim of each query row */
        const size_t width = (size_t)s.heads * s.head_dim, n = (size_t)s.lq * width;
        float *g = host_floats(n), *w = host_floats(n);
        for (int i = 0; i < s.lq; i++) {
            memcpy(g + i * width, o_gpu + (size_t)i * s.q_stride, width * sizeof *g);
            memcpy(w + i * width, o_cpu + (size_t)i * s.q_stride, width * sizeof *w);
        }
        compare(&k, g, w, n, 1e-5);
        if (s.valid == 2)
            for (size_t i = 0; i < n && k.r.ok; i++)
                if (g[i] != 0.0f)
                    failf(&k, "a query with no valid key must give zeros (element %zu)", i);
        free(g), free(w);
    }
    finish(&k);
    free(q), free(kk), free(v), free(bias), free(valid_f), free(o_cpu), free(o_gpu);
}

static void group_attention(cuda_checks *c)
{
    /* decode, MusicGen small: one query of each guidance row over 1500 cached steps, the two
     * rows interleaved in the cache (kv_stride 2 * 1024) */
    check_attention(c, (attention_shape){ 16, 1, 1500, 64, 1024, 2048, false, false, 0 });
    check_attention(c, (attention_shape){ 32, 1, 1500, 64, 2048, 4096, false, false, 0 });
    check_attention(c, (attention_shape){ 16, 1, 1, 64, 1024, 2048, false, false, 0 });
    /* cross-attention over a prompt, T5 self-attention with relative position bias */
    check_attention(c, (attention_shape){ 16, 1, 24, 64, 1024, 1024, false, false, 0 });
    check_attention(c, (attention_shape){ 12, 40, 40, 64, 768, 768, true, false, 0 });
    /* causal prefill, key masks, odd sizes */
    check_attention(c, (attention_shape){ 16, 20, 50, 64, 1024, 1024, false, true, 0 });
    check_attention(c, (attention_shape){ 4, 6, 4, 64, 256, 256, false, true, 0 });
    check_attention(c, (attention_shape){ 4, 3, 300, 64, 256, 256, true, false, 1 });
    check_attention(c, (attention_shape){ 2, 2, 40, 64, 128, 128, false, false, 2 });
    check_attention(c, (attention_shape){ 3, 5, 77, 40, 121, 123, true, true, 1 });
    check_attention(c, (attention_shape){ 2, 2, 600, 256, 512, 512, false, false, 0 });
}

/* --- conv1d, conv_transpose1d ---------------------------------------------------------------- */

static void check_conv(cuda_checks *c, int cin, int lin, int cout, int kw, int stride, int dil,
                       int pl, int pr, bool reflect)
{
    check_case k;
    begin(&k, c, "conv1d", "%d->%d k%d s%d d%d len %d pad %d/%d %s", cin, cout, kw, stride, dil,
          lin, pl, pr, reflect ? "reflect" : "zeros");
    const size_t nx = (size_t)cin * lin, nw = (size_t)cout * cin * kw;
    const int lout = (lin + pl + pr - dil * (kw - 1) - 1) / stride + 1;
    const size_t ny = (size_t)cout * lout;
    const float ws = 1.0f / sqrtf((float)(cin * kw));
    float *x = random_floats(c, nx, 1.0f), *w = random_floats(c, nw, ws);
    float *bias = random_floats(c, (size_t)cout, 1.0f);
    float *y_cpu = nan_floats(ny), *y_gpu = nan_floats(ny);
    dgxm_error err;
    dgxm_error_clear(&err);
    bool ok = ok_call(&k, "cpu conv1d",
                      c->cpu->ops->conv1d(c->cpu, x, cin, lin, w, bias, cout, kw, stride, dil, pl,
                                          pr, reflect, y_cpu, &err),
                      &err);
    float *dx = ok ? gpu_put(&k, x, nx) : NULL, *dw = dx ? gpu_put(&k, w, nw) : NULL;
    float *db = dw ? gpu_put(&k, bias, (size_t)cout) : NULL;
    float *dy = db ? gpu_put(&k, y_gpu, ny) : NULL;
    if (dy &&
        ok_call(&k, "cuda conv1d",
                c->gpu->ops->conv1d(c->gpu, dx, cin, lin, dw, db, cout, kw, stride, dil, pl, pr,
                                    reflect, dy, &err),
                &err) &&
        gpu_get(&k, y_gpu, dy, ny))
        compare(&k, y_gpu, y_cpu, ny, 1e-5);
    finish(&k);
    free(x), free(w), free(bias), free(y_cpu), free(y_gpu);
}

static void check_convt(cuda_checks *c, int cin, int lin, int cout, int kw, int stride, int tl,
                        int tr)
{
    check_case k;
    begin(&k, c, "conv_transpose1d", "%d->%d k%d s%d len %d trim %d/%d", cin, cout, kw, stride, lin,
          tl, tr);
    const int lout = (lin - 1) * stride + kw - tl - tr;
    const size_t nx = (size_t)cin * lin, nw = (size_t)cin * cout * kw, ny = (size_t)cout * lout;
    float *x = random_floats(c, nx, 1.0f);
    float *w = random_floats(c, nw, 1.0f / sqrtf((float)cin * kw / stride));
    float *bias = random_floats(c, (size_t)cout, 1.0f);
    float *y_cpu = nan_floats(ny), *y_gpu = nan_floats(ny);
    dgxm_error err;
    dgxm_error_clear(&err);
    bool ok = ok_call(&k, "cpu conv_transpose1d",
                      c->cpu->ops->conv_transpose1d(c->cpu, x, cin, lin, w, bias, cout, kw, stride,
                                                    tl, tr, y_cpu, &err),
                      &err);
    float *dx = ok ? gpu_put(&k, x, nx) : NULL, *dw = dx ? gpu_put(&k, w, nw) : NULL;
    float *db = dw ? gpu_put(&k, bias, (size_t)cout) : NULL;
    float *dy = db ? gpu_put(&k, y_gpu, ny) : NULL;
    if (dy &&
        ok_call(&k, "cuda conv_transpose1d",
                c->gpu->ops->conv_transpose1d(c->gpu, dx, cin, lin, dw, db, cout, kw, stride, tl,
                                              tr, dy, &err),
                &err) &&
        gpu_get(&k, y_gpu, dy, ny))
        compare(&k, y_gpu, y_cpu, ny, 1e-5);
    finish(&k);
    free(x), free(w), free(bias), free(y_cpu), free(y_gpu);
}

static void group_conv(cuda_checks *c)
{
    /* EnCodec 32 kHz decoder: input conv, residual k3/k1 pairs, output conv */
    check_conv(c, 128, 250, 1024, 7, 1, 1, 6, 0, true);
    check_conv(c, 512, 2000, 256, 3, 1, 1, 2, 0, true);
    check_conv(c, 256, 2000, 512, 1, 1, 1, 0, 0, true);
    check_conv(c, 64, 24000, 1, 7, 1, 1, 6, 0, true);
    check_conv(c, 32, 1000, 32, 3, 1, 3, 3, 3, true);  /* dilation */
    check_conv(c, 64, 4000, 128, 8, 4, 1, 2, 2, true); /* a strided encoder conv */
    check_conv(c, 16, 120, 8, 5, 1, 1, 2, 2, false);   /* zero padding */
    check_conv(c, 2, 1, 3, 7, 1, 1, 3, 3, true);       /* short inputs: the reference rule */
    check_conv(c, 2, 3, 2, 7, 1, 1, 3, 3, true);
    check_conv(c, 1, 2, 1, 7, 1, 1, 6, 0, true);
    check_conv(c, 3, 4, 5, 3, 1, 2, 4, 0, true);
    /* transposed: the four upsampling stages (ratios 8, 5, 4, 4, k = 2 * stride) */
    check_convt(c, 1024, 200, 512, 16, 8, 8, 0);
    check_convt(c, 512, 400, 256, 10, 5, 5, 0);
    check_convt(c, 256, 1000, 128, 8, 4, 4, 0);
    check_convt(c, 128, 3000, 64, 8, 4, 2, 2);
    check_convt(c, 2, 1, 2, 8, 4, 2, 2);
    check_convt(c, 3, 9, 5, 7, 3, 1, 3);
}

/* --- lstm ------------------------------------------------------------------------------------ */

static void check_lstm(cuda_checks *c, int cin, int hidden, int t)
{
    check_case k;
    begin(&k, c, "lstm", "%d -> %d over %d steps", cin, hidden, t);
    const int G = 4 * hidden;
    const size_t nx = (size_t)cin * t, ny = (size_t)hidden * t;
    float *x = random_floats(c, nx, 1.0f);
    float *wih = random_floats(c, (size_t)G * cin, 1.0f / sqrtf((float)cin));
    float *whh = random_floats(c, (size_t)G * hidden, 1.0f / sqrtf((float)hidden));
    float *bih = random_floats(c, (size_t)G, 0.5f), *bhh = random_floats(c, (size_t)G, 0.5f);
    float *y_cpu = nan_floats(ny), *y_gpu = nan_floats(ny);
    dgxm_error err;
    dgxm_error_clear(&err);
    bool ok = ok_call(&k, "cpu lstm",
                      c->cpu->ops->lstm(c->cpu, x, cin, t, wih, whh, bih, bhh, hidden, y_cpu, &err),
                      &err);
    float *dx = ok ? gpu_put(&k, x, nx) : NULL;
    float *dwih = dx ? gpu_put(&k, wih, (size_t)G * cin) : NULL;
    float *dwhh = dwih ? gpu_put(&k, whh, (size_t)G * hidden) : NULL;
    float *dbih = dwhh ? gpu_put(&k, bih, (size_t)G) : NULL;
    float *dbhh = dbih ? gpu_put(&k, bhh, (size_t)G) : NULL;
    float *dy = dbhh ? gpu_put(&k, y_gpu, ny) : NULL;
    if (dy &&
        ok_call(&k, "cuda lstm",
                c->gpu->ops->lstm(c->gpu, dx, cin, t, dwih, dwhh, dbih, dbhh, hidden, dy, &err),
                &err) &&
        gpu_get(&k, y_gpu, dy, ny))
        compare(&k, y_gpu, y_cpu, ny, 1e-5);
    finish(&k);
    free(x), free(wih), free(whh), free(bih), free(bhh), free(y_cpu), free(y_gpu);
}

static void group_lstm(cuda_checks *c)
{
    check_lstm(c, 12, 10, 23);
    check_lstm(c, 1024, 1024, 1500); /* EnCodec 32 kHz: 30 s of frames */
    check_lstm(c, 64, 96, 200);
    check_lstm(c, 32, 512, 64); /* h in registers, a smaller class */
    /* 32 KB of rows a unit: on most GPUs only some of a block's units fit shared memory, so
     * this runs the global-memory rows beside the resident ones */
    check_lstm(c, 64, 2048, 40);
}

/* --- errors and start-up facts --------------------------------------------------------------- */

static void group_errors(cuda_checks *c)
{
    check_case k;
    dgxm_error err;
    dgxm_backend *g = c->gpu;

    begin(&k, c, "errors", "an unknown weight format is refused");
    float w[4] = { 1, 2, 3, 4 };
    dgxm_matrix m;
    dgxm_error_clear(&err);
    dgxm_status s = g->ops->matrix_upload(g, w, 2, 2, (dgxm_weight_format)99, &m, &err);
    if (s != DGXM_ERR_INVALID_ARG || !strstr(err.message, "weight format"))
        failf(&k, "got %s: %s", dgxm_status_name(s), err.message);
    finish(&k);

    begin(&k, c, "errors", "embedding id out of range");
    float *table = gpu_put(&k, NULL, 8);
    int32_t ids[2] = { 0, 4 };
    dgxm_error_clear(&err);
    s = table ? g->ops->embedding(g, table, 4, 2, ids, 2, table, &err) : DGXM_OK;
    if (table && (s != DGXM_ERR_INVALID_ARG || !strstr(err.message, "id 4")))
        failf(&k, "got %s: %s", dgxm_status_name(s), err.message);
    finish(&k);

    begin(&k, c, "errors", "start-up facts recorded");
    const dgxm_cuda_info *in = dgxm_cuda_backend_info(g);
    if (!in || in->sm_count <= 0 || in->binary_version <= 0 || in->cc_major < 8)
        failf(&k, "info %p: %d SMs, binary version %d, CC %d", (const void *)in,
              in ? in->sm_count : 0, in ? in->binary_version : 0, in ? in->cc_major : 0);
    if (dgxm_cuda_backend_info(c->cpu))
        failf(&k, "the CPU backend was taken for a CUDA backend");
    finish(&k);
}

int cuda_checks_run_group(cuda_checks *c, const char *group)
{
    const int before = c->failed;
    if (!strcmp(group, "linear"))
        group_linear(c);
    else if (!strcmp(group, "norm"))
        group_norm(c);
    else if (!strcmp(group, "activation"))
        group_activation(c);
    else if (!strcmp(group, "rows"))
        group_rows(c);
    else if (!strcmp(group, "attention"))
        group_attention(c);
    else if (!strcmp(group, "conv"))
        group_conv(c);
    else if (!strcmp(group, "lstm"))
        group_lstm(c);
    else if (!strcmp(group, "errors"))
        group_errors(c);
    else {
        check_case k;
        begin(&k, c, "unknown", "group %s", group);
        failf(&k, "no such group");
        finish(&k);
    }
    return c->failed - before;
}

/* --- timing ---------------------------------------------------------------------------------- */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

double cuda_checks_time_linear(cuda_checks *c, dgxm_weight_format format, int m, int rows, int cols,
                               int calls, dgxm_error *err)
{
    dgxm_backend *g = c->gpu;
    const dgxm_cuda_info *in = dgxm_cuda_backend_info(g);
    const size_t bytes = (size_t)rows * cols * (format == DGXM_WEIGHT_BF16 ? 2 : 4);
    size_t copies = in ? 3 * in->l2_bytes / bytes + 2 : 8;
    if (copies > 64)
        copies = 64;
    if (copies < 2)
        copies = 2;
    dgxm_matrix mats[64];
    memset(mats, 0, sizeof mats);
    float *w = random_floats(c, (size_t)rows * cols, 1.0f);
    float *x = random_floats(c, (size_t)m * cols, 1.0f);
    float *dx = g->ops->alloc(g, (size_t)m * cols * sizeof *dx);
    float *dy = g->ops->alloc(g, (size_t)m * rows * sizeof *dy);
    double us = 0.0;
    float sink;
    dgxm_status s =
        dx && dy ? DGXM_OK : dgxm_error_set(err, DGXM_ERR_NOMEM, "timing: activation buffers");
    if (!s)
        s = g->ops->copy_to_device(g, dx, x, (size_t)m * cols * sizeof *dx, err);
    for (size_t i = 0; !s && i < copies; i++)
        s = g->ops->matrix_upload(g, w, rows, cols, format, &mats[i], err);
    for (int i = 0; !s && i < 50; i++) /* warm-up */
        s = g->ops->linear(g, &mats[i % copies], NULL, dx, m, dy, false, err);
    if (!s)
        s = g->ops->copy_to_host(g, &sink, dy, sizeof sink, err);
    if (!s) {
        double t0 = now_us();
        for (int i = 0; !s && i < calls; i++)
            s = g->ops->linear(g, &mats[i % copies], NULL, dx, m, dy, false, err);
        if (!s)
            s = g->ops->copy_to_host(g, &sink, dy, sizeof sink, err);
        us = s ? 0.0 : (now_us() - t0) / calls;
    }
    for (size_t i = 0; i < copies; i++)
        if (mats[i].data)
            g->ops->matrix_free(g, &mats[i]);
    g->ops->release(g, dx);
    g->ops->release(g, dy);
    free(w), free(x);
    return us;
}
