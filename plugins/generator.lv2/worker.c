/* The worker side: everything run() may not do. work() runs on the host's worker thread (or,
 * during an Ardour export, synchronously inside run(), where blocking is allowed because
 * freewheeling is not real time); work_response() runs on the audio thread. */
#include "config.h"
#include "plugin.h"
#include "sync.h"
#include "takes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- worker thread -------------------------------------------------------------------------- */

static LV2_Worker_Status respond_msg(LV2_Worker_Respond_Function respond,
                                     LV2_Worker_Respond_Handle handle, gen_response_type type,
                                     int slot, void *ptr)
{
    gen_message m = { .type = type, .slot = slot, .ptr = ptr };
    return respond(handle, sizeof m, &m);
}

/* The engine for the resolved model folder, acquired (the previous one released) when the
 * folder or the device changed. Worker thread. */
static bool ensure_engine(gen_plugin *self, const char *asked_model, char *msg, size_t size)
{
    char model[GEN_PATH_MAX], device[32];
    if (!gen_config_model(asked_model, model, sizeof model, msg, size))
        return false;
    gen_config_device(device, sizeof device);
    if (self->engine && !strcmp(model, self->engine_model) && !strcmp(device, self->engine_device))
        return true;
    atomic_store(&self->loading, true);
    dgxm_engine_release(self->engine);
    self->engine = NULL;
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_engine_config cfg = { .model_dir = model, .device = device[0] ? device : "cpu" };
#ifdef DGXM_HAVE_CUDA
    /* no device named: the GPU when there is one, else the CPU */
    if (!device[0]) {
        cfg.device = "cuda";
        self->engine = dgxm_engine_acquire(&cfg, &err);
        cfg.device = "cpu";
        dgxm_error_clear(&err);
    }
#endif
    if (!self->engine)
        self->engine = dgxm_engine_acquire(&cfg, &err);
    atomic_store(&self->loading, false);
    if (!self->engine) {
        snprintf(msg, size, "cannot load model %s on %s: %s", model, cfg.device, err.message);
        return false;
    }
    snprintf(self->engine_model, sizeof self->engine_model, "%s", model);
    snprintf(self->engine_device, sizeof self->engine_device, "%s", device);
    return true;
}

/* A seed a float control port can hold, so a random take can be reproduced from the port. */
static int64_t draw_seed(gen_plugin *self)
{
    if (self->random_state == 0) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        self->random_state =
            ((uint64_t)t.tv_nsec << 20) ^ (uint64_t)t.tv_sec ^ ((uint64_t)(uintptr_t)self | 1u);
    }
    /* xorshift64* */
    uint64_t x = self->random_state;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    self->random_state = x;
    return (int64_t)((x * 0x2545F4914F6CDD1DULL) >> 40) % (GEN_SEED_MAX + 1);
}

static bool submit(gen_plugin *self, gen_request *r)
{
    gen_settings *s = &r->settings;
    if (!ensure_engine(self, s->model, r->error, sizeof r->error))
        return false;
    r->seed_used = s->seed >= 0 ? s->seed : draw_seed(self);
    static _Thread_local char prompt[GEN_PROMPT_MAX + 64];
    dgxm_job_params p;
    dgxm_job_params_init(&p);
    p.prompt = s->prompt;
    r->loop_frames = 0;
    if (s->sync) {
        r->loop_frames = gen_sync_loop_frames(s->bars, s->beats_per_bar, s->bpm, self->rate);
        /* generate the crossfade's length past the loop end, cut at the loop end */
        p.frames = r->loop_frames + gen_sync_xfade_frames(self->rate);
        if (gen_sync_prompt_hint(s->prompt, s->bpm, prompt, sizeof prompt) > 0)
            p.prompt = prompt;
    } else {
        p.seconds = s->seconds;
    }
    p.guidance = s->guidance;
    p.temperature = s->temperature;
    p.top_k = s->top_k;
    p.seed = r->seed_used;
    p.sample_rate = (int)self->rate;
    p.channels = 2;
    p.output = DGXM_JOB_STREAM;
    dgxm_error err;
    dgxm_error_clear(&err);
    r->job = dgxm_job_submit(self->engine, &p, &err);
    if (!r->job) {
        snprintf(r->error, sizeof r->error, "generation refused: %s", err.message);
        return false;
    }
    dgxm_job_format f;
    dgxm_job_get_format(r->job, &f);
    r->total_frames = f.frames;
    if (!f.keeps_whole_clip) { /* playback and saving read the whole clip from the ring */
        snprintf(r->error, sizeof r->error,
                 "%llu frames at %g Hz are too long to keep as a take; shorten the duration",
                 (unsigned long long)f.frames, self->rate);
        dgxm_job_release(r->job);
        r->job = NULL;
        return false;
    }
    return true;
}

/* A free name for a new take file through makePath; false when the host has no scratch space
 * yet (Ardour before the insert has an id, Carla without a project). */
