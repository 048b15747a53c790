/* Jobs: one prompt and its generation parameters in, audio frames out through a ring.
 *
 * A control thread submits a job to an engine (dgxm/engine.h); the engine thread runs jobs in
 * submission order: tokenizer -> T5 -> decoder steps -> EnCodec -> resampling (libsoxr) ->
 * channel mapping -> the job's ring (dgxm/ring.h), which the audio thread reads.
 *
 * Output modes. DGXM_JOB_STREAM sends audio to the ring while the decoder runs: EnCodec decodes
 * overlapping windows of codes that are already final and only each window's middle is kept
 * (docs/architecture.md, "Engine runtime", has the context sizes and the measured agreement with
 * a whole-clip decode). DGXM_JOB_EXACT decodes the whole clip once at the end, exactly as the
 * reference does, then fills the ring.
 *
 * Ring size. By default a job's ring holds the whole clip whenever that needs at most
 * DGXM_JOB_WHOLE_CLIP_MAX_BYTES of storage (every clip up to 5 minutes at up to 96 kHz
 * stereo): the engine never waits, and once the job is done the whole take stays readable
 * (dgxm_job_take) for saving and replay. A longer clip, or a ring_frames smaller than the clip,
 * gets a ring of that many frames (DGXM_JOB_STREAM_RING_FRAMES by default): the engine thread
 * then waits, sleeping a millisecond at a time, while the ring is full - the audio thread never
 * waits - and no take is kept.
 *
 * Threads and ownership: the submitting control thread owns the job handle until it calls
 * dgxm_job_release (the engine keeps its own reference while the job is queued or running, so
 * release never waits for the engine). Functions marked real-time safe take no lock, allocate
 * nothing and make no system call: they may be called from the audio thread.
 */
#ifndef DGXM_JOB_H
#define DGXM_JOB_H

#include "dgxm/engine.h"
#include "dgxm/ring.h"
#include "dgxm/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DGXM_JOB_MAX_SECONDS          300.0
#define DGXM_JOB_WHOLE_CLIP_MAX_BYTES ((size_t)256 << 20)
#define DGXM_JOB_STREAM_RING_FRAMES   ((size_t)1 << 20)

typedef struct dgxm_job dgxm_job;

typedef enum dgxm_job_state {
    DGXM_JOB_QUEUED,   /* waiting for the engine thread */
    DGXM_JOB_RUNNING,  /* generating; frames may already be in the ring */
    DGXM_JOB_DONE,     /* every frame is in the ring */
    DGXM_JOB_FAILED,   /* stopped by an error: dgxm_job_error has the message */
    DGXM_JOB_CANCELLED /* stopped by dgxm_job_cancel, dgxm_job_release or the engine's release */
} dgxm_job_state;

typedef enum dgxm_job_output {
    DGXM_JOB_STREAM, /* audio reaches the ring while the decoder runs */
    DGXM_JOB_EXACT   /* the whole clip is decoded once, at the end */
} dgxm_job_output;

typedef struct dgxm_job_params {
    const char *prompt; /* UTF-8 text (checked by the engine: bad text fails the job); copied */
    size_t prompt_len;  /* bytes of prompt; 0 means strlen(prompt) */

    /* Length: exactly one of these is > 0. */
    double seconds;  /* output of round(seconds * sample_rate) frames */
    uint64_t frames; /* output frames at sample_rate */
    int code_frames; /* codec frames (the model's 50 per second): frames * hop resampled */

    double guidance;    /* classifier-free guidance scale; <= 1 turns the null branch off */
    double temperature; /* > 0 */
    int top_k;          /* 0 = off */
    double top_p;       /* (0, 1]; 1 = off */
    bool greedy;        /* argmax; temperature, top_k, top_p unused */
    int64_t seed;       /* 0 .. INT64_MAX, or -1 for a random seed (read it with dgxm_job_seed) */

    int sample_rate; /* output rate in Hz, 8000 .. 384000; 0 = the model's */
    int channels;    /* 1 or 2; 0 = the model's. A mono model fills both channels of a stereo
                      * output; a stereo model's channels are averaged for a mono output. */
    dgxm_job_output output;
    size_t ring_frames; /* 0 = the policy above; otherwise the ring holds at least this many */
} dgxm_job_params;

