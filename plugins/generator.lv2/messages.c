/* The control port's events: MIDI, patch messages, the protocol's commands and time:Position.
 * Audio thread: bounded copies and checks only; anything slow becomes a worker message. */
#include "plugin.h"
#include "sync.h"
#include "text.h"

#include <lv2/atom/util.h>
#include <lv2/midi/midi.h>

#include <math.h>
#include <string.h>

/* The settings a new take would be made from now: synced needs the host tempo, else free. */
static void effective_settings(gen_plugin *self, gen_settings *s, bool *fallback)
{
    *s = self->settings;
    *fallback = false;
    if (!s->sync)
        return;
    if (!self->have_tempo) {
        *fallback = true;
        s->sync = false; /* duration then counts seconds */
        return;
    }
    s->bpm = self->bpm;
    s->beats_per_bar = self->beats_per_bar;
}

static void start_playback(gen_plugin *self, bool from_job)
{
    self->playing = true;
    self->play_job = from_job;
    self->pos = 0;
}

void gen_trigger(gen_plugin *self, bool force)
{
    static gen_settings want; /* audio thread only: too big for a real-time stack frame */
    bool fallback;
    effective_settings(self, &want, &fallback);
    if (!force) {
        if (self->active >= 0 && gen_settings_match(&self->slots[self->active].settings, &want)) {
            start_playback(self, true); /* plays as soon as audio streams in */
            return;
        }
        for (int k = -1; k < self->take_count; k++) {
            int i = k < 0 ? self->current : k; /* the current take first */
            if (i < 0 || !self->takes[i]->frames ||
                !gen_settings_match(&self->takes[i]->settings, &want))
                continue;
            if (i != self->current) {
                self->current = i;
                gen_announce_takes(self);
                gen_publish(self);
            }
            self->last_state = 0;
            start_playback(self, false);
            return;
        }
    }
    char msg[GEN_MESSAGE_MAX] = "";
    if (!gen_settings_check(&want, msg, sizeof msg)) {
        gen_error_rt(self, msg);
        return;
    }
    int pending = 0, free_slot = -1;
    for (int i = 0; i < GEN_REQUESTS; i++) {
        if (self->slots[i].phase == GEN_SLOT_FREE)
            free_slot = free_slot < 0 ? i : free_slot;
        else if (!self->slots[i].retired && i != self->active)
            pending++;
    }
    if (self->take_count + pending >= GEN_MAX_TAKES) {
        gen_text_append(msg, sizeof msg, "take limit reached (");
        gen_text_append_int(msg, sizeof msg, GEN_MAX_TAKES);
        gen_text_append(msg, sizeof msg, " takes): delete a take before generating another");
        gen_error_rt(self, msg);
        return;
    }
    if (free_slot < 0) {
        gen_error_rt(self, "too many generations are still stopping: try again in a moment");
        return;
    }
    if (fallback)
        gen_push_note(self, false,
                      "no host tempo (time:Position with beatsPerMinute): free mode, the duration "
                      "is in seconds");
    gen_cancel_active(self);
    gen_request *r = &self->slots[free_slot];
    r->settings = want;
    r->phase = GEN_SLOT_SUBMITTING;
    r->cancel = r->retired = false;
    r->job = NULL;
    atomic_store_explicit(&r->started, false, memory_order_relaxed); /* no worker owns it yet */
    self->active = free_slot;
    self->last_state = 0;
    start_playback(self, true);
    gen_message m = { .type = GEN_WORK_GENERATE, .slot = free_slot };
    if (!gen_schedule(self, &m)) {
        r->phase = GEN_SLOT_FREE;
        self->active = -1;
    }
}

/* A string or path value of at most size - 1 bytes, valid UTF-8, into dst. */
static bool take_text(gen_plugin *self, const LV2_Atom *value, const char *what, char *dst,
                      size_t size)
{
    const gen_uris *u = &self->uris;
    char msg[GEN_MESSAGE_MAX] = "";
    if (!value || (value->type != u->atom_String && value->type != u->atom_Path)) {
        gen_text_append(msg, sizeof msg, what);
        gen_text_append(msg, sizeof msg, ": the value is not an atom:String or atom:Path");
        gen_error_rt(self, msg);
        return false;
    }
    const char *text = LV2_ATOM_BODY_CONST(value);
    size_t len = strnlen(text, value->size);
    if (len >= size) {
        gen_text_append(msg, sizeof msg, what);
        gen_text_append(msg, sizeof msg, " is ");
        gen_text_append_int(msg, sizeof msg, (long long)len);
        gen_text_append(msg, sizeof msg, " bytes; at most ");
        gen_text_append_int(msg, sizeof msg, (long long)size - 1);
        gen_text_append(msg, sizeof msg, " are accepted");
        gen_error_rt(self, msg);
        return false;
    }
    if (!gen_utf8_valid(text, len)) {
        gen_text_append(msg, sizeof msg, what);
        gen_text_append(msg, sizeof msg, " is not valid UTF-8 text");
        gen_error_rt(self, msg);
        return false;
    }
    memcpy(dst, text, len);
    dst[len] = '\0';
    return true;
}

