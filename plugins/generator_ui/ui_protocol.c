/* See ui_protocol.h. UI thread. */
#include "ui_protocol.h"

#include "protocol.h"

#include <lv2/atom/util.h>
#include <lv2/patch/patch.h>

#include <string.h>

void ui_protocol_init(ui_protocol *p, LV2_URID_Map *map)
{
    ui_uris *u = &p->uris;
#define M(uri) map->map(map->handle, uri)
    u->atom_eventTransfer = M(LV2_ATOM__eventTransfer);
    u->atom_Object = M(LV2_ATOM__Object);
    u->atom_Blank = M(LV2_ATOM__Blank);
    u->atom_String = M(LV2_ATOM__String);
    u->atom_Path = M(LV2_ATOM__Path);
    u->atom_URID = M(LV2_ATOM__URID);
    u->atom_Int = M(LV2_ATOM__Int);
    u->atom_Long = M(LV2_ATOM__Long);
    u->atom_Float = M(LV2_ATOM__Float);
    u->atom_Double = M(LV2_ATOM__Double);
    u->patch_Set = M(LV2_PATCH__Set);
    u->patch_Get = M(LV2_PATCH__Get);
    u->patch_property = M(LV2_PATCH__property);
    u->patch_value = M(LV2_PATCH__value);
    u->prompt = M(DGXM_GEN__prompt);
    u->prompt_file = M(DGXM_GEN__prompt_file);
    u->model = M(DGXM_GEN__model);
    u->Generate = M(DGXM_GEN__Generate);
    u->Cancel = M(DGXM_GEN__Cancel);
    u->SelectTake = M(DGXM_GEN__SelectTake);
    u->DeleteTake = M(DGXM_GEN__DeleteTake);
    u->Progress = M(DGXM_GEN__Progress);
    u->Takes = M(DGXM_GEN__Takes);
    u->Take = M(DGXM_GEN__Take);
    u->Error = M(DGXM_GEN__Error);
    u->Notice = M(DGXM_GEN__Notice);
    u->state = M(DGXM_GEN__state);
    u->fraction = M(DGXM_GEN__fraction);
    u->frames = M(DGXM_GEN__frames);
    u->eta = M(DGXM_GEN__eta);
    u->seed = M(DGXM_GEN__seed);
    u->count = M(DGXM_GEN__count);
    u->current = M(DGXM_GEN__current);
    u->take = M(DGXM_GEN__take);
    u->seconds = M(DGXM_GEN__seconds);
    u->bpm = M(DGXM_GEN__bpm);
    u->bars = M(DGXM_GEN__bars);
    u->file = M(DGXM_GEN__file);
    u->message = M(DGXM_GEN__message);
    u->st_idle = M(DGXM_GEN__Idle);
    u->st_loading = M(DGXM_GEN__Loading);
    u->st_queued = M(DGXM_GEN__Queued);
    u->st_generating = M(DGXM_GEN__Generating);
    u->st_ready = M(DGXM_GEN__Ready);
    u->st_failed = M(DGXM_GEN__Failed);
    u->st_cancelled = M(DGXM_GEN__Cancelled);
#undef M
    lv2_atom_forge_init(&p->forge, map);
}

/* ---- forging --------------------------------------------------------------------------------- */

static const LV2_Atom *finish(ui_protocol *p, void *buf, LV2_Atom_Forge_Frame *frame, bool ok)
{
    lv2_atom_forge_pop(&p->forge, frame);
    return ok && p->forge.offset <= p->forge.size ? (const LV2_Atom *)buf : NULL;
}

const LV2_Atom *ui_forge_set(ui_protocol *p, void *buf, uint32_t size, LV2_URID property,
                             LV2_URID type, const char *value)
{
    LV2_Atom_Forge *f = &p->forge;
    const ui_uris *u = &p->uris;
    LV2_Atom_Forge_Frame frame;
    uint32_t len = (uint32_t)strlen(value);
    lv2_atom_forge_set_buffer(f, buf, size);
    if (!lv2_atom_forge_object(f, &frame, 0, u->patch_Set))
        return NULL;
    bool ok = lv2_atom_forge_key(f, u->patch_property) && lv2_atom_forge_urid(f, property) &&
              lv2_atom_forge_key(f, u->patch_value) &&
              (type == u->atom_Path ? lv2_atom_forge_path(f, value, len)
                                    : lv2_atom_forge_string(f, value, len));
    return finish(p, buf, &frame, ok);
}

