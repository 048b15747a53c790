/* The plugin in Ardour 7, headless (ardour7-lua, Dummy backend), on the mono fixture model:
 * tests/hosts/ardour_session.lua makes a session with the generator on a MIDI track, loads the
 * factory preset "Funk drums (2 bars)" (a synced 2-bar loop), puts one note at beat 1 (frame
 * 24000) in a MIDI region, exports 5 s as 32-bit float WAV and saves. The export must be silent
 * before the note and loud after it (RMS), and hold the take's loop in phase with the bars,
 * frame for frame. Then a second Ardour process reopens the session with $DGXM_MODEL naming a
 * folder that does not exist, so any generation would fail with an ERROR naming it: the take
 * must come back from its FLAC file in the session folder (same file, same md5, no second take
 * file, no such ERROR) and the second export must equal the first.
 *
 * Skips when ardour7-lua is absent (Debian package ardour; setup.sh installs it) and in the
 * sanitizer build (an instrumented plugin cannot load into an uninstrumented Ardour). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "host_tools.h"
#include "test_commands.h"
#include "test_support.h"

#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RATE        48000
#define NOTE_FRAME  24000  /* beat 1 at 120 bpm */
#define LOOP_FRAMES 192000 /* 2 bars of 4/4 at 120 bpm */
#define XFADE       480    /* the loop-point crossfade (10 ms) */
#define PRESET      "urn:dgx-music:preset:funk-drums"
#define MIN_RMS     0.05

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static char *dir;
static char log_path[4200];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One ardour7-lua run of the script's `phase`, at most 60 s; its exit status. */
static int run_ardour(const char *phase, const char *model)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && HOME='%s' XDG_CONFIG_HOME='%s/config' T_DIR='%s' T_PHASE=%s T_PRESET=%s "
             "LV2_PATH='%s' DGXM_MODEL='%s' DGXM_DEVICE=cpu ARDOUR_FPU_FLAGS=15 "
             "timeout -k 5 60 ardour7-lua '%s/tests/hosts/ardour_session.lua' </dev/null",
             dir, dir, dir, dir, phase, PRESET, ht_plugins_dir(), model, DGXM_SOURCE_DIR);
    FILE *f = fopen(log_path, "a");
    if (f) {
        fprintf(f, "==== %s\n", phase);
        fclose(f);
    }
    double t0 = now();
    int rc = ht_system(cmd, log_path);
    printf("ardour7-lua %s: exit %d in %.1f s\n", phase, rc, now() - t0);
    return rc;
}

static void copy_export_format(const char *name)
{
    char src[4200], cfg[4200];
    snprintf(src, sizeof src, "%s/tests/hosts/%s", DGXM_SOURCE_DIR, name);
    snprintf(cfg, sizeof cfg, "%s/config/ardour7/export", dir);
    char mk[4300];
    snprintf(mk, sizeof mk, "mkdir -p '%s'", cfg);
    assert_int_equal(system(mk), 0);
    size_t len = 0;
    char *text = test_read_file(src, &len);
    assert_non_null(text);
    assert_int_equal(test_write_file(cfg, name, text, len), 0);
    free(text);
}

/* The take files in the session folder (plugins/<id>/files/take-*.flac). */
static size_t take_files(glob_t *g)
{
    char pattern[4200];
    snprintf(pattern, sizeof pattern, "%s/sess/plugins/*/files/take-*.flac", dir);
    memset(g, 0, sizeof *g);
    return glob(pattern, 0, NULL, g) == 0 ? g->gl_pathc : 0;
}

static void print_log(void)
{
    char *text = test_read_file(log_path, NULL);
    printf("---- Ardour's output\n%s----\n", text ? text : "(none)");
    free(text);
}

/* Frames of the export that differ from the loop's frame (x mod loop) by more than tol, from
 * the note on; the crossfaded head of the first pass (played from the job before the loop
 * point was made) is left out. */
static int64_t loop_mismatches(const ht_audio *a, const ht_audio *take, int64_t *first_bad)
{
    int64_t bad = 0;
    *first_bad = -1;
    for (int64_t x = NOTE_FRAME; x < a->frames; x++) {
        int64_t idx = x % take->frames;
        if (x < take->frames && idx < XFADE)
            continue;
        for (int c = 0; c < 2; c++)
            if (fabsf(a->data[x * 2 + c] - take->data[idx * take->channels + c]) > 1e-5f) {
                if (*first_bad < 0)
                    *first_bad = x;
                bad++;
            }
    }
    return bad;
}

