/* The engine runtime on the fixture models: the registry shares one engine per key; an exact job
 * reproduces the reference text -> codes -> audio path bit for bit (resampled too); a streamed
 * job stays within 40 dB of it; lengths, channel mapping and seeds are what was asked; bad
 * parameters are named at submit; a bad prompt fails its job and leaves the engine usable;
 * cancel, job release and engine release stop work cleanly; jobs run in submission order; a
 * small ring holds the engine back without losing a frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "audio_file.h"
#include "dgxm/engine.h"
#include "dgxm/job.h"
#include "musicgen.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char mono_dir[4096], stereo_dir[4096];

static void nap_ms(int ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

static dgxm_engine *acquire(const char *dir, dgxm_engine_weights weights)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_engine_config cfg = {
        .model_dir = dir, .device = "cpu", .weights = weights, .cpu_threads = 2
    };
    dgxm_engine *e = dgxm_engine_acquire(&cfg, &err);
    if (!e)
        fail_msg("acquire %s: %s", dir, err.message);
    return e;
}

static dgxm_job_params params(const char *prompt, int code_frames, int64_t seed)
{
    dgxm_job_params p;
    dgxm_job_params_init(&p);
    p.prompt = prompt;
    p.code_frames = code_frames;
    p.seed = seed;
    return p;
}

static dgxm_job *submit(dgxm_engine *e, const dgxm_job_params *p)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_job *job = dgxm_job_submit(e, p, &err);
    if (!job)
        fail_msg("submit: %s", err.message);
    return job;
}

static bool finished(dgxm_job_state s)
{
    return s == DGXM_JOB_DONE || s == DGXM_JOB_FAILED || s == DGXM_JOB_CANCELLED;
}

/* Reads the ring until the job ends: interleaved [frames][channels], malloc'ed. */
static float *drain(dgxm_job *job, uint64_t *frames, dgxm_job_state *end)
{
    dgxm_job_format f;
    dgxm_job_get_format(job, &f);
    float *out = calloc((size_t)f.frames * f.channels, sizeof *out);
    uint64_t got = 0;
    for (;;) {
        dgxm_job_state s = dgxm_job_get_state(job);
        got += dgxm_ring_read(dgxm_job_ring(job), out + got * f.channels, f.frames - got);
        if (finished(s)) {
            *end = s;
            break;
        }
        nap_ms(1);
    }
    *frames = got;
    return out;
}

/* Runs p to the end; the job must finish done with exactly its frames. */
static float *render(dgxm_engine *e, const dgxm_job_params *p, dgxm_job_format *f)
{
    dgxm_job *job = submit(e, p);
    dgxm_job_get_format(job, f);
    uint64_t frames = 0;
    dgxm_job_state end;
    float *out = drain(job, &frames, &end);
    dgxm_error err;
    dgxm_error_clear(&err);
    if (end != DGXM_JOB_DONE) {
        dgxm_job_error(job, &err);
        fail_msg("job ended in state %d: %s", (int)end, err.message);
    }
    assert_int_equal(frames, f->frames);
    dgxm_job_release(job);
    return out;
}

static double snr_db(const float *ref, const float *x, size_t n)
{
    double signal = 0, noise = 0;
    for (size_t i = 0; i < n; i++) {
        signal += (double)ref[i] * ref[i];
        noise += ((double)ref[i] - x[i]) * ((double)ref[i] - x[i]);
    }
    return noise == 0 ? INFINITY : 10 * log10(signal / noise);
}

static int setup(void **state)
{
    *state = acquire(mono_dir, DGXM_ENGINE_WEIGHTS_F32);
    return 0;
}

static int teardown(void **state)
{
    dgxm_engine_release(*state);
    return 0;
}

