/* The generator's test host; see plugin_host.h. */
#include "plugin_host.h"

#include "protocol.h"

#include <lilv/lilv.h>
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/log/log.h>
#include <lv2/midi/midi.h>
#include <lv2/options/options.h>
#include <lv2/parameters/parameters.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/time/time.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define N_PORTS      12
#define CONTROL_SIZE 65536
#define NOTIFY_SIZE  65536
#define MSG_MAX      2048
#define RING_SLOTS   64

/* ---- URID map (not real-time: only instantiate, save and restore map) ------------------------ */

static struct {
    pthread_mutex_t lock;
    char *uris[4096];
    int count;
} urids = { PTHREAD_MUTEX_INITIALIZER, { 0 }, 0 };

static LV2_URID map_uri(LV2_URID_Map_Handle handle, const char *uri)
{
    (void)handle;
    pthread_mutex_lock(&urids.lock);
    LV2_URID id = 0;
    for (int i = 0; i < urids.count && !id; i++)
        if (!strcmp(urids.uris[i], uri))
            id = (LV2_URID)i + 1;
    if (!id && urids.count < 4096) {
        urids.uris[urids.count++] = strdup(uri);
        id = (LV2_URID)urids.count;
    }
    pthread_mutex_unlock(&urids.lock);
    return id;
}

static const char *unmap_uri(LV2_URID_Unmap_Handle handle, LV2_URID id)
{
    (void)handle;
    pthread_mutex_lock(&urids.lock);
    const char *uri = id >= 1 && (int)id <= urids.count ? urids.uris[id - 1] : NULL;
    pthread_mutex_unlock(&urids.lock);
    return uri;
}

/* ---- log ------------------------------------------------------------------------------------- */

static char log_text[65536];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static int log_vprintf(LV2_Log_Handle handle, LV2_URID type, const char *fmt, va_list ap)
{
    (void)handle, (void)type;
    pthread_mutex_lock(&log_lock);
    size_t n = strlen(log_text);
    int r = vsnprintf(log_text + n, sizeof log_text - n, fmt, ap);
    pthread_mutex_unlock(&log_lock);
    return r;
}

static int log_printf(LV2_Log_Handle handle, LV2_URID type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = log_vprintf(handle, type, fmt, ap);
    va_end(ap);
    return r;
}

const char *ph_log(void)
{
    return log_text;
}

/* ---- lock-free message rings between the audio thread and the worker ------------------------ */

typedef struct msg_ring {
    struct {
        uint32_t size;
        uint8_t data[MSG_MAX];
    } slots[RING_SLOTS];
    atomic_uint head, tail; /* written / read counts */
} msg_ring;

static bool ring_push(msg_ring *r, uint32_t size, const void *data)
{
    unsigned head = atomic_load_explicit(&r->head, memory_order_relaxed);
    unsigned tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail == RING_SLOTS || size > MSG_MAX)
        return false;
    r->slots[head % RING_SLOTS].size = size;
    memcpy(r->slots[head % RING_SLOTS].data, data, size);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    return true;
}

/* The next message, or NULL; ring_pop_done releases it. */
static const uint8_t *ring_peek(msg_ring *r, uint32_t *size)
{
    unsigned tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (atomic_load_explicit(&r->head, memory_order_acquire) == tail)
        return NULL;
    *size = r->slots[tail % RING_SLOTS].size;
    return r->slots[tail % RING_SLOTS].data;
}

static void ring_pop_done(msg_ring *r)
{
    atomic_fetch_add_explicit(&r->tail, 1, memory_order_release);
}

/* ---- the host -------------------------------------------------------------------------------- */

struct ph_host {
    ph_options o;
    LilvWorld *world;
    const LilvPlugin *plugin;
    LilvInstance *instance;
    const LV2_Worker_Interface *iface;
    /* ports */
    float controls[N_PORTS];
    LV2_Atom_Sequence *control, *notify;
    float *out_l, *out_r;
    LV2_Atom_Forge forge;
    LV2_Atom_Forge_Frame seq_frame;
    /* features */
    LV2_URID_Map map;
    LV2_URID_Unmap unmap;
    LV2_Log_Log log;
    LV2_Worker_Schedule schedule;
    LV2_State_Make_Path make_path;
    LV2_Options_Option options[5];
    int32_t max_block;
    float rate_f;
    const LV2_Feature *features[8];
    LV2_Feature f_map, f_unmap, f_log, f_schedule, f_make_path, f_options;
    char scratch[4096];
    /* worker */
    msg_ring requests, responses;
    sem_t wake;
    pthread_t thread;
    atomic_bool stop;
    bool has_thread;
    void (*enter)(void), (*leave)(void);
    ph_notes notes;
};

