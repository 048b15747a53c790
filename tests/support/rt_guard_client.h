/* The test side of the LD_PRELOAD real-time guard (tests/rt_guard/): its entry points looked up
 * in the running program, which re-executes itself with the guard preloaded when it is not.
 * Test code only; the main thread calls rt_guard_client_find before cmocka starts. */
#ifndef DGXM_RT_GUARD_CLIENT_H
#define DGXM_RT_GUARD_CLIENT_H

#include "../rt_guard/rt_guard.h"

typedef struct rt_guard_client {
    dgxm_rt_guard_fn enter, leave, reset;
    dgxm_rt_guard_count_fn violations;
    dgxm_rt_guard_name_fn first;
} rt_guard_client;

/* Fills g and returns NULL when the guard is loaded. Otherwise re-executes this program (argv)
 * with the guard preloaded from $DGXM_BUILD_DIR/tests/rt_guard/ and returns only when that is
 * impossible (ASan builds, library missing, second try), with the reason to skip. */
const char *rt_guard_client_find(rt_guard_client *g, char **argv);

#endif
