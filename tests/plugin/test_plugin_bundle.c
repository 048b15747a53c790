/* The built bundle: lv2_validate passes on every TTL of it (with the spec TTLs it knows), the
 * binary exports lv2_descriptor and nothing else (nm -D), and it needs no JACK, CUDA driver,
 * X11 or C++ runtime library (readelf -d). Skips visibly when a tool is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_commands.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char bundle[4096];

static void ttl_files_validate(void **state)
{
    (void)state;
    if (!test_have_tool("lv2_validate")) {
        printf("skipping: lv2_validate not installed (Debian package lv2-dev)\n");
        skip();
    }
    char cmd[8400], out[65536];
    snprintf(cmd, sizeof cmd, "lv2_validate %s/manifest.ttl %s/generator.ttl 2>&1", bundle, bundle);
    int rc = test_capture(cmd, out, sizeof out);
    const char *summary = strstr(out, "Found ");
    printf("lv2_validate: %s", summary ? summary : out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Found 0 errors"));
}

static void exports_only_lv2_descriptor(void **state)
{
    (void)state;
    if (!test_have_tool("nm")) {
        printf("skipping: nm not installed (binutils)\n");
        skip();
    }
    char cmd[4400], out[65536];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only %s/generator.so | awk '{print $3}'", bundle);
    assert_int_equal(test_capture(cmd, out, sizeof out), 0);
    printf("exported: %s", out);
    assert_string_equal(out, "lv2_descriptor\n");
}

static void links_no_host_or_driver_libraries(void **state)
{
    (void)state;
    if (!test_have_tool("readelf")) {
        printf("skipping: readelf not installed (binutils)\n");
        skip();
    }
    char cmd[4400], out[65536];
    snprintf(cmd, sizeof cmd, "readelf -d %s/generator.so | grep NEEDED", bundle);
    assert_int_equal(test_capture(cmd, out, sizeof out), 0);
    printf("%s", out);
    /* libcuda is loaded at run time by the static CUDA runtime, never linked: the plugin loads
     * on machines without a driver. That runtime is C++, so a CUDA build needs libstdc++. */
#ifdef DGXM_HAVE_CUDA
    const char *banned[] = { "libjack", "libcuda.so", "libcudart.so", "libX11", "libgtk", "libQt" };
#else
    const char *banned[] = { "libjack", "libcuda.so", "libX11", "libstdc++", "libgtk", "libQt" };
#endif
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        if (strstr(out, banned[i]))
            fail_msg("generator.so needs %s", banned[i]);
}

int main(void)
{
    const char *build = getenv("DGXM_BUILD_DIR");
    snprintf(bundle, sizeof bundle, "%s/plugins/generator.lv2", build ? build : "build");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ttl_files_validate),
        cmocka_unit_test(exports_only_lv2_descriptor),
        cmocka_unit_test(links_no_host_or_driver_libraries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
