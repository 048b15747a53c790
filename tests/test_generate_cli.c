/* dgxm generate, run as a program: every bad parameter is named on stderr with a non-zero exit
 * and leaves no file behind; a good run writes exactly the requested audio; Ctrl-C cancels and
 * leaves no file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "run_dgxm.h"
#include "test_support.h"

#include <dirent.h>
#include <stdbool.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char model_mono[4096], model_stereo[4096];

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

typedef struct bad_case {
    const char *args[8]; /* extra arguments */
    const char *output;  /* file name in the scratch folder, or an absolute path */
    const char *word;    /* must appear on stderr */
} bad_case;

static void check_bad(const bad_case *c)
{
    char *dir = test_make_temp_dir();
    char out[4200];
    if (c->output[0] == '/')
        snprintf(out, sizeof out, "%s", c->output);
    else
        snprintf(out, sizeof out, "%s/%s", dir, c->output);
    const char *args[24] = { "generate", "--model", model_mono, "-o", out };
    int n = 5;
    bool own_prompt = false, own_length = false;
    for (int i = 0; c->args[i]; i++) {
        own_prompt |= !strncmp(c->args[i], "--prompt", 8);
        own_length |= !strcmp(c->args[i], "--duration") || !strcmp(c->args[i], "--frames");
        args[n++] = c->args[i];
    }
    if (!own_prompt)
        args[n++] = "--prompt", args[n++] = "lo-fi";
    if (!own_length)
        args[n++] = "--frames", args[n++] = "10";
    args[n] = NULL;
    dgxm_run r = test_run_dgxm(args, 0);
    if (r.status == 0 || r.status >= 128 || !strstr(r.err, c->word))
        fail_msg("%s %s: exit %d, stderr: %s", c->args[0] ? c->args[0] : "", c->output, r.status,
                 r.err);
    assert_int_equal(files_in(dir), 0); /* no output, no partial file */
    test_run_free(&r);
    test_remove_tree(dir);
    free(dir);
}

static void bad_parameters_are_named_and_write_nothing(void **state)
{
    (void)state;
    const bad_case cases[] = {
        { { "--duration", "-1" }, "a.wav", "--duration -1" },
        { { "--duration", "0" }, "a.wav", "--duration 0" },
        { { "--duration", "nan" }, "a.wav", "not a finite number" },
        { { "--duration", "inf" }, "a.wav", "not a finite number" },
        { { "--duration", "301" }, "a.wav", "--duration 301" },
        { { "--frames", "0" }, "a.wav", "--frames" },
        { { "--top-k", "0" }, "a.wav", "--top-k" },
        { { "--guidance", "nan" }, "a.wav", "--guidance" },
        { { "--temperature", "nan" }, "a.wav", "--temperature" },
        { { "--temperature", "0" }, "a.wav", "temperature" },
        { { "--top-p", "0" }, "a.wav", "top-p" },
        { { "--seed", "-5" }, "a.wav", "--seed" },
        { { "--format", "pcm8" }, "a.wav", "--format" },
        { { "--device", "tpu" }, "a.wav", "--device tpu" },
        { { "--dtype", "fp64" }, "a.wav", "--dtype 'fp64'" },
        { { "--device", "cpu", "--dtype", "int8" }, "a.wav", "int8 need a CUDA device" },
        { { "--device", "cpu", "--dtype", "f16" }, "a.wav", "f16 and int8 need a CUDA device" },
        { { "--prompt-file", "/nonexistent/prompt.txt" }, "a.wav", "prompt.txt" },
        { { 0 }, "a.mp3", "unknown extension" },
        { { 0 }, "noextension", "extension" },
        { { "--format", "float" }, "a.flac", "FLAC" },
        { { 0 }, "/nonexistent-dgxm-dir/a.wav", "cannot write" },
        { { "--prompt", "caf\xc3 music" }, "a.wav", "UTF-8" },
        { { "--prompt", "\xff\xfe" }, "a.wav", "UTF-8" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_bad(&cases[i]);
}

static void missing_model_is_named(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char out[4200];
    snprintf(out, sizeof out, "%s/a.wav", dir);
    const char *args[] = { "generate", "--model", "/nonexistent/musicgen",
                           "--prompt", "x",       "--frames",
                           "5",        "-o",      out,
                           NULL };
    dgxm_run r = test_run_dgxm(args, 0);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "/nonexistent/musicgen"));
    assert_int_equal(files_in(dir), 0);
    test_run_free(&r);
    test_remove_tree(dir);
    free(dir);
}

static void check_output(const char *model, const char *file, const char *const *extra, int frames,
                         int channels, int rate)
{
    char *dir = test_make_temp_dir();
    char out[4200], codes[4200];
    snprintf(out, sizeof out, "%s/%s", dir, file);
    snprintf(codes, sizeof codes, "%s/codes.txt", dir);
    char nframes[16];
    snprintf(nframes, sizeof nframes, "%d", frames);
    const char *args[24] = { "generate", "--model",  model,    "--prompt", "warm jazz piano",
                             "--frames", nframes,    "-o",     out,        "--codes-out",
                             codes,      "--greedy", "--seed", "3" };
    int n = 14;
    for (int i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    dgxm_run r = test_run_dgxm(args, 0);
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.err, "seed: 3"));
    SF_INFO info = { 0 };
    SNDFILE *f = sf_open(out, SFM_READ, &info);
    assert_non_null(f);
    sf_close(f);
    assert_int_equal(info.channels, channels);
    assert_int_equal(info.samplerate, rate);
    assert_int_equal(info.frames, (sf_count_t)frames * 640 * rate / 32000);
    /* one line per codebook, `frames` ids each */
    char *text = test_read_file(codes, NULL);
    assert_non_null(text);
    int lines = 0, ids = 0;
    for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n"), lines++)
        for (char *q = p; *q; q++)
            ids += (*q != ' ') && (q == p || q[-1] == ' ');
    assert_int_equal(lines, 4 * channels);
    assert_int_equal(ids, 4 * channels * frames);
    free(text);
    test_run_free(&r);
    test_remove_tree(dir);
    free(dir);
}

static void writes_exactly_the_requested_audio(void **state)
{
    (void)state;
    check_output(model_mono, "take.wav", NULL, 30, 1, 32000);
    const char *const rate48[] = { "--rate", "48000", "--format", "pcm24", NULL };
    check_output(model_mono, "take.flac", rate48, 20, 1, 48000);
    check_output(model_stereo, "take.ogg", NULL, 25, 2, 32000);
}

static void interrupt_cancels_and_leaves_no_file(void **state)
{
    (void)state;
    char *dir = test_make_temp_dir();
    char out[4200];
    snprintf(out, sizeof out, "%s/long.wav", dir);
    const char *args[] = { "generate", "--model", model_mono,   "--prompt", "a five minute drone",
                           "-o",       out,       "--duration", "300",      NULL };
    dgxm_run r = test_run_dgxm(args, 1500);
    if (r.status != 130)
        fail_msg("exit %d (expected 130 for a cancel): %s", r.status, r.err);
    assert_non_null(strstr(r.err, "cancelled"));
    assert_int_equal(files_in(dir), 0);
    test_run_free(&r);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    snprintf(model_mono, sizeof model_mono, "%s", test_fixture_path("models/mono"));
    snprintf(model_stereo, sizeof model_stereo, "%s", test_fixture_path("models/stereo"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_parameters_are_named_and_write_nothing),
        cmocka_unit_test(missing_model_is_named),
        cmocka_unit_test(writes_exactly_the_requested_audio),
        cmocka_unit_test(interrupt_cancels_and_leaves_no_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
