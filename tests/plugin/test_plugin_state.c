/* Session recall: a take saved with the state (its FLAC file copied by the host into the saved
 * state) comes back in a new instance and plays on the first block after a note-on, with no job
 * (no Queued or Generating state); a missing take file gives an ERROR and an empty slot that
 * keeps its settings. Mono fixture model, real worker thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "plugin_host.h"
#include "protocol.h"
#include "test_support.h"

#include <lv2/patch/patch.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROMPT "slow ambient pad"

static ph_host *new_host(void)
{
    ph_options o = { .rate = 48000 };
    ph_host *h = ph_new(&o);
    if (!h)
        fail_msg("no instance: %s", ph_log());
    return h;
}

/* A host with one finished 2 s take; its first block of audio into first[]. */
static ph_host *host_with_take(float *first, int64_t *seed)
{
    ph_host *h = new_host();
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 2.0f);
    ph_patch_set(h, DGXM_GEN__model, true, test_fixture_path("models/mono"));
    ph_patch_set(h, DGXM_GEN__prompt, false, PROMPT);
    ph_note_on(h, 0, 60);
    assert_true(ph_run_until_state(h, "Ready", 60));
    ph_run(h, NULL, NULL);
    *seed = ph_notes_get(h)->take_seed[0];
    ph_note_on(h, 0, 60);
    float r[256];
    ph_run(h, first, r);
    return h;
}

/* Removes every .flac file in dir; how many. */
static int remove_flac(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strstr(e->d_name, ".flac")) {
            char path[4600];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            n += unlink(path) == 0;
        }
    }
    if (d)
        closedir(d);
    return n;
}

static void restored_take_plays_without_regenerating(void **state)
{
    (void)state;
    float before[256], after[256], r[256];
    int64_t seed;
    ph_host *a = host_with_take(before, &seed);
    char *dir = test_make_temp_dir();
    assert_true(ph_save(a, dir));
    ph_free(a); /* its scratch folder goes: the saved state must hold its own copy */

    ph_host *b = new_host();
    assert_true(ph_restore(b, dir));
    ph_run(b, NULL, NULL);
    const ph_notes *n = ph_notes_get(b);
    assert_int_equal(n->errors, 0);
    assert_int_equal(n->takes_count, 1);
    assert_int_equal(n->takes_current, 0);
    assert_int_equal(n->take_seed[0], seed);
    assert_string_equal(n->take_prompt[0], PROMPT);
    assert_string_equal(n->prompt, PROMPT);
    printf("restored take: seed %lld, %.3f s from %s\n", (long long)seed,
           (double)n->take_seconds[0], n->take_file[0]);
    assert_true(access(n->take_file[0], R_OK) == 0);

    ph_clear_notes(b);
    ph_note_on(b, 0, 60);
    ph_run(b, after, r);
    double max_err = 0, energy = 0;
    for (int i = 0; i < 256; i++) {
        max_err = fmax(max_err, fabs((double)after[i] - before[i]));
        energy += (double)after[i] * after[i];
    }
    printf("first block after restore: energy %.3g, max difference %.3g (24-bit FLAC)\n", energy,
           max_err);
    assert_true(energy > 0); /* plays at once: no job could have produced it yet */
    assert_true(max_err < 1.0 / (1 << 22));
    for (int i = 0; i < 50; i++)
        ph_run(b, NULL, NULL);
    assert_false(ph_notes_get(b)->saw_state[ph_state_index("Queued")]);
    assert_false(ph_notes_get(b)->saw_state[ph_state_index("Generating")]);
    ph_free(b);
    test_remove_tree(dir);
    free(dir);
}

static void missing_take_file_gives_error_and_empty_slot(void **state)
{
    (void)state;
    float first[256];
    int64_t seed;
    ph_host *a = host_with_take(first, &seed);
    char *dir = test_make_temp_dir();
    assert_true(ph_save(a, dir));
    ph_free(a);
    assert_true(remove_flac(dir) >= 1);

    ph_host *b = new_host();
    assert_true(ph_restore(b, dir));
    ph_run(b, NULL, NULL);
    const ph_notes *n = ph_notes_get(b);
    printf("ERROR: %s\n", n->error);
    assert_int_equal(n->errors, 1);
    assert_non_null(strstr(n->error, "take 0 restored empty"));
    assert_int_equal(n->takes_count, 1);     /* the slot is kept ... */
    assert_true(n->take_seconds[0] == 0.0f); /* ... empty ... */
    assert_int_equal(n->take_seed[0], seed); /* ... with its settings */
    ph_note_on(b, 0, 60);                    /* an empty slot plays nothing and does not crash */
    float l[256], r[256];
    ph_run(b, l, r);
    ph_free(b);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restored_take_plays_without_regenerating),
        cmocka_unit_test(missing_take_file_gives_error_and_empty_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
