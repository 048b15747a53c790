/* See model.h. UI thread. */
#include "model.h"

#include "protocol.h"

#include <string.h>

void ui_model_init(ui_model *m)
{
    memset(m, 0, sizeof *m);
    m->state = UI_STATE_UNKNOWN;
    m->eta = -1.0f;
    m->seed = -1;
    m->current = -1;
    m->duration = 8.0f; /* generator.ttl's defaults until the host says otherwise */
    m->seed_port = -1.0f;
}

void ui_model_port(ui_model *m, uint32_t index, float value)
{
    switch (index) {
    case DGXM_GEN_PORT_DURATION: m->duration = value; break;
    case DGXM_GEN_PORT_SEED: m->seed_port = value; break;
    case DGXM_GEN_PORT_SYNC: m->sync = value; break;
    default: return;
    }
    m->changed |= UI_CHANGED_PORTS;
}

const char *ui_state_name(ui_state s)
{
    static const char *const names[] = { "-",          "Idle",  "Loading model", "Queued",
                                         "Generating", "Ready", "Failed",        "Cancelled" };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "-";
}
