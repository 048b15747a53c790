/* dgxm bench: per-part timings of the engine on a checkpoint, or on random weights at the real
 * shapes (--random small|medium|large, written to a temporary folder and loaded through the real
 * loader), on the CPU or a CUDA device. Prints T5 and EnCodec times and ms per decoder step early,
 * middle and late in a clip against the step's bytes over the measured memory bandwidth (the
 * floor). With --full 1 (the default on a GPU) it also runs a real generation of the clip -
 * guidance 3, top-k 250 sampling - and reports its per-step times and the end-to-end seconds
 * (T5 + generation + EnCodec); otherwise the total is projected from the step times.
 * --json FILE writes the figures for tests/bench/summarize.py. */
#include "commands.h"

#include "backend.h"
#include "checkpoint.h"
#include "cpu/thread_pool.h"
#include "decoder.h"
#include "decoder_fused.h"
#include "generate.h"
#include "encodec.h"
#include "synthetic_checkpoint.h"
#include "t5.h"
#ifdef DGXM_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct bench_args {
    const char *model, *random, *device, *json, *keep;
    dgxm_weight_format dtype;
    double seconds;
    int threads, repeats, full, op_by_op, profile;
} bench_args;

static const char *format_name(dgxm_weight_format f)
{
    switch (f) {
    case DGXM_WEIGHT_F32: return "f32";
    case DGXM_WEIGHT_BF16: return "bf16";
    case DGXM_WEIGHT_F16: return "f16";
    case DGXM_WEIGHT_INT8: return "int8";
    }
    return "?";
}

static int parse_format(const char *v, dgxm_weight_format *f)
{
    static const dgxm_weight_format all[] = { DGXM_WEIGHT_F32, DGXM_WEIGHT_BF16, DGXM_WEIGHT_F16,
                                              DGXM_WEIGHT_INT8 };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (strcmp(v, format_name(all[i])) == 0) {
            *f = all[i];
            return 0;
        }
    return -1;
}

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

static void usage(void)
{
    fprintf(stderr,
            "usage: dgxm bench (--model DIR | --random small|medium|large)\n"
            "         [--device cpu|cuda[:N]] [--dtype f32|bf16|f16|int8] [--seconds S]\n"
            "         [--threads N] [--repeats N] [--full 0|1] [--path fused|ops] [--json FILE]\n"
            "         [--keep DIR (write the random weights there and keep them)]\n"
            "         [--profile 1 (time each kind of kernel of one fused step and each EnCodec "
            "layer)]\n");
}

static int parse(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){ .seconds = 16, .repeats = 5, .device = "cpu", .full = -1 };
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
        else if (!strcmp(opt, "--dtype") && !parse_format(val, &a->dtype))
            ;
        else if (!strcmp(opt, "--random"))
            a->random = val;
        else if (!strcmp(opt, "--device"))
            a->device = val;
        else if (!strcmp(opt, "--json"))
            a->json = val;
        else if (!strcmp(opt, "--keep"))
            a->keep = val;
        else if (!strcmp(opt, "--path") && (!strcmp(val, "fused") || !strcmp(val, "ops")))
            a->op_by_op = !strcmp(val, "ops");
        else if (!strcmp(opt, "--seconds"))
            a->seconds = strtod(val, &end);
        else if (!strcmp(opt, "--threads"))
            a->threads = (int)strtol(val, &end, 10);
        else if (!strcmp(opt, "--repeats"))
            a->repeats = (int)strtol(val, &end, 10);
        else if (!strcmp(opt, "--full"))
            a->full = (int)strtol(val, &end, 10);
        else if (!strcmp(opt, "--profile"))
            a->profile = (int)strtol(val, &end, 10);
        else {
            usage();
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
        a->threads < 0 || a->full < -1 || a->full > 1) {
        fprintf(stderr,
                "dgxm bench: --seconds in (0, 300], --repeats in [1, 1000], --full 0 or 1\n");
        return -1;
    }
    if (strcmp(a->device, "cpu") != 0 && strncmp(a->device, "cuda", 4) != 0) {
        fprintf(stderr, "dgxm bench: --device %s: use cpu, cuda or cuda:N\n", a->device);
        return -1;
    }
    if (a->full < 0)
        a->full = strcmp(a->device, "cpu") != 0;
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

