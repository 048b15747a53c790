/* The UI's text editing (plugins/generator_ui/text_edit.c) and prompt wrapping (layout.c),
 * without X: UTF-8 insertion, deletion and cursor movement across multibyte characters,
 * repair of invalid pasted bytes, capacity limits, clearing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "layout.h"
#include "text_edit.h"

#include <string.h>

static char buf[64];
static ui_text t;

static void fresh(bool multiline, size_t cap)
{
    memset(buf, 'Z', sizeof buf);
    ui_text_init(&t, buf, cap, multiline);
}

static void insert_moves_the_cursor_over_whole_code_points(void **state)
{
    (void)state;
    fresh(true, sizeof buf);
    /* é (2 bytes), € (3 bytes), 🎷 (4 bytes) */
    ui_text_result r = ui_text_insert(&t, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xb7", 10);
    assert_int_equal(r.inserted, 10);
    assert_false(r.repaired);
    assert_int_equal(t.cursor, 10);
    ui_text_left(&t, false, false);
    assert_int_equal(t.cursor, 6); /* before the saxophone */
    ui_text_left(&t, false, false);
    assert_int_equal(t.cursor, 3); /* before the euro sign */
    ui_text_left(&t, false, false);
    assert_int_equal(t.cursor, 1);
    ui_text_right(&t, false, false);
    assert_int_equal(t.cursor, 3);
    ui_text_insert(&t, "b", 1);
    assert_string_equal(t.buf, "a\xc3\xa9"
                               "b\xe2\x82\xac\xf0\x9f\x8e\xb7");
    assert_true(ui_utf8_valid(t.buf, t.len));
}

static void backspace_and_delete_remove_one_code_point(void **state)
{
    (void)state;
    fresh(true, sizeof buf);
    ui_text_set(&t, "x\xe2\x82\xacy", 5);
    ui_text_move_to(&t, 4, false); /* after the euro sign */
    assert_true(ui_text_backspace(&t, false));
    assert_string_equal(t.buf, "xy");
    assert_int_equal(t.cursor, 1);
    ui_text_set(&t, "x\xf0\x9f\x8e\xb7y", 6);
    ui_text_move_to(&t, 1, false);
    assert_true(ui_text_delete(&t, false));
    assert_string_equal(t.buf, "xy");
    ui_text_move_to(&t, 0, false);
    assert_false(ui_text_backspace(&t, false)); /* nothing before the start */
    ui_text_move_to(&t, 2, false);
    assert_false(ui_text_delete(&t, false)); /* nothing after the end */
}

static void positions_snap_to_code_point_boundaries(void **state)
{
    (void)state;
    fresh(true, sizeof buf);
    ui_text_set(&t, "\xe2\x82\xac", 3);
    ui_text_move_to(&t, 2, false); /* inside the euro sign */
    assert_int_equal(t.cursor, 0);
    ui_text_move_to(&t, 99, false);
    assert_int_equal(t.cursor, 3);
}

static void words_and_lines(void **state)
{
    (void)state;
    fresh(true, sizeof buf);
    ui_text_set(&t, "lo-fi caf\xc3\xa9\nbeat", 16);
    ui_text_move_to(&t, 11, false); /* end of the first line */
    ui_text_left(&t, true, false);
    assert_int_equal(t.cursor, 6); /* start of "café" */
    assert_true(ui_text_backspace(&t, true));
    assert_string_equal(t.buf, "lo-caf\xc3\xa9\nbeat");
    ui_text_end(&t, false);
    assert_int_equal(t.cursor, 8);
    ui_text_right(&t, false, false);
    ui_text_home(&t, false);
    assert_int_equal(t.cursor, 9); /* start of the second line */
}

static void selection_is_replaced_and_deleted(void **state)
{
    (void)state;
    fresh(true, sizeof buf);
    ui_text_set(&t, "drum and bass", 13);
    ui_text_move_to(&t, 5, false);
    ui_text_right(&t, true, true); /* select "and" */
    size_t a, b;
    assert_true(ui_text_selection(&t, &a, &b));
    assert_int_equal(a, 5);
    assert_int_equal(b, 8);
    ui_text_insert(&t, "\xe2\x80\x99n\xe2\x80\x99", 7);
    assert_string_equal(t.buf, "drum \xe2\x80\x99n\xe2\x80\x99 bass");
    ui_text_select_all(&t);
    assert_true(ui_text_delete(&t, false));
    assert_string_equal(t.buf, "");
}

static void invalid_utf8_is_repaired(void **state)
{
    (void)state;
    fresh(true, sizeof buf);
    /* a lone continuation byte, a truncated sequence, an overlong '/', a surrogate, a NUL */
    const char bad[] = "a\x80"
                       "b\xe2\x82"
                       "c\xc0\xaf"
                       "d\xed\xa0\x80"
                       "e\0f";
    ui_text_result r = ui_text_insert(&t, bad, sizeof bad - 1);
    assert_true(r.repaired);
    assert_true(ui_utf8_valid(t.buf, t.len));
    assert_non_null(strstr(t.buf, "a\xef\xbf\xbd"
                                  "b"));
    assert_non_null(strstr(t.buf, "ef")); /* the NUL was dropped, not kept as a terminator */
    assert_int_equal(strlen(t.buf), t.len);
}

