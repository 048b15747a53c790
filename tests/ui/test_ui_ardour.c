/* The generator's UI in the full Ardour 7 GUI under Xvfb (Dummy backend): ardour_ui.sh makes
 * the session headlessly, prepares a throwaway Ardour config (no welcome wizard, no audio setup
 * dialog) and marks the plugin window open in the session, so no click in Ardour is needed.
 * Our UI's X window must appear inside Ardour's plugin window and show what the plugin reports
 * (the preset's prompt, Idle, no takes, read from the UI's $DGXM_UI_TRACE lines); Enter in the
 * prompt must start a job that the UI follows to Ready and a take; closing and reopening the
 * plugin window from the mixer strip during a job gives a new UI instance that shows the job
 * generating, then its take. Screenshots go to
 * $DGXM_UI_SCREENSHOTS (default: the build folder). Skips, saying why, when Xvfb, Ardour or
 * xdotool is missing and in the sanitizer build (its bundle cannot load into Ardour). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static const char *shots(void)
{
    const char *dir = getenv("DGXM_UI_SCREENSHOTS");
    const char *build = getenv("DGXM_BUILD_DIR");
    return dir ? dir : build ? build : "build";
}

/* Runs ardour_ui.sh; skips on its exit 77 (it printed "skipping: ..."). */
static void run_script(const char *mode)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "timeout -k 5 58 tests/ui/ardour_ui.sh %s '%s'", mode, shots());
    test_run_script(cmd);
}

static void the_ui_opens_in_ardour_with_the_plugins_state(void **state)
{
    (void)state;
    run_script("open");
}

static void enter_in_the_ui_makes_a_take_in_ardour(void **state)
{
    (void)state;
    run_script("generate");
}

/* Ardour destroys the UI instance when its window closes: the new one must show the job. */
static void the_ui_survives_close_and_reopen_during_a_job(void **state)
{
    (void)state;
    run_script("reopen");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_ui_opens_in_ardour_with_the_plugins_state),
        cmocka_unit_test(enter_in_the_ui_makes_a_take_in_ardour),
        cmocka_unit_test(the_ui_survives_close_and_reopen_during_a_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
