/* Eight client threads share one engine through the registry and run 50 jobs each, reading
 * every ring as an audio thread would, cancelling or releasing some jobs at random points and
 * taking and dropping extra engine references as they go. Every job that completes must equal a
 * single-job run of the same parameters, bit for bit; none may fail. Built in every variant and
 * run under ThreadSanitizer by ./waf test_tsan (./test.sh), and for leaks under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dgxm/engine.h"
#include "dgxm/job.h"
#include "test_support.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    CLIENTS = 8,
    JOBS_PER_CLIENT = 50,
    VARIANTS = 6
};

static char model_dir[4096];

/* The parameter sets the clients draw from, and each one's single-job output. */
typedef struct variant {
    dgxm_job_params params;
    float *audio; /* interleaved */
    uint64_t frames;
    int channels;
} variant;

static variant variants[VARIANTS];

static dgxm_engine *acquire(void)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_engine_config cfg = { .model_dir = model_dir, .cpu_threads = 2 };
    dgxm_engine *e = dgxm_engine_acquire(&cfg, &err);
    if (!e)
        fail_msg("%s", err.message);
    return e;
}

static bool finished(dgxm_job_state s)
{
    return s == DGXM_JOB_DONE || s == DGXM_JOB_FAILED || s == DGXM_JOB_CANCELLED;
}

static void nap_us(long us)
{
    struct timespec t = { 0, us * 1000 };
    nanosleep(&t, NULL);
}

static void make_variants(dgxm_engine *e)
{
    const struct {
        int64_t seed;
        int code_frames, rate, channels;
        dgxm_job_output output;
    } v[VARIANTS] = { { 1, 12, 0, 0, DGXM_JOB_STREAM },     { 2, 20, 48000, 0, DGXM_JOB_STREAM },
                      { 3, 16, 44100, 2, DGXM_JOB_STREAM }, { 4, 14, 0, 0, DGXM_JOB_EXACT },
                      { 5, 18, 48000, 2, DGXM_JOB_EXACT },  { 1, 12, 96000, 0, DGXM_JOB_STREAM } };
    for (int i = 0; i < VARIANTS; i++) {
        dgxm_job_params *p = &variants[i].params;
        dgxm_job_params_init(p);
        p->prompt = i % 2 ? "busy drum and bass" : "quiet string quartet";
        p->seed = v[i].seed;
        p->code_frames = v[i].code_frames;
        p->sample_rate = v[i].rate;
        p->channels = v[i].channels;
        p->output = v[i].output;
        dgxm_job *job = dgxm_job_submit(e, p, NULL);
        assert_non_null(job);
        while (!finished(dgxm_job_get_state(job)))
            nap_us(500);
        assert_int_equal(dgxm_job_get_state(job), DGXM_JOB_DONE);
        dgxm_job_format f;
        dgxm_job_get_format(job, &f);
        const float *take = dgxm_job_take(job, &variants[i].frames);
        assert_non_null(take);
        variants[i].channels = f.channels;
        size_t bytes = (size_t)variants[i].frames * f.channels * sizeof(float);
        variants[i].audio = malloc(bytes);
        memcpy(variants[i].audio, take, bytes);
        dgxm_job_release(job);
    }
}

typedef struct client {
    uint64_t rng;
    int index;
    int done, cancelled, released, failed, mismatched;
    char failure[DGXM_ERROR_MESSAGE_MAX];
} client;

static uint32_t next(client *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (uint32_t)(c->rng >> 16);
}

/* One job: read its ring like an audio thread in small blocks; maybe cancel, maybe release
 * early. Checks a completed job against its variant. */
static void run_one(client *c, dgxm_engine *e)
{
    const variant *v = &variants[next(c) % VARIANTS];
    const uint32_t fate = next(c) % 8; /* 0, 1: cancel; 2: release while running */
    const uint64_t at = next(c) % (v->frames + 1);
    dgxm_job *job = dgxm_job_submit(e, &v->params, NULL);
    if (!job) {
        c->failed++;
        snprintf(c->failure, sizeof c->failure, "submit failed");
        return;
    }
    float *out = calloc((size_t)v->frames * v->channels, sizeof *out);
    uint64_t got = 0;
    for (;;) {
        dgxm_job_state s = dgxm_job_get_state(job);
        size_t want = v->frames - got < 512 ? (size_t)(v->frames - got) : 512, n;
        /* one block per "period" while the job runs; everything once it has ended */
        while ((n = dgxm_ring_read(dgxm_job_ring(job), out + got * v->channels, want)) > 0) {
            got += n;
            want = v->frames - got < 512 ? (size_t)(v->frames - got) : 512;
            if (!finished(s))
                break;
        }
        if (fate < 2 && got >= at)
            dgxm_job_cancel(job);
        if (fate == 2 && got >= at && !finished(s)) {
            c->released++;
            dgxm_job_release(job);
            free(out);
            return;
        }
        if (finished(s))
            break;
        nap_us(200);
    }
    dgxm_job_state end = dgxm_job_get_state(job);
    if (end == DGXM_JOB_DONE) {
        c->done++;
        if (got != v->frames || memcmp(out, v->audio, (size_t)got * v->channels * sizeof *out) != 0)
            c->mismatched++;
    } else if (end == DGXM_JOB_CANCELLED) {
        c->cancelled++;
    } else {
        dgxm_error err;
        dgxm_error_clear(&err);
        dgxm_job_error(job, &err);
        c->failed++;
        snprintf(c->failure, sizeof c->failure, "%s", err.message);
    }
    dgxm_job_release(job);
    free(out);
}

static void *client_main(void *arg)
{
    client *c = arg;
    dgxm_engine *e = acquire();
    for (int j = 0; j < JOBS_PER_CLIENT; j++) {
        dgxm_engine *extra = j % 10 == c->index % 10 ? acquire() : NULL;
        run_one(c, extra ? extra : e);
        dgxm_engine_release(extra);
    }
    dgxm_engine_release(e);
    return NULL;
}

static void eight_clients_fifty_jobs_each(void **state)
{
    (void)state;
    dgxm_engine *e = acquire(); /* kept for the whole test: the references share the engine */
    make_variants(e);
    client clients[CLIENTS];
    pthread_t threads[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = (client){ .rng = 0x2545F4914F6CDD1Du * (uint64_t)(i + 1), .index = i };
        assert_int_equal(pthread_create(&threads[i], NULL, client_main, &clients[i]), 0);
    }
    int done = 0, cancelled = 0, released = 0, failed = 0, mismatched = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        done += clients[i].done;
        cancelled += clients[i].cancelled;
        released += clients[i].released;
        failed += clients[i].failed;
        mismatched += clients[i].mismatched;
        if (clients[i].failed)
            fprintf(stderr, "client %d: %s\n", i, clients[i].failure);
    }
    printf("%d jobs: %d done, %d cancelled, %d released while running\n", CLIENTS * JOBS_PER_CLIENT,
           done, cancelled, released);
    assert_int_equal(done + cancelled + released + failed, CLIENTS * JOBS_PER_CLIENT);
    assert_int_equal(failed, 0);
    assert_int_equal(mismatched, 0);
    assert_true(done > CLIENTS * JOBS_PER_CLIENT / 2);
    for (int i = 0; i < VARIANTS; i++)
        free(variants[i].audio);
    dgxm_engine_release(e);
}

int main(void)
{
    snprintf(model_dir, sizeof model_dir, "%s", test_fixture_path("models/mono"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eight_clients_fifty_jobs_each),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
