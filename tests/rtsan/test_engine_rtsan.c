/* The audio thread's calls under RealtimeSanitizer: the same scenario as tests/test_engine_rt.c
 * (tests/support/rt_scenario.c) with the audio thread's period in a function marked
 * `nonblocking`, so RTSan reports - and stops the program at - any allocation, lock, sleep or
 * blocking call made inside it, by this file or by the gcc-built engine library it calls.
 * First a forked child proves RTSan stops on a planted malloc.
 *
 * Built only when configure found a clang with -fsanitize=realtime (clang-22 from Debian 12's
 * bookworm-security); only this test program is compiled with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "rt_scenario.h"
#include "test_support.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void checked_period(rt_period *p) __attribute__((nonblocking))
{
    rt_period_body(p);
}

static void *volatile planted;

static void plant_malloc(void) __attribute__((nonblocking))
{
    planted = malloc(64);
}

static void rtsan_stops_a_planted_malloc(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO); /* the report is expected: keep it out of the test log */
        plant_malloc();
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 43); /* RTSan's exit code after a report */
}

static void audio_thread_calls_pass_rtsan(void **state)
{
    (void)state;
    rt_scenario_result r;
    rt_scenario_run(test_fixture_path("models/mono"), checked_period, &r);
    printf("%ld periods under RTSan, %ld frames read\n", r.periods, r.frames);
    if (r.failure[0])
        fail_msg("%s", r.failure);
    assert_true(r.played_to_end);
    assert_true(r.replayed);
    assert_true(r.audio_cancelled);
    assert_true(r.engine_cancelled);
    assert_true(r.periods > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rtsan_stops_a_planted_malloc),
        cmocka_unit_test(audio_thread_calls_pass_rtsan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
