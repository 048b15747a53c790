/* Drawing the UI with cairo from the controller's state, and measuring text for layout.
 * Thread: the UI thread. */
#ifndef DGXM_UI_DRAW_H
#define DGXM_UI_DRAW_H

#include "controller.h"

#include <cairo.h>

/* Selects the UI's font at the layout's size on cr. */
void ui_draw_font(cairo_t *cr, const ui_layout *l);
/* A ui_measure_fn: ctx is a cairo_t with the UI's font selected. */
double ui_draw_measure(void *ctx, const char *s, size_t n);
/* The whole window. */
void ui_draw(cairo_t *cr, const ui_controller *c, double width, double height);

#endif
