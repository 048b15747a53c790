/* See text_edit.h. UI thread. */
#include "text_edit.h"

#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1 - 4), or 0 when it is not one (core/utf8.c's
 * strict rules: no overlong forms, surrogates or code points above U+10FFFF). */
static size_t seq_len(const unsigned char *s, size_t avail)
{
    uint32_t cp;
    return dgxm_utf8_decode(s, avail, &cp);
}

bool ui_utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = seq_len((const unsigned char *)s + i, len - i);
        if (!n || s[i] == '\0')
            return false;
        i += n;
    }
    return true;
}

static bool is_cont(char c)
{
    return ((unsigned char)c & 0xc0) == 0x80;
}

void ui_utf8_trim(char *s)
{
    size_t len = strlen(s), start = ui_utf8_prev(s, len);
    if (start < len && !seq_len((const unsigned char *)s + start, len - start))
        s[start] = '\0';
}

size_t ui_utf8_next(const char *s, size_t len, size_t pos)
{
    if (pos >= len)
        return len;
    pos++;
    while (pos < len && is_cont(s[pos]))
        pos++;
    return pos;
}

size_t ui_utf8_prev(const char *s, size_t pos)
{
    if (pos == 0)
        return 0;
    pos--;
    while (pos > 0 && is_cont(s[pos]))
        pos--;
    return pos;
}

void ui_text_init(ui_text *t, char *buf, size_t cap, bool multiline)
{
    t->buf = buf;
    t->cap = cap;
    t->multiline = multiline;
    ui_text_clear(t);
}

void ui_text_clear(ui_text *t)
{
    t->len = t->cursor = t->anchor = 0;
    t->buf[0] = '\0';
}

bool ui_text_selection(const ui_text *t, size_t *start, size_t *end)
{
    *start = t->anchor < t->cursor ? t->anchor : t->cursor;
    *end = t->anchor < t->cursor ? t->cursor : t->anchor;
    return *start != *end;
}

static void remove_range(ui_text *t, size_t start, size_t end)
{
    memmove(t->buf + start, t->buf + end, t->len - end + 1);
    t->len -= end - start;
    t->cursor = t->anchor = start;
}

static bool remove_selection(ui_text *t)
{
    size_t a, b;
    if (!ui_text_selection(t, &a, &b))
        return false;
    remove_range(t, a, b);
    return true;
}

/* Appends the bytes of one repaired unit at the cursor when they fit. */
static bool put(ui_text *t, const char *bytes, size_t n, ui_text_result *r)
{
    if (t->len + n + 1 > t->cap) {
        r->truncated = true;
        return false;
    }
    memmove(t->buf + t->cursor + n, t->buf + t->cursor, t->len - t->cursor + 1);
    memcpy(t->buf + t->cursor, bytes, n);
    t->cursor += n;
    t->len += n;
    r->inserted += n;
    return true;
}

ui_text_result ui_text_insert(ui_text *t, const char *s, size_t len)
{
    ui_text_result r = { 0 };
    remove_selection(t);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len && !r.truncated;) {
        size_t n = seq_len(u + i, len - i);
        if (!n) { /* an invalid sequence: one U+FFFD for its first byte, resync after it */
            r.repaired = true;
            put(t, "\xef\xbf\xbd", 3, &r);
            i++;
            continue;
        }
        char c = s[i];
        if (n == 1 && (c == '\r' || c == '\n')) {
            if (c == '\r' && i + 1 < len && s[i + 1] == '\n')
                i++; /* CR LF: one newline */
            put(t, t->multiline ? "\n" : " ", 1, &r);
            i++;
            continue;
        }
        if (n == 1 && c == '\t') {
            put(t, t->multiline ? "\t" : " ", 1, &r);
            i++;
            continue;
        }
        if (n == 1 && ((unsigned char)c < 0x20 || c == 0x7f)) {
            r.repaired = true; /* control characters (NUL included) are dropped */
            i++;
            continue;
        }
        put(t, s + i, n, &r);
        i += n;
    }
    t->anchor = t->cursor;
    return r;
}

ui_text_result ui_text_set(ui_text *t, const char *s, size_t len)
{
    ui_text_clear(t);
    return ui_text_insert(t, s, len);
}

static bool is_word_byte(char c)
{
    return (unsigned char)c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '_' || c == '\'';
}

static size_t word_left(const ui_text *t, size_t pos)
{
    while (pos > 0 && !is_word_byte(t->buf[pos - 1]))
        pos--;
    while (pos > 0 && is_word_byte(t->buf[pos - 1]))
        pos--;
    return pos; /* after an ASCII non-word byte, or 0: a boundary */
}

static size_t word_right(const ui_text *t, size_t pos)
{
    while (pos < t->len && !is_word_byte(t->buf[pos]))
        pos++;
    while (pos < t->len && is_word_byte(t->buf[pos]))
        pos++;
    return pos; /* word bytes include every byte >= 0x80, so pos is on a boundary */
}

bool ui_text_backspace(ui_text *t, bool word)
{
    if (remove_selection(t))
        return true;
    if (t->cursor == 0)
        return false;
    size_t from = word ? word_left(t, t->cursor) : ui_utf8_prev(t->buf, t->cursor);
    remove_range(t, from, t->cursor);
    return true;
}

bool ui_text_delete(ui_text *t, bool word)
{
    if (remove_selection(t))
        return true;
    if (t->cursor >= t->len)
        return false;
    size_t to = word ? word_right(t, t->cursor) : ui_utf8_next(t->buf, t->len, t->cursor);
    remove_range(t, t->cursor, to);
    return true;
}

void ui_text_move_to(ui_text *t, size_t pos, bool select)
{
    if (pos > t->len)
        pos = t->len;
    while (pos > 0 && pos < t->len && is_cont(t->buf[pos]))
        pos--;
    t->cursor = pos;
    if (!select)
        t->anchor = pos;
}

void ui_text_left(ui_text *t, bool word, bool select)
{
    size_t a, b;
    if (!select && ui_text_selection(t, &a, &b)) {
        ui_text_move_to(t, a, false); /* an unextended move collapses to the selection's start */
        return;
    }
    ui_text_move_to(t, word ? word_left(t, t->cursor) : ui_utf8_prev(t->buf, t->cursor), select);
}

void ui_text_right(ui_text *t, bool word, bool select)
{
    size_t a, b;
    if (!select && ui_text_selection(t, &a, &b)) {
        ui_text_move_to(t, b, false);
        return;
    }
    ui_text_move_to(t, word ? word_right(t, t->cursor) : ui_utf8_next(t->buf, t->len, t->cursor),
                    select);
}

void ui_text_home(ui_text *t, bool select)
{
    size_t p = t->cursor;
    while (p > 0 && t->buf[p - 1] != '\n')
        p--;
    ui_text_move_to(t, p, select);
}

void ui_text_end(ui_text *t, bool select)
{
    const char *nl = memchr(t->buf + t->cursor, '\n', t->len - t->cursor);
    ui_text_move_to(t, nl ? (size_t)(nl - t->buf) : t->len, select);
}

void ui_text_select_all(ui_text *t)
{
    t->anchor = 0;
    t->cursor = t->len;
}