static void one_engine_per_key(void **state)
{
    dgxm_engine *e = *state;
    char other[4200];
    snprintf(other, sizeof other, "%s/../mono/.", mono_dir);
    dgxm_engine *same = acquire(other, DGXM_ENGINE_WEIGHTS_F32);
    assert_ptr_equal(same, e);
    dgxm_engine *bf16 = acquire(mono_dir, DGXM_ENGINE_WEIGHTS_BF16);
    assert_ptr_not_equal(bf16, e);
    dgxm_engine_info info;
    dgxm_engine_get_info(same, &info);
    assert_int_equal(info.sample_rate, 32000);
    assert_int_equal(info.channels, 1);
    assert_int_equal(info.hop, 640);
    assert_int_equal(info.codebooks, 4);
    assert_string_equal(info.device, "cpu");
    dgxm_engine_release(same);
    dgxm_engine_release(bf16);
}

static void bad_engine_configs_are_named(void **state)
{
    (void)state;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_engine_config cfg = { .model_dir = mono_dir, .device = "tpu" };
    assert_null(dgxm_engine_acquire(&cfg, &err));
    assert_int_equal(err.status, DGXM_ERR_INVALID_ARG);
    assert_non_null(strstr(err.message, "tpu"));
    for (int i = 0; i < 2; i++) { /* a failed load leaves nothing behind in the registry */
        dgxm_error_clear(&err);
        cfg = (dgxm_engine_config){ .model_dir = "/nonexistent/musicgen" };
        assert_null(dgxm_engine_acquire(&cfg, &err));
        assert_non_null(strstr(err.message, "/nonexistent/musicgen"));
    }
#ifndef DGXM_HAVE_CUDA
    dgxm_error_clear(&err);
    cfg = (dgxm_engine_config){ .model_dir = mono_dir, .device = "cuda:0" };
    assert_null(dgxm_engine_acquire(&cfg, &err));
    assert_int_equal(err.status, DGXM_ERR_UNSUPPORTED);
#endif
    assert_null(dgxm_engine_acquire(NULL, NULL));
}

/* The reference path on a backend of our own: codes and whole-clip audio at the model rate. */
static void reference(const char *dir, const char *prompt, int frames, uint64_t seed,
                      int32_t **codes, float **audio)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_backend *b = dgxm_cpu_backend_new(1, &err);
    dgxm_musicgen *m = dgxm_musicgen_load(dir, b, DGXM_WEIGHT_F32, &err);
    if (!m)
        fail_msg("%s", err.message);
    const int K = dgxm_musicgen_config(m)->decoder.num_codebooks;
    *codes = malloc((size_t)K * frames * sizeof **codes);
    *audio = malloc((size_t)dgxm_musicgen_channels(m) * frames * 640 * sizeof **audio);
    dgxm_generate_options opt = { .sampling = { .temperature = 1.0,
                                                .top_k = 250,
                                                .top_p = 1.0,
                                                .guidance = 3.0,
                                                .seed = seed },
                                  .frames = frames };
    if (dgxm_musicgen_generate_codes(m, prompt, strlen(prompt), &opt, *codes, &err) ||
        dgxm_musicgen_decode(m, *codes, frames, *audio, &err))
        fail_msg("%s", err.message);
    dgxm_musicgen_free(m);
    b->ops->destroy(b);
}

