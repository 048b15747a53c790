/* Job parameters, submission, release and the real-time-safe readers: see dgxm/job.h. */
#include "job_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

uint64_t dgxm_job_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void dgxm_job_params_init(dgxm_job_params *p)
{
    *p = (dgxm_job_params){ .guidance = 3.0,
                            .temperature = 1.0,
                            .top_k = 250,
                            .top_p = 1.0,
                            .seed = -1,
                            .output = DGXM_JOB_STREAM };
}

static uint64_t random_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = dgxm_job_now_ns() * 0x9E3779B97F4A7C15u;
    return seed & INT64_MAX; /* printable and accepted back as a seed */
}

/* Output and codec lengths from whichever length the parameters give. */
static dgxm_status plan_length(const dgxm_job_params *p, const dgxm_engine_info *info, int rate,
                               dgxm_job_format *f, dgxm_error *err)
{
    int given = (p->seconds != 0) + (p->frames > 0) + (p->code_frames != 0);
    if (given != 1)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "job length: give exactly one of seconds, frames and code_frames");
    const double max_code_frames = DGXM_JOB_MAX_SECONDS * info->frame_rate;
    /* codec frames per output frame */
    const double per_frame = (double)info->sample_rate / ((double)rate * info->hop);
    if (p->seconds != 0) {
        if (!(p->seconds > 0 && p->seconds <= DGXM_JOB_MAX_SECONDS))
            return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "job seconds %g: must be in (0, %g]",
                                  p->seconds, DGXM_JOB_MAX_SECONDS);
        f->frames = (uint64_t)llround(p->seconds * rate);
    } else if (p->frames > 0) {
        if ((double)p->frames * per_frame > max_code_frames)
            return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                                  "job frames %llu: more than %g seconds at %d Hz",
                                  (unsigned long long)p->frames, DGXM_JOB_MAX_SECONDS, rate);
        f->frames = p->frames;
    }
    if (p->code_frames != 0) {
        if (p->code_frames < 1 || p->code_frames > max_code_frames)
            return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                                  "job code_frames %d: must be 1 to %g (%g seconds)",
                                  p->code_frames, max_code_frames, DGXM_JOB_MAX_SECONDS);
        f->code_frames = p->code_frames;
        /* the same rounding as dgxm_resample: exactly frames * out / in samples */
        f->frames = (uint64_t)((double)p->code_frames * info->hop * rate / info->sample_rate + 0.5);
    } else {
        f->code_frames = (int)ceil((double)f->frames * per_frame - 1e-9);
    }
    if (f->frames < 1 || f->code_frames < 1)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "job length: shorter than one frame");
    return DGXM_OK;
}

static dgxm_status check_params(const dgxm_job_params *p, const dgxm_engine_info *info,
                                dgxm_sampling *sampling, dgxm_job_format *f, dgxm_error *err)
{
    if (!p->prompt)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "job: no prompt");
    if (p->seed < -1)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "job seed %lld: use 0 or more, or -1",
                              (long long)p->seed);
    *sampling = (dgxm_sampling){ .greedy = p->greedy,
                                 .temperature = p->temperature,
                                 .top_k = p->top_k,
                                 .top_p = p->top_p,
                                 .guidance = p->guidance,
                                 .seed = p->seed < 0 ? 0 : (uint64_t)p->seed };
    dgxm_status s = dgxm_sampling_validate(sampling, err);
    if (s)
        return s;
    if (p->sample_rate != 0 && (p->sample_rate < 8000 || p->sample_rate > 384000))
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG,
                              "job sample rate %d: must be 8000 to 384000 Hz", p->sample_rate);
    if (p->channels < 0 || p->channels > 2)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "job channels %d: must be 1 or 2",
                              p->channels);
    if (p->output != DGXM_JOB_STREAM && p->output != DGXM_JOB_EXACT)
        return dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "job output mode %d", (int)p->output);
    f->sample_rate = p->sample_rate ? p->sample_rate : info->sample_rate;
    f->channels = p->channels ? p->channels : info->channels;
    f->codebooks = info->codebooks;
    return plan_length(p, info, f->sample_rate, f, err);
}

/* The ring policy of dgxm/job.h. */
static size_t ring_frames(const dgxm_job_params *p, const dgxm_job_format *f)
{
    size_t whole = 1;
    while (whole < f->frames)
        whole <<= 1;
    bool fits = whole * (size_t)f->channels * sizeof(float) <= DGXM_JOB_WHOLE_CLIP_MAX_BYTES;
    if (p->ring_frames)
        return p->ring_frames < f->frames || !fits ? p->ring_frames : (size_t)f->frames;
    return fits ? (size_t)f->frames : DGXM_JOB_STREAM_RING_FRAMES;
}

static void job_free(dgxm_job *job)
{
    dgxm_ring_free(job->ring);
    free(job->codes);
    free(job->prompt);
    free(job);
}