static const char *fragment(const char *uri)
{
    const char *hash = uri ? strrchr(uri, '#') : NULL;
    return hash ? hash + 1 : (uri ? uri : "");
}

int ph_state_index(const char *f)
{
    static const char *names[] = { "Idle",  "Loading", "Queued",   "Generating",
                                   "Ready", "Failed",  "Cancelled" };
    for (int i = 0; i < 7; i++)
        if (!strcmp(f, names[i]))
            return i;
    return 7;
}

static LV2_Worker_Status respond(LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
    ph_host *h = handle;
    return ring_push(&h->responses, size, data) ? LV2_WORKER_SUCCESS : LV2_WORKER_ERR_NO_SPACE;
}

static void *worker_main(void *arg)
{
    ph_host *h = arg;
    for (;;) {
        sem_wait(&h->wake);
        uint32_t size;
        const uint8_t *data;
        while ((data = ring_peek(&h->requests, &size))) { /* drained before stopping too */
            h->iface->work(h->instance->lv2_handle, respond, h, size, data);
            ring_pop_done(&h->requests);
        }
        if (atomic_load(&h->stop))
            return NULL;
    }
}

/* Called from run(): lock-free in the threaded mode. */
static LV2_Worker_Status schedule_work(LV2_Worker_Schedule_Handle handle, uint32_t size,
                                       const void *data)
{
    ph_host *h = handle;
    if (h->o.sync_worker) /* as Ardour while exporting: at once, responses after run() */
        return h->iface->work(h->instance->lv2_handle, respond, h, size, data);
    if (!ring_push(&h->requests, size, data))
        return LV2_WORKER_ERR_NO_SPACE;
    sem_post(&h->wake);
    return LV2_WORKER_SUCCESS;
}

static char *make_path(LV2_State_Make_Path_Handle handle, const char *path)
{
    ph_host *h = handle;
    mkdir(h->scratch, 0755);
    char *out = NULL;
    if (asprintf(&out, "%s/%s", h->scratch, path) < 0)
        return NULL;
    return out;
}

static void begin_events(ph_host *h)
{
    lv2_atom_forge_set_buffer(&h->forge, (uint8_t *)h->control, CONTROL_SIZE);
    lv2_atom_forge_sequence_head(&h->forge, &h->seq_frame, 0);
}

