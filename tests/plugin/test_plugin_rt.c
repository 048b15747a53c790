/* run() and work_response() make no allocation, lock, sleep, blocking system call or stdio call
 * through generate, progress, streaming playback, cancel, a new prompt, parameter changes, bad
 * input errors, tempo-synced playback, take selection and deletion, and state save (beside run)
 * and restore (between blocks). The checker is the LD_PRELOAD guard of tests/rt_guard/, armed
 * only around the host's audio-thread calls: this program re-executes itself with it preloaded
 * and first proves it catches a planted malloc. Not under ASan (the guard replaces malloc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "plugin_host.h"
#include <lv2/patch/patch.h>
#include "protocol.h"
#include "rt_guard_client.h"
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static rt_guard_client guard;

static const char *skip_reason;
static void *volatile planted;

static void guard_catches_a_planted_malloc(void **state)
{
    (void)state;
    if (skip_reason) {
        printf("skipping: %s\n", skip_reason);
        skip();
    }
    guard.reset();
    guard.enter();
    planted = malloc(64);
    guard.leave();
    assert_string_equal(guard.first(), "malloc");
    free(planted);
    guard.reset();
}

static void blocks(ph_host *h, int n)
{
    const struct timespec ms = { 0, 500000 };
    for (int i = 0; i < n; i++) {
        ph_run(h, NULL, NULL);
        nanosleep(&ms, NULL);
    }
}

static void run_is_real_time_safe(void **state)
{
    (void)state;
    if (skip_reason) {
        printf("skipping: %s\n", skip_reason);
        skip();
    }
    ph_options o = { .rate = 48000, .block = 128 };
    ph_host *h = ph_new(&o);
    assert_non_null(h);
    ph_set_audio_hooks(h, guard.enter, guard.leave);
    guard.reset();
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 2.0f);
    ph_patch_set(h, DGXM_GEN__model, true, test_fixture_path("models/mono"));
    ph_patch_set(h, DGXM_GEN__prompt, false, "jazz trio");
    ph_note_on(h, 0, 60);
    assert_true(ph_run_until_state(h, "Ready", 60)); /* generate + stream + finalise */
    ph_note_on(h, 5, 60);                            /* replay */
    blocks(h, 50);
    ph_set_port(h, DGXM_GEN_PORT_GAIN, -6.0f); /* parameter changes */
    ph_set_port(h, DGXM_GEN_PORT_TEMPERATURE, 0.8f);
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 30.0f);
    ph_note_on(h, 0, 60); /* new settings: a new job */
    assert_true(ph_run_until_state(h, "Generating", 30));
    ph_command(h, DGXM_GEN__Cancel); /* cancel */
    assert_true(ph_run_until_state(h, "Cancelled", 10));
    ph_note_on(h, 0, 60);
    assert_true(ph_run_until_state(h, "Generating", 30));
    ph_patch_set(h, DGXM_GEN__prompt, false, "bossa nova guitar"); /* new prompt stops it */
    blocks(h, 100);
    ph_patch_set_bytes(h, DGXM_GEN__prompt, "\xc3\x28", 2); /* bad input: ERROR */
    ph_set_port(h, DGXM_GEN_PORT_TOP_K, 99999.0f);
    ph_note_on(h, 0, 60);
    blocks(h, 20);
    assert_true(ph_notes_get(h)->errors >= 2);
    ph_set_port(h, DGXM_GEN_PORT_TOP_K, 250.0f);
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 2.0f);
    ph_set_port(h, DGXM_GEN_PORT_SYNC, 1.0f); /* tempo sync */
    ph_position(h, 120, 4, 0, 0, 1);
    ph_clear_notes(h);
    ph_note_on(h, 0, 60);
    assert_true(ph_run_until_state(h, "Ready", 60));
    ph_position(h, 120, 4, 2, 1.5, 1);
    blocks(h, 50);
    char *dir = test_make_temp_dir();
    assert_true(ph_save(h, dir)); /* state save between blocks */
    ph_command(h, LV2_PATCH__Get);
    ph_take_command(h, DGXM_GEN__SelectTake, 0);
    ph_take_command(h, DGXM_GEN__DeleteTake, 1);
    blocks(h, 20);
    assert_true(ph_restore(h, dir)); /* restore, then play on */
    ph_note_on(h, 0, 60);
    blocks(h, 50);
    printf("%lu violations%s%s; %d PROGRESS, %d errors (%s)\n", guard.violations(),
           guard.violations() ? ", first: " : "", guard.first(), ph_notes_get(h)->progress,
           ph_notes_get(h)->errors, ph_notes_get(h)->error);
    assert_int_equal(guard.violations(), 0);
    ph_set_audio_hooks(h, NULL, NULL);
    ph_free(h);
    test_remove_tree(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    skip_reason = rt_guard_client_find(&guard, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guard_catches_a_planted_malloc),
        cmocka_unit_test(run_is_real_time_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
