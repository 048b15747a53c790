/* LV2 state: the prompt, the parameters, the seed last used and every take (its FLAC file and
 * an info text). save() runs on a host control thread, possibly while run() runs: it reads the
 * audio thread's publication (plugin.h, gen_published) and excludes the worker with nonrt_lock,
 * so no listed take is freed under it. restore() runs while run() does not (no
 * state:threadSafeRestore is declared) and reads the take files itself: a missing or unreadable
 * file leaves an empty take with its settings and a notification, never a crash. */
#include "plugin.h"
#include "takes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct snapshot {
    char prompt[GEN_PROMPT_MAX], model[GEN_PATH_MAX], prompt_file[GEN_PATH_MAX];
    gen_take *takes[GEN_MAX_TAKES];
    int count, current;
    int64_t last_seed;
} snapshot;

/* A consistent copy of what run() published: retried while run() was writing it. */
static void read_snapshot(gen_plugin *self, snapshot *s)
{
    gen_published *p = &self->pub;
    for (;;) {
        unsigned before = atomic_load_explicit(&p->seq, memory_order_acquire);
        if (before & 1u)
            continue;
        memcpy(s->prompt, p->settings.prompt, sizeof s->prompt);
        memcpy(s->model, p->settings.model, sizeof s->model);
        memcpy(s->prompt_file, p->prompt_file, sizeof s->prompt_file);
        for (int i = 0; i < GEN_MAX_TAKES; i++)
            s->takes[i] = atomic_load_explicit(&p->takes[i], memory_order_relaxed);
        s->count = p->count;
        s->current = p->current;
        s->last_seed = p->last_seed;
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&p->seq, memory_order_relaxed) == before)
            break;
    }
    s->prompt[GEN_PROMPT_MAX - 1] = s->model[GEN_PATH_MAX - 1] = '\0';
    s->prompt_file[GEN_PATH_MAX - 1] = '\0';
    if (s->count < 0 || s->count > GEN_MAX_TAKES)
        s->count = 0;
}

static LV2_URID key_of(gen_plugin *self, const char *prefix, int i)
{
    char uri[256];
    snprintf(uri, sizeof uri, "%s%d", prefix, i);
    return self->map->map(self->map->handle, uri);
}

typedef struct paths {
    LV2_State_Map_Path *map;
    LV2_State_Make_Path *make;
    LV2_State_Free_Path *free;
} paths;

/* The path features a save or restore call was given (each may be absent). */
static paths paths_from(const LV2_Feature *const *features)
{
    paths p = { 0 };
    for (int i = 0; features && features[i]; i++) {
        if (!strcmp(features[i]->URI, LV2_STATE__mapPath))
            p.map = features[i]->data;
        else if (!strcmp(features[i]->URI, LV2_STATE__makePath))
            p.make = features[i]->data;
        else if (!strcmp(features[i]->URI, LV2_STATE__freePath))
            p.free = features[i]->data;
    }
    return p;
}

static void free_host_path(const paths *p, char *path)
{
    if (p->free)
        p->free->free_path(p->free->handle, path);
    else
        free(path);
}

/* Stores an absolute path, made abstract by the host when it can (it then copies or links the
 * file into the saved session). */
