/* See controller.h. UI thread. */
#include "controller.h"

#include "protocol.h"

#include <lv2/patch/patch.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without a measuring callback (tests): a fixed advance per code point. */
static double fixed_measure(void *ctx, const char *s, size_t n)
{
    const ui_controller *c = ctx;
    double w = 0;
    for (size_t i = 0; i < n; i = ui_utf8_next(s, n, i))
        w += c->layout.font_px * 0.6;
    return w;
}

ui_controller *ui_controller_new(LV2_URID_Map *map, LV2UI_Write_Function write,
                                 LV2UI_Controller host, double scale)
{
    ui_controller *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    ui_model_init(&c->model);
    ui_protocol_init(&c->proto, map);
    c->write = write;
    c->host = host;
    c->control_port = DGXM_GEN_PORT_CONTROL;
    ui_text_init(&c->prompt, c->prompt_buf, sizeof c->prompt_buf, true);
    ui_text_init(&c->model_entry, c->model_buf, sizeof c->model_buf, false);
    c->focus = UI_W_PROMPT;
    c->measure = fixed_measure;
    c->measure_ctx = c;
    ui_layout_compute(&c->layout, scale);
    ui_controller_relayout(c);
    c->redraw = true;
    const char *trace = getenv("DGXM_UI_TRACE");
    c->trace = trace && *trace;
    c->traced_takes = -1;
    if (c->trace)
        fprintf(stderr, "dgx-music UI: opened\n");
    const LV2_Atom *get =
        ui_forge_command(&c->proto, c->forge_buf, sizeof c->forge_buf, c->proto.uris.patch_Get);
    if (get && c->write)
        c->write(c->host, c->control_port, lv2_atom_total_size(get),
                 c->proto.uris.atom_eventTransfer, get);
    return c;
}

void ui_controller_set_measure(ui_controller *c, ui_measure_fn measure, void *ctx)
{
    c->measure = measure ? measure : fixed_measure;
    c->measure_ctx = measure ? ctx : c;
    ui_controller_relayout(c);
}

void ui_controller_free(ui_controller *c)
{
    if (c && c->trace)
        fprintf(stderr, "dgx-music UI: closed\n");
    free(c);
}

static void send(ui_controller *c, const LV2_Atom *a)
{
    if (a && c->write)
        c->write(c->host, c->control_port, lv2_atom_total_size(a), c->proto.uris.atom_eventTransfer,
                 a);
}

static void send_port(ui_controller *c, uint32_t port, float v)
{
    ui_model_port(&c->model, port, v);
    if (c->write)
        c->write(c->host, port, sizeof v, 0, &v);
    c->redraw = true;
}

static void say(ui_controller *c, bool error, const char *text)
{
    snprintf(c->model.message, sizeof c->model.message, "%s", text);
    ui_utf8_trim(c->model.message);
    c->model.message_is_error = error;
    c->redraw = true;
}

/* ---- editors --------------------------------------------------------------------------------- */

static void commit_prompt(ui_controller *c)
{
    if (!c->prompt_dirty)
        return;
    c->prompt_dirty = false;
    if (strcmp(c->prompt.buf, c->model.prompt) == 0)
        return;
    send(c, ui_forge_set(&c->proto, c->forge_buf, sizeof c->forge_buf, c->proto.uris.prompt,
                         c->proto.uris.atom_String, c->prompt.buf));
    /* the plugin echoes it; until then this is the value it has */
    snprintf(c->model.prompt, sizeof c->model.prompt, "%s", c->prompt.buf);
}

static void commit_model(ui_controller *c)
{
    if (!c->model_dirty)
        return;
    c->model_dirty = false;
    if (strcmp(c->model_entry.buf, c->model.model_path) == 0)
        return;
    send(c, ui_forge_set(&c->proto, c->forge_buf, sizeof c->forge_buf, c->proto.uris.model,
                         c->proto.uris.atom_Path, c->model_entry.buf));
    snprintf(c->model.model_path, sizeof c->model.model_path, "%s", c->model_entry.buf);
}

static ui_text *editor(ui_controller *c)
{
    return c->focus == UI_W_PROMPT ? &c->prompt : c->focus == UI_W_MODEL ? &c->model_entry : NULL;
}

