/* The UI's X11 window: created inside the host's parent window (ui:parent) or as a top-level
 * window, painted with cairo, its events translated into controller calls; keyboard text
 * through an X input method when one opens (else keysyms), paste from CLIPBOARD (Ctrl+V,
 * Shift+Insert) and PRIMARY (middle button), copy to CLIPBOARD (Ctrl+C / Ctrl+X).
 * The window has its own display connection; the host pumps it through ui:idleInterface.
 *
 * Ownership: ui_window_new allocates, ui_window_free releases (the controller stays the
 * caller's). Thread: the UI thread. */
#ifndef DGXM_UI_X11_H
#define DGXM_UI_X11_H

#include "controller.h"

typedef struct ui_window ui_window;

/* parent 0: a top-level window. NULL with a message in err when the display cannot be opened
 * or the window not made. */
ui_window *ui_window_new(unsigned long parent, ui_controller *c, char *err, size_t err_size);
void ui_window_free(ui_window *w);
unsigned long ui_window_id(const ui_window *w);
void ui_window_size(const ui_window *w, int *width, int *height);
/* Handles pending events and redraws when needed; nonzero once a top-level window was closed. */
int ui_window_idle(ui_window *w);

/* The scale factor the X server suggests: $GDK_SCALE, else Xft.dpi / 96; 0 when neither says. */
double ui_x11_scale_hint(void);

#endif
