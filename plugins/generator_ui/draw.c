/* See draw.h. UI thread. Cairo's text API: one font (the fontconfig "sans"), no shaping, which
 * covers prompts in Latin, Greek, Cyrillic and most symbols; glyphs the font lacks show as
 * boxes. */
#include "draw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct rgb {
    double r, g, b;
} rgb;

static const rgb BG = { 0.12, 0.13, 0.15 }, PANEL = { 0.18, 0.20, 0.23 },
                 EDGE = { 0.32, 0.35, 0.40 }, TEXT = { 0.92, 0.92, 0.92 },
                 DIM = { 0.62, 0.65, 0.70 }, ACCENT = { 0.24, 0.55, 0.99 },
                 SELECT = { 0.20, 0.36, 0.62 }, ERR = { 1.00, 0.45, 0.42 },
                 OK = { 0.35, 0.80, 0.45 }, CURRENT = { 0.17, 0.30, 0.45 };

static void color(cairo_t *cr, rgb c)
{
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

static void rounded(cairo_t *cr, ui_rect r, double radius)
{
    cairo_new_sub_path(cr);
    cairo_arc(cr, r.x + r.w - radius, r.y + radius, radius, -M_PI / 2, 0);
    cairo_arc(cr, r.x + r.w - radius, r.y + r.h - radius, radius, 0, M_PI / 2);
    cairo_arc(cr, r.x + radius, r.y + r.h - radius, radius, M_PI / 2, M_PI);
    cairo_arc(cr, r.x + radius, r.y + radius, radius, M_PI, 3 * M_PI / 2);
    cairo_close_path(cr);
}

void ui_draw_font(cairo_t *cr, const ui_layout *l)
{
    cairo_select_font_face(cr, "sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, l->font_px);
}

/* Cairo wants NUL-terminated valid UTF-8: copies s[0..n) in chunks, skipping invalid text
 * (which would put the context into an error state). */
static double text_chunked(cairo_t *cr, const char *s, size_t n, bool show)
{
    char buf[1024];
    double w = 0;
    while (n > 0) {
        size_t k = n < sizeof buf - 1 ? n : sizeof buf - 1;
        while (k < n && k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
            k--; /* never split a sequence */
        if (k == 0)
            break;
        memcpy(buf, s, k);
        buf[k] = '\0';
        if (ui_utf8_valid(buf, k)) {
            cairo_text_extents_t e;
            cairo_text_extents(cr, buf, &e);
            if (show)
                cairo_show_text(cr, buf); /* advances the current point */
            w += e.x_advance;
        }
        s += k;
        n -= k;
    }
    return w;
}

double ui_draw_measure(void *ctx, const char *s, size_t n)
{
    return text_chunked(ctx, s, n, false);
}

/* Text at (x, baseline y) */
static double show(cairo_t *cr, double x, double y, const char *s, size_t n, rgb c)
{
    color(cr, c);
    cairo_move_to(cr, x, y);
    return text_chunked(cr, s, n, true);
}

static double show_str(cairo_t *cr, double x, double y, const char *s, rgb c)
{
    return show(cr, x, y, s, strlen(s), c);
}

/* The baseline that centres the font vertically in r. */
static double mid(cairo_t *cr, ui_rect r)
{
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    return r.y + (r.h + fe.ascent - fe.descent) / 2;
}

static void box(cairo_t *cr, const ui_layout *l, ui_rect r, rgb fill, bool focused)
{
    rounded(cr, r, 4 * l->scale);
    color(cr, fill);
    cairo_fill_preserve(cr);
    color(cr, focused ? ACCENT : EDGE);
    cairo_set_line_width(cr, (focused ? 2 : 1) * l->scale);
    cairo_stroke(cr);
}

static void button(cairo_t *cr, const ui_controller *c, ui_widget w, const char *label, rgb fill)
{
    const ui_layout *l = &c->layout;
    ui_rect r = l->r[w];
    box(cr, l, r, fill, c->focus == w);
    cairo_text_extents_t e;
    cairo_text_extents(cr, label, &e);
    show_str(cr, r.x + (r.w - e.x_advance) / 2, mid(cr, r), label, TEXT);
}

static void label(cairo_t *cr, const ui_layout *l, double x, double y, const char *s)
{
    show_str(cr, x * l->scale, y * l->scale, s, DIM);
}

static void draw_prompt(cairo_t *cr, const ui_controller *c)
{
    const ui_layout *l = &c->layout;
    const ui_text *t = &c->prompt;
    ui_rect r = l->r[UI_W_PROMPT];
    bool focused = c->focus == UI_W_PROMPT;
    box(cr, l, r, PANEL, focused);
    cairo_save(cr);
    cairo_rectangle(cr, r.x + 1, r.y + 1, r.w - 2, r.h - 2);
    cairo_clip(cr);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double line_h = l->font_px * 1.35, x0 = r.x + l->pad, y0 = r.y + l->pad;
    if (!t->len && !focused)
        show_str(cr, x0, y0 + fe.ascent, "Describe the music, e.g. 80s synthwave, driving bass",
                 DIM);
    size_t sel_a, sel_b;
    bool sel = ui_text_selection(t, &sel_a, &sel_b);
    int rows = ui_controller_prompt_rows(c);
    for (int i = c->prompt_scroll; i < c->lines && i < c->prompt_scroll + rows; i++) {
        size_t s = c->line_starts[i];
        size_t e = ui_wrap_line_end(t->buf, t->len, c->line_starts, c->lines, i);
        double y = y0 + (i - c->prompt_scroll) * line_h;
        if (sel && sel_a <= e && sel_b >= s) {
            size_t a = sel_a > s ? sel_a : s, b = sel_b < e ? sel_b : e;
            double xa = ui_draw_measure(cr, t->buf + s, a - s);
            double xb = ui_draw_measure(cr, t->buf + s, b - s);
            color(cr, SELECT);
            cairo_rectangle(cr, x0 + xa, y, xb - xa + (sel_b > e ? 4 * l->scale : 0), line_h);
            cairo_fill(cr);
        }
        show(cr, x0, y + fe.ascent + (line_h - fe.height) / 2, t->buf + s, e - s, TEXT);
        int cursor_line = ui_wrap_line_of(c->line_starts, c->lines, t->cursor);
        if (focused && cursor_line == i) {
            double xc = x0 + ui_draw_measure(cr, t->buf + s, t->cursor - s);
            color(cr, ACCENT);
            cairo_rectangle(cr, xc, y + 2 * l->scale, 1.5 * l->scale, line_h - 4 * l->scale);
            cairo_fill(cr);
        }
    }
    cairo_restore(cr);
}

static void draw_entry(cairo_t *cr, const ui_controller *c)
{
    const ui_layout *l = &c->layout;
    const ui_text *t = &c->model_entry;
    ui_rect r = l->r[UI_W_MODEL];
    bool focused = c->focus == UI_W_MODEL;
    box(cr, l, r, PANEL, focused);
    cairo_save(cr);
    cairo_rectangle(cr, r.x + 1, r.y + 1, r.w - 2, r.h - 2);
    cairo_clip(cr);
    double inner = r.w - 2 * l->pad;
    double xc = ui_draw_measure(cr, t->buf, t->cursor);
    double shift = xc > inner ? xc - inner : 0; /* keep the cursor in view */
    double x0 = r.x + l->pad - shift, y = mid(cr, r);
    if (!t->len && !focused)
        show_str(cr, x0, y, "empty: $DGXM_MODEL or ~/.config/dgx-music/config", DIM);
    size_t a, b;
    if (ui_text_selection(t, &a, &b)) {
        double xa = ui_draw_measure(cr, t->buf, a), xb = ui_draw_measure(cr, t->buf, b);
        color(cr, SELECT);
        cairo_rectangle(cr, x0 + xa, r.y + 4 * l->scale, xb - xa, r.h - 8 * l->scale);
        cairo_fill(cr);
    }
    show(cr, x0, y, t->buf, t->len, TEXT);
    if (focused) {
        color(cr, ACCENT);
        cairo_rectangle(cr, x0 + xc, r.y + 5 * l->scale, 1.5 * l->scale, r.h - 10 * l->scale);
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

static void draw_progress(cairo_t *cr, const ui_controller *c)
{
    const ui_layout *l = &c->layout;
    const ui_model *m = &c->model;
    ui_rect r = l->r[UI_W_PROGRESS];
    box(cr, l, r, PANEL, false);
    double f = m->state == UI_STATE_GENERATING ? m->fraction
               : m->state == UI_STATE_READY    ? 1.0
                                               : 0.0;
    if (f > 0) {
        ui_rect bar = { r.x + 2 * l->scale, r.y + 2 * l->scale, (r.w - 4 * l->scale) * f,
                        r.h - 4 * l->scale };
        rounded(cr, bar, 3 * l->scale);
        color(cr, m->state == UI_STATE_READY ? (rgb){ 0.16, 0.42, 0.25 } : SELECT);
        cairo_fill(cr);
    }
    char text[96];
    ui_progress_text(m, text, sizeof text);
    show_str(cr, r.x + 3 * l->pad, mid(cr, r), text, m->state == UI_STATE_FAILED ? ERR : TEXT);
}

static void draw_controls(cairo_t *cr, const ui_controller *c)
{
    const ui_layout *l = &c->layout;
    const ui_model *m = &c->model;
    char s[96];
    bool locked = m->seed_port >= 0;
    if (locked)
        snprintf(s, sizeof s, "seed %.0f (locked)", (double)m->seed_port);
    else if (m->seed >= 0)
        snprintf(s, sizeof s, "seed %lld: click to lock", (long long)m->seed);
    else
        snprintf(s, sizeof s, "seed: random");
    button(cr, c, UI_W_SEED, s, locked ? CURRENT : PANEL);
    button(cr, c, UI_W_RANDOM, "Random", PANEL);
    button(cr, c, UI_W_DURATION_DOWN, "-", PANEL);
    bool sync = m->sync >= 0.5f;
    snprintf(s, sizeof s, sync ? "%.0f bars" : "%.0f s", floor((double)m->duration + 0.5));
    button(cr, c, UI_W_DURATION, s, PANEL);
    button(cr, c, UI_W_DURATION_UP, "+", PANEL);

    ui_rect r = l->r[UI_W_SYNC];
    ui_rect check = { r.x + 4 * l->scale, r.y + (r.h - 16 * l->scale) / 2, 16 * l->scale,
                      16 * l->scale };
    box(cr, l, check, sync ? ACCENT : PANEL, false);
    if (c->focus == UI_W_SYNC) {
        rounded(cr, r, 4 * l->scale);
        color(cr, ACCENT);
        cairo_set_line_width(cr, 2 * l->scale);
        cairo_stroke(cr);
    }
    show_str(cr, check.x + check.w + 6 * l->scale, mid(cr, r), "Tempo sync", TEXT);
}

static void draw_takes(cairo_t *cr, const ui_controller *c)
{
    const ui_layout *l = &c->layout;
    const ui_model *m = &c->model;
    ui_rect r = l->r[UI_W_TAKES];
    box(cr, l, r, PANEL, c->focus == UI_W_TAKES);
    if (m->take_count == 0) {
        show_str(cr, r.x + l->pad, r.y + l->row_h * 0.7, "No takes yet: Generate makes one.", DIM);
        return;
    }
    int rows = ui_layout_visible_rows(l);
    char text[512];
    for (int k = 0; k < rows && c->first_row + k < m->take_count; k++) {
        int i = c->first_row + k;
        ui_rect row = ui_layout_take_row(l, k);
        if (i == m->current) {
            color(cr, CURRENT);
            cairo_rectangle(cr, row.x, row.y, row.w, row.h);
            cairo_fill(cr);
        }
        if (c->focus == UI_W_TAKES && i == c->take_cursor) {
            color(cr, ACCENT);
            cairo_set_line_width(cr, 1.5 * l->scale);
            cairo_rectangle(cr, row.x + 1, row.y + 1, row.w - 2, row.h - 2);
            cairo_stroke(cr);
        }
        ui_rect del = ui_layout_take_delete(l, k);
        cairo_save(cr);
        cairo_rectangle(cr, row.x, row.y, del.x - row.x - l->pad, row.h);
        cairo_clip(cr);
        ui_take_text(m, i, text, sizeof text);
        show_str(cr, row.x + l->pad, mid(cr, row), text, i == m->current ? TEXT : DIM);
        cairo_restore(cr);
        box(cr, l, del, BG, false);
        show_str(cr, del.x + del.w * 0.28, mid(cr, del), "x", ERR);
    }
    if (m->take_count > rows) {
        snprintf(text, sizeof text, "%d-%d of %d (scroll)", c->first_row + 1,
                 c->first_row + rows < m->take_count ? c->first_row + rows : m->take_count,
                 m->take_count);
        cairo_text_extents_t e;
        cairo_text_extents(cr, text, &e);
        show_str(cr, r.x + r.w - e.x_advance, r.y - 6 * l->scale, text, DIM);
    }
}

static void draw_message(cairo_t *cr, const ui_controller *c)
{
    const ui_layout *l = &c->layout;
    const ui_model *m = &c->model;
    if (!m->message[0])
        return;
    ui_rect r = l->r[UI_W_MESSAGE];
    size_t starts[4];
    size_t len = strlen(m->message);
    int lines = ui_wrap(m->message, len, r.w, ui_draw_measure, cr, starts, 3);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    for (int i = 0; i < lines && i < 2; i++) {
        size_t e = i + 1 < lines ? starts[i + 1] : len;
        show(cr, r.x, r.y + fe.ascent + i * l->font_px * 1.35, m->message + starts[i],
             e - starts[i], m->message_is_error ? ERR : OK);
    }
}

void ui_draw(cairo_t *cr, const ui_controller *c, double width, double height)
{
    const ui_layout *l = &c->layout;
    color(cr, BG);
    cairo_rectangle(cr, 0, 0, width, height);
    cairo_fill(cr);
    ui_draw_font(cr, l);
    label(cr, l, 12, 22, "Prompt   (Enter: generate, Shift+Enter: new line, Esc: cancel)");
    draw_prompt(cr, c);
    button(cr, c, UI_W_GENERATE, "Generate", (rgb){ 0.16, 0.33, 0.62 });
    button(cr, c, UI_W_CANCEL, "Cancel", PANEL);
    draw_progress(cr, c);
    draw_controls(cr, c);
    label(cr, l, 12, 263, "Model");
    draw_entry(cr, c);
    label(cr, l, 12, 296, "Takes   (click: make current, x: delete)");
    draw_takes(cr, c);
    draw_message(cr, c);
}
