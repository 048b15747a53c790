/* The engine: one loaded MusicGen model on one device, and the thread that runs its jobs.
 *
 * A process holds at most one engine per (model folder, device, weight format): the engine
 * registry (the library's one process-wide global) hands the same engine to every caller that
 * asks for the same key and counts them, so the model is loaded once however many plugin
 * instances, hosts or CLI commands ask for it, and is freed when the last one releases it.
 *
 * Each engine owns one engine thread. That thread creates the backend (the CPU thread pool, or
 * the CUDA context and stream), loads the model into it, then runs submitted jobs one at a time
 * in submission order (dgxm/job.h); every backend call is made from it.
 *
 * Threads: acquire and release are control-thread calls (they load, join threads and free);
 * dgxm_engine_get_info may be called from any thread while the caller holds the engine.
 */
#ifndef DGXM_ENGINE_H
#define DGXM_ENGINE_H

#include "dgxm/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dgxm_engine dgxm_engine;

/* How the decoder's weights are stored on the device (T5 and EnCodec always run in float32). */
typedef enum dgxm_engine_weights {
    DGXM_ENGINE_WEIGHTS_F32,    /* the reference */
    DGXM_ENGINE_WEIGHTS_BF16,   /* half the bytes per decoder step */
    DGXM_ENGINE_WEIGHTS_F16,    /* CUDA only */
    DGXM_ENGINE_WEIGHTS_INT8,   /* CUDA only: a quarter of the bytes (heads stay bf16) */
    DGXM_ENGINE_WEIGHTS_DEFAULT /* bf16 on a CUDA device, f32 on the CPU */
} dgxm_engine_weights;

typedef struct dgxm_engine_config {
    const char *model_dir; /* a Hugging Face MusicGen folder */
    const char *device;    /* "cpu", "cuda" (device 0), "cuda:N" or "auto"; NULL means "cpu".
                            * "auto" is cuda:0 when a CUDA device exists, its backend starts and
                            * the model fits in its memory, else the CPU (see info.notice) */
    dgxm_engine_weights weights;
    int cpu_threads; /* CPU backend workers, 0 = one per core; used only by the call that loads */
} dgxm_engine_config;

/* What a loaded model produces. */
typedef struct dgxm_engine_info {
    int sample_rate;   /* the model's own output rate (32000 for every MusicGen) */
    int channels;      /* 1, or 2 for the stereo checkpoints */
    double frame_rate; /* codec frames per second (50) */
    int hop;           /* audio samples per codec frame (640) */
    int codebooks;     /* codes per frame, all channels together */
    char device[32];   /* the registry's spelling: "cpu" or "cuda:N" */
    char notice[512];  /* empty, or why a caller's "auto" runs on the CPU ("device auto: running
                        * on the CPU: cuda backend: no CUDA device (...)"), for hosts to show */
} dgxm_engine_info;

/* The engine for cfg's (model folder, device, weights), loading it on a new engine thread when
 * no caller holds it yet; the calling thread waits for the load. Two folder spellings of the
 * same directory name the same engine. Fails with the loader's message (naming the folder, file
 * or tensor at fault), DGXM_ERR_INVALID_ARG for a device spelling it does not know,
 * DGXM_ERR_UNSUPPORTED for "cuda" in a build without the CUDA backend or on a machine without a
 * CUDA device or driver (the message names the CUDA error), DGXM_ERR_NOMEM before any upload
 * when the model does not fit in the device's memory (naming the model, the bytes needed and
 * the bytes available; on integrated GPUs such as GB10 "available" is the host's MemAvailable).
 * "auto" falls back to the CPU on exactly those device failures and records why in
 * dgxm_engine_info.notice. The caller owns one
 * reference and gives it back with dgxm_engine_release. Control thread. */
dgxm_engine *dgxm_engine_acquire(const dgxm_engine_config *cfg, dgxm_error *err);

/* A job that hits a GPU kernel fault fails with the CUDA message; when that message says "the
 * CUDA context is lost" (a sticky error: illegal address, launch failure, ...), every later job
 * on that device fails the same way, in every engine of the process that uses it. Release those
 * engines: the last backend destroyed on the device resets it, and the next acquire starts
 * clean.
 *
 * Gives back one reference. The last one stops the engine: the running job and every queued
 * job end cancelled (the caller still releases its own job handles, which stay readable), the
 * engine thread frees the model and the backend and is joined. NULL is ignored. Control
 * thread. */
void dgxm_engine_release(dgxm_engine *e);

/* Fills *info. Any thread while the caller holds a reference. */
void dgxm_engine_get_info(const dgxm_engine *e, dgxm_engine_info *info);

#ifdef __cplusplus
}
#endif

#endif
