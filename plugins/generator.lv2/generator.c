/* The generator plugin: a text-prompted MusicGen instrument (urn:dgx-music:generator).
 *
 * Reads top to bottom: helpers shared with the other files (audio thread), playback, the
 * notify flush, connect_port, instantiate (every allocation and feature check), run (only
 * preallocated memory), cleanup, extension_data, the descriptor. Events are in messages.c, the
 * worker in worker.c, state in state.c. */
#include "notify.h"
#include "plugin.h"
#include "sync.h"
#include "takes.h"

#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/core/lv2_util.h>
#include <lv2/options/options.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- shared helpers (audio thread) --------------------------------------------------------- */

void gen_publish(gen_plugin *self)
{
    gen_published *p = &self->pub;
    unsigned seq = atomic_load_explicit(&p->seq, memory_order_relaxed);
    atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memcpy(p->settings.prompt, self->settings.prompt, sizeof p->settings.prompt);
    memcpy(p->settings.model, self->settings.model, sizeof p->settings.model);
    memcpy(p->prompt_file, self->prompt_file, sizeof p->prompt_file);
    for (int i = 0; i < GEN_MAX_TAKES; i++)
        atomic_store_explicit(&p->takes[i], i < self->take_count ? self->takes[i] : NULL,
                              memory_order_relaxed);
    p->count = self->take_count;
    p->current = self->current;
    p->last_seed = self->last_seed;
    atomic_store_explicit(&p->seq, seq + 2, memory_order_release);
}

/* Bounded copy that always terminates (snprintf is not for the audio thread). */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void gen_push_note(gen_plugin *self, bool error, const char *text)
{
    if (self->note_count == GEN_NOTES_MAX)
        return; /* the log still has it; the UI gets the most recent burst */
    copy_text(self->notes[self->note_count], GEN_MESSAGE_MAX, text);
    self->note_is_error[self->note_count++] = error;
}

void gen_error_rt(gen_plugin *self, const char *text)
{
    gen_push_note(self, true, text);
    if (self->deferred_logs < 4) {
        copy_text(self->deferred_log[self->deferred_logs], GEN_MESSAGE_MAX, text);
        gen_message m = { .type = GEN_WORK_LOG, .slot = self->deferred_logs++ };
        gen_schedule(self, &m);
    }
}

void gen_announce_takes(gen_plugin *self)
{
    self->announce_next = -2; /* the TAKES header first, then each TAKE */
}

void gen_cancel_active(gen_plugin *self)
{
    if (self->active < 0)
        return;
    gen_request *r = &self->slots[self->active];
    r->cancel = r->retired = true;
    if (r->phase == GEN_SLOT_RUNNING)
        dgxm_job_cancel(r->job); /* an atomic flag; seen within one decoder step */
    self->active = -1;
    if (self->play_job)
        self->playing = false;
    self->play_job = false;
    self->last_state = self->uris.Cancelled;
}

bool gen_schedule(gen_plugin *self, const gen_message *m)
{
    if (self->deferred_count == (int)(sizeof self->deferred / sizeof self->deferred[0])) {
        gen_push_note(self, true, "worker queue full: a request was dropped");
        return false;
    }
    self->deferred[self->deferred_count++] = *m;
    return true;
}

/* Hands queued messages to the host. A host may run work() and deliver its response inside
 * schedule_work (Ardour while exporting), which may queue more: the loop takes those too. */
static void flush_deferred(gen_plugin *self)
{
    for (int i = 0; i < self->deferred_count; i++) {
        gen_message m = self->deferred[i];
        uint8_t buf[sizeof(gen_message) + GEN_MESSAGE_MAX];
        uint32_t size = sizeof m;
        memcpy(buf, &m, sizeof m);
        if (m.type == GEN_WORK_LOG) {
            const char *text = self->deferred_log[m.slot];
            size_t n = strnlen(text, GEN_MESSAGE_MAX - 1);
            memcpy(buf + sizeof m, text, n);
            size += (uint32_t)n;
        }
        if (self->schedule->schedule_work(self->schedule->handle, size, buf) != LV2_WORKER_SUCCESS)
            gen_push_note(self, true, "the host's worker refused a request (queue full?)");
    }
    self->deferred_count = 0;
    self->deferred_logs = 0;
}

