/* Running the built dgxm program from a test, with its output captured. */
#ifndef DGXM_TEST_RUN_DGXM_H
#define DGXM_TEST_RUN_DGXM_H

#include <sys/types.h>

typedef struct dgxm_run {
    int status;      /* exit status; 128 + signal when killed by a signal */
    char *out, *err; /* captured stdout and stderr, malloc'ed, NUL-terminated */
} dgxm_run;

/* Path of the built dgxm ($DGXM_BUILD_DIR/hosts/cli/dgxm, else beside this test program). */
const char *test_dgxm_binary(void);

/* Runs dgxm with args (NULL-terminated, the subcommand first) and waits for it. When
 * interrupt_after_ms > 0, SIGINT is sent after that many milliseconds. */
dgxm_run test_run_dgxm(const char *const *args, int interrupt_after_ms);
void test_run_free(dgxm_run *r);

#endif
