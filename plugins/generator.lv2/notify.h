/* Forging the notify port's messages (protocol.h). Audio thread only: each call writes into
 * the notify sequence prepared by gen_notify_begin and returns false when it did not fit (the
 * caller retries what matters in a later block). Events are stamped at frame 0. */
#ifndef DGXM_GEN_NOTIFY_H
#define DGXM_GEN_NOTIFY_H

#include "plugin.h"

/* Starts the notify sequence for this block (the port's capacity is its atom size on entry). */
void gen_notify_begin(gen_plugin *self);

bool gen_notify_progress(gen_plugin *self, LV2_URID state, float fraction, int64_t frames,
                         float eta, int64_t seed);
/* type: uris.Error or uris.Notice */
bool gen_notify_message(gen_plugin *self, LV2_URID type, const char *text);
/* patch:Set { property, value } with value of type atom:String or atom:Path */
bool gen_notify_param(gen_plugin *self, LV2_URID property, LV2_URID type, const char *value);
bool gen_notify_takes(gen_plugin *self, int count, int current);
bool gen_notify_take(gen_plugin *self, int index, const gen_take *t);
bool gen_notify_state_changed(gen_plugin *self);

#endif