ph_host *ph_new(const ph_options *o)
{
    ph_host *h = calloc(1, sizeof *h);
    h->o = *o;
    if (!h->o.rate)
        h->o.rate = 48000;
    if (!h->o.block)
        h->o.block = 256;
    char bundle_dir[4096];
    const char *build = getenv("DGXM_BUILD_DIR");
    snprintf(bundle_dir, sizeof bundle_dir, "%s/plugins", build ? build : "build");
    setenv("LV2_PATH", bundle_dir, 1);
    h->world = lilv_world_new();
    lilv_world_load_all(h->world);
    LilvNode *uri = lilv_new_uri(h->world, DGXM_GEN_URI);
    h->plugin = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(h->world), uri);
    lilv_node_free(uri);
    if (!h->plugin) {
        lilv_world_free(h->world);
        free(h);
        return NULL;
    }
    h->map = (LV2_URID_Map){ NULL, map_uri };
    h->unmap = (LV2_URID_Unmap){ NULL, unmap_uri };
    h->log = (LV2_Log_Log){ h, log_printf, log_vprintf };
    h->schedule = (LV2_Worker_Schedule){ h, schedule_work };
    h->make_path = (LV2_State_Make_Path){ h, make_path };
    snprintf(h->scratch, sizeof h->scratch, "%s/dgxm-ph-%d-%p",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(), (void *)h);
    h->max_block = (int32_t)h->o.block;
    h->rate_f = (float)h->o.rate;
    LV2_URID atom_int = map_uri(NULL, LV2_ATOM__Int), atom_float = map_uri(NULL, LV2_ATOM__Float);
    h->options[0] = (LV2_Options_Option){
        LV2_OPTIONS_INSTANCE, 0,          map_uri(NULL, LV2_PARAMETERS__sampleRate),
        sizeof(float),        atom_float, &h->rate_f
    };
    h->options[1] = (LV2_Options_Option){
        LV2_OPTIONS_INSTANCE, 0,        map_uri(NULL, LV2_BUF_SIZE__maxBlockLength),
        sizeof(int32_t),      atom_int, &h->max_block
    };
    h->options[2] = (LV2_Options_Option){
        LV2_OPTIONS_INSTANCE, 0,        map_uri(NULL, LV2_BUF_SIZE__minBlockLength),
        sizeof(int32_t),      atom_int, &h->max_block
    };
    h->options[3] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL };
    h->f_map = (LV2_Feature){ LV2_URID__map, &h->map };
    h->f_unmap = (LV2_Feature){ LV2_URID__unmap, &h->unmap };
    h->f_log = (LV2_Feature){ LV2_LOG__log, &h->log };
    h->f_schedule = (LV2_Feature){ LV2_WORKER__schedule, &h->schedule };
    h->f_make_path = (LV2_Feature){ LV2_STATE__makePath, &h->make_path };
    h->f_options = (LV2_Feature){ LV2_OPTIONS__options, h->options };
    int n = 0;
    h->features[n++] = &h->f_map;
    h->features[n++] = &h->f_unmap;
    h->features[n++] = &h->f_log;
    if (!h->o.no_worker)
        h->features[n++] = &h->f_schedule;
    h->features[n++] = &h->f_make_path;
    h->features[n++] = &h->f_options;
    h->features[n] = NULL;
    h->instance = lilv_plugin_instantiate(h->plugin, h->o.rate, h->features);
    if (!h->instance) {
        lilv_world_free(h->world);
        free(h);
        return NULL;
    }
    h->iface = lilv_instance_get_extension_data(h->instance, LV2_WORKER__interface);
    h->control = calloc(1, CONTROL_SIZE);
    h->notify = calloc(1, NOTIFY_SIZE);
    h->out_l = calloc(h->o.block, sizeof(float));
    h->out_r = calloc(h->o.block, sizeof(float));
    lv2_atom_forge_init(&h->forge, &h->map);
    const float defaults[N_PORTS] = { 0, 0, 0, 0, 8.0f, 3.0f, 1.0f, 250.0f, -1.0f, 0, 0, 0 };
    memcpy(h->controls, defaults, sizeof defaults);
    lilv_instance_connect_port(h->instance, DGXM_GEN_PORT_CONTROL, h->control);
    lilv_instance_connect_port(h->instance, DGXM_GEN_PORT_NOTIFY, h->notify);
    lilv_instance_connect_port(h->instance, DGXM_GEN_PORT_OUT_L, h->out_l);
    lilv_instance_connect_port(h->instance, DGXM_GEN_PORT_OUT_R, h->out_r);
    for (uint32_t i = DGXM_GEN_PORT_DURATION; i < N_PORTS; i++)
        lilv_instance_connect_port(h->instance, i, &h->controls[i]);
    sem_init(&h->wake, 0, 0);
    if (!h->o.sync_worker) {
        pthread_create(&h->thread, NULL, worker_main, h);
        h->has_thread = true;
    }
    lilv_instance_activate(h->instance);
    begin_events(h);
    ph_clear_notes(h);
    return h;
}

static void remove_dir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

void ph_free(ph_host *h)
{
    if (!h)
        return;
    lilv_instance_deactivate(h->instance);
    if (h->has_thread) {
        atomic_store(&h->stop, true);
        sem_post(&h->wake);
        pthread_join(h->thread, NULL);
    }
    lilv_instance_free(h->instance);
    sem_destroy(&h->wake);
    lilv_world_free(h->world);
    remove_dir(h->scratch);
    free(h->control);
    free(h->notify);
    free(h->out_l);
    free(h->out_r);
    free(h);
}

const char *ph_scratch(ph_host *h)
{
    return h->scratch;
}

uint32_t ph_block(const ph_host *h)
{
    return h->o.block;
}

void ph_set_port(ph_host *h, uint32_t index, float value)
{
    h->controls[index] = value;
}

float ph_get_port(const ph_host *h, uint32_t index)
{
    return h->controls[index];
}