dgxm_job *dgxm_job_submit(dgxm_engine *e, const dgxm_job_params *p, dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    if (!e || !p) {
        dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "job: no engine or no parameters");
        return NULL;
    }
    dgxm_engine_info info;
    dgxm_engine_get_info(e, &info);
    dgxm_sampling sampling;
    dgxm_job_format format = { 0 };
    if (check_params(p, &info, &sampling, &format, err) || format.code_frames < 1)
        return NULL;
    dgxm_job *job = calloc(1, sizeof *job);
    if (!job) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "job: out of memory");
        return NULL;
    }
    job->prompt_len = p->prompt_len ? p->prompt_len : strlen(p->prompt);
    job->prompt = malloc(job->prompt_len + 1);
    job->codes = calloc((size_t)format.codebooks * format.code_frames, sizeof *job->codes);
    if (!job->prompt || !job->codes) {
        job_free(job);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "job: %d codec frames", format.code_frames);
        return NULL;
    }
    if (!(job->ring = dgxm_ring_new(ring_frames(p, &format), format.channels, err))) {
        job_free(job);
        return NULL;
    }
    memcpy(job->prompt, p->prompt, job->prompt_len);
    job->prompt[job->prompt_len] = '\0';
    format.keeps_whole_clip = dgxm_ring_capacity(job->ring) >= format.frames;
    sampling.seed = p->seed < 0 ? random_seed() : (uint64_t)p->seed;
    job->sampling = sampling;
    job->output = p->output;
    job->format = format;
    job->model_rate = info.sample_rate;
    job->model_channels = info.channels;
    job->hop = info.hop;
    atomic_init(&job->refs, 2); /* the caller's handle and the engine's queue */
    atomic_init(&job->state, DGXM_JOB_QUEUED);
    atomic_init(&job->cancel, false);
    atomic_init(&job->steps_done, 0);
    atomic_init(&job->steps_total, 0);
    atomic_init(&job->steps_per_second_milli, 0);
    atomic_init(&job->eta_ms, -1);
    atomic_init(&job->first_audio_us, -1);
    dgxm_error_clear(&job->error);
    job->submitted_ns = dgxm_job_now_ns();
    if (dgxm_engine_enqueue(e, job, err)) {
        job_free(job);
        return NULL;
    }
    return job;
}

void dgxm_job_unref(dgxm_job *job)
{
    if (atomic_fetch_sub_explicit(&job->refs, 1, memory_order_acq_rel) == 1)
        job_free(job);
}

void dgxm_job_release(dgxm_job *job)
{
    if (!job)
        return;
    dgxm_job_cancel(job);
    dgxm_job_unref(job);
}

dgxm_ring *dgxm_job_ring(dgxm_job *job)
{
    return job->ring;
}

dgxm_job_state dgxm_job_get_state(const dgxm_job *job)
{
    return (dgxm_job_state)atomic_load_explicit(&job->state, memory_order_acquire);
}

void dgxm_job_get_progress(const dgxm_job *job, dgxm_job_progress *p)
{
    p->state = dgxm_job_get_state(job);
    p->steps_done = atomic_load_explicit(&job->steps_done, memory_order_relaxed);
    p->steps_total = atomic_load_explicit(&job->steps_total, memory_order_relaxed);
    p->fraction = p->state == DGXM_JOB_DONE ? 1.0
                  : p->steps_total > 0      ? (double)p->steps_done / p->steps_total
                                            : 0.0;
    p->frames_done = dgxm_ring_total_written(job->ring);
    p->frames_total = job->format.frames;
    p->steps_per_second =
        (double)atomic_load_explicit(&job->steps_per_second_milli, memory_order_relaxed) / 1e3;
    int64_t eta = atomic_load_explicit(&job->eta_ms, memory_order_relaxed);
    p->eta_seconds = p->state >= DGXM_JOB_DONE ? 0.0 : eta < 0 ? -1.0 : (double)eta / 1e3;
    int64_t first = atomic_load_explicit(&job->first_audio_us, memory_order_relaxed);
    p->first_audio_seconds = first < 0 ? -1.0 : (double)first / 1e6;
}

void dgxm_job_cancel(dgxm_job *job)
{
    atomic_store_explicit(&job->cancel, true, memory_order_release);
}

uint64_t dgxm_job_seed(const dgxm_job *job)
{
    return job->sampling.seed;
}

void dgxm_job_get_format(const dgxm_job *job, dgxm_job_format *f)
{
    *f = job->format;
}

dgxm_status dgxm_job_error(const dgxm_job *job, dgxm_error *err)
{
    dgxm_job_state state = dgxm_job_get_state(job);
    if (state != DGXM_JOB_FAILED && state != DGXM_JOB_CANCELLED)
        return DGXM_OK;
    if (err)
        *err = job->error;
    return job->error.status;
}

const float *dgxm_job_take(const dgxm_job *job, uint64_t *frames)
{
    if (dgxm_job_get_state(job) != DGXM_JOB_DONE || !job->format.keeps_whole_clip)
        return NULL;
    if (frames)
        *frames = job->format.frames;
    return dgxm_ring_storage(job->ring);
}

const int32_t *dgxm_job_codes(const dgxm_job *job, int *codebooks, int *code_frames)
{
    if (dgxm_job_get_state(job) != DGXM_JOB_DONE)
        return NULL;
    if (codebooks)
        *codebooks = job->format.codebooks;
    if (code_frames)
        *code_frames = job->format.code_frames;
    return job->codes;
}
