/* One job on the engine thread: prompt -> codes (musicgen) -> audio, chunk by chunk while the
 * decoder runs (streaming) or once at the end (exact) -> channel mapping -> libsoxr in streaming
 * mode (so chunks join seamlessly) -> the job's ring, waiting while the ring is full. */
#include "chunked_decode.h"
#include "job_internal.h"

#include <soxr.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    BLOCK = 4096,      /* model-rate samples mapped and resampled per pass */
    OUT_BLOCK = 16384, /* resampler output frames per call */
    FULL_RING_WAIT_US = 1000
};

typedef struct render {
    dgxm_job *job;
    dgxm_musicgen *m;
    const atomic_bool *stop;
    int mix_channels; /* channels through the resampler: 1 when either side is mono */
    int out_channels;
    soxr_t soxr;      /* NULL when the output rate is the model's */
    float *mix;       /* [BLOCK][mix_channels] */
    float *resampled; /* [OUT_BLOCK][mix_channels] */
    float *out;       /* [OUT_BLOCK][out_channels] */
    uint64_t pushed;  /* output frames put into the ring */
    int ready;        /* codec frames final so far (set by the generator) */
    uint64_t first_step_ns;
    dgxm_chunked_decoder *chunks;
    dgxm_error *err;
} render;

static bool stopping(const render *r)
{
    return atomic_load_explicit(&r->job->cancel, memory_order_acquire) ||
           atomic_load_explicit(r->stop, memory_order_acquire);
}

static dgxm_status cancelled(render *r)
{
    return dgxm_error_set(r->err, DGXM_ERR_CANCELLED, "job cancelled");
}

/* Puts frames into the ring, up to the clip's length; while the ring is full the engine thread
 * sleeps a millisecond at a time (the reader is never made to wait). */
static dgxm_status push(render *r, const float *frames, size_t n)
{
    dgxm_job *job = r->job;
    const uint64_t left = job->format.frames - r->pushed;
    if (n > left)
        n = (size_t)left;
    while (n > 0) {
        size_t w = dgxm_ring_write(job->ring, frames, n);
        if (w > 0 && r->pushed == 0)
            atomic_store_explicit(&job->first_audio_us,
                                  (int64_t)((dgxm_job_now_ns() - job->submitted_ns) / 1000),
                                  memory_order_relaxed);
        r->pushed += w;
        frames += w * (size_t)r->out_channels;
        n -= w;
        if (n == 0)
            break;
        if (stopping(r))
            return cancelled(r);
        struct timespec nap = { 0, FULL_RING_WAIT_US * 1000L };
        nanosleep(&nap, NULL);
    }
    return DGXM_OK;
}

/* Resampled (or model-rate) frames of mix_channels -> out_channels -> the ring. */
static dgxm_status emit(render *r, const float *frames, size_t n)
{
    if (r->mix_channels == r->out_channels)
        return push(r, frames, n);
    while (n > 0) { /* mono to stereo: both channels carry the one signal */
        size_t m = n < OUT_BLOCK ? n : OUT_BLOCK;
        for (size_t i = 0; i < m; i++)
            r->out[2 * i] = r->out[2 * i + 1] = frames[i];
        dgxm_status s = push(r, r->out, m);
        if (s)
            return s;
        frames += m;
        n -= m;
    }
    return DGXM_OK;
}

/* Runs the resampler over n interleaved frames (NULL: flush its tail) and emits the output. */
static dgxm_status resample(render *r, const float *in, size_t n)
{
    for (;;) {
        size_t used = 0, made = 0;
        soxr_error_t e =
            soxr_process(r->soxr, in, n, in ? &used : NULL, r->resampled, OUT_BLOCK, &made);
        if (e)
            return dgxm_error_set(r->err, DGXM_ERR_BACKEND, "resample %d -> %d Hz: %s",
                                  r->job->model_rate, r->job->format.sample_rate, e);
        dgxm_status s = emit(r, r->resampled, made);
        if (s)
            return s;
        if (in) {
            in += used * (size_t)r->mix_channels;
            n -= used;
            if (n == 0 && made < OUT_BLOCK)
                return DGXM_OK;
        } else if (made == 0) {
            return DGXM_OK;
        }
    }
}

/* The sink of decoded model-rate audio, planar [model channels][stride]. */
static dgxm_status take_audio(void *ctx, const float *audio, size_t stride, size_t samples,
                              dgxm_error *err)
{
    (void)err;
    render *r = ctx;
    const int in_ch = r->job->model_channels;
    for (size_t done = 0; done < samples;) {
        size_t n = samples - done < BLOCK ? samples - done : BLOCK;
        const float *src = audio + done;
        if (r->mix_channels == in_ch) {
            for (size_t i = 0; i < n; i++)
                for (int c = 0; c < in_ch; c++)
                    r->mix[i * in_ch + c] = src[(size_t)c * stride + i];
        } else { /* stereo model, mono output: the average */
            for (size_t i = 0; i < n; i++)
                r->mix[i] = 0.5f * (src[i] + src[stride + i]);
        }
        dgxm_status s = r->soxr ? resample(r, r->mix, n) : emit(r, r->mix, n);
        if (s)
            return s;
        if (stopping(r))
            return cancelled(r);
        done += n;
    }
    return DGXM_OK;
}

static dgxm_status decode_codes(void *ctx, const int32_t *codes, int n, float *audio,
                                dgxm_error *err)
{
    return dgxm_musicgen_decode(ctx, codes, n, audio, err);
}

