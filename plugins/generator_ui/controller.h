/* The UI's behaviour, without X: what a key, a click, a scroll or a paste does to the editors,
 * the focus and the take list, and which messages it sends to the plugin. Messages go out
 * through the host's write function only (patch messages with atom:eventTransfer, control
 * ports as floats), so the UI works wherever the plugin's generic controls work.
 *
 * Ownership: ui_controller_new allocates the controller (it holds the model and the editors'
 * buffers); ui_controller_free releases it. Thread: the UI thread. */
#ifndef DGXM_UI_CONTROLLER_H
#define DGXM_UI_CONTROLLER_H

#include "layout.h"
#include "model.h"
#include "text_edit.h"
#include "ui_protocol.h"

#include <lv2/ui/ui.h>

typedef enum ui_key {
    UI_KEY_TAB,
    UI_KEY_ENTER,
    UI_KEY_ESCAPE,
    UI_KEY_BACKSPACE,
    UI_KEY_DELETE,
    UI_KEY_LEFT,
    UI_KEY_RIGHT,
    UI_KEY_UP,
    UI_KEY_DOWN,
    UI_KEY_HOME,
    UI_KEY_END,
    UI_KEY_SPACE,
    UI_KEY_SELECT_ALL
} ui_key;

enum {
    UI_MOD_SHIFT = 1,
    UI_MOD_CTRL = 2
};

typedef struct ui_controller {
    ui_model model;
    ui_protocol proto;
    LV2UI_Write_Function write;
    LV2UI_Controller host;
    uint32_t control_port; /* DGXM_GEN_PORT_CONTROL */

    /* $DGXM_UI_TRACE set: one stderr line per prompt, state or take count the plugin reports,
     * and when the UI opens or closes (for host tests that cannot see the messages) */
    bool trace;
    ui_state traced_state;
    int traced_takes;

    char prompt_buf[UI_PROMPT_MAX];
    char model_buf[UI_PATH_MAX];
    ui_text prompt, model_entry;
    bool prompt_dirty, model_dirty; /* edited since last sent or received */

    ui_widget focus;
    int take_cursor; /* the keyboard's row in the take list */
    int first_row;   /* the take list's scroll */
    ui_layout layout;
    bool redraw;

    /* the prompt's wrapped lines, kept by drawing for Up/Down and clicks */
    size_t line_starts[256];
    int lines;
    int prompt_scroll; /* first prompt line shown */
    ui_measure_fn measure;
    void *measure_ctx;

    uint8_t forge_buf[UI_PROMPT_MAX + 256];
} ui_controller;

/* NULL when out of memory. Sends a patch:Get so the plugin reports its prompt, model, takes and
 * progress (a reopened UI shows them at once). Reads $DGXM_UI_TRACE (see ui_controller.trace). */
ui_controller *ui_controller_new(LV2_URID_Map *map, LV2UI_Write_Function write,
                                 LV2UI_Controller host, double scale);
void ui_controller_free(ui_controller *c);

/* The host's port_event: control ports (format 0) and notify atoms (atom:eventTransfer). */
void ui_controller_port_event(ui_controller *c, uint32_t port, uint32_t size, uint32_t format,
                              const void *buffer);

/* Input. Text is UTF-8 as typed (repaired when it is not valid). */
void ui_controller_key(ui_controller *c, ui_key key, unsigned mods);
void ui_controller_text(ui_controller *c, const char *utf8, size_t len);
void ui_controller_paste(ui_controller *c, const char *bytes, size_t len);
void ui_controller_press(ui_controller *c, double x, double y, unsigned mods);
void ui_controller_drag(ui_controller *c, double x, double y);              /* button held */
void ui_controller_scroll(ui_controller *c, double x, double y, int steps); /* > 0: down */
void ui_controller_focus_lost(ui_controller *c); /* the window lost focus: commit edits */
/* The focused editor's selection (for the CLIPBOARD / PRIMARY owner); false when none. */
bool ui_controller_selection(const ui_controller *c, const char **text, size_t *len);

/* The text measure used for wrapping and clicks; NULL: a fixed advance per code point. */
void ui_controller_set_measure(ui_controller *c, ui_measure_fn measure, void *ctx);
/* Re-wraps the prompt (after an edit or a font change) and scrolls it so the cursor shows. */
void ui_controller_relayout(ui_controller *c);
/* The number of prompt lines the prompt box shows. */
int ui_controller_prompt_rows(const ui_controller *c);

/* Commands, also bound to the buttons. */
void ui_controller_generate(ui_controller *c);
void ui_controller_cancel(ui_controller *c);

/* The text shown in the progress bar, e.g. "Generating 42%, 3 s left". */
void ui_progress_text(const ui_model *m, char *buf, size_t size);
/* One take row's text, e.g. "2  seed 1234  8.0 s  4 bars @ 120 bpm  jazz trio". */
void ui_take_text(const ui_model *m, int i, char *buf, size_t size);

#endif