/* ---- playback (audio thread) ---------------------------------------------------------------- */

typedef struct source {
    const float *audio;  /* interleaved stereo */
    uint64_t avail, len; /* frames readable now; frames in all */
    uint64_t loop;       /* loop length in frames, 0 for a free take */
    double loop_beats;   /* loop length in beats */
} source;

/* The active slot's job when it can be read: running or ending, or submitted by a worker that
 * ran inside this run() (its response follows the block); NULL otherwise. */
static dgxm_job *active_job(gen_plugin *self)
{
    if (self->active < 0)
        return NULL;
    gen_request *r = &self->slots[self->active];
    bool known = r->phase == GEN_SLOT_RUNNING || r->phase == GEN_SLOT_ENDING ||
                 (r->phase == GEN_SLOT_SUBMITTING &&
                  atomic_load_explicit(&r->started, memory_order_acquire));
    return known ? r->job : NULL;
}

static bool find_source(gen_plugin *self, source *src)
{
    memset(src, 0, sizeof *src);
    if (self->play_job && self->active >= 0) {
        gen_request *r = &self->slots[self->active];
        if (!active_job(self))
            return false;
        dgxm_ring *ring = dgxm_job_ring(r->job);
        /* the ring keeps the whole clip (worker.c checks): rows are frames, never consumed */
        src->audio = dgxm_ring_storage(ring);
        src->avail = dgxm_ring_total_written(ring);
        src->loop = r->loop_frames;
        src->len = src->loop ? src->loop : r->total_frames;
        src->loop_beats = r->settings.bars * r->settings.beats_per_bar;
        return true;
    }
    if (self->current < 0 || !self->takes[self->current]->frames)
        return false;
    const gen_take *t = self->takes[self->current];
    src->audio = t->audio;
    src->avail = src->len = t->frames;
    src->loop = t->loop_frames;
    src->loop_beats = t->settings.bars * t->settings.beats_per_bar;
    return true;
}

/* Writes frames [from, to) of the outputs. */
static void render(gen_plugin *self, uint32_t from, uint32_t to)
{
    float *l = self->out[0], *r = self->out[1];
    float g = self->gain;
    const float target = self->gain_target, k = self->gain_coef;
    source src;
    bool have = self->playing && find_source(self, &src);
    double beats_per_frame = self->bpm / 60.0 / self->rate * self->speed;
    if (have && src.loop) { /* synced: the loop's phase follows the host's bar position */
        bool rolling = self->have_tempo && self->speed != 0.0;
        uint64_t idx = rolling ? gen_sync_phase(self->beat_pos, src.loop_beats, src.loop) : 0;
        for (uint32_t i = from; i < to; i++) {
            g += (target - g) * k;
            float a = 0, b = 0;
            if (rolling && idx < src.avail) {
                a = src.audio[idx * 2] * g, b = src.audio[idx * 2 + 1] * g;
            }
            l[i] = a, r[i] = b;
            if (++idx == src.loop)
                idx = 0;
        }
    } else if (have) { /* free: from the start to the end, waiting where audio is not in yet */
        uint64_t pos = self->pos;
        for (uint32_t i = from; i < to; i++) {
            g += (target - g) * k;
            float a = 0, b = 0;
            if (pos < src.avail && pos < src.len) {
                a = src.audio[pos * 2] * g, b = src.audio[pos * 2 + 1] * g;
                pos++;
            }
            l[i] = a, r[i] = b;
        }
        self->pos = pos;
        if (pos >= src.len)
            self->playing = false;
    } else {
        for (uint32_t i = from; i < to; i++) {
            g += (target - g) * k;
            l[i] = r[i] = 0.0f;
        }
    }
    if (fabsf(target - g) < 1e-6f) /* settle exactly: no denormal tail, unity stays exact */
        g = target;
    self->gain = g;
    self->beat_pos += beats_per_frame * (to - from);
    self->host_frame += self->speed * (to - from);
}

/* While the host freewheels (export), run() is not real time: wait, a millisecond at a time and
 * at most GEN_FREEWHEEL_WAIT seconds per block, for the audio this block plays, so an export
 * holds the music instead of silence. Never called otherwise. */
