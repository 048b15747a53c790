/* dgxm tokenize, run as a program: one line of ids per TEXT, errors on stderr with exit 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "run_dgxm.h"
#include "test_support.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs dgxm tokenize with args (NULL-terminated). */
static dgxm_run run_tokenize(const char *const *args)
{
    const char *argv[16] = { "tokenize" };
    int n = 1;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    dgxm_run r = test_run_dgxm(argv, 0);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

static const char *fixture_dir(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_fixture_path("tokenizer"));
    return dir;
}

static void one_line_per_text(void **state)
{
    (void)state;
    const char *expected = "219 11 202 47 4 212 15 11 6 58 89 1\n1\n1099 1\n";
    const char *modes[] = { NULL, "--spm", "--json" };
    for (int m = 0; m < 3; m++) {
        const char *with[] = {
            modes[m], fixture_dir(),  "90s rock song with loud guitars and heavy drums",
            "",       "<extra_id_0>", NULL
        };
        dgxm_run r = run_tokenize(m ? with : with + 1);
        if (r.status != 0 || strcmp(r.out, expected) != 0)
            fprintf(stderr, "mode %d: exit %d\nstdout: %s\nstderr: %s\n", m, r.status, r.out,
                    r.err);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, expected);
        assert_string_equal(r.err, "");
        test_run_free(&r);
    }
}

static void invalid_utf8_names_argument_and_offset(void **state)
{
    (void)state;
    const char *args[] = { fixture_dir(), "rock", "a\xC0\xAF", NULL };
    dgxm_run r = run_tokenize(args);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "202 1\n");
    assert_non_null(strstr(r.err, "TEXT argument 2"));
    assert_non_null(strstr(r.err, "byte offset 1"));
    test_run_free(&r);
}

static void missing_directory_exits_1(void **state)
{
    (void)state;
    const char *args[] = { "/nonexistent/ckpt", "rock", NULL };
    dgxm_run r = run_tokenize(args);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "/nonexistent/ckpt"));
    test_run_free(&r);
}

static void usage_errors_exit_2(void **state)
{
    (void)state;
    const char *no_text[] = { fixture_dir(), NULL };
    const char *both[] = { "--spm", "--json", fixture_dir(), "x", NULL };
    const char *unknown[] = { "--fast", fixture_dir(), "x", NULL };
    const char *const *cases[] = { no_text, both, unknown };
    for (int i = 0; i < 3; i++) {
        dgxm_run r = run_tokenize(cases[i]);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.out, "");
        assert_non_null(strstr(r.err, "dgxm tokenize"));
        test_run_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_line_per_text),
        cmocka_unit_test(invalid_utf8_names_argument_and_offset),
        cmocka_unit_test(missing_directory_exits_1),
        cmocka_unit_test(usage_errors_exit_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
