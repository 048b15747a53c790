/* Notify-port forging; see notify.h. Audio thread. */
#include "notify.h"

#include <lv2/atom/util.h>
#include <string.h>

void gen_notify_begin(gen_plugin *self)
{
    const uint32_t capacity = self->notify->atom.size;
    lv2_atom_forge_set_buffer(&self->forge, (uint8_t *)self->notify, capacity);
    /* the sequence stays open (its frame lives in the instance): its size grows with every
     * event forged into it */
    lv2_atom_forge_sequence_head(&self->forge, &self->notify_frame, 0);
}

/* Writes an event header and an object header when `need` bytes of body (an upper bound) fit,
 * so that an object is never cut short; false when out of space. */
static bool object_begin(gen_plugin *self, LV2_Atom_Forge_Frame *frame, LV2_URID type, size_t need)
{
    const size_t headers = sizeof(LV2_Atom_Event) + sizeof(LV2_Atom_Object) + 16;
    if (self->forge.offset + headers + need > self->forge.size)
        return false;
    return lv2_atom_forge_frame_time(&self->forge, 0) &&
           lv2_atom_forge_object(&self->forge, frame, 0, type);
}

/* Forge calls return 0 once out of space; the rest of the object then writes nothing. */
#define OK(x) ((x) != 0)

bool gen_notify_progress(gen_plugin *self, LV2_URID state, float fraction, int64_t frames,
                         float eta, int64_t seed)
{
    const gen_uris *u = &self->uris;
    LV2_Atom_Forge *f = &self->forge;
    LV2_Atom_Forge_Frame frame;
    if (!object_begin(self, &frame, u->Progress, 5 * 32))
        return false;
    bool ok = OK(lv2_atom_forge_key(f, u->state)) && OK(lv2_atom_forge_urid(f, state)) &&
              OK(lv2_atom_forge_key(f, u->fraction)) && OK(lv2_atom_forge_float(f, fraction)) &&
              OK(lv2_atom_forge_key(f, u->frames)) && OK(lv2_atom_forge_long(f, frames)) &&
              OK(lv2_atom_forge_key(f, u->eta)) && OK(lv2_atom_forge_float(f, eta)) &&
              OK(lv2_atom_forge_key(f, u->seed)) && OK(lv2_atom_forge_long(f, seed));
    lv2_atom_forge_pop(f, &frame);
    return ok;
}

bool gen_notify_message(gen_plugin *self, LV2_URID type, const char *text)
{
    LV2_Atom_Forge *f = &self->forge;
    LV2_Atom_Forge_Frame frame;
    if (!object_begin(self, &frame, type, strlen(text) + 48))
        return false;
    bool ok = OK(lv2_atom_forge_key(f, self->uris.message)) &&
              OK(lv2_atom_forge_string(f, text, (uint32_t)strlen(text)));
    lv2_atom_forge_pop(f, &frame);
    return ok;
}

bool gen_notify_param(gen_plugin *self, LV2_URID property, LV2_URID type, const char *value)
{
    const gen_uris *u = &self->uris;
    LV2_Atom_Forge *f = &self->forge;
    LV2_Atom_Forge_Frame frame;
    if (!object_begin(self, &frame, u->patch_Set, strlen(value) + 96))
        return false;
    uint32_t len = (uint32_t)strlen(value);
    bool ok = OK(lv2_atom_forge_key(f, u->patch_property)) &&
              OK(lv2_atom_forge_urid(f, property)) && OK(lv2_atom_forge_key(f, u->patch_value)) &&
              OK(type == u->atom_Path ? lv2_atom_forge_path(f, value, len)
                                      : lv2_atom_forge_string(f, value, len));
    lv2_atom_forge_pop(f, &frame);
    return ok;
}

bool gen_notify_takes(gen_plugin *self, int count, int current)
{
    const gen_uris *u = &self->uris;
    LV2_Atom_Forge *f = &self->forge;
    LV2_Atom_Forge_Frame frame;
    if (!object_begin(self, &frame, u->Takes, 64))
        return false;
    bool ok = OK(lv2_atom_forge_key(f, u->count)) && OK(lv2_atom_forge_int(f, count)) &&
              OK(lv2_atom_forge_key(f, u->current)) && OK(lv2_atom_forge_int(f, current));
    lv2_atom_forge_pop(f, &frame);
    return ok;
}

bool gen_notify_take(gen_plugin *self, int index, const gen_take *t)
{
    const gen_uris *u = &self->uris;
    LV2_Atom_Forge *f = &self->forge;
    LV2_Atom_Forge_Frame frame;
    if (!object_begin(self, &frame, u->Take, strlen(t->settings.prompt) + strlen(t->file) + 8 * 32))
        return false;
    const gen_settings *s = &t->settings;
    float seconds = t->rate > 0 ? (float)((double)t->frames / t->rate) : 0.0f;
    bool ok = OK(lv2_atom_forge_key(f, u->take)) && OK(lv2_atom_forge_int(f, index)) &&
              OK(lv2_atom_forge_key(f, u->prompt)) &&
              OK(lv2_atom_forge_string(f, s->prompt, (uint32_t)strlen(s->prompt))) &&
              OK(lv2_atom_forge_key(f, u->seed)) && OK(lv2_atom_forge_long(f, s->seed)) &&
              OK(lv2_atom_forge_key(f, u->seconds)) && OK(lv2_atom_forge_float(f, seconds)) &&
              OK(lv2_atom_forge_key(f, u->bpm)) &&
              OK(lv2_atom_forge_float(f, s->sync ? (float)s->bpm : 0.0f)) &&
              OK(lv2_atom_forge_key(f, u->bars)) &&
              OK(lv2_atom_forge_int(f, s->sync ? s->bars : 0)) &&
              OK(lv2_atom_forge_key(f, u->file)) &&
              OK(lv2_atom_forge_path(f, t->file, (uint32_t)strlen(t->file)));
    lv2_atom_forge_pop(f, &frame);
    return ok;
}

bool gen_notify_state_changed(gen_plugin *self)
{
    LV2_Atom_Forge_Frame frame;
    if (!object_begin(self, &frame, self->uris.state_StateChanged, 0))
        return false;
    lv2_atom_forge_pop(&self->forge, &frame);
    return true;
}