static void exact_job_is_the_reference_path(void **state)
{
    dgxm_engine *e = *state;
    const char *prompt = "eighties synth pop";
    const int frames = 45;
    int32_t *ref_codes;
    float *ref_audio;
    reference(mono_dir, prompt, frames, 21, &ref_codes, &ref_audio);

    dgxm_job_params p = params(prompt, frames, 21);
    p.output = DGXM_JOB_EXACT;
    dgxm_job *job = submit(e, &p);
    uint64_t n = 0;
    dgxm_job_state end;
    float *audio = drain(job, &n, &end);
    assert_int_equal(end, DGXM_JOB_DONE);
    assert_int_equal(n, (uint64_t)frames * 640);
    assert_memory_equal(audio, ref_audio, n * sizeof *audio);
    int k = 0, cf = 0;
    const int32_t *codes = dgxm_job_codes(job, &k, &cf);
    assert_int_equal(k, 4);
    assert_int_equal(cf, frames);
    assert_memory_equal(codes, ref_codes, (size_t)k * frames * sizeof *codes);
    /* the take is the clip, untouched by the reads */
    uint64_t take_frames = 0;
    const float *take = dgxm_job_take(job, &take_frames);
    assert_non_null(take);
    assert_int_equal(take_frames, n);
    assert_memory_equal(take, audio, n * sizeof *audio);
    dgxm_job_release(job);

    /* resampled: the same samples dgxm_resample makes from the whole clip */
    p.sample_rate = 48000;
    dgxm_job_format f;
    float *at48 = render(e, &p, &f);
    float *want = NULL;
    size_t want_frames = 0;
    assert_int_equal(dgxm_resample(ref_audio, 1, n, 32000, 48000, &want, &want_frames, NULL),
                     DGXM_OK);
    assert_int_equal(f.frames, want_frames);
    assert_memory_equal(at48, want, want_frames * sizeof *want);
    free(at48), free(want), free(audio), free(ref_codes), free(ref_audio);
}