static dgxm_backend *backend_new(const char *device, int threads, dgxm_error *err)
{
    if (!strcmp(device, "cpu"))
        return dgxm_cpu_backend_new(threads, err);
#ifdef DGXM_HAVE_CUDA
    int index = 0;
    if (device[4] == ':') {
        char *end;
        index = (int)strtol(device + 5, &end, 10);
        if (*end || end == device + 5) {
            dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "--device %s: not cuda:N", device);
            return NULL;
        }
    }
    return dgxm_cuda_backend_new(index, err);
#else
    dgxm_error_set(err, DGXM_ERR_UNSUPPORTED, "--device %s: built without the CUDA backend",
                   device);
    return NULL;
#endif
}

static int parts_load(const char *dir, const bench_args *a, parts *p, dgxm_error *err)
{
    memset(p, 0, sizeof *p);
    const dgxm_weight_format dtype = a->dtype;
    if (!(p->ckpt = dgxm_checkpoint_open(dir, err)) ||
        !(p->b = backend_new(a->device, a->threads, err)))
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

/* Device-to-device copy bandwidth (read + write) through the backend: the GPU's floor. */
static double measure_device_bandwidth(dgxm_backend *b)
{
    const size_t bytes = (size_t)1 << 29;
    void *src = b->ops->alloc(b, bytes), *dst = b->ops->alloc(b, bytes);
    double best = 0;
    dgxm_error err;
    dgxm_error_clear(&err);
    for (int r = 0; src && dst && r < 6; r++) {
        double t0 = now_s();
        if (b->ops->copy_to_device(b, dst, src, bytes, &err))
            break;
        double gbs = 2.0 * bytes / (now_s() - t0) / 1e9;
        best = r > 0 && gbs > best ? gbs : best; /* the first copy warms up */
    }
    b->ops->release(b, src);
    b->ops->release(b, dst);
    return best;
}

typedef struct step_clock {
    double last;
    double *ms; /* per step */
    int count;
} step_clock;

static bool on_step(void *ctx, int done, int total)
{
    step_clock *c = ctx;
    double t = now_s();
    if (done >= 1 && done <= total)
        c->ms[done - 1] = (t - c->last) * 1e3;
    c->count = done;
    c->last = t;
    return true;
}

/* Median of ms[from, to). */
static double median(const double *ms, int from, int to)
{
    if (from < 0)
        from = 0;
    if (to <= from)
        return 0;
    int n = to - from;
    double *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp)
        return 0;
    memcpy(tmp, ms + from, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    double m = tmp[n / 2];
    free(tmp);
    return m;
}

typedef struct figures {
    int steps, frames, kernels, measured;
    double load_s, t5_ms, step_ms[3], codec_ms, generate_s, end_to_end_s;
    double first_step_ms, mean_step_ms; /* a measured generation's: the first has its set-up */
    /* first use in the process, where kernel images and libraries load: T5's first call, the
     * warm-up generation, EnCodec's first decode of the clip */
    double t5_first_ms, warm_generation_ms, codec_first_ms;
    double weight_bytes, kv_bytes, bandwidth, floor_ms;
} figures;

static dgxm_sampling bench_sampling(void)
{
    return (dgxm_sampling){
        .temperature = 1.0, .top_k = 250, .top_p = 1.0, .guidance = 3.0, .seed = 1234
    };
}

/* Codes for timing EnCodec alone: spread over each codebook, the same at every call. */
static void synthetic_codes(const dgxm_encodec_config *ec, int frames, int32_t *codes)
{
    for (int i = 0; i < ec->num_quantizers * frames; i++)
        codes[i] = (i * 7919) % ec->codebook_size;
}

/* A real generation of the clip: per-step times from its progress hook, and the end-to-end
 * seconds of T5 + generation + EnCodec in sequence. */
static int run_full(parts *p, const bench_args *a, const int32_t *ids, int lt, float *cond,
                    int32_t *codes, float *audio, figures *f, dgxm_error *err)
{
    const dgxm_decoder_config *dc = &p->cfg->decoder;
    double *ms = calloc((size_t)f->steps + 8, sizeof *ms);
    if (!ms)
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "bench: out of memory"), -1;
    step_clock clock = { .ms = ms };
    dgxm_generate_options opt = { .sampling = bench_sampling(),
                                  .frames = f->frames,
                                  .on_step = on_step,
                                  .ctx = &clock,
                                  .op_by_op = a->op_by_op };
    /* Warm-up: one short generation loads every kernel image and the allocator's pools. */
    dgxm_generate_options warm = opt;
    warm.frames = f->frames < 50 ? f->frames : 50;
    warm.on_step = NULL;
    int rc = -1;
    double w0 = now_s();
    if (dgxm_generate_codes(p->dec, dc, p->cfg->encodec.frame_rate, cond, lt, &warm, codes, err))
        goto out;
    double w1 = now_s();
    /* EnCodec's first decode loads its kernels; the measured one below should not pay that,
     * as the generation does not (the warm-up above) */
    synthetic_codes(&p->cfg->encodec, f->frames, codes);
    if (dgxm_encodec_decode(p->codec, codes, f->frames, f->frames, audio, err))
        goto out;
    f->warm_generation_ms = (w1 - w0) * 1e3;
    f->codec_first_ms = (now_s() - w1) * 1e3;
    double t0 = now_s();
    if (dgxm_t5_encode(p->t5, ids, lt, NULL, cond, err))
        goto out;
    double t1 = now_s();
    clock.last = t1;
    if (dgxm_generate_codes(p->dec, dc, p->cfg->encodec.frame_rate, cond, lt, &opt, codes, err))
        goto out;
    double t2 = now_s();
    for (int c = 0; c < dc->audio_channels; c++) {
        /* stereo: each channel decodes its own interleaved half of the codebooks */
        if (dgxm_encodec_decode(p->codec, codes, f->frames, f->frames, audio, err))
            goto out;
    }
    double t3 = now_s();
    f->generate_s = t2 - t1;
    f->codec_ms = (t3 - t2) * 1e3;
    f->end_to_end_s = t3 - t0;
    const int n = clock.count, window = 50;
    f->step_ms[0] = median(ms, 0, n < window ? n : window);
    f->step_ms[1] = median(ms, n / 2 - window / 2, n / 2 + window / 2);
    f->step_ms[2] = median(ms, n - window, n);
    f->first_step_ms = n > 0 ? ms[0] : 0;
    double rest = 0;
    for (int i = 1; i < n; i++)
        rest += ms[i];
    f->mean_step_ms = n > 1 ? rest / (n - 1) : 0;
    f->measured = 1;
    rc = 0;
out:
    free(ms);
    return rc;
}