static LV2_State_Status store_path(gen_plugin *self, const paths *p, LV2_State_Store_Function store,
                                   LV2_State_Handle handle, LV2_URID key, const char *path)
{
    char *abstract = p->map ? p->map->abstract_path(p->map->handle, path) : NULL;
    const char *value = abstract ? abstract : path;
    LV2_State_Status st = store(handle, key, value, strlen(value) + 1, self->uris.atom_Path,
                                LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
    if (abstract)
        free_host_path(p, abstract);
    return st;
}

/* A take made before the host had a scratch folder has no file yet: write it now. */
static bool write_late_file(gen_plugin *self, const paths *p, const gen_take *t, int i, char *out,
                            size_t size)
{
    LV2_State_Make_Path *make = p->make ? p->make : self->make_path;
    if (!make)
        return false;
    for (int n = 1; n < 100000; n++) {
        char name[64];
        snprintf(name, sizeof name, "take-saved-%d-%d.flac", i, n);
        char *path = make->path(make->handle, name);
        if (!path)
            return false;
        bool usable = path[0] == '/' && access(path, F_OK) != 0;
        if (usable)
            snprintf(out, size, "%s", path);
        bool absolute = path[0] == '/';
        free_host_path(p, path);
        if (!absolute)
            return false;
        if (usable) {
            char msg[GEN_MESSAGE_MAX];
            if (gen_take_write_flac(t, out, msg, sizeof msg))
                return true;
            lv2_log_error(&self->logger, "dgx-music generator: %s\n", msg);
            return false;
        }
    }
    return false;
}

static LV2_State_Status save(LV2_Handle instance, LV2_State_Store_Function store,
                             LV2_State_Handle handle, uint32_t flags,
                             const LV2_Feature *const *features)
{
    (void)flags;
    gen_plugin *self = instance;
    const gen_uris *u = &self->uris;
    const paths p = paths_from(features);
    snapshot *s = malloc(sizeof *s);
    if (!s)
        return LV2_STATE_ERR_UNKNOWN;
    pthread_mutex_lock(&self->nonrt_lock);
    read_snapshot(self, s);
    const uint32_t pod = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
    store(handle, u->prompt, s->prompt, strlen(s->prompt) + 1, u->atom_String, pod);
    if (s->prompt_file[0])
        store_path(self, &p, store, handle, u->prompt_file, s->prompt_file);
    if (s->model[0])
        store_path(self, &p, store, handle, u->model, s->model);
    int32_t count = s->count, current = s->current;
    store(handle, u->take_count, &count, sizeof count, u->atom_Int, pod);
    store(handle, u->current_take, &current, sizeof current, u->atom_Int, pod);
    store(handle, u->last_seed, &s->last_seed, sizeof s->last_seed, u->atom_Long, pod);
    static char info[GEN_PROMPT_MAX + GEN_PATH_MAX + 512]; /* under nonrt_lock */
    for (int i = 0; i < s->count; i++) {
        const gen_take *t = s->takes[i];
        if (!t)
            continue;
        if (gen_take_info_format(&t->settings, info, sizeof info) >= 0)
            store(handle, key_of(self, DGXM_GEN__take_info_, i), info, strlen(info) + 1,
                  u->atom_String, pod);
        char late[GEN_PATH_MAX];
        const char *file = t->file[0] ? t->file : NULL;
        if (!file && t->frames && write_late_file(self, &p, t, i, late, sizeof late))
            file = late;
        if (file)
            store_path(self, &p, store, handle, key_of(self, DGXM_GEN__take_file_, i), file);
    }
    pthread_mutex_unlock(&self->nonrt_lock);
    free(s);
    return LV2_STATE_SUCCESS;
}

/* A stored text value (String or Path) of at most size - 1 bytes into dst; false if absent. */
static bool fetch_text(gen_plugin *self, LV2_State_Retrieve_Function retrieve,
                       LV2_State_Handle handle, LV2_URID key, char *dst, size_t size)
{
    size_t len = 0;
    uint32_t type = 0, vflags = 0;
    const char *v = retrieve(handle, key, &len, &type, &vflags);
    if (!v || (type != self->uris.atom_String && type != self->uris.atom_Path))
        return false;
    size_t n = strnlen(v, len);
    if (n >= size || !gen_utf8_valid(v, n))
        return false;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return true;
}

static bool fetch_path(gen_plugin *self, const paths *p, LV2_State_Retrieve_Function retrieve,
                       LV2_State_Handle handle, LV2_URID key, char *dst, size_t size)
{
    if (!fetch_text(self, retrieve, handle, key, dst, size))
        return false;
    if (p->map && dst[0]) {
        char *abs = p->map->absolute_path(p->map->handle, dst);
        if (abs) {
            snprintf(dst, size, "%s", abs);
            free_host_path(p, abs);
        }
    }
    return true;
}

static bool fetch_int(gen_plugin *self, LV2_State_Retrieve_Function retrieve,
                      LV2_State_Handle handle, LV2_URID key, int64_t *out)
{
    size_t len = 0;
    uint32_t type = 0, vflags = 0;
    const void *v = retrieve(handle, key, &len, &type, &vflags);
    if (v && type == self->uris.atom_Int && len >= sizeof(int32_t)) {
        int32_t x;
        memcpy(&x, v, sizeof x);
        *out = x;
        return true;
    }
    if (v && type == self->uris.atom_Long && len >= sizeof(int64_t)) {
        memcpy(out, v, sizeof *out);
        return true;
    }
    return false;
}

/* The host may hand a path back through a link of its own (lilv links folders outside the
 * session): the real path, so a take's model and the restored model parameter compare equal. */
static void canonical(char *path, size_t size)
{
    char *real = path[0] ? realpath(path, NULL) : NULL;
    if (real && strlen(real) < size)
        memcpy(path, real, strlen(real) + 1);
    free(real);
}

/* Restores take i (info and file); NULL when there is no such take. */
static gen_take *restore_take(gen_plugin *self, const paths *p,
                              LV2_State_Retrieve_Function retrieve, LV2_State_Handle handle, int i)
{
    static char info[GEN_PROMPT_MAX + GEN_PATH_MAX + 512]; /* under nonrt_lock */
    static gen_settings s;
    if (!fetch_text(self, retrieve, handle, key_of(self, DGXM_GEN__take_info_, i), info,
                    sizeof info) ||
        !gen_take_info_parse(info, strlen(info), &s))
        return NULL;
    canonical(s.model, sizeof s.model);
    gen_take *t = gen_take_new_empty(&s);
    if (!t)
        return NULL;
    char path[GEN_PATH_MAX] = "", msg[GEN_MESSAGE_MAX];
    bool ok;
    if (!fetch_path(self, p, retrieve, handle, key_of(self, DGXM_GEN__take_file_, i), path,
                    sizeof path)) {
        snprintf(msg, sizeof msg, "take %d has no file in the saved state: its slot is empty", i);
        ok = false;
    } else {
        ok = gen_take_read_audio(t, path, self->rate, msg, sizeof msg);
    }
    if (ok) {
        snprintf(t->file, sizeof t->file, "%s", path);
    } else {
        free(t->audio);
        t->audio = NULL;
        t->frames = t->loop_frames = 0;
        char note[GEN_MESSAGE_MAX];
        snprintf(note, sizeof note, "take %d restored empty: %s", i, msg);
        lv2_log_error(&self->logger, "dgx-music generator: %s\n", note);
        gen_push_note(self, true, note);
    }
    return t;
}

static LV2_State_Status restore(LV2_Handle instance, LV2_State_Retrieve_Function retrieve,
                                LV2_State_Handle handle, uint32_t flags,
                                const LV2_Feature *const *features)
{
    (void)flags;
    gen_plugin *self = instance;
    const gen_uris *u = &self->uris;
    const paths p = paths_from(features);
    pthread_mutex_lock(&self->nonrt_lock);
    gen_cancel_active(self); /* whatever was in flight belongs to the settings replaced */
    /* save() always stores the take count: a state without one is a preset, which sets what it
     * names (the prompt) and leaves the takes, the model and the prompt file as they are */
    int64_t count = GEN_MAX_TAKES, current = -1, seed = -1;
    const bool session = fetch_int(self, retrieve, handle, u->take_count, &count);
    if (!fetch_text(self, retrieve, handle, u->prompt, self->settings.prompt,
                    sizeof self->settings.prompt) &&
        session)
        self->settings.prompt[0] = '\0';
    if (!fetch_path(self, &p, retrieve, handle, u->prompt_file, self->prompt_file,
                    sizeof self->prompt_file) &&
        session)
        self->prompt_file[0] = '\0';
    if (!fetch_path(self, &p, retrieve, handle, u->model, self->settings.model,
                    sizeof self->settings.model) &&
        session)
        self->settings.model[0] = '\0';
    canonical(self->settings.model, sizeof self->settings.model);
    if (!session) {
        self->announce_params = GEN_ANNOUNCE_ALL;
        gen_publish(self);
        pthread_mutex_unlock(&self->nonrt_lock);
        return LV2_STATE_SUCCESS;
    }

    for (int i = 0; i < self->take_count; i++)
        gen_take_free(self->takes[i]); /* files stay: they belong to the earlier session */
    self->take_count = 0;
    self->current = -1;
    self->playing = false;
    fetch_int(self, retrieve, handle, u->current_take, &current);
    if (fetch_int(self, retrieve, handle, u->last_seed, &seed))
        self->last_seed = seed;
    for (int i = 0; i < count && i < GEN_MAX_TAKES; i++) {
        gen_take *t = restore_take(self, &p, retrieve, handle, i);
        if (t)
            self->takes[self->take_count++] = t;
    }
    self->current = current >= 0 && current < self->take_count ? (int)current : -1;
    self->last_state = 0;
    self->announce_params = GEN_ANNOUNCE_ALL;
    gen_announce_takes(self);
    gen_publish(self);
    pthread_mutex_unlock(&self->nonrt_lock);
    return LV2_STATE_SUCCESS;
}

const LV2_State_Interface gen_state_interface = { save, restore };
