/* URID mapping: once, at instantiate. */
#include "uris.h"

#include "protocol.h"

#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/midi/midi.h>
#include <lv2/parameters/parameters.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/time/time.h>

void gen_uris_map(gen_uris *u, LV2_URID_Map *map)
{
#define M(field, uri) u->field = map->map(map->handle, uri)
    M(atom_Blank, LV2_ATOM__Blank);
    M(atom_Object, LV2_ATOM__Object);
    M(atom_Float, LV2_ATOM__Float);
    M(atom_Double, LV2_ATOM__Double);
    M(atom_Int, LV2_ATOM__Int);
    M(atom_Long, LV2_ATOM__Long);
    M(atom_Bool, LV2_ATOM__Bool);
    M(atom_String, LV2_ATOM__String);
    M(atom_Path, LV2_ATOM__Path);
    M(atom_URID, LV2_ATOM__URID);
    M(atom_Sequence, LV2_ATOM__Sequence);
    M(atom_eventTransfer, LV2_ATOM__eventTransfer);
    M(midi_Event, LV2_MIDI__MidiEvent);
    M(patch_Set, LV2_PATCH__Set);
    M(patch_Get, LV2_PATCH__Get);
    M(patch_property, LV2_PATCH__property);
    M(patch_value, LV2_PATCH__value);
    M(patch_subject, LV2_PATCH__subject);
    M(time_Position, LV2_TIME__Position);
    M(time_bar, LV2_TIME__bar);
    M(time_barBeat, LV2_TIME__barBeat);
    M(time_beatsPerBar, LV2_TIME__beatsPerBar);
    M(time_beatsPerMinute, LV2_TIME__beatsPerMinute);
    M(time_speed, LV2_TIME__speed);
    M(time_frame, LV2_TIME__frame);
    M(param_sampleRate, LV2_PARAMETERS__sampleRate);
    M(bufsz_maxBlockLength, LV2_BUF_SIZE__maxBlockLength);
    M(bufsz_nominalBlockLength, LV2_BUF_SIZE__nominalBlockLength);
    M(state_StateChanged, LV2_STATE__StateChanged);
    M(prompt, DGXM_GEN__prompt);
    M(prompt_file, DGXM_GEN__prompt_file);
    M(model, DGXM_GEN__model);
    M(Generate, DGXM_GEN__Generate);
    M(Cancel, DGXM_GEN__Cancel);
    M(SelectTake, DGXM_GEN__SelectTake);
    M(DeleteTake, DGXM_GEN__DeleteTake);
    M(Progress, DGXM_GEN__Progress);
    M(Takes, DGXM_GEN__Takes);
    M(Take, DGXM_GEN__Take);
    M(Error, DGXM_GEN__Error);
    M(Notice, DGXM_GEN__Notice);
    M(state, DGXM_GEN__state);
    M(fraction, DGXM_GEN__fraction);
    M(frames, DGXM_GEN__frames);
    M(eta, DGXM_GEN__eta);
    M(seed, DGXM_GEN__seed);
    M(count, DGXM_GEN__count);
    M(current, DGXM_GEN__current);
    M(take, DGXM_GEN__take);
    M(seconds, DGXM_GEN__seconds);
    M(bpm, DGXM_GEN__bpm);
    M(bars, DGXM_GEN__bars);
    M(file, DGXM_GEN__file);
    M(message, DGXM_GEN__message);
    M(Idle, DGXM_GEN__Idle);
    M(Loading, DGXM_GEN__Loading);
    M(Queued, DGXM_GEN__Queued);
    M(Generating, DGXM_GEN__Generating);
    M(Ready, DGXM_GEN__Ready);
    M(Failed, DGXM_GEN__Failed);
    M(Cancelled, DGXM_GEN__Cancelled);
    M(take_count, DGXM_GEN__take_count);
    M(current_take, DGXM_GEN__current_take);
    M(last_seed, DGXM_GEN__last_seed);
#undef M
}