static void edited(ui_controller *c)
{
    if (c->focus == UI_W_PROMPT)
        c->prompt_dirty = true;
    else if (c->focus == UI_W_MODEL)
        c->model_dirty = true;
    ui_controller_relayout(c);
    c->redraw = true;
}

static void set_focus(ui_controller *c, ui_widget w)
{
    if (w == c->focus || !ui_widget_focusable(w))
        return;
    if (c->focus == UI_W_PROMPT)
        commit_prompt(c);
    else if (c->focus == UI_W_MODEL)
        commit_model(c);
    c->focus = w;
    c->redraw = true;
}

int ui_controller_prompt_rows(const ui_controller *c)
{
    double h = c->layout.r[UI_W_PROMPT].h - 2 * c->layout.pad;
    int rows = (int)(h / (c->layout.font_px * 1.35));
    return rows < 1 ? 1 : rows;
}

void ui_controller_relayout(ui_controller *c)
{
    double width = c->layout.r[UI_W_PROMPT].w - 2 * c->layout.pad;
    c->lines = ui_wrap(c->prompt.buf, c->prompt.len, width, c->measure, c->measure_ctx,
                       c->line_starts, (int)(sizeof c->line_starts / sizeof c->line_starts[0]));
    int line = ui_wrap_line_of(c->line_starts, c->lines, c->prompt.cursor);
    int rows = ui_controller_prompt_rows(c);
    if (line < c->prompt_scroll)
        c->prompt_scroll = line;
    if (line >= c->prompt_scroll + rows)
        c->prompt_scroll = line - rows + 1;
    if (c->prompt_scroll > c->lines - 1)
        c->prompt_scroll = c->lines - 1;
}

/* Up / Down in the prompt: the same x on the line above / below. */
static void prompt_vertical(ui_controller *c, int dir, bool select)
{
    ui_text *t = &c->prompt;
    int line = ui_wrap_line_of(c->line_starts, c->lines, t->cursor);
    int to = line + dir;
    if (to < 0) {
        ui_text_move_to(t, 0, select);
        return;
    }
    if (to >= c->lines) {
        ui_text_move_to(t, t->len, select);
        return;
    }
    size_t start = c->line_starts[line];
    double x = c->measure(c->measure_ctx, t->buf + start, t->cursor - start);
    size_t s2 = c->line_starts[to];
    size_t e2 = ui_wrap_line_end(t->buf, t->len, c->line_starts, c->lines, to);
    ui_text_move_to(t, ui_wrap_pos_at(t->buf, s2, e2, x, c->measure, c->measure_ctx), select);
}

/* ---- commands -------------------------------------------------------------------------------- */

void ui_controller_generate(ui_controller *c)
{
    commit_prompt(c);
    commit_model(c);
    if (!c->model.prompt[0]) {
        say(c, true, "Type a prompt first: it says what to generate.");
        return;
    }
    send(c, ui_forge_command(&c->proto, c->forge_buf, sizeof c->forge_buf, c->proto.uris.Generate));
    c->model.message[0] = '\0';
    c->redraw = true;
}

void ui_controller_cancel(ui_controller *c)
{
    send(c, ui_forge_command(&c->proto, c->forge_buf, sizeof c->forge_buf, c->proto.uris.Cancel));
}

static void take_command(ui_controller *c, LV2_URID type, int i)
{
    if (i < 0 || i >= c->model.take_count)
        return;
    send(c, ui_forge_take_command(&c->proto, c->forge_buf, sizeof c->forge_buf, type, i));
}

static void lock_seed(ui_controller *c)
{
    if (c->model.seed < 0) {
        say(c, false, "No seed yet: generate a take, then click its seed to keep it.");
        return;
    }
    send_port(c, DGXM_GEN_PORT_SEED, (float)c->model.seed);
}

static void step_duration(ui_controller *c, int steps)
{
    float max = c->model.sync >= 0.5f ? 64.0f : 300.0f; /* bars / seconds, settings.h */
    float v = floorf(c->model.duration + 0.5f) + (float)steps;
    send_port(c, DGXM_GEN_PORT_DURATION, v < 1 ? 1 : v > max ? max : v);
}

static void scroll_takes_to(ui_controller *c, int row)
{
    int rows = ui_layout_visible_rows(&c->layout);
    if (row < c->first_row)
        c->first_row = row;
    if (row >= c->first_row + rows)
        c->first_row = row - rows + 1;
    if (c->first_row < 0)
        c->first_row = 0;
}

