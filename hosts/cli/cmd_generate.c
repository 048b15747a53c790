/* dgxm generate: a prompt in, an audio file out, through the engine runtime (dgxm/engine.h,
 * dgxm/job.h) like every other front end: one exact-mode job whose ring is drained into the
 * file. Parameters are checked before the model is loaded and the output is opened before
 * generation starts, so a bad argument or an unwritable path costs nothing; Ctrl-C cancels the
 * job within one decoder step and leaves no file. */
#include "commands.h"

#include "audio_file.h"
#include "dgxm/engine.h"
#include "dgxm/job.h"
#include "sampler.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECONDS 300.0

typedef struct generate_args {
    const char *model, *prompt, *prompt_file, *out, *codes_out, *device;
    dgxm_engine_weights dtype;
    double duration, guidance, temperature, top_p;
    int frames, top_k, rate, threads;
    bool greedy, have_seed, have_guidance, have_duration;
    uint64_t seed;
    dgxm_sample_format format;
} generate_args;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: dgxm generate --model DIR (--prompt TEXT | --prompt-file F) -o OUT\n"
               "         [--duration SEC | --frames N] [--greedy] [--guidance G]\n"
               "         [--temperature T] [--top-k K] [--top-p P] [--seed S]\n"
               "         [--device auto|cpu|cuda[:i]] [--dtype f32|bf16|f16|int8] [--threads N]\n"
               "         [--codes-out FILE]"
               "         [--rate HZ] [--format float|pcm16|pcm24]\n"
               "OUT: .wav (32-bit float at the model's rate by default), .flac or .ogg\n");
}

static int parse_double(const char *opt, const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v)) {
        fprintf(stderr, "dgxm generate: %s '%s': not a finite number\n", opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_int(const char *opt, const char *text, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "dgxm generate: %s '%s': expected an integer in [%lld, %lld]\n", opt, text,
                lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, generate_args *a)
{
    *a = (generate_args){ .device = "auto", /* cuda:0 when usable, else the CPU with a notice */
                          .dtype = DGXM_ENGINE_WEIGHTS_DEFAULT, /* bf16 on CUDA, f32 on the CPU */
                          .temperature = 1.0,
                          .top_k = 250,
                          .top_p = 1.0,
                          .frames = -1,
                          .guidance = 3.0 };
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(opt, "--greedy")) {
            a->greedy = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "dgxm generate: %s needs a value\n", opt);
            return -1;
        }
        const char *val = argv[++i];
        long long n = 0;
        if (!strcmp(opt, "--model")) {
            a->model = val;
        } else if (!strcmp(opt, "--prompt")) {
            a->prompt = val;
        } else if (!strcmp(opt, "--prompt-file")) {
            a->prompt_file = val;
        } else if (!strcmp(opt, "-o") || !strcmp(opt, "--output")) {
            a->out = val;
        } else if (!strcmp(opt, "--codes-out")) {
            a->codes_out = val;
        } else if (!strcmp(opt, "--dtype")) {
            if (!strcmp(val, "f32"))
                a->dtype = DGXM_ENGINE_WEIGHTS_F32;
            else if (!strcmp(val, "bf16"))
                a->dtype = DGXM_ENGINE_WEIGHTS_BF16;
            else if (!strcmp(val, "f16"))
                a->dtype = DGXM_ENGINE_WEIGHTS_F16;
            else if (!strcmp(val, "int8"))
                a->dtype = DGXM_ENGINE_WEIGHTS_INT8;
            else {
                fprintf(stderr, "dgxm generate: --dtype '%s': use f32, bf16, f16 or int8\n", val);
                return -1;
            }
        } else if (!strcmp(opt, "--device")) {
            a->device = val;
        } else if (!strcmp(opt, "--duration")) {
            if (parse_double(opt, val, &a->duration))
                return -1;
            a->have_duration = true;
        } else if (!strcmp(opt, "--frames")) {
            if (parse_int(opt, val, 1, 1000000, &n))
                return -1;
            a->frames = (int)n;
        } else if (!strcmp(opt, "--guidance")) {
            if (parse_double(opt, val, &a->guidance))
                return -1;
            a->have_guidance = true;
        } else if (!strcmp(opt, "--temperature")) {
            if (parse_double(opt, val, &a->temperature))
                return -1;
        } else if (!strcmp(opt, "--top-p")) {
            if (parse_double(opt, val, &a->top_p))
                return -1;
        } else if (!strcmp(opt, "--top-k")) {
            if (parse_int(opt, val, 1, 1 << 20, &n))
                return -1;
            a->top_k = (int)n;
        } else if (!strcmp(opt, "--seed")) {
            if (parse_int(opt, val, 0, INT64_MAX, &n))
                return -1;
            a->seed = (uint64_t)n;
            a->have_seed = true;
        } else if (!strcmp(opt, "--rate")) {
            if (parse_int(opt, val, 8000, 384000, &n))
                return -1;
            a->rate = (int)n;
        } else if (!strcmp(opt, "--threads")) {
            if (parse_int(opt, val, 0, 1024, &n))
                return -1;
            a->threads = (int)n;
        } else if (!strcmp(opt, "--format")) {
            int f = dgxm_sample_format_parse(val);
            if (f < 0) {
                fprintf(stderr, "dgxm generate: --format '%s': use float, pcm16 or pcm24\n", val);
                return -1;
            }
            a->format = (dgxm_sample_format)f;
        } else {
            fprintf(stderr, "dgxm generate: unknown option '%s'\n", opt);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

/* Every check that needs no model: a mistake is reported before minutes of loading. */
static int check_args(const generate_args *a)
{
    const char *missing = !a->model ? "--model" : !a->out ? "-o OUT" : NULL;
    if (!missing && !a->prompt && !a->prompt_file)
        missing = "--prompt or --prompt-file";
    if (missing) {
        fprintf(stderr, "dgxm generate: %s is required\n", missing);
        return -1;
    }
    if (a->prompt && a->prompt_file) {
        fprintf(stderr, "dgxm generate: give --prompt or --prompt-file, not both\n");
        return -1;
    }
    if (a->have_duration && a->frames >= 0) {
        fprintf(stderr, "dgxm generate: give --duration or --frames, not both\n");
        return -1;
    }
    if (!a->have_duration && a->frames < 0) {
        fprintf(stderr, "dgxm generate: give --duration SEC or --frames N\n");
        return -1;
    }
    if (a->have_duration && !(a->duration > 0 && a->duration <= MAX_SECONDS)) {
        fprintf(stderr, "dgxm generate: --duration %g: must be in (0, %g] seconds\n", a->duration,
                MAX_SECONDS);
        return -1;
    }
    const char *d = a->device;
    if (strcmp(d, "cpu") != 0 && strcmp(d, "cuda") != 0 && strcmp(d, "auto") != 0 &&
        (strncmp(d, "cuda:", 5) != 0 || !d[5] || strspn(d + 5, "0123456789") != strlen(d + 5))) {
        fprintf(stderr, "dgxm generate: --device %s: use auto, cpu, cuda or cuda:N\n", d);
        return -1;
    }
    return 0;
}

static char *read_prompt_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "dgxm generate: --prompt-file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(1 << 20);
    size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    bool too_long = text && n == (1 << 20) - 1 && fgetc(f) != EOF;
    fclose(f);
    if (!text || too_long) {
        fprintf(stderr, "dgxm generate: --prompt-file %s: larger than 1 MiB\n", path);
        free(text);
        return NULL;
    }
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--; /* the file's final line break is not part of the prompt */
    text[n] = '\0';
    *len = n;
    return text;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) * 1e-9;
}

