/* An editable UTF-8 text with a cursor and a selection: the prompt field and the one-line
 * entries of the UI. Pure logic (no X, no cairo), so it is tested on its own.
 *
 * The text is always valid UTF-8: inserted bytes are repaired (each invalid sequence becomes
 * U+FFFD, control characters other than newline and tab are dropped, CR LF and CR become LF;
 * one-line texts turn newlines and tabs into spaces). Positions are byte offsets that always
 * sit on a code point boundary. The capacity is fixed at init; an insertion that does not fit is
 * cut at a code point boundary and reported.
 *
 * Ownership: the caller owns the struct and the buffer it points to. Thread: the UI thread. */
#ifndef DGXM_UI_TEXT_EDIT_H
#define DGXM_UI_TEXT_EDIT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ui_text {
    char *buf;     /* NUL-terminated, capacity `cap` bytes including the NUL */
    size_t cap;    /* >= 1 */
    size_t len;    /* bytes of text */
    size_t cursor; /* byte offset of the cursor */
    size_t anchor; /* the selection is [min(anchor, cursor), max(anchor, cursor)) */
    bool multiline;
} ui_text;

/* What an insertion did. */
typedef struct ui_text_result {
    size_t inserted; /* bytes added to the text */
    bool repaired;   /* invalid UTF-8 or control characters were replaced or dropped */
    bool truncated;  /* it did not all fit */
} ui_text_result;

void ui_text_init(ui_text *t, char *buf, size_t cap, bool multiline);
/* Replaces the whole text (repaired like an insertion); cursor at the end, no selection. */
ui_text_result ui_text_set(ui_text *t, const char *s, size_t len);
void ui_text_clear(ui_text *t);
/* Inserts at the cursor, replacing the selection. */
ui_text_result ui_text_insert(ui_text *t, const char *s, size_t len);

/* Delete the selection, else the code point before (backspace) / after (delete) the cursor.
 * word: the word before / after instead. False when nothing changed. */
bool ui_text_backspace(ui_text *t, bool word);
bool ui_text_delete(ui_text *t, bool word);

/* Cursor movement; select keeps the anchor (extends the selection), else it collapses. */
void ui_text_left(ui_text *t, bool word, bool select);
void ui_text_right(ui_text *t, bool word, bool select);
void ui_text_home(ui_text *t, bool select);                /* start of the logical line */
void ui_text_end(ui_text *t, bool select);                 /* end of the logical line */
void ui_text_move_to(ui_text *t, size_t pos, bool select); /* pos snapped to a boundary */
void ui_text_select_all(ui_text *t);
/* The selection's bounds; false when it is empty. */
bool ui_text_selection(const ui_text *t, size_t *start, size_t *end);

/* UTF-8 helpers shared with layout and drawing. */
size_t ui_utf8_next(const char *s, size_t len, size_t pos); /* next boundary after pos */
size_t ui_utf8_prev(const char *s, size_t pos);             /* previous boundary before pos */
bool ui_utf8_valid(const char *s, size_t len);
/* Cuts a NUL-terminated string before an incomplete last sequence (after snprintf). */
void ui_utf8_trim(char *s);

#endif
