/* Every URI the plugin uses, mapped once at instantiate (never from run()). Owned by the
 * instance; read by any of its threads after instantiate. */
#ifndef DGXM_GEN_URIS_H
#define DGXM_GEN_URIS_H

#include <lv2/urid/urid.h>

typedef struct gen_uris {
    LV2_URID atom_Blank, atom_Object, atom_Float, atom_Double, atom_Int, atom_Long, atom_Bool,
        atom_String, atom_Path, atom_URID, atom_Sequence, atom_eventTransfer;
    LV2_URID midi_Event;
    LV2_URID patch_Set, patch_Get, patch_property, patch_value, patch_subject;
    LV2_URID time_Position, time_bar, time_barBeat, time_beatsPerBar, time_beatsPerMinute,
        time_speed, time_frame;
    LV2_URID param_sampleRate, bufsz_maxBlockLength, bufsz_nominalBlockLength;
    LV2_URID state_StateChanged;
    /* protocol.h */
    LV2_URID prompt, prompt_file, model;
    LV2_URID Generate, Cancel, SelectTake, DeleteTake, Progress, Takes, Take, Error, Notice;
    LV2_URID state, fraction, frames, eta, seed, count, current, take, seconds, bpm, bars, file,
        message;
    LV2_URID Idle, Loading, Queued, Generating, Ready, Failed, Cancelled;
    LV2_URID take_count, current_take, last_seed;
} gen_uris;

/* Maps every URI through map. Instantiate (control thread). */
void gen_uris_map(gen_uris *u, LV2_URID_Map *map);

#endif