static void activate(ui_controller *c, ui_widget w)
{
    switch (w) {
    case UI_W_GENERATE: ui_controller_generate(c); break;
    case UI_W_CANCEL: ui_controller_cancel(c); break;
    case UI_W_SEED: lock_seed(c); break;
    case UI_W_RANDOM: send_port(c, DGXM_GEN_PORT_SEED, -1.0f); break;
    case UI_W_DURATION_DOWN: step_duration(c, -1); break;
    case UI_W_DURATION_UP: step_duration(c, 1); break;
    case UI_W_SYNC: send_port(c, DGXM_GEN_PORT_SYNC, c->model.sync >= 0.5f ? 0.0f : 1.0f); break;
    case UI_W_TAKES: take_command(c, c->proto.uris.SelectTake, c->take_cursor); break;
    default: break;
    }
}

/* ---- input ----------------------------------------------------------------------------------- */

static void text_key(ui_controller *c, ui_text *t, ui_key key, unsigned mods)
{
    bool shift = mods & UI_MOD_SHIFT, ctrl = mods & UI_MOD_CTRL;
    switch (key) {
    case UI_KEY_BACKSPACE:
        if (ui_text_backspace(t, ctrl))
            edited(c);
        return;
    case UI_KEY_DELETE:
        if (ui_text_delete(t, ctrl))
            edited(c);
        return;
    case UI_KEY_LEFT: ui_text_left(t, ctrl, shift); break;
    case UI_KEY_RIGHT: ui_text_right(t, ctrl, shift); break;
    case UI_KEY_HOME: ctrl ? ui_text_move_to(t, 0, shift) : ui_text_home(t, shift); break;
    case UI_KEY_END: ctrl ? ui_text_move_to(t, t->len, shift) : ui_text_end(t, shift); break;
    case UI_KEY_UP:
    case UI_KEY_DOWN:
        if (t == &c->prompt)
            prompt_vertical(c, key == UI_KEY_UP ? -1 : 1, shift);
        break;
    case UI_KEY_SELECT_ALL: ui_text_select_all(t); break;
    case UI_KEY_SPACE: ui_controller_text(c, " ", 1); return;
    default: return;
    }
    ui_controller_relayout(c);
    c->redraw = true;
}

static void list_key(ui_controller *c, ui_key key)
{
    int n = c->model.take_count;
    if (n == 0)
        return;
    if (key == UI_KEY_UP || key == UI_KEY_DOWN) {
        int r = c->take_cursor + (key == UI_KEY_UP ? -1 : 1);
        c->take_cursor = r < 0 ? 0 : r >= n ? n - 1 : r;
        scroll_takes_to(c, c->take_cursor);
        c->redraw = true;
    } else if (key == UI_KEY_HOME || key == UI_KEY_END) {
        c->take_cursor = key == UI_KEY_HOME ? 0 : n - 1;
        scroll_takes_to(c, c->take_cursor);
        c->redraw = true;
    } else if (key == UI_KEY_DELETE || key == UI_KEY_BACKSPACE) {
        take_command(c, c->proto.uris.DeleteTake, c->take_cursor);
    } else if (key == UI_KEY_ENTER || key == UI_KEY_SPACE) {
        take_command(c, c->proto.uris.SelectTake, c->take_cursor);
    }
}

void ui_controller_key(ui_controller *c, ui_key key, unsigned mods)
{
    if (key == UI_KEY_ESCAPE) {
        ui_controller_cancel(c);
        return;
    }
    if (key == UI_KEY_TAB) {
        set_focus(c, ui_focus_next(c->focus, mods & UI_MOD_SHIFT));
        return;
    }
    ui_text *t = editor(c);
    if (key == UI_KEY_ENTER) {
        if (t == &c->prompt && (mods & UI_MOD_SHIFT))
            ui_controller_text(c, "\n", 1);
        else if (t == &c->model_entry)
            commit_model(c);
        else if (t == &c->prompt)
            ui_controller_generate(c);
        else if (c->focus == UI_W_TAKES)
            list_key(c, key);
        else
            activate(c, c->focus);
        c->redraw = true;
        return;
    }
    if (t) {
        text_key(c, t, key, mods);
    } else if (c->focus == UI_W_TAKES) {
        list_key(c, key);
    } else if (c->focus == UI_W_DURATION && (key == UI_KEY_UP || key == UI_KEY_DOWN)) {
        step_duration(c, key == UI_KEY_UP ? 1 : -1);
    } else if (key == UI_KEY_SPACE) {
        activate(c, c->focus);
    }
}

