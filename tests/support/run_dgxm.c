/* Running the built dgxm program from a test: fork, exec with output in files, wait. */
#include "run_dgxm.h"
#include "test_support.h"

#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *test_dgxm_binary(void)
{
    static char path[4096];
    const char *build = getenv("DGXM_BUILD_DIR");
    if (build && *build) {
        snprintf(path, sizeof path, "%s/hosts/cli/dgxm", build);
        return path;
    }
    char self[4096]; /* run by hand: this program is BUILD/tests/test_... */
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(path, sizeof path, "%s/hosts/cli/dgxm", dirname(dirname(self)));
    return path;
}

dgxm_run test_run_dgxm(const char *const *args, int interrupt_after_ms)
{
    dgxm_run r = { .status = -1 };
    char *tmp = test_make_temp_dir();
    char *out_path = NULL, *err_path = NULL;
    if (!tmp || asprintf(&out_path, "%s/stdout", tmp) < 0 ||
        asprintf(&err_path, "%s/stderr", tmp) < 0)
        return r;
    const char *bin = test_dgxm_binary();
    const char *argv[64] = { bin };
    int argc = 1;
    for (; args[argc - 1] && argc < 63; argc++)
        argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(127);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    if (pid > 0) {
        if (interrupt_after_ms > 0) {
            struct timespec wait = { interrupt_after_ms / 1000,
                                     (long)(interrupt_after_ms % 1000) * 1000000L };
            nanosleep(&wait, NULL);
            kill(pid, SIGINT);
        }
        int status = 0;
        if (waitpid(pid, &status, 0) == pid)
            r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    r.out = test_read_file(out_path, NULL);
    r.err = test_read_file(err_path, NULL);
    test_remove_tree(tmp);
    free(tmp);
    free(out_path);
    free(err_path);
    return r;
}

void test_run_free(dgxm_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}
