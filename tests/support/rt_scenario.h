/* The real-time-safety scenario shared by the guard test (tests/test_engine_rt.c, LD_PRELOAD
 * interposer) and the RealtimeSanitizer test (tests/rtsan/test_engine_rtsan.c): an audio thread
 * that, once a millisecond, makes the calls the audio thread is allowed (ring read, state,
 * progress, format, the finished take, cancel) while a control thread plays a job to the end,
 * has the audio thread cancel one, releases one while it runs and releases the engine under a
 * running one. Each test wraps the audio thread's period in its own checker. */
#ifndef DGXM_TEST_RT_SCENARIO_H
#define DGXM_TEST_RT_SCENARIO_H

#include "dgxm/job.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct rt_period {
    dgxm_job *job; /* the job to play this period */
    float *buffer; /* preallocated: `frames` frames of the job's channels */
    size_t frames;
    bool cancel; /* ask the engine to stop the job */
    /* results */
    size_t got;
    dgxm_job_state state;
    double fraction;
    float replay_peak; /* of the first samples of the finished take, when there is one */
} rt_period;

/* The audio thread's period. Real-time-safe calls only; every test runs it under a checker. */
static inline void rt_period_body(rt_period *p)
{
    dgxm_ring *ring = dgxm_job_ring(p->job);
    p->got = dgxm_ring_read(ring, p->buffer, p->frames);
    p->state = dgxm_job_get_state(p->job);
    dgxm_job_progress progress;
    dgxm_job_get_progress(p->job, &progress);
    p->fraction = progress.fraction;
    dgxm_job_format format;
    dgxm_job_get_format(p->job, &format);
    uint64_t take_frames = 0;
    const float *take = dgxm_job_take(p->job, &take_frames);
    p->replay_peak = 0;
    for (uint64_t i = 0; take && i < take_frames * format.channels && i < 4096; i++) {
        float a = take[i] < 0 ? -take[i] : take[i];
        p->replay_peak = a > p->replay_peak ? a : p->replay_peak;
    }
    if (p->cancel)
        dgxm_job_cancel(p->job);
    (void)dgxm_ring_read_space(ring);
}

typedef void (*rt_period_fn)(rt_period *p);

typedef struct rt_scenario_result {
    long periods;          /* periods run with a job */
    long frames;           /* frames read */
    bool played_to_end;    /* the first job ended done with every frame read */
    bool replayed;         /* its take was readable from the audio thread */
    bool audio_cancelled;  /* the job the audio thread cancelled ended cancelled */
    bool engine_cancelled; /* the job under the engine's release ended cancelled */
    char failure[DGXM_ERROR_MESSAGE_MAX + 64]; /* empty when the scenario ran as planned */
} rt_scenario_result;

/* Runs the scenario on the model in model_dir with `period` as the audio thread's period. */
void rt_scenario_run(const char *model_dir, rt_period_fn period, rt_scenario_result *result);

#endif