void ph_set_audio_hooks(ph_host *h, void (*enter)(void), void (*leave)(void))
{
    h->enter = enter;
    h->leave = leave;
}

void ph_patch_set_bytes(ph_host *h, const char *property_uri, const char *value, uint32_t len)
{
    LV2_Atom_Forge_Frame frame;
    lv2_atom_forge_frame_time(&h->forge, 0);
    lv2_atom_forge_object(&h->forge, &frame, 0, map_uri(NULL, LV2_PATCH__Set));
    lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_PATCH__property));
    lv2_atom_forge_urid(&h->forge, map_uri(NULL, property_uri));
    lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_PATCH__value));
    lv2_atom_forge_string(&h->forge, value, len);
    lv2_atom_forge_pop(&h->forge, &frame);
}

void ph_patch_set(ph_host *h, const char *property_uri, bool path, const char *value)
{
    LV2_Atom_Forge_Frame frame;
    lv2_atom_forge_frame_time(&h->forge, 0);
    lv2_atom_forge_object(&h->forge, &frame, 0, map_uri(NULL, LV2_PATCH__Set));
    lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_PATCH__property));
    lv2_atom_forge_urid(&h->forge, map_uri(NULL, property_uri));
    lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_PATCH__value));
    if (path)
        lv2_atom_forge_path(&h->forge, value, (uint32_t)strlen(value));
    else
        lv2_atom_forge_string(&h->forge, value, (uint32_t)strlen(value));
    lv2_atom_forge_pop(&h->forge, &frame);
}

void ph_command(ph_host *h, const char *type_uri)
{
    LV2_Atom_Forge_Frame frame;
    lv2_atom_forge_frame_time(&h->forge, 0);
    lv2_atom_forge_object(&h->forge, &frame, 0, map_uri(NULL, type_uri));
    lv2_atom_forge_pop(&h->forge, &frame);
}

void ph_take_command(ph_host *h, const char *type_uri, int take)
{
    LV2_Atom_Forge_Frame frame;
    lv2_atom_forge_frame_time(&h->forge, 0);
    lv2_atom_forge_object(&h->forge, &frame, 0, map_uri(NULL, type_uri));
    lv2_atom_forge_key(&h->forge, map_uri(NULL, DGXM_GEN__take));
    lv2_atom_forge_int(&h->forge, take);
    lv2_atom_forge_pop(&h->forge, &frame);
}

void ph_note_on(ph_host *h, uint32_t at, uint8_t note)
{
    uint8_t msg[3] = { LV2_MIDI_MSG_NOTE_ON, note, 100 };
    lv2_atom_forge_frame_time(&h->forge, at);
    lv2_atom_forge_atom(&h->forge, 3, map_uri(NULL, LV2_MIDI__MidiEvent));
    lv2_atom_forge_write(&h->forge, msg, 3);
}

static void position(ph_host *h, double bpm, double beats_per_bar, int64_t bar, double bar_beat,
                     double speed, int64_t at_frame)
{
    LV2_Atom_Forge_Frame frame;
    lv2_atom_forge_frame_time(&h->forge, 0);
    lv2_atom_forge_object(&h->forge, &frame, 0, map_uri(NULL, LV2_TIME__Position));
    if (at_frame >= 0) {
        lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_TIME__frame));
        lv2_atom_forge_long(&h->forge, at_frame);
    }
    lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_TIME__beatsPerMinute));
    lv2_atom_forge_float(&h->forge, (float)bpm);
    lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_TIME__beatsPerBar));
    lv2_atom_forge_float(&h->forge, (float)beats_per_bar);
    lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_TIME__bar));
    lv2_atom_forge_long(&h->forge, bar);
    lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_TIME__barBeat));
    lv2_atom_forge_float(&h->forge, (float)bar_beat);
    lv2_atom_forge_key(&h->forge, map_uri(NULL, LV2_TIME__speed));
    lv2_atom_forge_float(&h->forge, (float)speed);
    lv2_atom_forge_pop(&h->forge, &frame);
}

void ph_position(ph_host *h, double bpm, double beats_per_bar, int64_t bar, double bar_beat,
                 double speed)
{
    position(h, bpm, beats_per_bar, bar, bar_beat, speed, -1);
}