/* The reference defaults: guidance 3, temperature 1, top_k 250, top_p 1, random seed, the
 * model's rate and channels, streaming; no prompt and no length yet. Any thread. */
void dgxm_job_params_init(dgxm_job_params *p);

/* Checks p against e's model (ranges, exactly one length, at most DGXM_JOB_MAX_SECONDS),
 * draws the seed when p->seed is -1, allocates the ring and the code buffer and queues the job.
 * Fails with DGXM_ERR_INVALID_ARG naming the parameter, or DGXM_ERR_NOMEM. The caller owns the
 * returned job and releases it with dgxm_job_release. Control thread, holding e. */
dgxm_job *dgxm_job_submit(dgxm_engine *e, const dgxm_job_params *p, dgxm_error *err);

/* Gives the handle back; a queued or running job is cancelled first (it stops within one
 * decoder step, without this call waiting). The ring and everything read from the job become
 * invalid. NULL is ignored. Control thread, once no other thread uses the handle. */
void dgxm_job_release(dgxm_job *job);

/* The job's ring: the engine thread is its producer, the caller's audio thread its consumer.
 * Owned by the job. Any thread; real-time safe. */
dgxm_ring *dgxm_job_ring(dgxm_job *job);

/* The state now. Any thread; real-time safe. A terminal state (done, failed, cancelled) is
 * published after the last frame is in the ring and after the error message is written. */
dgxm_job_state dgxm_job_get_state(const dgxm_job *job);

typedef struct dgxm_job_progress {
    dgxm_job_state state;
    double fraction; /* decoder steps done / planned (0 .. 1); 1 once done */
    int steps_done, steps_total;
    uint64_t frames_done;       /* output frames put into the ring so far */
    uint64_t frames_total;      /* output frames the job will produce */
    double steps_per_second;    /* decoder speed so far; 0 before the second step */
    double eta_seconds;         /* remaining steps at that speed; -1 while unknown, 0 when over */
    double first_audio_seconds; /* submit -> first frames in the ring; -1 before them */
} dgxm_job_progress;

/* Fills *p from atomics the engine thread updates after every decoder step (fields may be one
 * step apart from each other). Any thread; real-time safe. */
void dgxm_job_get_progress(const dgxm_job *job, dgxm_job_progress *p);

/* Asks the engine to stop the job: an atomic flag, seen after the current decoder step (or at
 * once by a queued job). The job then ends cancelled unless it had already ended. Any thread;
 * real-time safe. */
void dgxm_job_cancel(dgxm_job *job);

/* The seed the job uses (drawn at submit when the parameters said -1). Any thread. */
uint64_t dgxm_job_seed(const dgxm_job *job);

typedef struct dgxm_job_format {
    int sample_rate, channels; /* of the frames in the ring */
    uint64_t frames;           /* the clip's length in output frames */
    int code_frames;           /* codec frames generated */
    int codebooks;
    bool keeps_whole_clip; /* the ring holds every frame: dgxm_job_take works once done */
} dgxm_job_format;

/* What the job produces, fixed at submit. Any thread; real-time safe. */
void dgxm_job_get_format(const dgxm_job *job, dgxm_job_format *f);

/* DGXM_OK while the job has not failed or been cancelled; otherwise the status, with the
 * message copied into *err (which may be NULL). Control thread. */
dgxm_status dgxm_job_error(const dgxm_job *job, dgxm_error *err);

/* The whole finished clip, interleaved [*frames][channels], when the job is done and its ring
 * kept every frame (dgxm_job_format.keeps_whole_clip); NULL otherwise. Reads from the ring do
 * not consume it. Owned by the job, immutable; valid until dgxm_job_release. Any thread once
 * the state is DGXM_JOB_DONE (real-time safe). */
const float *dgxm_job_take(const dgxm_job *job, uint64_t *frames);

/* The generated codes, codes[codebooks][code_frames] in checkpoint codebook order, once the
 * job is done; NULL before. Owned by the job; valid until dgxm_job_release. Control thread. */
const int32_t *dgxm_job_codes(const dgxm_job *job, int *codebooks, int *code_frames);

#ifdef __cplusplus
}
#endif

#endif