static void newlines_follow_the_field_kind(void **state)
{
    (void)state;
    fresh(true, sizeof buf);
    ui_text_insert(&t, "a\r\nb\rc\td", 8);
    assert_string_equal(t.buf, "a\nb\nc\td");
    fresh(false, sizeof buf);
    ui_text_insert(&t, "/models/\nsmall\t", 15);
    assert_string_equal(t.buf, "/models/ small ");
}

static void a_full_text_is_cut_at_a_boundary(void **state)
{
    (void)state;
    fresh(true, 8); /* 7 bytes of text */
    ui_text_result r = ui_text_insert(&t, "ab\xe2\x82\xac\xe2\x82\xac", 8);
    assert_true(r.truncated);
    assert_int_equal(r.inserted, 5);
    assert_string_equal(t.buf, "ab\xe2\x82\xac");
    assert_true(ui_text_insert(&t, "xyz", 3).truncated);
    assert_string_equal(t.buf, "ab\xe2\x82\xacxy");
    assert_int_equal(buf[8], 'Z'); /* nothing written past the capacity */
}

static void clear_empties_text_cursor_and_selection(void **state)
{
    (void)state;
    fresh(true, sizeof buf);
    ui_text_set(&t, "ambient", 7);
    ui_text_select_all(&t);
    ui_text_clear(&t);
    size_t a, b;
    assert_int_equal(t.len, 0);
    assert_int_equal(t.cursor, 0);
    assert_false(ui_text_selection(&t, &a, &b));
    assert_string_equal(t.buf, "");
}

static void trim_cuts_a_partial_sequence(void **state)
{
    (void)state;
    char s[] = "ok\xe2\x82";
    ui_utf8_trim(s);
    assert_string_equal(s, "ok");
    char whole[] = "ok\xe2\x82\xac";
    ui_utf8_trim(whole);
    assert_string_equal(whole, "ok\xe2\x82\xac");
}

/* One unit per code point. */
static double per_code_point(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    double w = 0;
    for (size_t i = 0; i < n; i = ui_utf8_next(s, n, i))
        w += 1;
    return w;
}

static void prompt_wraps_at_spaces_newlines_and_long_words(void **state)
{
    (void)state;
    size_t starts[8];
    const char *s = "aa bb cc\nabcdefghij";
    int n = ui_wrap(s, strlen(s), 5, per_code_point, NULL, starts, 8);
    assert_int_equal(n, 4); /* "aa bb " | "cc" | "abcde" | "fghij" */
    assert_int_equal(starts[1], 6);
    assert_int_equal(starts[2], 9);
    assert_int_equal(starts[3], 14);
    assert_int_equal(ui_wrap_line_of(starts, n, 6), 1);
    assert_int_equal(ui_wrap_line_end(s, strlen(s), starts, n, 1), 8); /* before the newline */
    assert_int_equal(ui_wrap_pos_at(s, 9, 14, 2.4, per_code_point, NULL), 11);
    /* multibyte characters are measured and broken whole */
    const char *e = "\xc3\xa9\xc3\xa9\xc3\xa9";
    n = ui_wrap(e, 6, 2, per_code_point, NULL, starts, 8);
    assert_int_equal(n, 2);
    assert_int_equal(starts[1], 4);
}

static void tab_order_cycles_through_the_controls(void **state)
{
    (void)state;
    ui_widget w = UI_W_PROMPT;
    int seen = 0;
    do {
        assert_true(ui_widget_focusable(w));
        w = ui_focus_next(w, false);
        seen++;
    } while (w != UI_W_PROMPT && seen < 50);
    assert_int_equal(seen, 9);
    assert_int_equal(ui_focus_next(UI_W_PROMPT, true), UI_W_TAKES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(insert_moves_the_cursor_over_whole_code_points),
        cmocka_unit_test(backspace_and_delete_remove_one_code_point),
        cmocka_unit_test(positions_snap_to_code_point_boundaries),
        cmocka_unit_test(words_and_lines),
        cmocka_unit_test(selection_is_replaced_and_deleted),
        cmocka_unit_test(invalid_utf8_is_repaired),
        cmocka_unit_test(newlines_follow_the_field_kind),
        cmocka_unit_test(a_full_text_is_cut_at_a_boundary),
        cmocka_unit_test(clear_empties_text_cursor_and_selection),
        cmocka_unit_test(trim_cuts_a_partial_sequence),
        cmocka_unit_test(prompt_wraps_at_spaces_newlines_and_long_words),
        cmocka_unit_test(tab_order_cycles_through_the_controls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