static void stream_is_within_40_db_of_exact(void **state)
{
    dgxm_engine *mono = *state, *stereo = acquire(stereo_dir, DGXM_ENGINE_WEIGHTS_F32);
    const struct {
        dgxm_engine *e;
        int rate;
    } cases[] = { { mono, 0 },     { mono, 48000 }, { mono, 44100 },
                  { mono, 96000 }, { stereo, 0 },   { stereo, 88200 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dgxm_job_params p = params("dub techno with tape hiss", 160, 77);
        p.sample_rate = cases[i].rate;
        dgxm_job_format fs, fe;
        float *stream = render(cases[i].e, &p, &fs);
        p.output = DGXM_JOB_EXACT;
        float *exact = render(cases[i].e, &p, &fe);
        assert_int_equal(fs.frames, fe.frames);
        double snr = snr_db(exact, stream, (size_t)fs.frames * fs.channels);
        printf("stream vs exact, %d channel(s) at %d Hz: %.1f dB\n", fs.channels, fs.sample_rate,
               snr);
        assert_true(snr >= 40.0);
        free(stream), free(exact);
    }
    dgxm_engine_release(stereo);
}

static void lengths_are_exact(void **state)
{
    dgxm_engine *e = *state;
    dgxm_job_params p = params("x", 0, 1);
    p.seconds = 0.37;
    p.sample_rate = 44100;
    dgxm_job_format f;
    free(render(e, &p, &f));
    assert_int_equal(f.frames, 16317); /* round(0.37 * 44100) */
    assert_int_equal(f.code_frames, 19);
    p.seconds = 0;
    p.frames = 12345;
    p.sample_rate = 48000;
    free(render(e, &p, &f));
    assert_int_equal(f.frames, 12345);
    p.frames = 0;
    p.code_frames = 17;
    p.sample_rate = 88200;
    free(render(e, &p, &f));
    assert_int_equal(f.frames, 29988); /* 17 * 640 * 88200 / 32000 */
    assert_int_equal(f.sample_rate, 88200);
}

static void channels_are_mapped(void **state)
{
    dgxm_engine *mono = *state, *stereo = acquire(stereo_dir, DGXM_ENGINE_WEIGHTS_F32);
    dgxm_job_params p = params("choir", 30, 5);
    p.sample_rate = 48000;
    dgxm_job_format f1, f2;
    float *one = render(mono, &p, &f1);
    p.channels = 2;
    float *two = render(mono, &p, &f2);
    assert_int_equal(f2.channels, 2);
    for (uint64_t i = 0; i < f1.frames; i++) {
        assert_true(two[2 * i] == one[i]);
        assert_true(two[2 * i + 1] == one[i]);
    }
    free(one), free(two);

    p.channels = 0;
    float *st = render(stereo, &p, &f2);
    p.channels = 1;
    float *down = render(stereo, &p, &f1);
    assert_int_equal(f2.channels, 2);
    assert_int_equal(f1.channels, 1);
    for (uint64_t i = 0; i < f1.frames; i++)
        assert_true(fabsf(down[i] - 0.5f * (st[2 * i] + st[2 * i + 1])) < 1e-5f);
    free(st), free(down);
    dgxm_engine_release(stereo);
}

static void bad_job_params_are_named(void **state)
{
    dgxm_engine *e = *state;
    struct {
        dgxm_job_params p;
        const char *word;
    } cases[12];
    int n = 0;
    for (int i = 0; i < 12; i++)
        cases[i].p = params("x", 10, 1);
    cases[n].p.seconds = 2, cases[n++].word = "exactly one";
    cases[n].p.code_frames = 0, cases[n++].word = "exactly one";
    cases[n].p.code_frames = 15001, cases[n++].word = "code_frames";
    cases[n].p.code_frames = 0, cases[n].p.seconds = 301, cases[n++].word = "seconds 301";
    cases[n].p.code_frames = 0, cases[n].p.seconds = NAN, cases[n++].word = "seconds";
    cases[n].p.code_frames = 0, cases[n].p.frames = 400u * 48000, cases[n++].word = "frames";
    cases[n].p.temperature = 0, cases[n++].word = "temperature";
    cases[n].p.top_p = 0, cases[n++].word = "top";
    cases[n].p.sample_rate = 7000, cases[n++].word = "sample rate 7000";
    cases[n].p.channels = 3, cases[n++].word = "channels 3";
    cases[n].p.seed = -2, cases[n++].word = "seed -2";
    cases[n].p.prompt = NULL, cases[n++].word = "prompt";
    for (int i = 0; i < n; i++) {
        dgxm_error err;
        dgxm_error_clear(&err);
        assert_null(dgxm_job_submit(e, &cases[i].p, &err));
        if (err.status != DGXM_ERR_INVALID_ARG || !strstr(err.message, cases[i].word))
            fail_msg("case %d: status %d, message '%s' (wanted '%s')", i, (int)err.status,
                     err.message, cases[i].word);
    }
    assert_null(dgxm_job_submit(e, NULL, NULL));
}

static void random_seed_is_readable_and_reproduces(void **state)
{
    dgxm_engine *e = *state;
    dgxm_job_params p = params("field recording, rain", 25, -1);
    dgxm_job *job = submit(e, &p);
    uint64_t seed = dgxm_job_seed(job), n = 0;
    assert_true(seed <= INT64_MAX);
    dgxm_job_state end;
    float *first = drain(job, &n, &end);
    dgxm_job_release(job);
    p.seed = (int64_t)seed;
    dgxm_job_format f;
    float *again = render(e, &p, &f);
    assert_int_equal(f.frames, n);
    assert_memory_equal(first, again, n * sizeof *first);
    free(first), free(again);
}

static void bad_prompt_fails_the_job_not_the_engine(void **state)
{
    dgxm_engine *e = *state;
    dgxm_job_params p = params("caf\xc3 music", 10, 1);
    dgxm_job *job = submit(e, &p);
    uint64_t n = 0;
    dgxm_job_state end;
    free(drain(job, &n, &end));
    assert_int_equal(end, DGXM_JOB_FAILED);
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_not_equal(dgxm_job_error(job, &err), DGXM_OK);
    assert_non_null(strstr(err.message, "UTF-8"));
    assert_null(dgxm_job_codes(job, NULL, NULL));
    assert_null(dgxm_job_take(job, NULL));
    dgxm_job_release(job);
    p.prompt = "cafe music";
    dgxm_job_format f;
    free(render(e, &p, &f));
}

/* Waits until the job has run `steps` decoder steps. */
static void wait_steps(dgxm_job *job, int steps)
{
    dgxm_job_progress pr;
    do {
        nap_ms(1);
        dgxm_job_get_progress(job, &pr);
    } while (pr.steps_done < steps && !finished(pr.state));
}

static void cancel_stops_within_a_step(void **state)
{
    dgxm_engine *e = *state;
    dgxm_job_params p = params("a long drone", 6000, 3);
    dgxm_job *job = submit(e, &p);
    wait_steps(job, 20);
    dgxm_job_cancel(job);
    dgxm_job_progress at; /* read after the flag is up: at most the step in flight follows */
    dgxm_job_get_progress(job, &at);
    while (!finished(dgxm_job_get_state(job)))
        nap_ms(1);
    dgxm_job_progress after;
    dgxm_job_get_progress(job, &after);
    assert_int_equal(after.state, DGXM_JOB_CANCELLED);
    assert_true(after.steps_done <= at.steps_done + 1);
    assert_true(after.steps_done < after.steps_total);
    dgxm_error err;
    dgxm_error_clear(&err);
    assert_int_equal(dgxm_job_error(job, &err), DGXM_ERR_CANCELLED);
    dgxm_job_release(job);
}

static void releasing_a_running_job_cancels_it(void **state)
{
    dgxm_engine *e = *state;
    dgxm_job_params p = params("a long drone", 6000, 3);
    dgxm_job *job = submit(e, &p);
    wait_steps(job, 10);
    dgxm_job_release(job);
    /* the engine is free again at once: a short job completes */
    p.code_frames = 10;
    dgxm_job_format f;
    free(render(e, &p, &f));
}

static void releasing_the_engine_cancels_jobs_in_flight(void **state)
{
    (void)state;
    dgxm_engine *own = acquire(mono_dir, DGXM_ENGINE_WEIGHTS_BF16);
    dgxm_job_params p = params("a long drone", 6000, 3);
    dgxm_job *jobs[3] = { submit(own, &p), submit(own, &p), submit(own, &p) };
    wait_steps(jobs[0], 5);
    assert_int_equal(dgxm_job_get_state(jobs[1]), DGXM_JOB_QUEUED);
    dgxm_engine_release(own);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dgxm_job_get_state(jobs[i]), DGXM_JOB_CANCELLED);
        assert_int_equal(dgxm_job_error(jobs[i], NULL), DGXM_ERR_CANCELLED);
        dgxm_job_release(jobs[i]);
    }
}

