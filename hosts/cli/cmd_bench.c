/* dgxm bench: per-part timings of the engine on a checkpoint, or on random weights at the real
 * shapes (--random small|medium|large, written to a temporary folder and loaded through the real
 * loader). Prints ms per decoder step early, middle and late in a clip, T5 and EnCodec times,
 * the projected total and real-time factor, and the step's bytes against the memory floor. */
#include "commands.h"

#include "backend.h"
#include "checkpoint.h"
#include "cpu/thread_pool.h"
#include "decoder.h"
#include "encodec.h"
#include "synthetic_checkpoint.h"
#include "t5.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct bench_args {
    const char *model, *random;
    dgxm_weight_format dtype;
    double seconds;
    int threads, repeats;
} bench_args;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct read_job {
    const double *data;
    double *partial; /* one per chunk, so no two tasks share a slot */
    size_t chunk;
} read_job;

static void read_range(void *ctx, size_t begin, size_t end)
{
    read_job *j = ctx;
    for (size_t c = begin; c < end; c++) {
        /* eight independent sums, so the loop is limited by memory, not by add latency */
        double s[8] = { 0 };
        const double *p = j->data + c * j->chunk;
        for (size_t i = 0; i < j->chunk; i += 8)
            for (int k = 0; k < 8; k++)
                s[k] += p[i + k];
        j->partial[c] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    }
}

/* Sustained read bandwidth of host memory with every core: the floor for a memory-bound step. */
static double measure_read_bandwidth(int threads)
{
    const size_t bytes = (size_t)1 << 30, chunk = (size_t)1 << 17, chunks = bytes / 8 / chunk;
    double *data = malloc(bytes);
    double *partial = calloc(chunks, sizeof *partial);
    dgxm_thread_pool *pool = dgxm_thread_pool_new(threads);
    double best = 0;
    if (data && partial && pool) {
        for (size_t i = 0; i < bytes / 8; i++)
            data[i] = (double)(i & 1023);
        read_job job = { data, partial, chunk };
        for (int r = 0; r < 5; r++) {
            double t0 = now_s();
            dgxm_parallel_for(pool, chunks, 1, read_range, &job);
            double gbs = bytes / (now_s() - t0) / 1e9;
            best = gbs > best ? gbs : best;
        }
    }
    dgxm_thread_pool_free(pool);
    free(data);
    free(partial);
    return best;
}

static int parse(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){ .seconds = 16, .repeats = 5 };
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            fprintf(stderr, "dgxm bench: %s needs a value\n", opt);
            return -1;
        }
        i++;
        char *end = NULL;
        if (!strcmp(opt, "--model"))
            a->model = val;
        else if (!strcmp(opt, "--dtype") && (!strcmp(val, "f32") || !strcmp(val, "bf16")))
            a->dtype = strcmp(val, "f32") ? DGXM_WEIGHT_BF16 : DGXM_WEIGHT_F32;
        else if (!strcmp(opt, "--random"))
            a->random = val;
        else if (!strcmp(opt, "--seconds"))
            a->seconds = strtod(val, &end);
        else if (!strcmp(opt, "--threads"))
            a->threads = (int)strtol(val, &end, 10);
        else if (!strcmp(opt, "--repeats"))
            a->repeats = (int)strtol(val, &end, 10);
        else {
            fprintf(stderr,
                    "usage: dgxm bench (--model DIR | --random small|medium|large)\n"
                    "         [--dtype f32|bf16] [--seconds S] [--threads N] [--repeats N]\n");
            return -1;
        }
        if (end && *end) {
            fprintf(stderr, "dgxm bench: %s '%s': not a number\n", opt, val);
            return -1;
        }
    }
    if (!a->model == !a->random) {
        fprintf(stderr, "dgxm bench: give exactly one of --model DIR and --random SIZE\n");
        return -1;
    }
    if (!(a->seconds > 0 && a->seconds <= 300) || a->repeats < 1 || a->repeats > 1000 ||
        a->threads < 0) {
        fprintf(stderr, "dgxm bench: --seconds in (0, 300], --repeats in [1, 1000]\n");
        return -1;
    }
    return 0;
}

