/* The generator's UI in a real host: jalv.gtk3 under Xvfb (jalv_ui.sh does the X and JACK
 * work, bounded by timeouts). A typed prompt and Enter reach the plugin as patch:Set + Generate
 * and a take is made; a saved session, loaded again, sends the UI its prompt and take list; a
 * UI opened while a job runs (its patch:Get) gets the prompt, the takes and the job's progress.
 * Screenshots go to $DGXM_UI_SCREENSHOTS (default: the build folder). Skips, saying why, when
 * Xvfb, jalv, xdotool or JACK is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "plugin_host.h"
#include "protocol.h"
#include "test_commands.h"
#include "test_support.h"

#include <lv2/patch/patch.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define PROMPT "restored session prompt"

static const char *shots(void)
{
    const char *dir = getenv("DGXM_UI_SCREENSHOTS");
    const char *build = getenv("DGXM_BUILD_DIR");
    return dir ? dir : build ? build : "build";
}

/* Runs jalv_ui.sh; skips on its exit 77 (it printed "skipping: ..."). */
static void run_script(const char *mode, const char *state_dir)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "timeout -k 5 58 tests/ui/jalv_ui.sh %s '%s' '%s'", mode, shots(),
             state_dir ? state_dir : "");
    test_run_script(cmd);
}

static void typed_prompt_and_enter_generate_a_take(void **state)
{
    (void)state;
    run_script("type", NULL);
}

/* A host made take, saved as a session the way a host saves it. */
static ph_host *host_with_a_take(void)
{
    ph_options o = { .rate = 48000, .block = 256 };
    ph_host *h = ph_new(&o);
    assert_non_null(h);
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 2.0f);
    ph_patch_set(h, DGXM_GEN__model, true, test_fixture_path("models/mono"));
    ph_patch_set(h, DGXM_GEN__prompt, false, PROMPT);
    ph_command(h, DGXM_GEN__Generate);
    assert_true(ph_run_until_state(h, "Ready", 60));
    return h;
}

static void a_reloaded_session_shows_prompt_and_takes(void **state)
{
    (void)state;
    run_script("check", NULL); /* skip before anything is made */
    ph_host *h = host_with_a_take();
    char *dir = test_make_temp_dir();
    assert_true(ph_save(h, dir));
    ph_free(h);
    /* jalv -l reads a state bundle: its manifest names state.ttl */
    static const char manifest[] =
        "@prefix lv2: <http://lv2plug.in/ns/lv2core#> .\n"
        "@prefix pset: <http://lv2plug.in/ns/ext/presets#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<state.ttl> a pset:Preset ; lv2:appliesTo <urn:dgx-music:generator> ; "
        "rdfs:seeAlso <state.ttl> .\n";
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.ttl", dir);
    FILE *f = fopen(path, "wx");
    if (f) { /* keep one the host wrote */
        fputs(manifest, f);
        fclose(f);
    }
    run_script("restore", dir);
    test_remove_tree(dir);
    free(dir);
}

static void a_ui_opened_during_a_job_gets_the_whole_picture(void **state)
{
    (void)state;
    ph_host *h = host_with_a_take();
    ph_set_port(h, DGXM_GEN_PORT_DURATION, 120.0f); /* long enough to still run below */
    ph_command(h, DGXM_GEN__Generate);
    assert_true(ph_run_until_state(h, "Generating", 30));
    ph_clear_notes(h);
    ph_command(h, LV2_PATCH__Get); /* what a new UI instance sends first */
    for (int i = 0; i < 40; i++)
        ph_run(h, NULL, NULL);
    const ph_notes *n = ph_notes_get(h);
    assert_string_equal(n->prompt, PROMPT);
    assert_int_equal(n->takes_count, 1);
    assert_true(n->take_seen >= 1);
    assert_string_equal(n->take_prompt[0], PROMPT);
    /* the job in flight, in whichever phase it is */
    assert_true(!strcmp(n->state, "Generating") || !strcmp(n->state, "Queued") ||
                !strcmp(n->state, "Loading"));
    ph_command(h, DGXM_GEN__Cancel);
    assert_true(ph_run_until_state(h, "Cancelled", 20));
    ph_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typed_prompt_and_enter_generate_a_take),
        cmocka_unit_test(a_reloaded_session_shows_prompt_and_takes),
        cmocka_unit_test(a_ui_opened_during_a_job_gets_the_whole_picture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