void ph_position_frame(ph_host *h, double bpm, double beats_per_bar, int64_t bar, double bar_beat,
                       double speed, int64_t frame)
{
    position(h, bpm, beats_per_bar, bar, bar_beat, speed, frame);
}

/* ---- reading the notify port ----------------------------------------------------------------- */

static void append_text(char *dst, size_t size, const char *text)
{
    size_t n = strlen(dst);
    snprintf(dst + n, size - n, "%s%s", n ? " | " : "", text);
}

static const LV2_Atom *get(const LV2_Atom_Object *obj, const char *key_uri)
{
    const LV2_Atom *v = NULL;
    lv2_atom_object_get(obj, map_uri(NULL, key_uri), &v, 0);
    return v;
}

static int64_t num_i(const LV2_Atom *a)
{
    if (!a)
        return -999;
    if (a->size == 8)
        return ((const LV2_Atom_Long *)a)->body;
    return ((const LV2_Atom_Int *)a)->body;
}

static float num_f(const LV2_Atom *a)
{
    return a ? ((const LV2_Atom_Float *)a)->body : -999.0f;
}

static const char *str(const LV2_Atom *a)
{
    return a ? (const char *)LV2_ATOM_BODY_CONST(a) : "";
}

static void read_object(ph_host *h, const LV2_Atom_Object *obj)
{
    ph_notes *n = &h->notes;
    const char *type = unmap_uri(NULL, obj->body.otype);
    if (!type)
        return;
    if (!strcmp(type, DGXM_GEN__Progress)) {
        n->progress++;
        const LV2_Atom_URID *st = (const LV2_Atom_URID *)get(obj, DGXM_GEN__state);
        snprintf(n->state, sizeof n->state, "%s", st ? fragment(unmap_uri(NULL, st->body)) : "?");
        n->saw_state[ph_state_index(n->state)] = true;
        n->fraction = num_f(get(obj, DGXM_GEN__fraction));
        n->progress_seed = num_i(get(obj, DGXM_GEN__seed));
    } else if (!strcmp(type, DGXM_GEN__Takes)) {
        n->takes_count = (int)num_i(get(obj, DGXM_GEN__count));
        n->takes_current = (int)num_i(get(obj, DGXM_GEN__current));
    } else if (!strcmp(type, DGXM_GEN__Take)) {
        int i = (int)num_i(get(obj, DGXM_GEN__take));
        n->take_seen++;
        if (i >= 0 && i < 16) {
            n->take_seed[i] = num_i(get(obj, DGXM_GEN__seed));
            n->take_seconds[i] = num_f(get(obj, DGXM_GEN__seconds));
            n->take_bpm[i] = num_f(get(obj, DGXM_GEN__bpm));
            n->take_bars[i] = (int)num_i(get(obj, DGXM_GEN__bars));
            snprintf(n->take_file[i], sizeof n->take_file[i], "%s", str(get(obj, DGXM_GEN__file)));
            snprintf(n->take_prompt[i], sizeof n->take_prompt[i], "%s",
                     str(get(obj, DGXM_GEN__prompt)));
        }
    } else if (!strcmp(type, DGXM_GEN__Error)) {
        n->errors++;
        append_text(n->error, sizeof n->error, str(get(obj, DGXM_GEN__message)));
    } else if (!strcmp(type, DGXM_GEN__Notice)) {
        n->notices++;
        append_text(n->notice, sizeof n->notice, str(get(obj, DGXM_GEN__message)));
    } else if (!strcmp(type, LV2_PATCH__Set)) {
        const LV2_Atom_URID *prop = (const LV2_Atom_URID *)get(obj, LV2_PATCH__property);
        const char *p = prop ? unmap_uri(NULL, prop->body) : "";
        const char *v = str(get(obj, LV2_PATCH__value));
        if (!strcmp(p, DGXM_GEN__prompt))
            snprintf(n->prompt, sizeof n->prompt, "%s", v);
        else if (!strcmp(p, DGXM_GEN__prompt_file))
            snprintf(n->prompt_file, sizeof n->prompt_file, "%s", v);
        else if (!strcmp(p, DGXM_GEN__model))
            snprintf(n->model, sizeof n->model, "%s", v);
    } else if (!strcmp(type, LV2_STATE__StateChanged)) {
        n->state_changed++;
    }
}