static void insert_text(ui_controller *c, const char *s, size_t len, bool paste)
{
    ui_text *t = editor(c);
    if (!t) {
        if (!paste && len == 1 && (s[0] == '+' || s[0] == '-') && c->focus == UI_W_DURATION)
            step_duration(c, s[0] == '+' ? 1 : -1);
        return;
    }
    ui_text_result r = ui_text_insert(t, s, len);
    if (r.inserted || r.repaired)
        edited(c);
    if (paste && r.repaired)
        say(c, false,
            "The pasted text was not clean UTF-8: invalid bytes became U+FFFD and "
            "control characters were dropped.");
    if (r.truncated)
        say(c, true,
            t == &c->prompt ? "The prompt is full (8191 bytes): the rest was left out."
                            : "The path is too long (4095 bytes): the rest was left out.");
}

void ui_controller_text(ui_controller *c, const char *utf8, size_t len)
{
    insert_text(c, utf8, len, false);
}

void ui_controller_paste(ui_controller *c, const char *bytes, size_t len)
{
    insert_text(c, bytes, len, true);
}

/* A click in an editor puts the cursor there. */
static void place_cursor(ui_controller *c, ui_widget w, double x, double y, bool select)
{
    const ui_rect r = c->layout.r[w];
    const double pad = c->layout.pad;
    if (w == UI_W_MODEL) {
        ui_text *t = &c->model_entry;
        ui_text_move_to(
            t, ui_wrap_pos_at(t->buf, 0, t->len, x - r.x - pad, c->measure, c->measure_ctx),
            select);
        return;
    }
    int line = c->prompt_scroll + (int)((y - r.y - pad) / (c->layout.font_px * 1.35));
    if (line < 0)
        line = 0;
    if (line >= c->lines)
        line = c->lines - 1;
    size_t s = c->line_starts[line];
    size_t e = ui_wrap_line_end(c->prompt.buf, c->prompt.len, c->line_starts, c->lines, line);
    ui_text_move_to(&c->prompt,
                    ui_wrap_pos_at(c->prompt.buf, s, e, x - r.x - pad, c->measure, c->measure_ctx),
                    select);
}

void ui_controller_press(ui_controller *c, double x, double y, unsigned mods)
{
    ui_hit h = ui_layout_hit(&c->layout, x, y, c->first_row, c->model.take_count);
    if (h.widget == UI_W_NONE)
        return;
    set_focus(c, h.widget);
    c->redraw = true;
    if (h.widget == UI_W_PROMPT || h.widget == UI_W_MODEL) {
        place_cursor(c, h.widget, x, y, mods & UI_MOD_SHIFT);
        ui_controller_relayout(c);
    } else if (h.widget == UI_W_TAKES) {
        if (h.row < 0)
            return;
        c->take_cursor = h.row;
        take_command(c, h.delete_button ? c->proto.uris.DeleteTake : c->proto.uris.SelectTake,
                     h.row);
    } else {
        activate(c, h.widget);
    }
}

void ui_controller_drag(ui_controller *c, double x, double y)
{
    if (c->focus == UI_W_PROMPT || c->focus == UI_W_MODEL) {
        place_cursor(c, c->focus, x, y, true);
        ui_controller_relayout(c);
        c->redraw = true;
    }
}

void ui_controller_scroll(ui_controller *c, double x, double y, int steps)
{
    ui_hit h = ui_layout_hit(&c->layout, x, y, c->first_row, c->model.take_count);
    if (h.widget == UI_W_TAKES) {
        int max = c->model.take_count - ui_layout_visible_rows(&c->layout);
        int r = c->first_row + steps;
        c->first_row = r > max ? max : r;
        if (c->first_row < 0)
            c->first_row = 0;
    } else if (h.widget == UI_W_PROMPT) {
        int r = c->prompt_scroll + steps;
        c->prompt_scroll = r < 0 ? 0 : r >= c->lines ? c->lines - 1 : r;
    } else if (h.widget >= UI_W_DURATION_DOWN && h.widget <= UI_W_DURATION_UP) {
        step_duration(c, -steps);
    }
    c->redraw = true;
}

void ui_controller_focus_lost(ui_controller *c)
{
    commit_prompt(c);
    commit_model(c);
}