static void jobs_run_in_submission_order(void **state)
{
    dgxm_engine *e = *state;
    dgxm_job_params p = params("marimba", 60, 9);
    dgxm_job *jobs[3] = { submit(e, &p), submit(e, &p), submit(e, &p) };
    int order[3], done = 0;
    bool seen[3] = { false, false, false };
    while (done < 3) {
        for (int i = 0; i < 3; i++) {
            if (!seen[i] && finished(dgxm_job_get_state(jobs[i]))) {
                seen[i] = true;
                order[done++] = i;
            }
            dgxm_ring_skip(dgxm_job_ring(jobs[i]), SIZE_MAX);
        }
        /* a later job never runs before an earlier one has ended */
        for (int i = 1; i < 3; i++)
            if (dgxm_job_get_state(jobs[i]) == DGXM_JOB_RUNNING)
                assert_true(finished(dgxm_job_get_state(jobs[i - 1])));
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dgxm_job_get_state(jobs[i]), DGXM_JOB_DONE);
        assert_int_equal(order[i], i);
        dgxm_job_release(jobs[i]);
    }
}

static void small_ring_holds_the_engine_back_losslessly(void **state)
{
    dgxm_engine *e = *state;
    dgxm_job_params p = params("lo-fi piano", 80, 14);
    p.sample_rate = 48000;
    dgxm_job_format whole_f;
    float *whole = render(e, &p, &whole_f);
    assert_true(whole_f.keeps_whole_clip);

    p.ring_frames = 1000;
    dgxm_job *job = submit(e, &p);
    dgxm_job_format f;
    dgxm_job_get_format(job, &f);
    assert_false(f.keeps_whole_clip);
    assert_int_equal(dgxm_ring_capacity(dgxm_job_ring(job)), 1024);
    float *out = calloc((size_t)f.frames, sizeof *out);
    uint64_t got = 0;
    int full_seen = 0;
    while (got < f.frames) { /* a slow reader: 256 frames per millisecond at most */
        full_seen += dgxm_ring_write_space(dgxm_job_ring(job)) == 0;
        got += dgxm_ring_read(dgxm_job_ring(job), out + got,
                              f.frames - got < 256 ? f.frames - got : 256);
        nap_ms(1);
        assert_int_not_equal(dgxm_job_get_state(job), DGXM_JOB_FAILED);
    }
    while (!finished(dgxm_job_get_state(job)))
        nap_ms(1);
    assert_int_equal(dgxm_job_get_state(job), DGXM_JOB_DONE);
    assert_true(full_seen > 0);
    assert_null(dgxm_job_take(job, NULL));
    assert_memory_equal(out, whole, f.frames * sizeof *out);
    dgxm_job_release(job);
    free(out), free(whole);
}