/* Op-by-op step times at three positions (no generation): the CPU's quick mode. */

static int run_positions(parts *p, const bench_args *a, float *cond, int lt, float *logits,
                         figures *f, dgxm_error *err)
{
    dgxm_decoder_state *st = dgxm_decoder_state_new(p->dec, 2, f->steps + 1, cond, lt, err);
    if (!st)
        return -1;
    int where[3] = { 0, f->steps / 2, f->steps - a->repeats };
    int rc = 0;
    for (int i = 0; !rc && i < 3; i++)
        if ((f->step_ms[i] =
                 time_steps(p, st, where[i] > 0 ? where[i] : 0, a->repeats, logits, err)) < 0)
            rc = -1;
    dgxm_decoder_state_free(st);
    if (rc)
        return rc;
    int32_t *codes = malloc((size_t)p->cfg->encodec.num_quantizers * f->frames * sizeof *codes);
    float *audio = malloc((size_t)f->frames * p->cfg->encodec.hop_length * sizeof *audio);
    if (!codes || !audio) {
        free(codes), free(audio);
        return dgxm_error_set(err, DGXM_ERR_NOMEM, "bench: out of memory"), -1;
    }
    synthetic_codes(&p->cfg->encodec, f->frames, codes);
    double e0 = now_s();
    rc = dgxm_encodec_decode(p->codec, codes, f->frames, f->frames, audio, err) ? -1 : 0;
    f->codec_ms = (now_s() - e0) * 1e3 * p->cfg->decoder.audio_channels;
    f->generate_s = f->steps * (f->step_ms[0] + f->step_ms[2]) / 2 / 1e3;
    f->end_to_end_s = f->t5_ms / 1e3 + f->generate_s + f->codec_ms / 1e3;
    free(codes), free(audio);
    return rc;
}

