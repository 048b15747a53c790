/* The UI's side of the message contract (../generator.lv2/protocol.h): forging the control
 * port's patch messages and commands, and reading the notify port's messages into a ui_model.
 * No X, no cairo: tested on its own.
 *
 * Ownership: a ui_protocol holds only URIDs and a forge; the buffers are the caller's.
 * Thread: the UI thread. */
#ifndef DGXM_UI_PROTOCOL_H
#define DGXM_UI_PROTOCOL_H

#include "model.h"

#include <lv2/atom/forge.h>
#include <lv2/urid/urid.h>

typedef struct ui_uris {
    LV2_URID atom_eventTransfer, atom_Object, atom_Blank, atom_String, atom_Path, atom_URID,
        atom_Int, atom_Long, atom_Float, atom_Double;
    LV2_URID patch_Set, patch_Get, patch_property, patch_value;
    LV2_URID prompt, prompt_file, model;
    LV2_URID Generate, Cancel, SelectTake, DeleteTake, Progress, Takes, Take, Error, Notice;
    LV2_URID state, fraction, frames, eta, seed, count, current, take, seconds, bpm, bars, file,
        message;
    LV2_URID st_idle, st_loading, st_queued, st_generating, st_ready, st_failed, st_cancelled;
} ui_uris;

typedef struct ui_protocol {
    ui_uris uris;
    LV2_Atom_Forge forge;
} ui_protocol;

void ui_protocol_init(ui_protocol *p, LV2_URID_Map *map);

/* Each forges one atom:Object into buf and returns its atom (header included, size + 8 bytes
 * long), or NULL when it does not fit. */
const LV2_Atom *ui_forge_set(ui_protocol *p, void *buf, uint32_t size, LV2_URID property,
                             LV2_URID type, const char *value);
/* type: Generate, Cancel or patch_Get (an object with no properties) */
const LV2_Atom *ui_forge_command(ui_protocol *p, void *buf, uint32_t size, LV2_URID type);
/* type: SelectTake or DeleteTake */
const LV2_Atom *ui_forge_take_command(ui_protocol *p, void *buf, uint32_t size, LV2_URID type,
                                      int take);

/* Reads one notify-port atom (port_event with atom:eventTransfer) into m and sets m->changed;
 * false when it is not a message of ours or is malformed (m unchanged then). */
bool ui_protocol_read(const ui_protocol *p, ui_model *m, const LV2_Atom *atom);

#endif
