/* External programs from the test programs: whether a tool is installed, a command's output,
 * and a script's verdict. Test code only (single thread). */
#ifndef DGXM_TEST_COMMANDS_H
#define DGXM_TEST_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

/* True when `tool` is on PATH. */
bool test_have_tool(const char *tool);

/* Runs cmd through sh; its standard output (at most size - 1 bytes) lands in out, NUL
 * terminated. Returns its exit status, or 128 + N when it died of signal N, -1 when it could
 * not start. */
int test_capture(const char *cmd, char *out, size_t size);

/* The exit status in system(3)'s result, 128 + N for a death by signal N, -1 for none. */
int test_exit_status(int system_result);

/* Runs a test script through sh (it bounds its own time): exit 77 skips the calling cmocka
 * test, any other non-zero status fails it. */
void test_run_script(const char *cmd);

#endif