typedef struct parts {
    dgxm_checkpoint *ckpt;
    dgxm_backend *b;
    dgxm_t5 *t5;
    dgxm_decoder *dec;
    dgxm_encodec *codec;
    const dgxm_model_config *cfg;
} parts;

static void parts_free(parts *p)
{
    dgxm_encodec_free(p->codec);
    dgxm_decoder_free(p->dec);
    dgxm_t5_free(p->t5);
    if (p->b)
        p->b->ops->destroy(p->b);
    dgxm_checkpoint_free(p->ckpt);
}

static int parts_load(const char *dir, int threads, dgxm_weight_format dtype, parts *p,
                      dgxm_error *err)
{
    memset(p, 0, sizeof *p);
    if (!(p->ckpt = dgxm_checkpoint_open(dir, err)) || !(p->b = dgxm_cpu_backend_new(threads, err)))
        return -1;
    p->cfg = dgxm_checkpoint_config(p->ckpt);
    const dgxm_weights *w = dgxm_checkpoint_weights(p->ckpt);
    if (!(p->t5 = dgxm_t5_new(p->b, w, p->cfg, err)) ||
        !(p->dec = dgxm_decoder_new(p->b, w, p->cfg, dtype, err)) ||
        !(p->codec = dgxm_encodec_new(p->b, p->ckpt, err)))
        return -1;
    return 0;
}

/* Median ms of `repeats` steps starting at `position`. */
static double time_steps(parts *p, dgxm_decoder_state *st, int position, int repeats, float *logits,
                         dgxm_error *err)
{
    int32_t tokens[64];
    for (int k = 0; k < 64; k++)
        tokens[k] = (k * 37) % p->cfg->decoder.vocab_size;
    double *ms = malloc((size_t)repeats * sizeof *ms);
    if (!ms || dgxm_decoder_state_seek(st, position, err)) {
        free(ms);
        return -1;
    }
    for (int r = 0; r < repeats; r++) {
        double t0 = now_s();
        if (dgxm_decoder_step(st, tokens, logits, err)) {
            free(ms);
            return -1;
        }
        ms[r] = (now_s() - t0) * 1e3;
    }
    qsort(ms, (size_t)repeats, sizeof *ms, cmp_double);
    double median = ms[repeats / 2];
    free(ms);
    return median;
}