const LV2_Atom *ui_forge_command(ui_protocol *p, void *buf, uint32_t size, LV2_URID type)
{
    LV2_Atom_Forge_Frame frame;
    lv2_atom_forge_set_buffer(&p->forge, buf, size);
    if (!lv2_atom_forge_object(&p->forge, &frame, 0, type))
        return NULL;
    return finish(p, buf, &frame, true);
}

const LV2_Atom *ui_forge_take_command(ui_protocol *p, void *buf, uint32_t size, LV2_URID type,
                                      int take)
{
    LV2_Atom_Forge *f = &p->forge;
    LV2_Atom_Forge_Frame frame;
    lv2_atom_forge_set_buffer(f, buf, size);
    if (!lv2_atom_forge_object(f, &frame, 0, type))
        return NULL;
    bool ok = lv2_atom_forge_key(f, p->uris.take) && lv2_atom_forge_int(f, take);
    return finish(p, buf, &frame, ok);
}

/* ---- reading --------------------------------------------------------------------------------- */

/* Copies a String or Path atom's text into dst (cut at a code point boundary when too long);
 * false when a is not one. */
static bool get_text(const ui_uris *u, const LV2_Atom *a, char *dst, size_t cap)
{
    if (!a || (a->type != u->atom_String && a->type != u->atom_Path))
        return false;
    const char *s = LV2_ATOM_BODY_CONST(a);
    size_t n = strnlen(s, a->size);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

/* A number of any atom numeric type; false when a is not one. */
static bool get_number(const ui_uris *u, const LV2_Atom *a, double *v)
{
    if (!a)
        return false;
    if (a->type == u->atom_Int && a->size >= sizeof(int32_t))
        *v = ((const LV2_Atom_Int *)a)->body;
    else if (a->type == u->atom_Long && a->size >= sizeof(int64_t))
        *v = (double)((const LV2_Atom_Long *)a)->body;
    else if (a->type == u->atom_Float && a->size >= sizeof(float))
        *v = ((const LV2_Atom_Float *)a)->body;
    else if (a->type == u->atom_Double && a->size >= sizeof(double))
        *v = ((const LV2_Atom_Double *)a)->body;
    else
        return false;
    return *v == *v; /* NaN is no number */
}

static ui_state state_of(const ui_uris *u, LV2_URID s)
{
    return s == u->st_idle         ? UI_STATE_IDLE
           : s == u->st_loading    ? UI_STATE_LOADING
           : s == u->st_queued     ? UI_STATE_QUEUED
           : s == u->st_generating ? UI_STATE_GENERATING
           : s == u->st_ready      ? UI_STATE_READY
           : s == u->st_failed     ? UI_STATE_FAILED
           : s == u->st_cancelled  ? UI_STATE_CANCELLED
                                   : UI_STATE_UNKNOWN;
}

static bool read_set(const ui_uris *u, ui_model *m, const LV2_Atom_Object *obj)
{
    const LV2_Atom *property = NULL, *value = NULL;
    lv2_atom_object_get(obj, u->patch_property, &property, u->patch_value, &value, 0);
    if (!property || property->type != u->atom_URID || property->size < sizeof(LV2_URID))
        return false;
    LV2_URID key = ((const LV2_Atom_URID *)property)->body;
    if ((key == u->prompt && get_text(u, value, m->prompt, sizeof m->prompt)) ||
        (key == u->prompt_file && get_text(u, value, m->prompt_file, sizeof m->prompt_file)))
        m->changed |= UI_CHANGED_PROMPT;
    else if (key == u->model && get_text(u, value, m->model_path, sizeof m->model_path))
        m->changed |= UI_CHANGED_MODEL;
    else
        return false;
    return true;
}

static bool read_progress(const ui_uris *u, ui_model *m, const LV2_Atom_Object *obj)
{
    const LV2_Atom *state = NULL, *fraction = NULL, *frames = NULL, *eta = NULL, *seed = NULL;
    lv2_atom_object_get(obj, u->state, &state, u->fraction, &fraction, u->frames, &frames, u->eta,
                        &eta, u->seed, &seed, 0);
    if (!state || state->type != u->atom_URID || state->size < sizeof(LV2_URID))
        return false;
    double v;
    m->state = state_of(u, ((const LV2_Atom_URID *)state)->body);
    m->fraction = get_number(u, fraction, &v) ? (float)(v < 0 ? 0 : v > 1 ? 1 : v) : 0.0f;
    m->frames = get_number(u, frames, &v) ? (int64_t)v : 0;
    m->eta = get_number(u, eta, &v) ? (float)v : -1.0f;
    /* Idle reports no job: its seed field means nothing yet */
    if (m->state != UI_STATE_IDLE && m->state != UI_STATE_UNKNOWN && get_number(u, seed, &v) &&
        v >= 0)
        m->seed = (int64_t)v;
    m->changed |= UI_CHANGED_PROGRESS;
    return true;
}

static bool read_takes(const ui_uris *u, ui_model *m, const LV2_Atom_Object *obj)
{
    const LV2_Atom *count = NULL, *current = NULL;
    lv2_atom_object_get(obj, u->count, &count, u->current, &current, 0);
    double n, c;
    if (!get_number(u, count, &n) || n < 0 || n > UI_MAX_TAKES)
        return false;
    if (!get_number(u, current, &c) || c < -1 || c >= n)
        c = -1;
    m->take_count = (int)n;
    m->current = (int)c;
    for (int i = 0; i < UI_MAX_TAKES; i++)
        m->takes[i].known = false;
    m->changed |= UI_CHANGED_TAKES;
    return true;
}

static bool read_take(const ui_uris *u, ui_model *m, const LV2_Atom_Object *obj)
{
    const LV2_Atom *take = NULL, *prompt = NULL, *seed = NULL, *seconds = NULL, *bpm = NULL,
                   *bars = NULL, *file = NULL;
    lv2_atom_object_get(obj, u->take, &take, u->prompt, &prompt, u->seed, &seed, u->seconds,
                        &seconds, u->bpm, &bpm, u->bars, &bars, u->file, &file, 0);
    double i, v;
    if (!get_number(u, take, &i) || i < 0 || i >= m->take_count)
        return false;
    ui_take *t = &m->takes[(int)i];
    if (!get_text(u, prompt, t->prompt, sizeof t->prompt))
        t->prompt[0] = '\0';
    t->seed = get_number(u, seed, &v) ? (int64_t)v : -1;
    t->seconds = get_number(u, seconds, &v) ? (float)v : 0.0f;
    t->bpm = get_number(u, bpm, &v) ? (float)v : 0.0f;
    t->bars = get_number(u, bars, &v) ? (int)v : 0;
    if (!get_text(u, file, t->file, sizeof t->file))
        t->file[0] = '\0';
    t->known = true;
    if ((int)i == m->current && m->seed < 0)
        m->seed = t->seed; /* a restored session: the current take's seed until a new job */
    m->changed |= UI_CHANGED_TAKES;
    return true;
}

static bool read_message(const ui_uris *u, ui_model *m, const LV2_Atom_Object *obj, bool error)
{
    const LV2_Atom *text = NULL;
    lv2_atom_object_get(obj, u->message, &text, 0);
    if (!get_text(u, text, m->message, sizeof m->message))
        return false;
    m->message_is_error = error;
    m->changed |= UI_CHANGED_MESSAGE;
    return true;
}

bool ui_protocol_read(const ui_protocol *p, ui_model *m, const LV2_Atom *atom)
{
    const ui_uris *u = &p->uris;
    if (!atom || (atom->type != u->atom_Object && atom->type != u->atom_Blank) ||
        atom->size < sizeof(LV2_Atom_Object_Body))
        return false;
    const LV2_Atom_Object *obj = (const LV2_Atom_Object *)atom;
    LV2_URID type = obj->body.otype;
    if (type == u->patch_Set)
        return read_set(u, m, obj);
    if (type == u->Progress)
        return read_progress(u, m, obj);
    if (type == u->Takes)
        return read_takes(u, m, obj);
    if (type == u->Take)
        return read_take(u, m, obj);
    if (type == u->Error || type == u->Notice)
        return read_message(u, m, obj, type == u->Error);
    return false;
}