static bool take_path(gen_plugin *self, char *out, size_t size)
{
    if (!self->make_path)
        return false;
    for (int n = 1; n < 100000; n++) {
        char name[64];
        snprintf(name, sizeof name, "take-%d.flac", n);
        char *path = self->make_path->path(self->make_path->handle, name);
        if (!path)
            return false;
        bool absolute = path[0] == '/';
        bool is_free = absolute && access(path, F_OK) != 0;
        if (is_free)
            snprintf(out, size, "%s", path);
        if (self->free_path)
            self->free_path->free_path(self->free_path->handle, path);
        else
            free(path);
        if (!absolute || is_free)
            return is_free;
    }
    return false;
}

static LV2_Worker_Status job_ended(gen_plugin *self, LV2_Worker_Respond_Function respond,
                                   LV2_Worker_Respond_Handle handle, int slot)
{
    gen_request *r = &self->slots[slot];
    dgxm_job_state st = dgxm_job_get_state(r->job);
    r->error[0] = '\0';
    if (st == DGXM_JOB_DONE) {
        gen_take *t = gen_take_new_from_job(r->job, &r->settings, r->loop_frames, self->rate,
                                            r->error, sizeof r->error);
        if (!t) {
            dgxm_job_release(r->job);
            r->job = NULL;
            return respond_msg(respond, handle, GEN_RESP_FAILED, slot, NULL);
        }
        t->settings.seed = r->seed_used;
        char path[GEN_PATH_MAX] = "";
        if (take_path(self, path, sizeof path)) {
            if (gen_take_write_flac(t, path, r->error, sizeof r->error))
                snprintf(t->file, sizeof t->file, "%s", path);
            else
                lv2_log_error(&self->logger, "dgx-music generator: %s\n", r->error);
        }
        /* the job is released after run() switched playback over to the take */
        return respond_msg(respond, handle, GEN_RESP_TAKE_READY, slot, t);
    }
    if (st == DGXM_JOB_FAILED) {
        dgxm_error err;
        dgxm_error_clear(&err);
        dgxm_job_error(r->job, &err);
        snprintf(r->error, sizeof r->error, "generation failed: %s", err.message);
        lv2_log_error(&self->logger, "dgx-music generator: %s\n", r->error);
    }
    dgxm_job_release(r->job);
    r->job = NULL;
    return respond_msg(respond, handle,
                       st == DGXM_JOB_FAILED ? GEN_RESP_FAILED : GEN_RESP_DISCARDED, slot, NULL);
}

/* Reads prompt_file_req into prompt_file_text (trailing white space dropped), or sets
 * prompt_file_error naming the file and what is wrong with it. */
static bool read_prompt_file(gen_plugin *self)
{
    const char *path = self->prompt_file_req;
    char *msg = self->prompt_file_error;
    size_t msize = sizeof self->prompt_file_error;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msize, "prompt file %s cannot be opened", path);
        return false;
    }
    size_t n = fread(self->prompt_file_text, 1, sizeof self->prompt_file_text, f);
    bool too_long = n == sizeof self->prompt_file_text;
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || too_long) {
        snprintf(msg, msize,
                 failed ? "prompt file %s cannot be read"
                        : "prompt file %s is longer than %d bytes",
                 path, GEN_PROMPT_MAX - 1);
        return false;
    }
    while (n > 0 &&
           (self->prompt_file_text[n - 1] == '\n' || self->prompt_file_text[n - 1] == '\r' ||
            self->prompt_file_text[n - 1] == ' ' || self->prompt_file_text[n - 1] == '\t'))
        n--;
    self->prompt_file_text[n] = '\0';
    if (n == 0) {
        snprintf(msg, msize, "prompt file %s is empty", path);
        return false;
    }
    if (!gen_utf8_valid(self->prompt_file_text, n)) {
        snprintf(msg, msize, "prompt file %s is not valid UTF-8 text", path);
        return false;
    }
    return true;
}

