/* What engine.c, job.c and job_render.c share: the job record and the calls between the
 * engine thread and the job code. Not part of the public API. */
#ifndef DGXM_JOB_INTERNAL_H
#define DGXM_JOB_INTERNAL_H

#include "dgxm/job.h"
#include "musicgen.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct dgxm_job {
    /* Two owners: the caller's handle and, while queued or running, the engine. The last one
     * to let go frees the job. */
    atomic_int refs;
    dgxm_job *next; /* the engine's queue; guarded by the engine's lock */

    /* Fixed at submit, read-only afterwards. */
    char *prompt;
    size_t prompt_len;
    dgxm_sampling sampling;
    dgxm_job_output output;
    dgxm_job_format format;
    int model_rate, model_channels, hop;
    uint64_t submitted_ns; /* CLOCK_MONOTONIC */
    dgxm_ring *ring;
    int32_t *codes; /* [codebooks][code_frames]: written by the engine thread, read once done */

    /* Written by the engine thread, read anywhere: relaxed for the figures, release/acquire
     * for the state, which publishes codes, error and the last frames. */
    atomic_int state;
    atomic_bool cancel;
    atomic_int steps_done, steps_total;
    _Atomic uint64_t steps_per_second_milli;
    _Atomic int64_t eta_ms;         /* -1 unknown */
    _Atomic int64_t first_audio_us; /* -1 none yet */
    dgxm_error error; /* engine thread; readable once the state is failed or cancelled */
};

/* Drops one reference; frees the job when it was the last. Control or engine thread. */
void dgxm_job_unref(dgxm_job *job);

/* Monotonic nanoseconds. Not for the audio thread. */
uint64_t dgxm_job_now_ns(void);

/* Queues the job at the tail (taking the engine's reference, already counted in job->refs);
 * fails when the engine is stopping. Control thread. */
dgxm_status dgxm_engine_enqueue(dgxm_engine *e, dgxm_job *job, dgxm_error *err);

/* Runs one job to a terminal state on the engine thread: generation, decoding, resampling and
 * the ring. stop is the engine's own stop flag. */
void dgxm_job_render(dgxm_job *job, dgxm_musicgen *m, const atomic_bool *stop);

/* Ends a job that never ran as cancelled. Engine thread. */
void dgxm_job_end_cancelled(dgxm_job *job);

#endif