static void note_progress(render *r, int done, int total)
{
    dgxm_job *job = r->job;
    uint64_t now = dgxm_job_now_ns();
    if (done == 1)
        r->first_step_ns = now;
    atomic_store_explicit(&job->steps_done, done, memory_order_relaxed);
    atomic_store_explicit(&job->steps_total, total, memory_order_relaxed);
    if (done < 2 || now <= r->first_step_ns)
        return;
    double rate = (done - 1) / ((double)(now - r->first_step_ns) / 1e9);
    atomic_store_explicit(&job->steps_per_second_milli, (uint64_t)(rate * 1e3),
                          memory_order_relaxed);
    atomic_store_explicit(&job->eta_ms, (int64_t)((total - done) / rate * 1e3),
                          memory_order_relaxed);
}

/* After every decoder step, on the engine thread: progress, cancellation, streaming. */
static bool on_step(void *ctx, int done, int total)
{
    render *r = ctx;
    note_progress(r, done, total);
    if (stopping(r))
        return false;
    if (r->chunks && dgxm_chunked_decoder_advance(r->chunks, r->ready, take_audio, r, r->err))
        return false; /* the error is recorded first, so it outlives "cancelled" */
    return true;
}

static dgxm_status setup(render *r)
{
    dgxm_job *job = r->job;
    const dgxm_job_format *f = &job->format;
    r->out_channels = f->channels;
    r->mix_channels = job->model_channels == 1 || f->channels == 1 ? 1 : 2;
    r->mix = malloc((size_t)BLOCK * r->mix_channels * sizeof *r->mix);
    r->resampled = malloc((size_t)OUT_BLOCK * r->mix_channels * sizeof *r->resampled);
    r->out = malloc((size_t)OUT_BLOCK * r->out_channels * sizeof *r->out);
    if (!r->mix || !r->resampled || !r->out)
        return dgxm_error_set(r->err, DGXM_ERR_NOMEM, "job: audio buffers");
    if (f->sample_rate != job->model_rate) {
        soxr_error_t e = NULL;
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
        r->soxr = soxr_create(job->model_rate, f->sample_rate, (unsigned)r->mix_channels, &e, NULL,
                              &q, NULL);
        if (!r->soxr)
            return dgxm_error_set(r->err, DGXM_ERR_BACKEND, "resample %d -> %d Hz: %s",
                                  job->model_rate, f->sample_rate, e ? e : "soxr_create failed");
    }
    if (job->output == DGXM_JOB_STREAM) {
        r->chunks = dgxm_chunked_decoder_new(decode_codes, r->m, f->codebooks, job->model_channels,
                                             job->hop, job->codes, f->code_frames,
                                             dgxm_chunk_layout_default(), r->err);
        if (!r->chunks)
            return r->err->status;
    }
    return DGXM_OK;
}

/* The whole clip in one decode, as the reference does it. */
static dgxm_status decode_whole(render *r)
{
    const dgxm_job *job = r->job;
    const size_t samples = (size_t)job->format.code_frames * job->hop;
    float *audio = malloc((size_t)job->model_channels * samples * sizeof *audio);
    if (!audio)
        return dgxm_error_set(r->err, DGXM_ERR_NOMEM, "job: audio of %d codec frames",
                              job->format.code_frames);
    dgxm_status s = dgxm_musicgen_decode(r->m, job->codes, job->format.code_frames, audio, r->err);
    if (!s)
        s = take_audio(r, audio, samples, samples, r->err);
    free(audio);
    return s;
}

/* Everything after the last decoder step: the last chunks, the resampler's tail, and silence
 * should the resampler's rounding leave the clip a frame short. */
static dgxm_status finish(render *r)
{
    dgxm_status s = r->chunks ? dgxm_chunked_decoder_advance(r->chunks, r->job->format.code_frames,
                                                             take_audio, r, r->err)
                              : decode_whole(r);
    if (!s && r->soxr)
        s = resample(r, NULL, 0);
    memset(r->out, 0, (size_t)OUT_BLOCK * r->out_channels * sizeof *r->out);
    while (!s && r->pushed < r->job->format.frames) {
        uint64_t gap = r->job->format.frames - r->pushed;
        s = push(r, r->out, gap < OUT_BLOCK ? (size_t)gap : OUT_BLOCK);
    }
    return s;
}

static void end(dgxm_job *job, dgxm_job_state state)
{
    atomic_store_explicit(&job->state, state, memory_order_release);
}

void dgxm_job_end_cancelled(dgxm_job *job)
{
    dgxm_error_set(&job->error, DGXM_ERR_CANCELLED, "job cancelled before it started");
    end(job, DGXM_JOB_CANCELLED);
}

void dgxm_job_render(dgxm_job *job, dgxm_musicgen *m, const atomic_bool *stop)
{
    render r = { .job = job, .m = m, .stop = stop, .err = &job->error };
    if (stopping(&r)) {
        dgxm_job_end_cancelled(job);
        return;
    }
    atomic_store_explicit(&job->state, DGXM_JOB_RUNNING, memory_order_release);
    dgxm_status s = setup(&r);
    if (!s) {
        dgxm_generate_options opt = { .sampling = job->sampling,
                                      .frames = job->format.code_frames,
                                      .on_step = on_step,
                                      .ctx = &r,
                                      .frames_ready = &r.ready };
        s = dgxm_musicgen_generate_codes(m, job->prompt, job->prompt_len, &opt, job->codes,
                                         &job->error);
    }
    if (!s)
        s = finish(&r);
    dgxm_chunked_decoder_free(r.chunks);
    if (r.soxr)
        soxr_delete(r.soxr);
    free(r.mix);
    free(r.resampled);
    free(r.out);
    if (s && job->error.status == DGXM_ERR_CANCELLED)
        end(job, DGXM_JOB_CANCELLED);
    else
        end(job, s ? DGXM_JOB_FAILED : DGXM_JOB_DONE);
}