static void progress_is_reported(void **state)
{
    dgxm_engine *e = *state;
    dgxm_job_params p = params("glitch", 400, 2);
    dgxm_job *job = submit(e, &p);
    dgxm_job_progress pr;
    double last_fraction = 0;
    bool saw_eta = false, saw_audio_while_running = false;
    do {
        dgxm_job_get_progress(job, &pr);
        assert_true(pr.fraction >= last_fraction);
        last_fraction = pr.fraction;
        if (pr.state == DGXM_JOB_RUNNING && pr.steps_done > 2) {
            saw_eta |= pr.eta_seconds >= 0 && pr.steps_per_second > 0;
            saw_audio_while_running |= pr.frames_done > 0 && pr.first_audio_seconds > 0;
        }
        nap_ms(1);
    } while (!finished(pr.state));
    assert_int_equal(pr.state, DGXM_JOB_DONE);
    assert_true(pr.fraction == 1.0);
    assert_int_equal(pr.steps_done, pr.steps_total);
    assert_int_equal(pr.steps_total, 400 + 3);
    assert_int_equal(pr.frames_done, pr.frames_total);
    assert_true(pr.eta_seconds == 0);
    assert_true(saw_eta);
    assert_true(saw_audio_while_running);
    dgxm_job_release(job);
}

int main(void)
{
    snprintf(mono_dir, sizeof mono_dir, "%s", test_fixture_path("models/mono"));
    snprintf(stereo_dir, sizeof stereo_dir, "%s", test_fixture_path("models/stereo"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_engine_per_key),
        cmocka_unit_test(bad_engine_configs_are_named),
        cmocka_unit_test(exact_job_is_the_reference_path),
        cmocka_unit_test(stream_is_within_40_db_of_exact),
        cmocka_unit_test(lengths_are_exact),
        cmocka_unit_test(channels_are_mapped),
        cmocka_unit_test(bad_job_params_are_named),
        cmocka_unit_test(random_seed_is_readable_and_reproduces),
        cmocka_unit_test(bad_prompt_fails_the_job_not_the_engine),
        cmocka_unit_test(cancel_stops_within_a_step),
        cmocka_unit_test(releasing_a_running_job_cancels_it),
        cmocka_unit_test(releasing_the_engine_cancels_jobs_in_flight),
        cmocka_unit_test(jobs_run_in_submission_order),
        cmocka_unit_test(small_ring_holds_the_engine_back_losslessly),
        cmocka_unit_test(progress_is_reported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