static int write_codes(const char *path, const int32_t *codes, int k, int frames)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "dgxm generate: --codes-out %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (int c = 0; c < k; c++)
        for (int t = 0; t < frames; t++)
            fprintf(f, "%d%c", (int)codes[(size_t)c * frames + t], t + 1 < frames ? ' ' : '\n');
    if (fclose(f) != 0) {
        fprintf(stderr, "dgxm generate: --codes-out %s: write failed\n", path);
        return -1;
    }
    return 0;
}

static int fail(const dgxm_error *err)
{
    fprintf(stderr, "dgxm generate: %s\n", err->message);
    return 1;
}

/* A step counter on a terminal, from the job's progress. */
static void show_progress(const dgxm_job *job, int *shown)
{
    dgxm_job_progress p;
    dgxm_job_get_progress(job, &p);
    if (p.steps_done == *shown || (p.steps_done % 8 != 0 && p.steps_done != p.steps_total))
        return;
    *shown = p.steps_done;
    fprintf(stderr, "\rstep %d/%d  %.1f steps/s  ETA %.1f s   ", p.steps_done, p.steps_total,
            p.steps_per_second, p.eta_seconds > 0 ? p.eta_seconds : 0.0);
    if (p.steps_done == p.steps_total)
        fputc('\n', stderr);
}

/* Reads the job's ring into planar audio[channels][frames] until the job ends; Ctrl-C cancels
 * the job. Returns the final state. */
static dgxm_job_state drain(dgxm_job *job, float *audio, bool tty)
{
    dgxm_job_format f;
    dgxm_job_get_format(job, &f);
    dgxm_ring *ring = dgxm_job_ring(job);
    float block[4096 * 2];
    const size_t per_read = sizeof block / sizeof block[0] / (size_t)f.channels;
    uint64_t pos = 0;
    int shown = -1;
    bool cancel_sent = false;
    for (;;) {
        /* read the state first: frames written before a final state are then all in view */
        dgxm_job_state state = dgxm_job_get_state(job);
        size_t n;
        while ((n = dgxm_ring_read(ring, block, per_read)) > 0) {
            for (size_t i = 0; i < n && pos + i < f.frames; i++)
                for (int c = 0; c < f.channels; c++)
                    audio[(size_t)c * f.frames + pos + i] = block[i * f.channels + c];
            pos += n;
        }
        if (tty)
            show_progress(job, &shown);
        if (state != DGXM_JOB_QUEUED && state != DGXM_JOB_RUNNING)
            return state;
        if (interrupted && !cancel_sent) {
            dgxm_job_cancel(job);
            cancel_sent = true;
        }
        struct timespec nap = { 0, 2 * 1000 * 1000 };
        nanosleep(&nap, NULL);
    }
}