/* With --profile: one more decode of the clip's frames (synthetic codes), each layer waited for,
 * printed as a table of where EnCodec's time goes. */
static void profile_codec(parts *p, const figures *f)
{
    const dgxm_encodec_config *ec = &p->cfg->encodec;
    int32_t *codes = malloc((size_t)ec->num_quantizers * f->frames * sizeof *codes);
    float *audio = malloc((size_t)f->frames * ec->hop_length * sizeof *audio);
    dgxm_encodec_layer_time t[64];
    dgxm_error e;
    dgxm_error_clear(&e);
    int n = -1;
    if (codes && audio && !dgxm_encodec_set_profile(p->codec, true, &e)) {
        synthetic_codes(ec, f->frames, codes);
        if (!dgxm_encodec_decode(p->codec, codes, f->frames, f->frames, audio, &e))
            n = dgxm_encodec_profile(p->codec, t, 64);
        dgxm_encodec_set_profile(p->codec, false, &e);
    }
    double total = 0;
    for (int i = 0; i < n && i < 64; i++)
        total += t[i].ms;
    printf("profile of one EnCodec decode, each layer waited for (%.2f ms in all):\n", total);
    for (int i = 0; i < n && i < 64; i++)
        printf("  %2d %-9s -> %4d x %7d %8.3f ms\n", i, t[i].kind, t[i].channels, t[i].length,
               t[i].ms);
    if (n < 0)
        printf("  (failed: %s)\n", e.status ? e.message : "out of memory");
    free(codes), free(audio);
}

/* Kernels of one fused step (0: the backend steps op by op); with --profile, the time of each
 * kind of kernel in a step at the middle of the clip, each kernel run alone. */
static int count_kernels(parts *p, const bench_args *a, const float *cond, int lt, int steps)
{
    if (a->op_by_op)
        return 0;
    dgxm_error e;
    dgxm_error_clear(&e);
    dgxm_sampling s = bench_sampling();
    const dgxm_decoder_config *dc = &p->cfg->decoder;
    const int columns = steps / 2 + 2, K = dc->num_codebooks;
    dgxm_decoder_fused *fz = dgxm_decoder_fused_new(p->dec, 2, columns - 1, cond, lt, &s, &e);
    int n = fz ? dgxm_decoder_fused_kernels(fz) : 0;
    int32_t *grid = a->profile && fz ? malloc((size_t)K * columns * sizeof *grid) : NULL;
    int32_t column[64];
    if (grid) {
        for (int i = 0; i < K * columns; i++)
            grid[i] = dc->pad_token_id;
        dgxm_fused_profile_entry prof[32];
        int count = -1;
        if (!dgxm_decoder_fused_window(fz, grid, columns, 0, columns - K, 0, &e)) {
            for (int i = 1; i < columns - 2 && !e.status; i++)
                dgxm_decoder_fused_step(fz, column, false, &e);
            count = e.status ? -1 : dgxm_decoder_fused_profile(fz, prof, 32, &e);
        }
        double total = 0;
        for (int i = 0; i < count; i++)
            total += prof[i].ms;
        printf("profile of step %d, each kernel alone (%.3f ms in all):\n", columns - 2, total);
        for (int i = 0; i < count; i++)
            printf("  %-18s %4d launches %8.3f ms %7.2f us each\n", prof[i].name, prof[i].launches,
                   prof[i].ms, 1e3 * prof[i].ms / prof[i].launches);
        if (count < 0)
            printf("  (failed: %s)\n", e.message);
        free(grid);
    }
    dgxm_decoder_fused_free(fz);
    return n;
}

