/* dgxm tokenize, run as a program: one line of ids per TEXT, errors on stderr with exit 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_support.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_result {
    int status; /* exit status, or -1 */
    char *out, *err;
} run_result;

static const char *dgxm_binary(void)
{
    static char path[4096];
    const char *build = getenv("DGXM_BUILD_DIR");
    if (build && *build) {
        snprintf(path, sizeof path, "%s/hosts/cli/dgxm", build);
        return path;
    }
    char self[4096]; /* run by hand: this program is BUILD/tests/test_tokenizer_cli */
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    snprintf(path, sizeof path, "%s/hosts/cli/dgxm", dirname(dirname(self)));
    return path;
}

/* Runs dgxm tokenize with args (NULL-terminated), stdout and stderr captured in files. */
static run_result run_tokenize(const char *const *args)
{
    char *tmp = test_make_temp_dir();
    assert_non_null(tmp);
    char *out_path = NULL, *err_path = NULL;
    assert_true(asprintf(&out_path, "%s/stdout.txt", tmp) > 0);
    assert_true(asprintf(&err_path, "%s/stderr.txt", tmp) > 0);
    const char *bin = dgxm_binary();
    char *argv[16] = { (char *)bin, "tokenize" };
    int argc = 2;
    for (; args[argc - 2] && argc < 15; argc++)
        argv[argc] = (char *)args[argc - 2];
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(127);
        execv(bin, argv);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    run_result r = { WIFEXITED(status) ? WEXITSTATUS(status) : -1, test_read_file(out_path, NULL),
                     test_read_file(err_path, NULL) };
    assert_non_null(r.out);
    assert_non_null(r.err);
    if (r.status == 127)
        fprintf(stderr, "could not run %s\n", bin);
    test_remove_tree(tmp);
    free(tmp);
    free(out_path);
    free(err_path);
    return r;
}

static void free_result(run_result *r)
{
    free(r->out);
    free(r->err);
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
        run_result r = run_tokenize(m ? with : with + 1);
        if (r.status != 0 || strcmp(r.out, expected) != 0)
            fprintf(stderr, "mode %d: exit %d\nstdout: %s\nstderr: %s\n", m, r.status, r.out,
                    r.err);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, expected);
        assert_string_equal(r.err, "");
        free_result(&r);
    }
}

static void invalid_utf8_names_argument_and_offset(void **state)
{
    (void)state;
    const char *args[] = { fixture_dir(), "rock", "a\xC0\xAF", NULL };
    run_result r = run_tokenize(args);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "202 1\n");
    assert_non_null(strstr(r.err, "TEXT argument 2"));
    assert_non_null(strstr(r.err, "byte offset 1"));
    free_result(&r);
}

static void missing_directory_exits_1(void **state)
{
    (void)state;
    const char *args[] = { "/nonexistent/ckpt", "rock", NULL };
    run_result r = run_tokenize(args);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "/nonexistent/ckpt"));
    free_result(&r);
}

static void usage_errors_exit_2(void **state)
{
    (void)state;
    const char *no_text[] = { fixture_dir(), NULL };
    const char *both[] = { "--spm", "--json", fixture_dir(), "x", NULL };
    const char *unknown[] = { "--fast", fixture_dir(), "x", NULL };
    const char *const *cases[] = { no_text, both, unknown };
    for (int i = 0; i < 3; i++) {
        run_result r = run_tokenize(cases[i]);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.out, "");
        assert_non_null(strstr(r.err, "dgxm tokenize"));
        free_result(&r);
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
