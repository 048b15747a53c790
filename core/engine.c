/* The engine registry and the engine thread: see dgxm/engine.h.
 *
 * The registry is the library's one process-wide global: a list of engines keyed by (canonical
 * model folder, device, weight format) under one mutex. A first acquire inserts its engine
 * marked "loading" and loads outside the lock; acquires of the same key meanwhile wait on the
 * registry's condition for the outcome, so the model is loaded once and other keys are never
 * held up by a load. */
#include "dgxm/engine.h"
#include "backend.h"
#include "device_memory.h"
#include "job_internal.h"
#include "musicgen.h"

#ifdef DGXM_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dgxm_engine {
    /* Registry fields, guarded by the registry lock. */
    dgxm_engine *next;
    char *path; /* canonical model folder */
    dgxm_engine_weights weights;
    int users;
    bool loading, failed;
    bool device_failed; /* the load failed at the device (backend start-up, memory check) */
    dgxm_error load_error;
    /* Why a caller's "auto" landed on this CPU engine: written once under the registry lock
     * before notice_set is released, so dgxm_engine_get_info may read it from any thread. */
    char notice[DGXM_ERROR_MESSAGE_MAX];
    atomic_bool notice_set;

    int cpu_threads;
    int cuda_device;       /* -1: the CPU backend */
    dgxm_engine_info info; /* written by the engine thread before `loaded` is set */
    const char *model_dir; /* the caller's spelling, for messages; valid during the load */

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a job was queued, a stop was asked, the load finished */
    dgxm_job *head, *tail;
    bool loaded, stopping; /* guarded by lock */
    dgxm_status load_status;
    atomic_bool stop; /* the running job polls it after every decoder step */

    /* Owned by the engine thread. */
    dgxm_backend *backend;
    dgxm_musicgen *model;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* an engine finished loading */
    dgxm_engine *engines;
} registry = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL };

enum {
    DEVICE_UNKNOWN = -2,
    DEVICE_AUTO = -3
};

/* "cpu" -> -1, "cuda" -> 0, "cuda:N" -> N, "auto" -> DEVICE_AUTO; DEVICE_UNKNOWN otherwise. */
static int parse_device(const char *device)
{
    if (!device || !strcmp(device, "cpu"))
        return -1;
    if (!strcmp(device, "auto"))
        return DEVICE_AUTO;
    if (!strcmp(device, "cuda"))
        return 0;
    if (strncmp(device, "cuda:", 5) != 0 || device[5] < '0' || device[5] > '9')
        return DEVICE_UNKNOWN;
    char *end = NULL;
    errno = 0;
    long n = strtol(device + 5, &end, 10);
    return errno || *end || n > 1024 ? DEVICE_UNKNOWN : (int)n;
}

static dgxm_status open_backend(dgxm_engine *e, dgxm_error *err)
{
    if (e->cuda_device < 0) {
        e->backend = dgxm_cpu_backend_new(e->cpu_threads, err);
        return e->backend ? DGXM_OK : err->status;
    }
#ifdef DGXM_HAVE_CUDA
    e->backend = dgxm_cuda_backend_new(e->cuda_device, err);
    return e->backend ? DGXM_OK : err->status;
#else
    return dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                          "device cuda:%d: this build has no CUDA backend (use cpu)",
                          e->cuda_device);
#endif
}

static dgxm_weight_format weight_format(dgxm_engine_weights w)
{
    switch (w) {
    case DGXM_ENGINE_WEIGHTS_BF16: return DGXM_WEIGHT_BF16;
    case DGXM_ENGINE_WEIGHTS_F16: return DGXM_WEIGHT_F16;
    case DGXM_ENGINE_WEIGHTS_INT8: return DGXM_WEIGHT_INT8;
    case DGXM_ENGINE_WEIGHTS_F32:
    case DGXM_ENGINE_WEIGHTS_DEFAULT: break;
    }
    return DGXM_WEIGHT_F32;
}

static dgxm_status load(dgxm_engine *e, dgxm_error *err)
{
    dgxm_status s = open_backend(e, err);
    const dgxm_weight_format format = weight_format(e->weights);
    if (!s && e->cuda_device < 0 && format != DGXM_WEIGHT_F32 && format != DGXM_WEIGHT_BF16)
        s = dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                           "weights %s: the CPU backend stores decoder weights as f32 or bf16 "
                           "(f16 and int8 need a CUDA device)",
                           format == DGXM_WEIGHT_F16 ? "f16" : "int8");
    /* Before any upload: a model that cannot fit fails at once with the figures. */
    if (!s)
        s = dgxm_device_memory_check(e->backend, e->model_dir, e->info.device, format, err);
    if (s) {
        e->device_failed = true;
        return s;
    }
    e->model = dgxm_musicgen_load(e->model_dir, e->backend, format, err);
    if (!e->model)
        return err->status;
    const dgxm_model_config *cfg = dgxm_musicgen_config(e->model);
    e->info.sample_rate = cfg->encodec.sampling_rate;
    e->info.channels = dgxm_musicgen_channels(e->model);
    e->info.frame_rate = cfg->encodec.frame_rate;
    e->info.hop = dgxm_musicgen_hop(e->model);
    e->info.codebooks = cfg->decoder.num_codebooks;
    return DGXM_OK;
}