static void write_json(const char *path, const bench_args *a, const char *dir, const parts *p,
                       const figures *f)
{
    FILE *out = fopen(path, "w");
    if (!out) {
        fprintf(stderr, "dgxm bench: %s: cannot write: %s\n", path, strerror(errno));
        return;
    }
    const dgxm_decoder_config *dc = &p->cfg->decoder;
    fprintf(out,
            "{\n  \"model\": \"%s\",\n  \"size\": \"%s\",\n  \"device\": \"%s\",\n"
            "  \"dtype\": \"%s\",\n  \"path\": \"%s\",\n  \"hidden\": %d,\n  \"layers\": %d,\n"
            "  \"seconds\": %g,\n  \"steps\": %d,\n  \"measured_generation\": %s,\n"
            "  \"load_s\": %.4f,\n  \"t5_ms\": %.4f,\n  \"step_ms_early\": %.5f,\n"
            "  \"step_ms_middle\": %.5f,\n  \"step_ms_late\": %.5f,\n  \"kernels_per_step\": %d,\n"
            "  \"encodec_ms\": %.4f,\n  \"generate_s\": %.5f,\n  \"end_to_end_s\": %.5f,\n"
            "  \"weight_bytes_per_step\": %.0f,\n  \"kv_bytes_per_step_mean\": %.0f,\n"
            "  \"bytes_per_step\": %.0f,\n  \"bandwidth_gbs\": %.2f,\n  \"floor_ms\": %.5f,\n"
            "  \"middle_over_floor\": %.4f,\n  \"first_step_ms\": %.4f,\n"
            "  \"step_ms_mean\": %.5f,\n  \"t5_first_ms\": %.4f,\n"
            "  \"warm_generation_ms\": %.4f,\n  \"encodec_first_ms\": %.4f\n}\n",
            dir, a->random ? a->random : "", a->device, format_name(a->dtype),
            f->kernels ? "fused" : "ops", dc->hidden_size, dc->num_layers, a->seconds, f->steps,
            f->measured ? "true" : "false", f->load_s, f->t5_ms, f->step_ms[0], f->step_ms[1],
            f->step_ms[2], f->kernels, f->codec_ms, f->generate_s, f->end_to_end_s, f->weight_bytes,
            f->kv_bytes, f->weight_bytes + f->kv_bytes, f->bandwidth, f->floor_ms,
            f->floor_ms > 0 ? f->step_ms[1] / f->floor_ms : 0, f->first_step_ms, f->mean_step_ms,
            f->t5_first_ms, f->warm_generation_ms, f->codec_first_ms);
    if (fclose(out) != 0)
        fprintf(stderr, "dgxm bench: %s: write failed\n", path);
}

