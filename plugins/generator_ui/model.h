/* What the UI knows of the plugin: the last values the plugin reported on its notify port
 * (parameters, progress, take list, messages) and the control ports the UI mirrors. Filled by
 * ui_protocol_read() and ui_model_port(); read by drawing. Plain data.
 *
 * Ownership: the caller's (the UI instance holds one). Thread: the UI thread. */
#ifndef DGXM_UI_MODEL_H
#define DGXM_UI_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#define UI_PROMPT_MAX  8192 /* GEN_PROMPT_MAX: bytes, NUL included */
#define UI_PATH_MAX    4096 /* GEN_PATH_MAX */
#define UI_MESSAGE_MAX 600  /* GEN_MESSAGE_MAX */
#define UI_MAX_TAKES   16   /* GEN_MAX_TAKES */

typedef enum ui_state {
    UI_STATE_UNKNOWN, /* nothing heard from the plugin yet */
    UI_STATE_IDLE,
    UI_STATE_LOADING,
    UI_STATE_QUEUED,
    UI_STATE_GENERATING,
    UI_STATE_READY,
    UI_STATE_FAILED,
    UI_STATE_CANCELLED
} ui_state;

typedef struct ui_take {
    bool known; /* its TAKE object arrived */
    char prompt[UI_PROMPT_MAX];
    int64_t seed;
    float seconds, bpm; /* bpm 0: free */
    int bars;           /* 0: free */
    char file[UI_PATH_MAX];
} ui_take;

/* Bits of ui_model.changed: what to redraw or copy into an editor. */
enum {
    UI_CHANGED_PROMPT = 1,
    UI_CHANGED_MODEL = 2,
    UI_CHANGED_PROGRESS = 4,
    UI_CHANGED_TAKES = 8,
    UI_CHANGED_MESSAGE = 16,
    UI_CHANGED_PORTS = 32
};

typedef struct ui_model {
    char prompt[UI_PROMPT_MAX];
    char model_path[UI_PATH_MAX];
    char prompt_file[UI_PATH_MAX];

    ui_state state;
    float fraction; /* 0 .. 1 */
    float eta;      /* seconds; < 0 unknown */
    int64_t frames;
    int64_t seed; /* the seed in use / last used; < 0 none yet */

    int take_count, current; /* current -1: none */
    ui_take takes[UI_MAX_TAKES];

    char message[UI_MESSAGE_MAX];
    bool message_is_error;

    /* mirrored control ports */
    float duration, seed_port, sync;

    unsigned changed; /* UI_CHANGED_* since the caller last cleared it */
} ui_model;

void ui_model_init(ui_model *m);
/* A control port value from the host (port_event with format 0). Other ports are ignored. */
void ui_model_port(ui_model *m, uint32_t index, float value);
const char *ui_state_name(ui_state s); /* "Generating", ...; "-" for unknown */

#endif
