/* The real-time-safety scenario: see rt_scenario.h. The control side hands a job to the audio
 * thread through an atomic pointer and takes it back with an acknowledgement, so the audio
 * thread never touches a job the control thread is about to release. */
#include "rt_scenario.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum {
    PERIOD_FRAMES = 256
};

typedef struct scenario {
    rt_period_fn period;
    _Atomic(dgxm_job *) job;  /* what the audio thread plays; NULL for nothing */
    _Atomic(dgxm_job *) seen; /* what the audio thread played last period */
    atomic_bool cancel;       /* the audio thread asks for a cancel next period */
    atomic_bool quit;
    atomic_int state; /* the last period's results */
    atomic_long periods, frames, replays;
    float *buffer;
} scenario;

static void nap_ms(int ms)
{
    struct timespec t = { 0, (long)ms * 1000000L };
    nanosleep(&t, NULL);
}

static void *audio_main(void *arg)
{
    scenario *s = arg;
    while (!atomic_load(&s->quit)) {
        dgxm_job *job = atomic_load(&s->job);
        if (job) {
            rt_period p = { .job = job,
                            .buffer = s->buffer,
                            .frames = PERIOD_FRAMES,
                            .cancel = atomic_exchange(&s->cancel, false) };
            s->period(&p);
            atomic_fetch_add(&s->periods, 1);
            atomic_fetch_add(&s->frames, (long)p.got);
            atomic_fetch_add(&s->replays, p.replay_peak > 0);
            atomic_store(&s->state, (int)p.state);
        }
        atomic_store(&s->seen, job);
        nap_ms(1); /* the rest of the period: outside the checked region */
    }
    return NULL;
}

static void play(scenario *s, dgxm_job *job)
{
    atomic_store(&s->state, -1);
    atomic_store(&s->job, job);
    while (atomic_load(&s->seen) != job)
        nap_ms(1);
}

/* Takes the job back from the audio thread. */
static void stop_playing(scenario *s)
{
    atomic_store(&s->job, NULL);
    while (atomic_load(&s->seen) != NULL)
        nap_ms(1);
}

static bool ended(int state)
{
    return state == DGXM_JOB_DONE || state == DGXM_JOB_FAILED || state == DGXM_JOB_CANCELLED;
}

/* Waits (up to a minute) until the audio thread has seen the job end. */
static int wait_end(scenario *s)
{
    for (int i = 0; i < 60000 && !ended(atomic_load(&s->state)); i++)
        nap_ms(1);
    return atomic_load(&s->state);
}

static void wait_running(dgxm_job *job, int steps)
{
    dgxm_job_progress p;
    do {
        nap_ms(1);
        dgxm_job_get_progress(job, &p);
    } while (p.steps_done < steps && !ended((int)p.state));
}

static dgxm_job *submit(dgxm_engine *e, int code_frames, rt_scenario_result *r)
{
    dgxm_job_params p;
    dgxm_job_params_init(&p);
    p.prompt = "real-time check";
    p.code_frames = code_frames;
    p.seed = 8;
    p.sample_rate = 48000;
    p.channels = 2;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_job *job = dgxm_job_submit(e, &p, &err);
    if (!job)
        snprintf(r->failure, sizeof r->failure, "submit: %s", err.message);
    return job;
}

static void run_jobs(scenario *s, dgxm_engine *e, rt_scenario_result *r)
{
    /* 1: a job played to the end, then its take replayed */
    dgxm_job *job = submit(e, 60, r);
    if (!job) {
        dgxm_engine_release(e);
        return;
    }
    play(s, job);
    r->played_to_end = wait_end(s) == DGXM_JOB_DONE;
    dgxm_job_format f;
    dgxm_job_get_format(job, &f);
    for (int i = 0; i < 1000 && atomic_load(&s->frames) < (long)f.frames; i++)
        nap_ms(1);
    r->played_to_end &= atomic_load(&s->frames) == (long)f.frames;
    for (int i = 0; i < 1000 && atomic_load(&s->replays) == 0; i++)
        nap_ms(1);
    r->replayed = atomic_load(&s->replays) > 0;
    stop_playing(s);
    dgxm_job_release(job);

    /* 2: the audio thread cancels a long job */
    if (!(job = submit(e, 3000, r))) {
        dgxm_engine_release(e);
        return;
    }
    play(s, job);
    wait_running(job, 10);
    atomic_store(&s->cancel, true);
    r->audio_cancelled = wait_end(s) == DGXM_JOB_CANCELLED;
    stop_playing(s);
    dgxm_job_release(job);

    /* 3: the control thread releases a job while it runs and the audio thread reads it */
    if (!(job = submit(e, 3000, r))) {
        dgxm_engine_release(e);
        return;
    }
    play(s, job);
    wait_running(job, 10);
    stop_playing(s);
    dgxm_job_release(job);

    /* 4: the engine's last reference goes while a job runs and is being played */
    if (!(job = submit(e, 3000, r))) {
        dgxm_engine_release(e);
        return;
    }
    play(s, job);
    wait_running(job, 10);
    dgxm_engine_release(e);
    r->engine_cancelled = wait_end(s) == DGXM_JOB_CANCELLED;
    stop_playing(s);
    dgxm_job_release(job);
}

void rt_scenario_run(const char *model_dir, rt_period_fn period, rt_scenario_result *r)
{
    *r = (rt_scenario_result){ 0 };
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_engine_config cfg = { .model_dir = model_dir, .cpu_threads = 2 };
    dgxm_engine *e = dgxm_engine_acquire(&cfg, &err);
    if (!e) {
        snprintf(r->failure, sizeof r->failure, "acquire: %s", err.message);
        return;
    }
    scenario *s = calloc(1, sizeof *s);
    s->period = period;
    s->buffer = calloc((size_t)PERIOD_FRAMES * 2, sizeof *s->buffer);
    atomic_init(&s->state, -1);
    pthread_t audio;
    if (pthread_create(&audio, NULL, audio_main, s) != 0) {
        snprintf(r->failure, sizeof r->failure, "cannot start the audio thread");
        dgxm_engine_release(e);
    } else {
        run_jobs(s, e, r); /* releases the engine */
        atomic_store(&s->quit, true);
        pthread_join(audio, NULL);
    }
    r->periods = atomic_load(&s->periods);
    r->frames = atomic_load(&s->frames);
    free(s->buffer);
    free(s);
}