static int run_bench(const bench_args *a, const char *dir, dgxm_error *err)
{
    parts p;
    figures f = { 0 };
    double t0 = now_s();
    if (parts_load(dir, a, &p, err)) {
        parts_free(&p);
        return -1;
    }
    f.load_s = now_s() - t0;
    const dgxm_decoder_config *dc = &p.cfg->decoder;
    f.frames = (int)(a->seconds * p.cfg->encodec.frame_rate);
    f.steps = f.frames + dc->num_codebooks / dc->audio_channels - 1;
    printf("model: %s (decoder %d x %d, %d codebooks), decoder weights %s on %s\n", dir,
           dc->hidden_size, dc->num_layers, dc->num_codebooks, format_name(a->dtype), a->device);
    printf("load: %.2f s\n", f.load_s);

    enum {
        LT = 12
    };
    int32_t ids[LT];
    for (int i = 0; i < LT; i++)
        ids[i] = i == LT - 1 ? 1 : 100 + 37 * i;
    float *cond = malloc((size_t)LT * dc->hidden_size * sizeof *cond);
    float *logits = malloc((size_t)2 * dc->num_codebooks * dc->vocab_size * sizeof *logits);
    int32_t *codes = malloc((size_t)dc->num_codebooks * f.frames * sizeof *codes);
    float *audio =
        malloc((size_t)dc->audio_channels * f.frames * p.cfg->encodec.hop_length * sizeof *audio);
    int rc = -1;
    if (!cond || !logits || !codes || !audio)
        goto out;
    f.t5_ms = 1e30;
    for (int r = 0; r < a->repeats; r++) {
        double s0 = now_s();
        if (dgxm_t5_encode(p.t5, ids, LT, NULL, cond, err))
            goto out;
        double ms = (now_s() - s0) * 1e3;
        f.t5_ms = ms < f.t5_ms ? ms : f.t5_ms;
        if (r == 0)
            f.t5_first_ms = ms;
    }
    printf("T5 + projection (%d tokens): %.2f ms\n", LT, f.t5_ms);
    f.kernels = count_kernels(&p, a, cond, LT, f.steps);
    if (a->full ? run_full(&p, a, ids, LT, cond, codes, audio, &f, err)
                : run_positions(&p, a, cond, LT, logits, &f, err))
        goto out;
    printf("decoder step (2 rows: guidance, %s): early %.3f ms, middle %.3f ms, late %.3f ms\n",
           f.kernels ? "fused, one graph" : "op by op", f.step_ms[0], f.step_ms[1], f.step_ms[2]);
    if (f.measured)
        printf("first step (with the generation's set-up) %.3f ms, mean of the others %.4f ms\n",
               f.first_step_ms, f.mean_step_ms);
    if (f.kernels)
        printf("kernels per step: %d\n", f.kernels);
    printf("EnCodec (%d frames, %d channel(s)): %.1f ms\n", f.frames, dc->audio_channels,
           f.codec_ms);
    if (f.measured)
        printf("first use in this process (kernels and libraries load): T5 %.1f ms, a %d-frame "
               "generation %.1f ms, EnCodec %.1f ms\n",
               f.t5_first_ms, f.frames < 50 ? f.frames : 50, f.warm_generation_ms,
               f.codec_first_ms);
    if (a->profile)
        profile_codec(&p, &f);
    printf("%g s of audio: %d steps, %s %.3f s (generation %.3f s), real-time factor %.1f\n",
           a->seconds, f.steps, f.measured ? "end to end" : "projected total", f.end_to_end_s,
           f.generate_s, a->seconds / f.end_to_end_s);

    f.weight_bytes = dgxm_decoder_step_weight_bytes(p.dec);
    const double kv_size = f.kernels && a->dtype != DGXM_WEIGHT_F32 ? 2 : 4;
    f.kv_bytes = 2.0 * 2 * dc->num_layers * (f.steps / 2.0) * dc->hidden_size * kv_size;
    f.bandwidth = strcmp(a->device, "cpu") != 0 ? measure_device_bandwidth(p.b)
                                                : measure_read_bandwidth(a->threads);
    f.floor_ms = (f.weight_bytes + f.kv_bytes) / (f.bandwidth * 1e9) * 1e3;
    printf("bytes per step (mean over the clip): %.1f MB weights + %.1f MB KV cache; %s bandwidth "
           "%.1f GB/s; floor %.3f ms; middle step / floor %.2f\n",
           f.weight_bytes / 1e6, f.kv_bytes / 1e6,
           strcmp(a->device, "cpu") != 0 ? "device copy" : "read", f.bandwidth, f.floor_ms,
           f.step_ms[1] / f.floor_ms);
    if (a->json)
        write_json(a->json, a, dir, &p, &f);
    rc = 0;
out:
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
    if (a.random && a.keep) {
        if (mkdir(a.keep, 0755) && errno != EEXIST) {
            fprintf(stderr, "dgxm bench: --keep %s: %s\n", a.keep, strerror(errno));
            return 1;
        }
        fprintf(stderr, "writing random %s weights to %s ...\n", a.random, a.keep);
        if (dgxm_synthetic_checkpoint_write(a.keep, a.random, 0, 1, &err)) {
            fprintf(stderr, "dgxm bench: %s\n", err.message);
            return 1;
        }
        int rc = run_bench(&a, a.keep, &err);
        if (rc)
            fprintf(stderr, "dgxm bench: %s\n", err.message);
        return rc ? 1 : 0;
    }
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