/* Loads (through the engine registry), generates and writes; the writer is opened first so that
 * an unwritable path fails before any work. */
static int run(const generate_args *a, const char *prompt, size_t prompt_len)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_sampling sampling = { .greedy = a->greedy,
                               .temperature = a->temperature,
                               .top_k = a->top_k,
                               .top_p = a->top_p,
                               .guidance = a->guidance,
                               .seed = a->seed };
    if (dgxm_sampling_validate(&sampling, &err))
        return fail(&err);
    dgxm_engine_config ec = {
        .model_dir = a->model, .device = a->device, .weights = a->dtype, .cpu_threads = a->threads
    };
    dgxm_engine *engine = dgxm_engine_acquire(&ec, &err);
    if (!engine)
        return fail(&err);
    int rc = 1;
    float *audio = NULL;
    dgxm_audio_writer *writer = NULL;
    dgxm_job *job = NULL;
    dgxm_engine_info info;
    dgxm_engine_get_info(engine, &info);
    if (info.notice[0]) /* "auto" ran on the CPU: say why */
        fprintf(stderr, "dgxm generate: %s\n", info.notice);
    double rate = info.frame_rate;
    int frames = a->frames > 0 ? a->frames : (int)(a->duration * rate + 1e-9);
    if (frames < 1 || frames > (int)(MAX_SECONDS * rate)) {
        dgxm_error_set(&err, DGXM_ERR_INVALID_ARG,
                       "%d frames at %g frames/s: must be 1 to %g seconds", frames, rate,
                       MAX_SECONDS);
        goto out;
    }
    int out_rate = a->rate > 0 ? a->rate : info.sample_rate;
    if (!(writer = dgxm_audio_writer_open(a->out, info.channels, out_rate, a->format, &err)))
        goto out;
    dgxm_job_params p;
    dgxm_job_params_init(&p);
    p.prompt = prompt;
    p.prompt_len = prompt_len;
    p.code_frames = frames;
    p.guidance = a->guidance;
    p.temperature = a->temperature;
    p.top_k = a->top_k;
    p.top_p = a->top_p;
    p.greedy = a->greedy;
    p.seed = (int64_t)a->seed;
    p.sample_rate = out_rate;
    p.channels = info.channels;
    p.output = DGXM_JOB_EXACT; /* the reference's whole-clip decode */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (!(job = dgxm_job_submit(engine, &p, &err)))
        goto out;
    dgxm_job_format f;
    dgxm_job_get_format(job, &f);
    if (!(audio = calloc((size_t)f.channels * f.frames, sizeof *audio))) {
        dgxm_error_set(&err, DGXM_ERR_NOMEM, "%d frames of output", frames);
        goto out;
    }
    fprintf(stderr, "seed: %llu\n", (unsigned long long)dgxm_job_seed(job));
    if (drain(job, audio, isatty(STDERR_FILENO)) != DGXM_JOB_DONE) {
        dgxm_job_error(job, &err);
        goto out;
    }
    int k = 0, code_frames = 0;
    const int32_t *codes = dgxm_job_codes(job, &k, &code_frames);
    if (a->codes_out && write_codes(a->codes_out, codes, k, code_frames))
        goto out_quiet;
    dgxm_audio_writer *w = writer;
    writer = NULL;
    if (dgxm_audio_writer_finish(w, audio, f.frames, out_rate, &err))
        goto out;
    fprintf(stderr, "wrote %s: %.2f s, %d channel(s), %d Hz, %.1f s elapsed\n", a->out,
            frames / rate, f.channels, out_rate, seconds_since(&start));
    rc = 0;
    goto out_quiet;
out:
    if (err.status == DGXM_ERR_CANCELLED) {
        fprintf(stderr, "\ndgxm generate: cancelled; no file written\n");
        rc = 130;
    } else {
        fail(&err);
    }
out_quiet:
    dgxm_audio_writer_abort(writer);
    free(audio);
    dgxm_job_release(job);
    dgxm_engine_release(engine);
    return rc;
}

int dgxm_cmd_generate(int argc, char **argv)
{
    generate_args a;
    if (parse_args(argc, argv, &a) || check_args(&a))
        return 1;
    if (!a.have_seed) {
        if (getrandom(&a.seed, sizeof a.seed, 0) != (ssize_t)sizeof a.seed)
            a.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        a.seed &= INT64_MAX; /* printable and accepted back by --seed */
    }
    size_t len = 0;
    char *from_file = NULL;
    const char *prompt = a.prompt;
    if (a.prompt_file) {
        if (!(from_file = read_prompt_file(a.prompt_file, &len)))
            return 1;
        prompt = from_file;
    } else if (prompt) {
        len = strlen(prompt);
    }
    struct sigaction sa = { .sa_handler = on_sigint };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = run(&a, prompt, len);
    free(from_file);
    return rc;
}