static void unload(dgxm_engine *e)
{
    dgxm_musicgen_free(e->model);
    e->model = NULL;
    if (e->backend)
        e->backend->ops->destroy(e->backend);
    e->backend = NULL;
}

/* Takes the whole queue (the caller holds e->lock). */
static dgxm_job *take_queue(dgxm_engine *e)
{
    dgxm_job *all = e->head;
    e->head = e->tail = NULL;
    return all;
}

static void *engine_main(void *arg)
{
    dgxm_engine *e = arg;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_status s = load(e, &err);
    if (s)
        unload(e);
    pthread_mutex_lock(&e->lock);
    e->load_status = s;
    e->load_error = err;
    e->loaded = true;
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->lock);
    if (s)
        return NULL;
    for (;;) {
        pthread_mutex_lock(&e->lock);
        while (!e->head && !e->stopping)
            pthread_cond_wait(&e->wake, &e->lock);
        dgxm_job *job = NULL, *left = NULL;
        if (e->stopping) {
            left = take_queue(e);
        } else {
            job = e->head;
            e->head = job->next;
            if (!e->head)
                e->tail = NULL;
        }
        pthread_mutex_unlock(&e->lock);
        if (!job) {
            while (left) {
                dgxm_job *next = left->next;
                dgxm_job_end_cancelled(left);
                dgxm_job_unref(left);
                left = next;
            }
            break;
        }
        dgxm_job_render(job, e->model, &e->stop);
        dgxm_job_unref(job);
    }
    unload(e);
    return NULL;
}

static void engine_free(dgxm_engine *e)
{
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    free(e->path);
    free(e);
}

/* Starts the engine thread and waits for its load. Control thread, registry lock not held. */
static dgxm_status start(dgxm_engine *e)
{
    int rc = pthread_create(&e->thread, NULL, engine_main, e);
    if (rc != 0)
        return dgxm_error_set(&e->load_error, DGXM_ERR_NOMEM, "engine: cannot start a thread: %s",
                              strerror(rc));
    pthread_mutex_lock(&e->lock);
    while (!e->loaded)
        pthread_cond_wait(&e->wake, &e->lock);
    dgxm_status s = e->load_status;
    pthread_mutex_unlock(&e->lock);
    if (s)
        pthread_join(e->thread, NULL);
    return s;
}

/* DGXM_ENGINE_WEIGHTS_DEFAULT as the device makes it. */
static dgxm_engine_weights resolved_weights(dgxm_engine_weights w, int cuda_device)
{
    if (w != DGXM_ENGINE_WEIGHTS_DEFAULT)
        return w;
    return cuda_device >= 0 ? DGXM_ENGINE_WEIGHTS_BF16 : DGXM_ENGINE_WEIGHTS_F32;
}

static dgxm_engine *engine_new(const dgxm_engine_config *cfg, char *path, int cuda_device)
{
    dgxm_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->path = path;
    e->weights = resolved_weights(cfg->weights, cuda_device);
    e->cpu_threads = cfg->cpu_threads;
    e->cuda_device = cuda_device;
    e->model_dir = cfg->model_dir;
    e->users = 1;
    e->loading = true;
    if (cuda_device < 0)
        snprintf(e->info.device, sizeof e->info.device, "cpu");
    else
        snprintf(e->info.device, sizeof e->info.device, "cuda:%d", cuda_device);
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    atomic_init(&e->stop, false);
    atomic_init(&e->notice_set, false);
    return e;
}

static dgxm_engine *find(const char *path, int cuda_device, dgxm_engine_weights weights)
{
    for (dgxm_engine *e = registry.engines; e; e = e->next)
        if (!strcmp(e->path, path) && e->cuda_device == cuda_device && e->weights == weights)
            return e;
    return NULL;
}

static void unlink_engine(dgxm_engine *e)
{
    for (dgxm_engine **p = &registry.engines; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            return;
        }
}

/* Drops a reference to an engine whose load failed (registry lock held); copies the error and
 * whether it was the device's. */
static void give_up(dgxm_engine *e, dgxm_error *err, bool *device_failed)
{
    *err = e->load_error;
    if (device_failed)
        *device_failed = e->device_failed;
    if (--e->users == 0)
        engine_free(e);
}

/* The engine for (cfg's folder and weights, cuda_device), checked arguments. device_failed
 * (may be NULL) tells a failed load whether the device was at fault. */