static void set_parameter(gen_plugin *self, LV2_URID key, const LV2_Atom *value)
{
    const gen_uris *u = &self->uris;
    static char text[GEN_PATH_MAX > GEN_PROMPT_MAX ? GEN_PATH_MAX : GEN_PROMPT_MAX];
    if (key == u->prompt) {
        if (!take_text(self, value, "prompt", text, GEN_PROMPT_MAX))
            return;
        if (strcmp(text, self->settings.prompt) != 0) {
            memcpy(self->settings.prompt, text, GEN_PROMPT_MAX);
            gen_cancel_active(self); /* a new prompt stops the job in flight */
        }
        self->announce_params |= GEN_ANNOUNCE_PROMPT;
    } else if (key == u->prompt_file) {
        if (!take_text(self, value, "prompt_file", text, GEN_PATH_MAX))
            return;
        memcpy(self->prompt_file, text, GEN_PATH_MAX);
        self->announce_params |= GEN_ANNOUNCE_PROMPT_FILE;
        if (!text[0])
            ; /* cleared: the prompt stays as it is */
        else if (self->prompt_file_busy)
            gen_error_rt(self, "prompt_file: the previous file is still being read; set it again");
        else {
            memcpy(self->prompt_file_req, text, GEN_PATH_MAX);
            gen_message m = { .type = GEN_WORK_PROMPT_FILE };
            self->prompt_file_busy = gen_schedule(self, &m);
        }
    } else if (key == u->model) {
        if (!take_text(self, value, "model", text, GEN_PATH_MAX))
            return;
        if (strcmp(text, self->settings.model) != 0)
            gen_cancel_active(self);
        memcpy(self->settings.model, text, GEN_PATH_MAX);
        self->announce_params |= GEN_ANNOUNCE_MODEL;
        if (self->model_busy) {
            gen_error_rt(self, "model: the previous model is still loading; set it again");
        } else {
            /* load now, so the first note does not wait for it and a bad folder is named now */
            memcpy(self->model_req, text, GEN_PATH_MAX);
            gen_message m = { .type = GEN_WORK_LOAD_MODEL };
            self->model_busy = gen_schedule(self, &m);
        }
    } else {
        return; /* not ours (hosts may probe) */
    }
    gen_publish(self);
}

/* SELECT_TAKE / DELETE_TAKE's index, checked. */
static int take_index(gen_plugin *self, const LV2_Atom_Object *obj, const char *what)
{
    const LV2_Atom *index = NULL;
    lv2_atom_object_get(obj, self->uris.take, &index, 0);
    long long i = -1;
    if (index && index->type == self->uris.atom_Int)
        i = ((const LV2_Atom_Int *)index)->body;
    else if (index && index->type == self->uris.atom_Long)
        i = ((const LV2_Atom_Long *)index)->body;
    if (i >= 0 && i < self->take_count)
        return (int)i;
    char msg[GEN_MESSAGE_MAX] = "";
    gen_text_append(msg, sizeof msg, what);
    gen_text_append(msg, sizeof msg, ": no take ");
    gen_text_append_int(msg, sizeof msg, i);
    gen_text_append(msg, sizeof msg, " (there are ");
    gen_text_append_int(msg, sizeof msg, self->take_count);
    gen_text_append(msg, sizeof msg, ")");
    gen_error_rt(self, msg);
    return -1;
}

static void delete_take(gen_plugin *self, int i)
{
    gen_message m = { .type = GEN_WORK_FREE_TAKE, .ptr = self->takes[i], .delete_file = true };
    if (!gen_schedule(self, &m))
        return;
    if (i == self->current) {
        if (!self->play_job)
            self->playing = false;
        self->current = -1;
    } else if (i < self->current) {
        self->current--;
    }
    for (int k = i; k + 1 < self->take_count; k++)
        self->takes[k] = self->takes[k + 1];
    self->takes[--self->take_count] = NULL;
    self->state_changed = true;
    gen_announce_takes(self);
    gen_publish(self);
}

