/* Where each control of the UI sits, which control a point hits, the order Tab moves focus in,
 * and how the prompt wraps into lines. Pure geometry: sizes are in logical units times the
 * scale factor; text widths come from a measuring callback (cairo in draw.c, a fake in tests).
 *
 * Thread: the UI thread. */
#ifndef DGXM_UI_LAYOUT_H
#define DGXM_UI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#define UI_WIDTH  620 /* logical size of the window at scale 1 */
#define UI_HEIGHT 560

typedef enum ui_widget {
    UI_W_NONE = -1,
    UI_W_PROMPT,
    UI_W_GENERATE,
    UI_W_CANCEL,
    UI_W_SEED,   /* the seed in use: click to lock the seed port to it */
    UI_W_RANDOM, /* seed port back to -1 */
    UI_W_DURATION_DOWN,
    UI_W_DURATION,
    UI_W_DURATION_UP,
    UI_W_SYNC,
    UI_W_MODEL,
    UI_W_TAKES,
    UI_W_PROGRESS, /* not focusable */
    UI_W_MESSAGE,  /* not focusable */
    UI_W_COUNT
} ui_widget;

typedef struct ui_rect {
    double x, y, w, h;
} ui_rect;

typedef struct ui_layout {
    double scale;
    ui_rect r[UI_W_COUNT];
    double row_h;   /* one take row in the list */
    double pad;     /* inner padding of text boxes */
    double font_px; /* text size */
} ui_layout;

/* What a point hits: a control, and for the take list the row (take index, counting the list's
 * scroll) and whether it is the row's delete button. */
typedef struct ui_hit {
    ui_widget widget;
    int row; /* -1 outside rows */
    bool delete_button;
} ui_hit;

void ui_layout_compute(ui_layout *l, double scale);
ui_hit ui_layout_hit(const ui_layout *l, double x, double y, int first_row, int rows);
/* The delete button of a take row at position i of the visible rows. */
ui_rect ui_layout_take_row(const ui_layout *l, int visible_index);
ui_rect ui_layout_take_delete(const ui_layout *l, int visible_index);
int ui_layout_visible_rows(const ui_layout *l);

bool ui_widget_focusable(ui_widget w);
/* Tab order: the next (back: previous) focusable control after w, wrapping around. */
ui_widget ui_focus_next(ui_widget w, bool back);

/* Text width of s[0..n) in the current font. */
typedef double (*ui_measure_fn)(void *ctx, const char *s, size_t n);

/* Wraps text into lines no wider than width: breaks after the last space that fits, inside a
 * word only when one word is wider than the line, and at every newline. starts[i] is the byte
 * offset where line i begins (starts[0] == 0); returns the number of lines (>= 1, at most max). */
int ui_wrap(const char *text, size_t len, double width, ui_measure_fn measure, void *ctx,
            size_t *starts, int max);
/* The line holding byte offset pos (a position at a wrap point belongs to the later line). */
int ui_wrap_line_of(const size_t *starts, int lines, size_t pos);
/* End of line i's visible text (before its newline, if any). */
size_t ui_wrap_line_end(const char *text, size_t len, const size_t *starts, int lines, int i);
/* The boundary in [start, end] nearest to x (x measured from the line's start). */
size_t ui_wrap_pos_at(const char *text, size_t start, size_t end, double x, ui_measure_fn measure,
                      void *ctx);

#endif