LV2_Worker_Status gen_work(LV2_Handle instance, LV2_Worker_Respond_Function respond,
                           LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
    gen_plugin *self = instance;
    if (size < sizeof(gen_message))
        return LV2_WORKER_ERR_UNKNOWN;
    gen_message m;
    memcpy(&m, data, sizeof m);
    if (m.slot < 0 || m.slot >= GEN_REQUESTS)
        m.slot = 0;
    gen_request *r = &self->slots[m.slot];
    LV2_Worker_Status st = LV2_WORKER_SUCCESS;
    pthread_mutex_lock(&self->nonrt_lock);
    switch ((gen_work_type)m.type) {
    case GEN_WORK_GENERATE:
        r->error[0] = '\0';
        r->job = NULL;
        if (submit(self, r)) {
            atomic_store_explicit(&r->started, true, memory_order_release);
            st = respond_msg(respond, handle, GEN_RESP_JOB_STARTED, m.slot, NULL);
        } else {
            lv2_log_error(&self->logger, "dgx-music generator: %s\n", r->error);
            st = respond_msg(respond, handle, GEN_RESP_FAILED, m.slot, NULL);
        }
        break;
    case GEN_WORK_JOB_ENDED: st = job_ended(self, respond, handle, m.slot); break;
    case GEN_WORK_DISCARD:
        dgxm_job_release(r->job);
        r->job = NULL;
        st = respond_msg(respond, handle, GEN_RESP_DISCARDED, m.slot, NULL);
        break;
    case GEN_WORK_RELEASE_JOB: dgxm_job_release(m.ptr); break;
    case GEN_WORK_FREE_TAKE: {
        gen_take *t = m.ptr;
        if (t && m.delete_file && t->file[0])
            unlink(t->file);
        gen_take_free(t);
        break;
    }
    case GEN_WORK_PROMPT_FILE:
        self->prompt_file_error[0] = '\0';
        if (!read_prompt_file(self))
            lv2_log_error(&self->logger, "dgx-music generator: %s\n", self->prompt_file_error);
        st = respond_msg(respond, handle, GEN_RESP_PROMPT_READ, 0, NULL);
        break;
    case GEN_WORK_LOAD_MODEL:
        self->model_error[0] = '\0';
        if (ensure_engine(self, self->model_req, self->model_error, sizeof self->model_error)) {
            st = respond_msg(respond, handle, GEN_RESP_MODEL_READY, 0, NULL);
        } else {
            lv2_log_error(&self->logger, "dgx-music generator: %s\n", self->model_error);
            st = respond_msg(respond, handle, GEN_RESP_MODEL_ERROR, 0, NULL);
        }
        break;
    case GEN_WORK_LOG: {
        const char *text = (const char *)data + sizeof m;
        int len = (int)(size - sizeof m);
        lv2_log_error(&self->logger, "dgx-music generator: %.*s\n", len, text);
        break;
    }
    }
    pthread_mutex_unlock(&self->nonrt_lock);
    return st;
}

void gen_worker_cleanup(gen_plugin *self)
{
    for (int i = 0; i < GEN_REQUESTS; i++) {
        dgxm_job_release(self->slots[i].job);
        self->slots[i].job = NULL;
    }
    dgxm_engine_release(self->engine);
    self->engine = NULL;
}

/* ---- audio thread --------------------------------------------------------------------------- */

static void take_ready(gen_plugin *self, int slot, gen_take *t)
{
    gen_request *r = &self->slots[slot];
    if (r->error[0])
        gen_push_note(self, true, r->error); /* the take file could not be written */
    if (self->take_count == GEN_MAX_TAKES) { /* generate refuses first; never leak */
        gen_message m = { .type = GEN_WORK_FREE_TAKE, .ptr = t };
        gen_schedule(self, &m);
    } else {
        self->takes[self->take_count++] = t;
        if (!r->retired) {
            self->current = self->take_count - 1;
            self->last_state = 0; /* report Ready */
        }
        self->last_seed = t->settings.seed;
        self->state_changed = true;
        gen_announce_takes(self);
    }
    if (self->active == slot)
        self->active = -1;
    gen_message m = { .type = GEN_WORK_RELEASE_JOB, .ptr = r->job };
    r->job = NULL;
    gen_schedule(self, &m);
    r->phase = GEN_SLOT_FREE;
    gen_publish(self);
}

LV2_Worker_Status gen_work_response(LV2_Handle instance, uint32_t size, const void *data)
{
    gen_plugin *self = instance;
    if (size < sizeof(gen_message))
        return LV2_WORKER_ERR_UNKNOWN;
    gen_message m;
    memcpy(&m, data, sizeof m);
    gen_request *r = &self->slots[m.slot >= 0 && m.slot < GEN_REQUESTS ? m.slot : 0];
    switch ((gen_response_type)m.type) {
    case GEN_RESP_JOB_STARTED:
        r->phase = GEN_SLOT_RUNNING;
        if (r->cancel || r->retired)
            dgxm_job_cancel(r->job);
        if (!r->retired)
            self->last_seed = r->seed_used;
        break;
    case GEN_RESP_FAILED:
        if (!r->retired)
            gen_push_note(self, true, r->error);
        if (self->active == m.slot) {
            self->active = -1;
            self->last_state = self->uris.Failed;
            self->playing = false;
        }
        r->phase = GEN_SLOT_FREE;
        break;
    case GEN_RESP_TAKE_READY: take_ready(self, m.slot, m.ptr); break;
    case GEN_RESP_DISCARDED:
        if (self->active == m.slot) {
            self->active = -1;
            self->last_state = self->uris.Cancelled;
        }
        r->phase = GEN_SLOT_FREE;
        break;
    case GEN_RESP_PROMPT_READ:
        self->prompt_file_busy = false;
        if (self->prompt_file_error[0]) {
            gen_push_note(self, true, self->prompt_file_error);
        } else if (strcmp(self->settings.prompt, self->prompt_file_text) != 0) {
            memcpy(self->settings.prompt, self->prompt_file_text, sizeof self->settings.prompt);
            self->announce_params |= GEN_ANNOUNCE_PROMPT;
            gen_cancel_active(self); /* a new prompt stops the job in flight */
        }
        gen_publish(self);
        break;
    case GEN_RESP_MODEL_READY: self->model_busy = false; break;
    case GEN_RESP_MODEL_ERROR:
        self->model_busy = false;
        gen_push_note(self, true, self->model_error);
        break;
    }
    return LV2_WORKER_SUCCESS;
}