bool ui_controller_selection(const ui_controller *c, const char **text, size_t *len)
{
    const ui_text *t = c->focus == UI_W_PROMPT  ? &c->prompt
                       : c->focus == UI_W_MODEL ? &c->model_entry
                                                : NULL;
    size_t a, b;
    if (!t || !ui_text_selection(t, &a, &b))
        return false;
    *text = t->buf + a;
    *len = b - a;
    return true;
}

/* ---- from the plugin ------------------------------------------------------------------------- */

/* One line per change worth a host test's attention (progress percentages are left out). */
static void trace_changes(ui_controller *c)
{
    const ui_model *m = &c->model;
    if (m->changed & UI_CHANGED_PROMPT)
        fprintf(stderr, "dgx-music UI: prompt \"%.200s\"\n", m->prompt);
    if (m->state != c->traced_state) {
        c->traced_state = m->state;
        fprintf(stderr, "dgx-music UI: state %s\n", ui_state_name(m->state));
    }
    if (m->take_count != c->traced_takes) {
        c->traced_takes = m->take_count;
        fprintf(stderr, "dgx-music UI: takes %d\n", m->take_count);
    }
}

void ui_controller_port_event(ui_controller *c, uint32_t port, uint32_t size, uint32_t format,
                              const void *buffer)
{
    ui_model *m = &c->model;
    if (format == 0 && size == sizeof(float)) {
        ui_model_port(m, port, *(const float *)buffer);
    } else if (format == c->proto.uris.atom_eventTransfer && size >= sizeof(LV2_Atom)) {
        const LV2_Atom *a = buffer;
        if (lv2_atom_total_size(a) > size)
            return; /* truncated: ignore rather than read past the host's buffer */
        ui_protocol_read(&c->proto, m, a);
    }
    if (m->changed & UI_CHANGED_PROMPT && !c->prompt_dirty) {
        ui_text_set(&c->prompt, m->prompt, strlen(m->prompt));
        ui_controller_relayout(c);
    }
    if (m->changed & UI_CHANGED_MODEL && !c->model_dirty)
        ui_text_set(&c->model_entry, m->model_path, strlen(m->model_path));
    if (m->changed & UI_CHANGED_TAKES) {
        if (c->take_cursor >= m->take_count)
            c->take_cursor = m->take_count > 0 ? m->take_count - 1 : 0;
        if (m->current >= 0)
            c->take_cursor = m->current;
        int max = m->take_count - ui_layout_visible_rows(&c->layout);
        if (c->first_row > max)
            c->first_row = max < 0 ? 0 : max;
        scroll_takes_to(c, c->take_cursor);
    }
    if (m->changed)
        c->redraw = true;
    if (c->trace)
        trace_changes(c);
    m->changed = 0;
}

/* ---- texts ----------------------------------------------------------------------------------- */

void ui_progress_text(const ui_model *m, char *buf, size_t size)
{
    const char *name = ui_state_name(m->state);
    if (m->state == UI_STATE_GENERATING) {
        int pct = (int)(m->fraction * 100.0f + 0.5f);
        if (m->eta >= 0 && m->eta < 1e6f)
            snprintf(buf, size, "%s %d%%, %.0f s left", name, pct, ceil((double)m->eta));
        else
            snprintf(buf, size, "%s %d%%", name, pct);
    } else if (m->state == UI_STATE_UNKNOWN) {
        snprintf(buf, size, "waiting for the plugin");
    } else {
        snprintf(buf, size, "%s", name);
    }
}

void ui_take_text(const ui_model *m, int i, char *buf, size_t size)
{
    if (i < 0 || i >= m->take_count) {
        buf[0] = '\0';
        return;
    }
    const ui_take *t = &m->takes[i];
    if (!t->known) {
        snprintf(buf, size, "%d  ...", i + 1);
        return;
    }
    char length[48];
    if (t->bars > 0)
        snprintf(length, sizeof length, "%d bars @ %.0f bpm", t->bars, (double)t->bpm);
    else
        snprintf(length, sizeof length, "%.1f s", (double)t->seconds);
    snprintf(buf, size, "%d  seed %lld  %s%s  %s", i + 1, (long long)t->seed, length,
             t->seconds <= 0 ? " (no audio)" : "", t->prompt);
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    ui_utf8_trim(buf);
}