static void read_position(gen_plugin *self, const LV2_Atom_Object *obj)
{
    const gen_uris *u = &self->uris;
    const LV2_Atom *bpm = NULL, *bar = NULL, *beat = NULL, *bpb = NULL, *speed = NULL,
                   *frame = NULL;
    lv2_atom_object_get(obj, u->time_beatsPerMinute, &bpm, u->time_bar, &bar, u->time_barBeat,
                        &beat, u->time_beatsPerBar, &bpb, u->time_speed, &speed, u->time_frame,
                        &frame, 0);
    /* hosts differ in number types: take Float, Double, Int or Long */
#define NUM(a, dflt)                                                             \
    (!(a)                          ? (dflt)                                      \
     : (a)->type == u->atom_Float  ? (double)((const LV2_Atom_Float *)(a))->body \
     : (a)->type == u->atom_Double ? ((const LV2_Atom_Double *)(a))->body        \
     : (a)->type == u->atom_Int    ? (double)((const LV2_Atom_Int *)(a))->body   \
     : (a)->type == u->atom_Long   ? (double)((const LV2_Atom_Long *)(a))->body  \
                                   : (dflt))
    const bool had_tempo = self->have_tempo;
    const double old_bpm = self->bpm, old_bpb = self->beats_per_bar, old_speed = self->speed;
    double v = NUM(bpm, 0.0);
    if (v > 0 && isfinite(v)) {
        self->bpm = v;
        self->have_tempo = true;
    }
    v = NUM(bpb, self->beats_per_bar);
    if (v > 0 && isfinite(v))
        self->beats_per_bar = v;
    v = NUM(speed, self->speed);
    if (isfinite(v))
        self->speed = v;
    double f = NUM(frame, NAN);
    bool frame_continues = !frame || (self->have_frame && f == self->host_frame);
    if (frame && isfinite(f)) {
        self->host_frame = f;
        self->have_frame = true;
    }
    if (bar || beat) {
        double b = NUM(bar, (double)self->bar), bb = NUM(beat, 0.0);
        if (isfinite(b) && isfinite(bb)) {
            double reported = b * self->beats_per_bar + bb;
            /* the transport rolled on at the same tempo: keep the exact count (see sync.h) */
            bool continues = had_tempo && frame_continues && self->speed != 0.0 &&
                             self->speed == old_speed && self->bpm == old_bpm &&
                             self->beats_per_bar == old_bpb &&
                             fabs(reported - self->beat_pos) <= GEN_SYNC_JITTER_BEATS;
            self->bar = (int64_t)b;
            self->bar_beat = bb;
            if (!continues)
                self->beat_pos = reported;
        }
    }
#undef NUM
}

static void handle_midi(gen_plugin *self, const uint8_t *msg, uint32_t size)
{
    if (size < 3)
        return;
    uint8_t status = lv2_midi_message_type(msg);
    if (status == LV2_MIDI_MSG_NOTE_ON && msg[2] > 0)
        gen_trigger(self, false);
    else if (status == LV2_MIDI_MSG_CONTROLLER &&
             (msg[1] == LV2_MIDI_CTL_ALL_SOUNDS_OFF || msg[1] == LV2_MIDI_CTL_ALL_NOTES_OFF))
        self->playing = false;
    /* note-off is ignored: a take plays to its end (free) or loops with the transport */
}

void gen_handle_event(gen_plugin *self, const LV2_Atom_Event *ev)
{
    const gen_uris *u = &self->uris;
    if (ev->body.type == u->midi_Event) {
        handle_midi(self, (const uint8_t *)(ev + 1), ev->body.size);
        return;
    }
    if (ev->body.type != u->atom_Object && ev->body.type != u->atom_Blank)
        return;
    const LV2_Atom_Object *obj = (const LV2_Atom_Object *)&ev->body;
    LV2_URID type = obj->body.otype;
    if (type == u->patch_Set) {
        const LV2_Atom *property = NULL, *value = NULL;
        lv2_atom_object_get(obj, u->patch_property, &property, u->patch_value, &value, 0);
        if (property && property->type == u->atom_URID)
            set_parameter(self, ((const LV2_Atom_URID *)property)->body, value);
    } else if (type == u->patch_Get) {
        self->announce_params = GEN_ANNOUNCE_ALL;
        gen_announce_takes(self);
        self->reported_state = 0; /* and a PROGRESS */
    } else if (type == u->Generate) {
        gen_trigger(self, true);
    } else if (type == u->Cancel) {
        gen_cancel_active(self);
    } else if (type == u->SelectTake) {
        int i = take_index(self, obj, "SelectTake");
        if (i >= 0) {
            self->current = i;
            if (!self->play_job)
                self->pos = 0;
            self->last_state = 0;
            gen_announce_takes(self);
            gen_publish(self);
        }
    } else if (type == u->DeleteTake) {
        int i = take_index(self, obj, "DeleteTake");
        if (i >= 0)
            delete_take(self, i);
    } else if (type == u->time_Position) {
        read_position(self, obj);
    }
}