static dgxm_engine *acquire_on(const dgxm_engine_config *cfg, int cuda_device, dgxm_error *err,
                               bool *device_failed)
{
    /* Two spellings of one folder are one key; a folder that cannot be resolved keeps its
     * spelling, and the load then names it. */
    char *path = realpath(cfg->model_dir, NULL);
    if (!path)
        path = strdup(cfg->model_dir);
    if (!path) {
        dgxm_error_set(err, DGXM_ERR_NOMEM, "engine: out of memory");
        return NULL;
    }

    pthread_mutex_lock(&registry.lock);
    dgxm_engine *e = find(path, cuda_device, resolved_weights(cfg->weights, cuda_device));
    if (e) {
        free(path);
        e->users++;
        while (e->loading)
            pthread_cond_wait(&registry.changed, &registry.lock);
        if (e->failed) {
            give_up(e, err, device_failed);
            e = NULL;
        }
        pthread_mutex_unlock(&registry.lock);
        return e;
    }
    e = engine_new(cfg, path, cuda_device);
    if (!e) {
        pthread_mutex_unlock(&registry.lock);
        free(path);
        dgxm_error_set(err, DGXM_ERR_NOMEM, "engine: out of memory");
        return NULL;
    }
    e->next = registry.engines;
    registry.engines = e;
    pthread_mutex_unlock(&registry.lock);

    dgxm_status s = start(e);

    pthread_mutex_lock(&registry.lock);
    e->loading = false;
    e->model_dir = NULL;
    if (s) {
        e->failed = true;
        unlink_engine(e);
        give_up(e, err, device_failed);
        e = NULL;
    }
    pthread_cond_broadcast(&registry.changed);
    pthread_mutex_unlock(&registry.lock);
    return e;
}

static void set_notice(dgxm_engine *e, const char *why)
{
    pthread_mutex_lock(&registry.lock);
    if (!atomic_load_explicit(&e->notice_set, memory_order_relaxed)) {
        snprintf(e->notice, sizeof e->notice, "device auto: running on the CPU: %.440s", why);
        atomic_store_explicit(&e->notice_set, true, memory_order_release);
    }
    pthread_mutex_unlock(&registry.lock);
}

/* "auto": cuda:0 when its backend starts and the model fits there, else the CPU with a notice
 * saying why. A load that fails for any other reason (a bad folder) is not retried. */
static dgxm_engine *acquire_auto(const dgxm_engine_config *cfg, dgxm_error *err)
{
#ifdef DGXM_HAVE_CUDA
    dgxm_error cuda_err;
    dgxm_error_clear(&cuda_err);
    bool device_failed = false;
    dgxm_engine *e = acquire_on(cfg, 0, &cuda_err, &device_failed);
    if (e || !device_failed) {
        if (!e)
            *err = cuda_err;
        return e;
    }
    const char *why = cuda_err.message;
#else
    const char *why = "this build has no CUDA backend";
#endif
    dgxm_engine *cpu = acquire_on(cfg, -1, err, NULL);
    if (cpu)
        set_notice(cpu, why);
    return cpu;
}

dgxm_engine *dgxm_engine_acquire(const dgxm_engine_config *cfg, dgxm_error *err)
{
    dgxm_error local;
    err = dgxm_error_or(err, &local);
    if (!cfg || !cfg->model_dir || !*cfg->model_dir) {
        dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "engine: no model folder given");
        return NULL;
    }
    int cuda_device = parse_device(cfg->device);
    if (cuda_device == DEVICE_UNKNOWN) {
        dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "device '%s': use auto, cpu, cuda or cuda:N",
                       cfg->device);
        return NULL;
    }
    if ((int)cfg->weights < 0 || (int)cfg->weights > (int)DGXM_ENGINE_WEIGHTS_DEFAULT) {
        dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "engine: weight format %d", (int)cfg->weights);
        return NULL;
    }
    if (cuda_device == DEVICE_AUTO)
        return acquire_auto(cfg, err);
#ifndef DGXM_HAVE_CUDA
    if (cuda_device >= 0) {
        dgxm_error_set(err, DGXM_ERR_UNSUPPORTED,
                       "device %s: this build has no CUDA backend (use cpu)", cfg->device);
        return NULL;
    }
#endif
    return acquire_on(cfg, cuda_device, err, NULL);
}

void dgxm_engine_release(dgxm_engine *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&registry.lock);
    bool last = --e->users == 0;
    if (last)
        unlink_engine(e);
    pthread_mutex_unlock(&registry.lock);
    if (!last)
        return;
    pthread_mutex_lock(&e->lock);
    e->stopping = true;
    atomic_store_explicit(&e->stop, true, memory_order_release);
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    engine_free(e);
}

void dgxm_engine_get_info(const dgxm_engine *e, dgxm_engine_info *info)
{
    *info = e->info;
    info->notice[0] = '\0';
    if (atomic_load_explicit(&e->notice_set, memory_order_acquire))
        snprintf(info->notice, sizeof info->notice, "%s", e->notice);
}

dgxm_status dgxm_engine_enqueue(dgxm_engine *e, dgxm_job *job, dgxm_error *err)
{
    pthread_mutex_lock(&e->lock);
    bool stopping = e->stopping;
    if (!stopping) {
        job->next = NULL;
        if (e->tail)
            e->tail->next = job;
        else
            e->head = job;
        e->tail = job;
        pthread_cond_signal(&e->wake);
    }
    pthread_mutex_unlock(&e->lock);
    return stopping ? dgxm_error_set(err, DGXM_ERR_INVALID_ARG, "engine: released") : DGXM_OK;
}
