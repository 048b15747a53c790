/* The fat binary: cuobjdump on this very program (the CUDA backend is linked in statically) must
 * list a cubin for every machine-code target the build was configured with and a PTX image for
 * every PTX target, and - unless the build was deliberately narrowed away from it - something
 * GB10 (sm_121) can run: an sm_120-family cubin and PTX. Skipped when cuobjdump is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cuda/cuda_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char listing[1 << 16];

/* cuobjdump from PATH or the toolkit's default place; NULL when there is none. */
static const char *find_cuobjdump(void)
{
    static char found[4096];
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/local/cuda/bin", path ? path : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(found, sizeof found, "%s/cuobjdump", d);
        if (access(found, X_OK) == 0)
            return found;
    }
    return NULL;
}

/* The ELF and PTX lines cuobjdump prints for this program, in `listing`. */
static void list_images(void)
{
    const char *tool = find_cuobjdump();
    if (!tool) {
        print_message("skipping: cuobjdump not found (PATH, /usr/local/cuda/bin)\n");
        skip();
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "'%s' --list-elf --list-ptx '%s' 2>&1", tool, self);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = fread(listing, 1, sizeof listing - 1, p);
    listing[len] = '\0';
    int rc = pclose(p);
    if (rc != 0)
        fail_msg("%s failed (%d): %s", cmd, rc, listing);
}

/* Whether a line of the given kind ("ELF" or "PTX") names the target number, e.g. "120" matches
 * "ELF file 6: x.6.sm_120.cubin" and "sm_120a"/"sm_120f" spellings. */
static int listed(const char *kind, const char *number)
{
    char want[32];
    snprintf(want, sizeof want, "sm_%s", number);
    for (const char *line = listing; *line;) {
        const char *end = strchr(line, '\n');
        const char *stop = end ? end : line + strlen(line);
        if (strncmp(line, kind, 3) == 0)
            for (const char *hit = line; (hit = strstr(hit, want)) && hit < stop; hit++) {
                char next = hit[strlen(want)];
                if (next == '.' || next == 'a' || next == 'f')
                    return 1;
            }
        if (!end)
            break;
        line = end + 1;
    }
    return 0;
}

static void fat_binary_carries_configured_images(void **state)
{
    (void)state;
    list_images();
    char archs[512];
    snprintf(archs, sizeof archs, "%s", dgxm_cuda_built_archs());
    int checked = 0;
    for (char *save = NULL, *a = strtok_r(archs, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        char number[16];
        int ptx = strncmp(a, "compute_", 8) == 0;
        snprintf(number, sizeof number, "%s", a + (ptx ? 8 : 3));
        size_t nl = strlen(number);
        if (nl && (number[nl - 1] == 'a' || number[nl - 1] == 'f'))
            number[nl - 1] = '\0'; /* cuobjdump prints family builds under the plain name */
        if (!listed(ptx ? "PTX" : "ELF", number))
            fail_msg("configured target %s has no %s image in this binary:\n%s", a,
                     ptx ? "PTX" : "cubin", listing);
        checked++;
    }
    assert_true(checked > 0);
}

static void fat_binary_runs_on_gb10(void **state)
{
    (void)state;
    const char *archs = dgxm_cuda_built_archs();
    if (!strstr(archs, "sm_120") && !strstr(archs, "sm_121")) {
        print_message("skipping: this build was narrowed to %s (no sm_120 family)\n", archs);
        skip();
    }
    list_images();
    if (!listed("ELF", "120") && !listed("ELF", "121"))
        fail_msg("no sm_120-family cubin in this binary:\n%s", listing);
    if (!strstr(listing, "PTX"))
        fail_msg("no PTX image in this binary:\n%s", listing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fat_binary_carries_configured_images),
        cmocka_unit_test(fat_binary_runs_on_gb10),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
