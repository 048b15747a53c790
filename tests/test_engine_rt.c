/* The audio thread's calls (ring read, state, progress, format, take, cancel) make no
 * allocation, lock, sleep, blocking system call or stdio call, over a job played to the end, a
 * cancel, a job release and an engine release (tests/support/rt_scenario.c). The checker is the
 * LD_PRELOAD guard of tests/rt_guard/: this program re-executes itself with the guard preloaded,
 * and first proves the guard catches planted calls of each kind.
 *
 * Not under ASan (the guard would take malloc from ASan's runtime): that build skips it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "rt_guard_client.h"
#include "rt_scenario.h"
#include "test_support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static rt_guard_client guard;

static const char *skip_reason;

static void guarded_period(rt_period *p)
{
    guard.enter();
    rt_period_body(p);
    guard.leave();
}

static void *volatile planted; /* keeps the planted allocation observable */

static void expect_caught(const char *what, unsigned long count)
{
    if (count == 0)
        fail_msg("the guard missed a planted %s", what);
    guard.reset();
}

static void guard_catches_planted_calls(void **state)
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
    expect_caught("malloc", guard.violations());
    free(planted);

    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    guard.enter();
    pthread_mutex_lock(&m);
    guard.leave();
    expect_caught("pthread_mutex_lock", guard.violations());
    pthread_mutex_unlock(&m);

    struct timespec t = { 0, 1000 };
    guard.enter();
    nanosleep(&t, NULL);
    guard.leave();
    expect_caught("nanosleep", guard.violations());

    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    guard.enter();
    fprintf(null, "%d\n", (int)t.tv_nsec);
    guard.leave();
    expect_caught("fprintf", guard.violations());
    fclose(null);

    guard.enter();
    ssize_t w = write(-1, "x", 1);
    guard.leave();
    assert_true(w < 0);
    expect_caught("write", guard.violations());

    /* outside a region, and on other threads, nothing is counted */
    planted = malloc(64);
    free(planted);
    assert_int_equal(guard.violations(), 0);
}

static void audio_thread_calls_are_real_time_safe(void **state)
{
    (void)state;
    if (skip_reason) {
        printf("skipping: %s\n", skip_reason);
        skip();
    }
    guard.reset();
    rt_scenario_result r;
    rt_scenario_run(test_fixture_path("models/mono"), guarded_period, &r);
    printf("%ld guarded periods, %ld frames read, %lu violations%s%s\n", r.periods, r.frames,
           guard.violations(), guard.violations() ? ", first: " : "", guard.first());
    if (r.failure[0])
        fail_msg("%s", r.failure);
    assert_int_equal(guard.violations(), 0);
    assert_true(r.played_to_end);
    assert_true(r.replayed);
    assert_true(r.audio_cancelled);
    assert_true(r.engine_cancelled);
    assert_true(r.periods > 100);
}

int main(int argc, char **argv)
{
    (void)argc;
    skip_reason = rt_guard_client_find(&guard, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(guard_catches_planted_calls),
        cmocka_unit_test(audio_thread_calls_are_real_time_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
