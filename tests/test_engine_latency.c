/* Time to first audio: from dgxm_job_submit to the first frames in the job's ring, streamed and
 * exact, on the CPU. The fixture model always (the streamed job must deliver audio long before
 * its last decoder step, and before an exact job of the same length could); musicgen-small's
 * real shapes (random weights through the real loader) when DGXM_BENCH_SMALL=1, which writes a
 * 1 GB checkpoint and takes minutes on two cores; DGXM_BENCH_DEVICE=cuda runs that case on the
 * GPU. Figures go to docs/performance.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dgxm/engine.h"
#include "dgxm/job.h"
#include "synthetic_checkpoint.h"
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void nap_us(long us)
{
    struct timespec t = { 0, us * 1000 };
    nanosleep(&t, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct first_audio {
    double seconds; /* submit -> first frames in the ring */
    int steps_done; /* decoder steps run by then */
    int steps_total;
    double steps_per_second;
} first_audio;

/* Submits a job, waits for its first frames, then cancels it (unless wait_end). */
static first_audio measure(dgxm_engine *e, int code_frames, dgxm_job_output output, bool wait_end)
{
    dgxm_job_params p;
    dgxm_job_params_init(&p);
    p.prompt = "warm analog synth arpeggio over soft drums";
    p.code_frames = code_frames;
    p.seed = 4;
    p.sample_rate = 48000;
    p.channels = 2;
    p.output = output;
    dgxm_job *job = dgxm_job_submit(e, &p, NULL);
    assert_non_null(job);
    dgxm_job_progress pr;
    do {
        nap_us(200);
        dgxm_job_get_progress(job, &pr);
    } while (pr.first_audio_seconds < 0 && pr.state <= DGXM_JOB_RUNNING);
    assert_true(pr.first_audio_seconds > 0);
    first_audio r = { pr.first_audio_seconds, pr.steps_done, pr.steps_total, 0 };
    if (!wait_end)
        dgxm_job_cancel(job);
    while (dgxm_job_get_state(job) <= DGXM_JOB_RUNNING) {
        dgxm_ring_skip(dgxm_job_ring(job), SIZE_MAX);
        nap_us(1000);
    }
    dgxm_job_get_progress(job, &pr);
    r.steps_per_second = pr.steps_per_second;
    dgxm_job_release(job);
    return r;
}

static double median_first_audio(dgxm_engine *e, int code_frames, dgxm_job_output output,
                                 int repeats, first_audio *last)
{
    double t[16];
    for (int i = 0; i < repeats; i++) {
        *last = measure(e, code_frames, output, false);
        t[i] = last->seconds;
    }
    qsort(t, (size_t)repeats, sizeof t[0], cmp_double);
    return t[repeats / 2];
}

static void fixture_first_audio(void **state)
{
    (void)state;
    dgxm_engine_config cfg = { .model_dir = test_fixture_path("models/mono"), .cpu_threads = 2 };
    dgxm_engine *e = dgxm_engine_acquire(&cfg, NULL);
    assert_non_null(e);
    first_audio s, x;
    double stream = median_first_audio(e, 500, DGXM_JOB_STREAM, 5, &s);
    double exact = median_first_audio(e, 500, DGXM_JOB_EXACT, 1, &x);
    printf("fixture model, 10 s clip at 48 kHz stereo: first audio after %.1f ms streamed "
           "(step %d of %d), %.1f ms exact (step %d of %d)\n",
           stream * 1e3, s.steps_done, s.steps_total, exact * 1e3, x.steps_done, x.steps_total);
    assert_true(s.steps_done < s.steps_total / 10); /* long before the end */
    assert_int_equal(x.steps_done, x.steps_total);  /* exact: only after the last step */
    assert_true(stream < exact);
    dgxm_engine_release(e);
}

static void copy_tokenizer(const char *dir)
{
    const char *files[] = { "spiece.model", "tokenizer.json", "tokenizer_config.json",
                            "special_tokens_map.json" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char src[4200];
        snprintf(src, sizeof src, "%s/%s", test_fixture_path("models/mono"), files[i]);
        size_t len = 0;
        char *text = test_read_file(src, &len);
        assert_non_null(text);
        assert_int_equal(test_write_file(dir, files[i], text, len), 0);
        free(text);
    }
}

static void small_first_audio(void **state)
{
    (void)state;
    const char *want = getenv("DGXM_BENCH_SMALL");
    if (!want || strcmp(want, "1") != 0) {
        printf("skipping: musicgen-small shapes (set DGXM_BENCH_SMALL=1; writes 1 GB, minutes)\n");
        skip();
    }
    char *dir = test_make_temp_dir();
    dgxm_error err;
    dgxm_error_clear(&err);
    if (dgxm_synthetic_checkpoint_write(dir, "small", 0, 1, &err))
        fail_msg("%s", err.message);
    copy_tokenizer(dir); /* the synthetic folder has weights only; any T5 vocabulary will do */
    const dgxm_engine_weights formats[] = { DGXM_ENGINE_WEIGHTS_F32, DGXM_ENGINE_WEIGHTS_BF16 };
    const char *device = getenv("DGXM_BENCH_DEVICE");
    device = device && *device ? device : "cpu";
    for (int f = 0; f < 2; f++) {
        dgxm_engine_config cfg = { .model_dir = dir, .weights = formats[f], .device = device };
        dgxm_engine *e = dgxm_engine_acquire(&cfg, &err);
        if (!e)
            fail_msg("%s", err.message);
        first_audio s;
        double stream = median_first_audio(e, 500, DGXM_JOB_STREAM, 3, &s);
        printf("musicgen-small shapes on %s, %s, 10 s clip at 48 kHz stereo: first audio after "
               "%.3f s streamed (step %d of %d)\n",
               device, f ? "bf16" : "f32", stream, s.steps_done, s.steps_total);
        if (f == 0) {
            first_audio x = measure(e, 100, DGXM_JOB_EXACT, true);
            printf("musicgen-small shapes, f32, 2 s clip exact: first audio after %.3f s "
                   "(%.1f decoder steps/s)\n",
                   x.seconds, x.steps_per_second);
        }
        dgxm_engine_release(e);
    }
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixture_first_audio),
        cmocka_unit_test(small_first_audio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