static void freewheel_wait(gen_plugin *self, uint32_t n)
{
    if (!self->playing || !self->play_job || !active_job(self))
        return;
    gen_request *r = &self->slots[self->active];
    if (r->phase == GEN_SLOT_ENDING)
        return;
    dgxm_ring *ring = dgxm_job_ring(r->job);
    uint64_t need = r->loop_frames ? r->total_frames : self->pos + n;
    if (need > r->total_frames)
        need = r->total_frames;
    const struct timespec ms = { 0, 1000000 };
    for (long waited = 0; waited < (long)(GEN_FREEWHEEL_WAIT * 1000); waited++) {
        dgxm_job_state st = dgxm_job_get_state(r->job);
        if (dgxm_ring_total_written(ring) >= need || st == DGXM_JOB_DONE || st == DGXM_JOB_FAILED ||
            st == DGXM_JOB_CANCELLED)
            return;
        nanosleep(&ms, NULL);
    }
}

/* ---- generation bookkeeping and notifications (audio thread) -------------------------------- */

/* Hands ended jobs to the worker: the active one to be finalised, retired ones to be dropped. */
static void poll_jobs(gen_plugin *self)
{
    for (int i = 0; i < GEN_REQUESTS; i++) {
        gen_request *r = &self->slots[i];
        if (r->phase != GEN_SLOT_RUNNING)
            continue;
        dgxm_job_state st = dgxm_job_get_state(r->job);
        if (st != DGXM_JOB_DONE && st != DGXM_JOB_FAILED && st != DGXM_JOB_CANCELLED)
            continue;
        bool active = i == self->active && !r->retired;
        if (active && st != DGXM_JOB_DONE) {
            self->play_job = false; /* the worker releases the job at once */
            self->playing = false;
        }
        gen_message m = { .type = active ? GEN_WORK_JOB_ENDED : GEN_WORK_DISCARD, .slot = i };
        if (gen_schedule(self, &m))
            r->phase = GEN_SLOT_ENDING;
    }
}

/* The STATE to report now, with fraction, frames and ETA of the active job. */
static LV2_URID current_state(gen_plugin *self, float *fraction, int64_t *frames, float *eta,
                              int64_t *seed)
{
    const gen_uris *u = &self->uris;
    *fraction = 0, *frames = 0, *eta = -1, *seed = self->last_seed;
    if (self->active < 0)
        return self->last_state ? self->last_state : (self->current >= 0 ? u->Ready : u->Idle);
    gen_request *r = &self->slots[self->active];
    if (r->phase == GEN_SLOT_SUBMITTING)
        return atomic_load(&self->loading) ? u->Loading : u->Queued;
    *seed = r->seed_used;
    dgxm_job_progress p;
    dgxm_job_get_progress(r->job, &p);
    *fraction = (float)p.fraction;
    *frames = (int64_t)p.frames_done;
    *eta = (float)p.eta_seconds;
    return p.state == DGXM_JOB_QUEUED ? u->Queued : u->Generating;
}

