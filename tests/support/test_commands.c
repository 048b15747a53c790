/* External programs from the test programs; see test_commands.h. */
#include "test_commands.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

bool test_have_tool(const char *tool)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

int test_exit_status(int system_result)
{
    if (system_result == -1)
        return -1;
    if (WIFSIGNALED(system_result))
        return 128 + WTERMSIG(system_result);
    return WEXITSTATUS(system_result);
}

int test_capture(const char *cmd, char *out, size_t size)
{
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    return test_exit_status(pclose(p));
}

void test_run_script(const char *cmd)
{
    fflush(stdout);
    const int status = test_exit_status(system(cmd));
    if (status == 77)
        skip();
    assert_int_equal(status, 0);
}