void ph_run(ph_host *h, float *out_l, float *out_r)
{
    lv2_atom_forge_pop(&h->forge, &h->seq_frame);
    h->notify->atom.size = NOTIFY_SIZE - sizeof(LV2_Atom);
    h->notify->atom.type = 0;
    if (h->enter)
        h->enter();
    lilv_instance_run(h->instance, h->o.block);
    /* the worker's responses, in the audio thread after run() */
    uint32_t size;
    const uint8_t *data;
    while ((data = ring_peek(&h->responses, &size))) {
        h->iface->work_response(h->instance->lv2_handle, size, data);
        ring_pop_done(&h->responses);
    }
    if (h->leave)
        h->leave();
    LV2_ATOM_SEQUENCE_FOREACH(h->notify, ev)
    {
        if (ev->body.type == map_uri(NULL, LV2_ATOM__Object))
            read_object(h, (const LV2_Atom_Object *)&ev->body);
    }
    if (out_l)
        memcpy(out_l, h->out_l, h->o.block * sizeof(float));
    if (out_r)
        memcpy(out_r, h->out_r, h->o.block * sizeof(float));
    begin_events(h);
}

const ph_notes *ph_notes_get(const ph_host *h)
{
    return &h->notes;
}

void ph_clear_notes(ph_host *h)
{
    memset(&h->notes, 0, sizeof h->notes);
    h->notes.takes_count = h->notes.takes_current = -2;
}

bool ph_run_until_state(ph_host *h, const char *state, double seconds)
{
    const struct timespec ms = { 0, 1000000 };
    int idx = ph_state_index(state);
    for (long i = 0; i < (long)(seconds * 1000); i++) {
        ph_run(h, NULL, NULL);
        if (h->notes.saw_state[idx])
            return true;
        if (h->notes.errors)
            return false;
        nanosleep(&ms, NULL);
    }
    return false;
}

/* ---- state ----------------------------------------------------------------------------------- */

static const char *symbols[N_PORTS] = { "control",  "notify",   "out_l",       "out_r",
                                        "duration", "guidance", "temperature", "top_k",
                                        "seed",     "gain",     "sync",        "freewheel" };

/* Port values come back with the state, as a DAW restores them. */
static void set_port(const char *symbol, void *user, const void *value, uint32_t size,
                     uint32_t type)
{
    ph_host *h = user;
    for (int i = DGXM_GEN_PORT_DURATION; i < N_PORTS; i++)
        if (!strcmp(symbol, symbols[i]) && size == sizeof(float) &&
            type == map_uri(NULL, LV2_ATOM__Float))
            memcpy(&h->controls[i], value, sizeof(float));
}

static const void *get_port(const char *symbol, void *user, uint32_t *size, uint32_t *type)
{
    ph_host *h = user;
    for (int i = DGXM_GEN_PORT_DURATION; i < N_PORTS; i++)
        if (!strcmp(symbol, symbols[i])) {
            *size = sizeof(float);
            *type = map_uri(NULL, LV2_ATOM__Float);
            return &h->controls[i];
        }
    *size = 0;
    return NULL;
}

bool ph_save(ph_host *h, const char *dir)
{
    LilvState *state = lilv_state_new_from_instance(
        h->plugin, h->instance, &h->map, h->scratch, dir, dir, dir, get_port, h,
        LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, h->features);
    if (!state)
        return false;
    int r = lilv_state_save(h->world, &h->map, &h->unmap, state, NULL, dir, "state.ttl");
    lilv_state_free(state);
    return r == 0;
}

bool ph_restore(ph_host *h, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/state.ttl", dir);
    LilvState *state = lilv_state_new_from_file(h->world, &h->map, NULL, path);
    if (!state)
        return false;
    lilv_state_restore(state, h->instance, set_port, h, 0, h->features);
    lilv_state_free(state);
    return true;
}

bool ph_load_preset(ph_host *h, const char *uri)
{
    LilvNode *node = lilv_new_uri(h->world, uri);
    lilv_world_load_resource(h->world, node); /* the preset's own file (rdfs:seeAlso) */
    LilvState *state = lilv_state_new_from_world(h->world, &h->map, node);
    lilv_node_free(node);
    if (!state)
        return false;
    lilv_state_restore(state, h->instance, set_port, h, 0, h->features);
    lilv_state_free(state);
    return true;
}