static void flush_notifications(gen_plugin *self, uint32_t n_samples)
{
    const gen_uris *u = &self->uris;
    int kept = 0;
    for (int i = 0; i < self->note_count; i++) {
        if (kept == 0 &&
            gen_notify_message(self, self->note_is_error[i] ? u->Error : u->Notice, self->notes[i]))
            continue;
        if (i != kept) { /* no room: keep it for the next block */
            memcpy(self->notes[kept], self->notes[i], GEN_MESSAGE_MAX);
            self->note_is_error[kept] = self->note_is_error[i];
        }
        kept++;
    }
    self->note_count = kept;

    if ((self->announce_params & GEN_ANNOUNCE_PROMPT) &&
        gen_notify_param(self, u->prompt, u->atom_String, self->settings.prompt))
        self->announce_params &= ~(unsigned)GEN_ANNOUNCE_PROMPT;
    if ((self->announce_params & GEN_ANNOUNCE_PROMPT_FILE) &&
        gen_notify_param(self, u->prompt_file, u->atom_Path, self->prompt_file))
        self->announce_params &= ~(unsigned)GEN_ANNOUNCE_PROMPT_FILE;
    if ((self->announce_params & GEN_ANNOUNCE_MODEL) &&
        gen_notify_param(self, u->model, u->atom_Path, self->settings.model))
        self->announce_params &= ~(unsigned)GEN_ANNOUNCE_MODEL;

    if (self->announce_next == -2 && gen_notify_takes(self, self->take_count, self->current))
        self->announce_next = 0;
    while (self->announce_next >= 0 && self->announce_next < self->take_count &&
           gen_notify_take(self, self->announce_next, self->takes[self->announce_next]))
        self->announce_next++;
    if (self->announce_next >= self->take_count)
        self->announce_next = -1;

    if (self->state_changed && gen_notify_state_changed(self))
        self->state_changed = false;

    float fraction, eta;
    int64_t frames, seed;
    LV2_URID state = current_state(self, &fraction, &frames, &eta, &seed);
    self->progress_clock += n_samples;
    bool due =
        self->active >= 0 && self->progress_clock >= (uint64_t)(self->rate / GEN_PROGRESS_HZ);
    if ((state != self->reported_state || due) &&
        gen_notify_progress(self, state, fraction, frames, eta, seed)) {
        self->reported_state = state;
        self->progress_clock = 0;
    }
}

/* ---- LV2 entry points ----------------------------------------------------------------------- */

/* Audio thread (or any, before activation). */
static void connect_port(LV2_Handle instance, uint32_t port, void *data)
{
    gen_plugin *self = instance;
    switch (port) {
    case DGXM_GEN_PORT_CONTROL: self->control = data; break;
    case DGXM_GEN_PORT_NOTIFY: self->notify = data; break;
    case DGXM_GEN_PORT_OUT_L: self->out[0] = data; break;
    case DGXM_GEN_PORT_OUT_R: self->out[1] = data; break;
    default:
        if (port < DGXM_GEN_N_PORTS)
            self->port[port] = data;
        break;
    }
}

/* Instantiation thread: every allocation and feature check; fails cleanly with a log line
 * naming the missing feature. No model is loaded here (hosts instantiate while scanning). */
static LV2_Handle instantiate(const LV2_Descriptor *descriptor, double rate, const char *path,
                              const LV2_Feature *const *features)
{
    (void)descriptor, (void)path;
    gen_plugin *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    const char *missing = lv2_features_query(
        features, LV2_LOG__log, &self->logger.log, false, LV2_URID__map, &self->map, true,
        LV2_URID__unmap, &self->unmap, false, LV2_WORKER__schedule, &self->schedule, true,
        LV2_STATE__makePath, &self->make_path, false, LV2_STATE__freePath, &self->free_path, false,
        NULL);
    lv2_log_logger_set_map(&self->logger, self->map);
    if (missing) {
        lv2_log_error(&self->logger,
                      "dgx-music generator: the host lacks the required feature %s\n", missing);
        free(self);
        return NULL;
    }
    if (!(rate >= 8000 && rate <= 384000)) {
        lv2_log_error(&self->logger,
                      "dgx-music generator: sample rate %g Hz is outside 8000 .. "
                      "384000 Hz\n",
                      rate);
        free(self);
        return NULL;
    }
    gen_uris_map(&self->uris, self->map);
    lv2_atom_forge_init(&self->forge, self->map);
    pthread_mutex_init(&self->nonrt_lock, NULL);
    self->rate = rate;
    gen_settings_defaults(&self->settings);
    self->current = -1;
    self->active = -1;
    self->announce_next = -1;
    self->gain = self->gain_target = 1.0f;
    self->last_gain_db = 0.0f;
    self->gain_coef = (float)(1.0 - exp(-1.0 / (0.020 * rate))); /* 20 ms */
    self->beats_per_bar = 4.0;
    self->speed = 1.0;
    gen_publish(self);
    return self;
}

