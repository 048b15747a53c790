/* 1000 jobs in a row on one engine (streamed, exact, resampled, cancelled) leave the resident
 * memory flat: after 100 jobs of warm-up, /proc/self/statm's resident size stays within 5%. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dgxm/engine.h"
#include "dgxm/job.h"
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
/* ASan keeps freed blocks in a quarantine, which is growth this test must not see. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
}
#endif

enum {
    JOBS = 1000,
    WARM_UP = 100
};

static long resident_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    char line[256] = { 0 };
    if (!f)
        return -1;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    char *end = NULL;
    strtol(line, &end, 10); /* size, then resident, in pages */
    long resident = ok && end != line ? strtol(end, NULL, 10) : -1;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void run_job(dgxm_engine *e, int i)
{
    dgxm_job_params p;
    dgxm_job_params_init(&p);
    p.prompt = i % 3 ? "steady pulse" : "a quiet hum";
    p.code_frames = 4 + i % 5;
    p.seed = i;
    p.sample_rate = i % 4 == 1 ? 48000 : 0;
    p.output = i % 2 ? DGXM_JOB_EXACT : DGXM_JOB_STREAM;
    dgxm_job *job = dgxm_job_submit(e, &p, NULL);
    assert_non_null(job);
    if (i % 10 == 7)
        dgxm_job_cancel(job);
    dgxm_job_state s;
    while ((s = dgxm_job_get_state(job)) == DGXM_JOB_QUEUED || s == DGXM_JOB_RUNNING) {
        struct timespec t = { 0, 200000 };
        nanosleep(&t, NULL);
    }
    assert_true(s == DGXM_JOB_DONE || (s == DGXM_JOB_CANCELLED && i % 10 == 7));
    dgxm_ring_skip(dgxm_job_ring(job), SIZE_MAX);
    dgxm_job_release(job);
}

static void thousand_jobs_keep_memory_flat(void **state)
{
    (void)state;
    dgxm_engine_config cfg = { .model_dir = test_fixture_path("models/mono"), .cpu_threads = 2 };
    dgxm_engine *e = dgxm_engine_acquire(&cfg, NULL);
    assert_non_null(e);
    long base = 0, peak = 0;
    for (int i = 0; i < JOBS; i++) {
        run_job(e, i);
        long kb = resident_kb();
        assert_true(kb > 0);
        if (i == WARM_UP - 1)
            base = peak = kb;
        if (i >= WARM_UP && kb > peak)
            peak = kb;
    }
    dgxm_engine_release(e);
    printf("resident after %d jobs: %ld kB; highest over the next %d: %ld kB (%+.2f%%)\n", WARM_UP,
           base, JOBS - WARM_UP, peak, 100.0 * (double)(peak - base) / (double)base);
    assert_true(peak <= base + base / 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thousand_jobs_keep_memory_flat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