static int run_bench(const bench_args *a, const char *dir, dgxm_error *err)
{
    parts p;
    double t0 = now_s();
    if (parts_load(dir, a->threads, a->dtype, &p, err)) {
        parts_free(&p);
        return -1;
    }
    const dgxm_decoder_config *dc = &p.cfg->decoder;
    const int frames = (int)(a->seconds * p.cfg->encodec.frame_rate);
    const int steps = frames + dc->num_codebooks / dc->audio_channels - 1;
    printf("model: %s (decoder %d x %d, %d codebooks), decoder weights %s on cpu (%d threads)\n",
           dir, dc->hidden_size, dc->num_layers, dc->num_codebooks,
           a->dtype == DGXM_WEIGHT_BF16 ? "bf16" : "f32",
           a->threads ? a->threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
    printf("load: %.2f s\n", now_s() - t0);

    int32_t ids[12];
    for (int i = 0; i < 12; i++)
        ids[i] = i == 11 ? 1 : 100 + 37 * i;
    float *cond = malloc((size_t)12 * dc->hidden_size * sizeof *cond);
    float *logits = malloc((size_t)2 * dc->num_codebooks * dc->vocab_size * sizeof *logits);
    int32_t *codes = malloc((size_t)p.cfg->encodec.num_quantizers * frames * sizeof *codes);
    float *audio = malloc((size_t)frames * p.cfg->encodec.hop_length * sizeof *audio);
    dgxm_decoder_state *st = NULL;
    int rc = -1;
    if (!cond || !logits || !codes || !audio)
        goto out;
    double t5_ms = 1e30;
    for (int r = 0; r < a->repeats; r++) {
        double s0 = now_s();
        if (dgxm_t5_encode(p.t5, ids, 12, NULL, cond, err))
            goto out;
        double ms = (now_s() - s0) * 1e3;
        t5_ms = ms < t5_ms ? ms : t5_ms;
    }
    printf("T5 + projection (12 tokens): %.2f ms\n", t5_ms);

    if (!(st = dgxm_decoder_state_new(p.dec, 2, steps + 1, cond, 12, err)))
        goto out;
    int where[3] = { 0, steps / 2, steps - a->repeats };
    double step_ms[3];
    for (int i = 0; i < 3; i++)
        if ((step_ms[i] =
                 time_steps(&p, st, where[i] > 0 ? where[i] : 0, a->repeats, logits, err)) < 0)
            goto out;
    printf("decoder step (2 rows: guidance): early %.2f ms, middle %.2f ms, late %.2f ms "
           "(positions %d, %d, %d)\n",
           step_ms[0], step_ms[1], step_ms[2], where[0], where[1], where[2]);

    for (int i = 0; i < p.cfg->encodec.num_quantizers * frames; i++)
        codes[i] = (i * 7919) % p.cfg->encodec.codebook_size;
    double e0 = now_s();
    if (dgxm_encodec_decode(p.codec, codes, frames, frames, audio, err))
        goto out;
    double codec_ms = (now_s() - e0) * 1e3 * dc->audio_channels;
    printf("EnCodec (%d frames, %d channel(s)): %.1f ms\n", frames, dc->audio_channels, codec_ms);

    /* Steps grow linearly with position (attention over the cache): integrate early to late. */
    double decode_s = steps * (step_ms[0] + step_ms[2]) / 2 / 1e3;
    double total = t5_ms / 1e3 + decode_s + codec_ms / 1e3;
    printf("%g s of audio: %d steps, projected total %.2f s, real-time factor %.2f\n", a->seconds,
           steps, total, a->seconds / total);
    double weight_bytes = dgxm_decoder_step_weight_bytes(p.dec);
    const int middle = steps / 2; /* the step timed as "middle" reads a cache this long */
    double kv_bytes = 2.0 * 2 * dc->num_layers * middle * dc->hidden_size * 4;
    double bw = measure_read_bandwidth(a->threads);
    double floor_ms = (weight_bytes + kv_bytes) / (bw * 1e9) * 1e3;
    printf("bytes per step (middle): %.1f MB weights + %.1f MB KV cache; read bandwidth %.1f "
           "GB/s; floor %.2f ms; middle step / floor %.2f\n",
           weight_bytes / 1e6, kv_bytes / 1e6, bw, floor_ms, step_ms[1] / floor_ms);
    rc = 0;
out:
    dgxm_decoder_state_free(st);
    free(cond), free(logits), free(codes), free(audio);
    parts_free(&p);
    return rc;
}

int dgxm_cmd_bench(int argc, char **argv)
{
    bench_args a;
    if (parse(argc, argv, &a))
        return 1;
    dgxm_error err;
    dgxm_error_clear(&err);
    char tmp[] = "/tmp/dgxm-bench-XXXXXX";
    const char *dir = a.model;
    if (a.random) {
        const char *base = getenv("TMPDIR");
        char *templ = NULL;
        if (asprintf(&templ, "%s/dgxm-bench-XXXXXX", base && *base ? base : "/tmp") < 0 ||
            !mkdtemp(templ)) {
            fprintf(stderr, "dgxm bench: cannot create a temporary folder: %s\n", strerror(errno));
            free(templ);
            return 1;
        }
        snprintf(tmp, sizeof tmp, "%s", templ);
        free(templ);
        fprintf(stderr, "writing random %s weights to %s ...\n", a.random, tmp);
        if (dgxm_synthetic_checkpoint_write(tmp, a.random, 0, 1, &err)) {
            fprintf(stderr, "dgxm bench: %s\n", err.message);
            return 1;
        }
        dir = tmp;
    }
    int rc = run_bench(&a, dir, &err);
    if (rc)
        fprintf(stderr, "dgxm bench: %s\n", err.message);
    if (a.random) {
        char path[4200];
        snprintf(path, sizeof path, "%s/model.safetensors", tmp);
        unlink(path);
        snprintf(path, sizeof path, "%s/config.json", tmp);
        unlink(path);
        rmdir(tmp);
    }
    return rc ? 1 : 0;
}
