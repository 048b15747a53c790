/* See layout.h. UI thread. */
#include "layout.h"

#include "text_edit.h"

static ui_rect R(double s, double x, double y, double w, double h)
{
    return (ui_rect){ x * s, y * s, w * s, h * s };
}

void ui_layout_compute(ui_layout *l, double s)
{
    l->scale = s;
    l->pad = 6 * s;
    l->font_px = 13 * s;
    l->row_h = 24 * s;
    const double W = UI_WIDTH, H = UI_HEIGHT, m = 12;
    l->r[UI_W_PROMPT] = R(s, m, 30, W - 2 * m, 120);
    l->r[UI_W_GENERATE] = R(s, m, 162, 110, 30);
    l->r[UI_W_CANCEL] = R(s, m + 118, 162, 90, 30);
    l->r[UI_W_PROGRESS] = R(s, m + 216, 162, W - 2 * m - 216, 30);
    l->r[UI_W_SEED] = R(s, m, 204, 210, 28);
    l->r[UI_W_RANDOM] = R(s, m + 216, 204, 76, 28);
    l->r[UI_W_DURATION_DOWN] = R(s, m + 306, 204, 28, 28);
    l->r[UI_W_DURATION] = R(s, m + 336, 204, 100, 28);
    l->r[UI_W_DURATION_UP] = R(s, m + 438, 204, 28, 28);
    l->r[UI_W_SYNC] = R(s, m + 474, 204, W - 2 * m - 474, 28);
    l->r[UI_W_MODEL] = R(s, m + 56, 244, W - 2 * m - 56, 28);
    l->r[UI_W_TAKES] = R(s, m, 304, W - 2 * m, 24 * 8 + 4);
    l->r[UI_W_MESSAGE] = R(s, m, H - 52, W - 2 * m, 42);
}

static bool inside(ui_rect r, double x, double y)
{
    return x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h;
}

int ui_layout_visible_rows(const ui_layout *l)
{
    return (int)((l->r[UI_W_TAKES].h - 4 * l->scale) / l->row_h);
}

ui_rect ui_layout_take_row(const ui_layout *l, int i)
{
    ui_rect list = l->r[UI_W_TAKES];
    return (ui_rect){ list.x + 2 * l->scale, list.y + 2 * l->scale + i * l->row_h,
                      list.w - 4 * l->scale, l->row_h };
}

ui_rect ui_layout_take_delete(const ui_layout *l, int i)
{
    ui_rect row = ui_layout_take_row(l, i);
    double b = row.h - 4 * l->scale;
    return (ui_rect){ row.x + row.w - b - 2 * l->scale, row.y + 2 * l->scale, b, b };
}

ui_hit ui_layout_hit(const ui_layout *l, double x, double y, int first_row, int rows)
{
    ui_hit h = { UI_W_NONE, -1, false };
    for (int w = 0; w < UI_W_COUNT; w++) {
        if (inside(l->r[w], x, y)) {
            h.widget = (ui_widget)w;
            break;
        }
    }
    if (h.widget != UI_W_TAKES)
        return h;
    int n = ui_layout_visible_rows(l);
    for (int i = 0; i < n && first_row + i < rows; i++) {
        if (inside(ui_layout_take_row(l, i), x, y)) {
            h.row = first_row + i;
            h.delete_button = inside(ui_layout_take_delete(l, i), x, y);
        }
    }
    return h;
}

bool ui_widget_focusable(ui_widget w)
{
    return w >= UI_W_PROMPT && w <= UI_W_TAKES && w != UI_W_DURATION_DOWN && w != UI_W_DURATION_UP;
}

ui_widget ui_focus_next(ui_widget w, bool back)
{
    int n = UI_W_TAKES + 1, i = w < 0 ? (back ? 0 : n - 1) : (int)w;
    for (int k = 0; k < n; k++) {
        i = (i + (back ? n - 1 : 1)) % n;
        if (ui_widget_focusable((ui_widget)i))
            return (ui_widget)i;
    }
    return UI_W_PROMPT;
}

int ui_wrap(const char *text, size_t len, double width, ui_measure_fn measure, void *ctx,
            size_t *starts, int max)
{
    int lines = 1;
    starts[0] = 0;
    size_t start = 0, brk = 0; /* brk: just after the last space of this line, 0 none */
    for (size_t i = 0; i < len && lines < max;) {
        if (text[i] == '\n') {
            start = starts[lines++] = i + 1;
            brk = 0;
            i++;
            continue;
        }
        size_t next = ui_utf8_next(text, len, i);
        if (text[i] == ' ') { /* spaces may hang past the edge; a line breaks after them */
            brk = i = next;
            continue;
        }
        if (measure(ctx, text + start, next - start) > width && i > start) {
            start = brk > start ? brk : i; /* at the last space, else inside the word */
            starts[lines++] = start;
            brk = 0;
            if (start != i)
                continue; /* measure again from the new line's start */
        }
        i = next;
    }
    return lines;
}

int ui_wrap_line_of(const size_t *starts, int lines, size_t pos)
{
    int line = 0;
    while (line + 1 < lines && starts[line + 1] <= pos)
        line++;
    return line;
}

size_t ui_wrap_line_end(const char *text, size_t len, const size_t *starts, int lines, int i)
{
    if (i + 1 >= lines)
        return len;
    size_t end = starts[i + 1];
    return end > starts[i] && text[end - 1] == '\n' ? end - 1 : end;
}

size_t ui_wrap_pos_at(const char *text, size_t start, size_t end, double x, ui_measure_fn measure,
                      void *ctx)
{
    size_t best = start;
    double prev = 0;
    for (size_t p = start; p < end;) {
        size_t next = ui_utf8_next(text, end, p);
        double w = measure(ctx, text + start, next - start);
        if (x < (prev + w) / 2)
            return p;
        prev = w;
        best = p = next;
    }
    return best;
}