/* Audio thread. The numeric settings come from the control ports every block. */
static void read_ports(gen_plugin *self)
{
    gen_settings *s = &self->settings;
    const float *const *p = self->port;
    float duration = p[DGXM_GEN_PORT_DURATION] ? *p[DGXM_GEN_PORT_DURATION] : 8.0f;
    s->sync = p[DGXM_GEN_PORT_SYNC] && *p[DGXM_GEN_PORT_SYNC] > 0.5f;
    s->seconds = duration;
    s->bars = (int)lrintf(duration);
    if (p[DGXM_GEN_PORT_GUIDANCE])
        s->guidance = *p[DGXM_GEN_PORT_GUIDANCE];
    if (p[DGXM_GEN_PORT_TEMPERATURE])
        s->temperature = *p[DGXM_GEN_PORT_TEMPERATURE];
    if (p[DGXM_GEN_PORT_TOP_K])
        s->top_k = (int)lrintf(*p[DGXM_GEN_PORT_TOP_K]);
    if (p[DGXM_GEN_PORT_SEED]) {
        float seed = *p[DGXM_GEN_PORT_SEED];
        s->seed = seed < 0 ? -1 : (int64_t)lrintf(seed);
    }
    float db = p[DGXM_GEN_PORT_GAIN] ? *p[DGXM_GEN_PORT_GAIN] : 0.0f;
    if (db != self->last_gain_db) {
        self->last_gain_db = db;
        /* -90 dB and below is silence; NaN or absurd values are clamped, never passed on */
        db = db > 24.0f ? 24.0f : db;
        self->gain_target = !(db > -90.0f) ? 0.0f : powf(10.0f, db / 20.0f);
    }
}

/* Audio thread: only preallocated memory, atomics and forge writes. */
static void run(LV2_Handle instance, uint32_t n_samples)
{
    gen_plugin *self = instance;
    if (!self->notify || !self->out[0] || !self->out[1])
        return;
    read_ports(self);
    gen_notify_begin(self);
    flush_deferred(self);
    poll_jobs(self);

    const bool freewheel =
        self->port[DGXM_GEN_PORT_FREEWHEEL] && *self->port[DGXM_GEN_PORT_FREEWHEEL] > 0.5f;
    uint32_t done = 0;
    if (self->control) {
        LV2_ATOM_SEQUENCE_FOREACH(self->control, ev)
        {
            uint32_t at = ev->time.frames < n_samples ? (uint32_t)ev->time.frames : n_samples;
            if (at > done) {
                if (freewheel)
                    freewheel_wait(self, at - done);
                render(self, done, at);
                done = at;
            }
            gen_handle_event(self, ev);
            /* Exporting: hand a new job to the host now. Ardour then runs work() at once, so
             * the take starts on the note's frame rather than a block later. */
            if (freewheel && self->deferred_count)
                flush_deferred(self);
        }
    }
    if (freewheel)
        freewheel_wait(self, n_samples - done);
    render(self, done, n_samples);
    flush_deferred(self);
    flush_notifications(self, n_samples);
}

/* Instantiation thread: no other call of this instance runs. */
static void cleanup(LV2_Handle instance)
{
    gen_plugin *self = instance;
    /* messages never handed to the host still own a job or a take */
    for (int i = 0; i < self->deferred_count; i++) {
        if (self->deferred[i].type == GEN_WORK_RELEASE_JOB)
            dgxm_job_release(self->deferred[i].ptr);
        else if (self->deferred[i].type == GEN_WORK_FREE_TAKE)
            gen_take_free(self->deferred[i].ptr);
    }
    gen_worker_cleanup(self);
    for (int i = 0; i < self->take_count; i++)
        gen_take_free(self->takes[i]);
    pthread_mutex_destroy(&self->nonrt_lock);
    free(self);
}

static const void *extension_data(const char *uri)
{
    static const LV2_Worker_Interface worker = { gen_work, gen_work_response, NULL };
    if (!strcmp(uri, LV2_WORKER__interface))
        return &worker;
    if (!strcmp(uri, LV2_STATE__interface))
        return &gen_state_interface;
    return NULL;
}

static const LV2_Descriptor descriptor = {
    DGXM_GEN_URI, instantiate, connect_port, NULL, run, NULL, cleanup, extension_data,
};

/* The one exported symbol (the link's version script hides everything else). */
LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{
    return index == 0 ? &descriptor : NULL;
}