static void export_then_reopen_plays_the_saved_take(void **state)
{
    (void)state;
#ifdef SANITIZED
    printf("skipping: the sanitizer build's plugin cannot load into an uninstrumented Ardour\n");
    skip();
#endif
    if (!test_have_tool("ardour7-lua")) {
        printf("skipping: ardour7-lua not installed (Debian package ardour; ./setup.sh --deps)\n");
        skip();
    }
    assert_non_null(ht_plugins_dir());
    dir = test_make_temp_dir();
    snprintf(log_path, sizeof log_path, "%s/ardour.log", dir);
    copy_export_format("wav-float.format");
    copy_export_format("wav-float.preset");

    int rc = run_ardour("create", test_fixture_path("models/mono"));
    if (rc != 0) {
        print_log();
        fail_msg("ardour7-lua create exited %d", rc);
    }
    char path[4400];
    snprintf(path, sizeof path, "%s/first.wav", dir);
    ht_audio first;
    assert_true(ht_audio_read(path, &first));
    assert_int_equal(first.rate, RATE);
    assert_int_equal(first.channels, 2);
    assert_int_equal(first.frames, 5 * RATE);
    double before = ht_rms(&first, 0, 0, NOTE_FRAME),
           after = ht_rms(&first, 0, NOTE_FRAME, 5 * RATE);
    int64_t onset = ht_first_above(&first, 0, 0, 1e-4f);
    printf("first export: RMS %.4f before the note, %.4f after it; sound from frame %lld (note at "
           "%d)\n",
           before, after, (long long)onset, NOTE_FRAME);
    assert_true(before < 1e-4);
    assert_true(after > MIN_RMS);
    assert_true(onset >= NOTE_FRAME && onset < NOTE_FRAME + 64);

    glob_t g;
    size_t n_takes = take_files(&g);
    if (n_takes != 1) {
        print_log();
        fail_msg("%zu take files in the session folder, expected 1", n_takes);
    }
    char take_path[4400], md5_before[33], md5_after[33];
    snprintf(take_path, sizeof take_path, "%s", g.gl_pathv[0]);
    globfree(&g);
    assert_true(ht_md5(take_path, md5_before));
    ht_audio take;
    assert_true(ht_audio_read(take_path, &take));
    assert_int_equal(take.frames, LOOP_FRAMES);
    int64_t first_bad;
    int64_t bad = loop_mismatches(&first, &take, &first_bad);
    printf("take %s: %lld frames, md5 %s; export vs loop frame (x mod %d): %lld samples differ "
           "(first at frame %lld)\n",
           strrchr(take_path, '/') + 1, (long long)take.frames, md5_before, LOOP_FRAMES,
           (long long)bad, (long long)first_bad);
    assert_int_equal(bad, 0);

    /* Reopen: the model named now does not exist, so regenerating would fail and say so. */
    const char *no_model = "/nonexistent/dgxm-reopen-must-not-generate";
    rc = run_ardour("reopen", no_model);
    char *log = test_read_file(log_path, NULL);
    bool generated = log && strstr(log, no_model) != NULL;
    free(log);
    if (rc != 0) {
        print_log();
        fail_msg("ardour7-lua reopen exited %d", rc);
    }
    if (generated) {
        print_log();
        fail_msg("the reopened session tried to generate (its log names %s)", no_model);
    }
    n_takes = take_files(&g);
    bool same_file = n_takes == 1 && !strcmp(g.gl_pathv[0], take_path);
    globfree(&g);
    assert_true(ht_md5(take_path, md5_after));
    printf("reopened: %zu take file(s), the same one: %s, md5 %s (%s)\n", n_takes,
           same_file ? "yes" : "no", md5_after,
           strcmp(md5_before, md5_after) != 0 ? "changed" : "unchanged");
    assert_true(same_file);
    assert_string_equal(md5_before, md5_after);

    snprintf(path, sizeof path, "%s/reopened.wav", dir);
    ht_audio again;
    assert_true(ht_audio_read(path, &again));
    assert_int_equal(again.frames, first.frames);
    int64_t differ = 0;
    for (int64_t i = 0; i < first.frames * 2; i++)
        differ += fabsf(first.data[i] - again.data[i]) > 1e-6f;
    printf("reopened export: RMS %.4f after the note, %lld of %lld samples differ from the first\n",
           ht_rms(&again, 0, NOTE_FRAME, 5 * RATE), (long long)differ, (long long)first.frames * 2);
    assert_int_equal(differ, 0);

    ht_audio_free(&first);
    ht_audio_free(&again);
    ht_audio_free(&take);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_then_reopen_plays_the_saved_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
