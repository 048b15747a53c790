/* Fixture paths and scratch files for the test programs. */
#include "test_support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DGXM_SOURCE_DIR
#error "DGXM_SOURCE_DIR must name the source tree"
#endif

const char *test_fixture_path(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", DGXM_SOURCE_DIR, rel);
    return path;
}

char *test_make_temp_dir(void)
{
    const char *base = getenv("TMPDIR");
    char *templ = NULL;
    if (asprintf(&templ, "%s/dgxm-test-XXXXXX", base && *base ? base : "/tmp") < 0)
        return NULL;
    if (!mkdtemp(templ)) {
        free(templ);
        return NULL;
    }
    return templ;
}

void test_remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *child = NULL;
            if (asprintf(&child, "%s/%s", path, e->d_name) < 0)
                continue;
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                test_remove_tree(child);
            else
                unlink(child);
            free(child);
        }
        closedir(d);
    }
    rmdir(path);
}

int test_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return -1;
    FILE *f = fopen(path, "wb");
    free(path);
    if (!f)
        return -1;
    size_t wrote = len ? fwrite(data, 1, len, f) : 0;
    return (fclose(f) == 0 && wrote == len) ? 0 : -1;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = (n + 65536 + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, 65536, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int test_copy_dir(const char *src_dir, const char *dst_dir)
{
    DIR *d = opendir(src_dir);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        char *src = NULL;
        if (asprintf(&src, "%s/%s", src_dir, e->d_name) < 0) {
            rc = -1;
            break;
        }
        struct stat st;
        if (stat(src, &st) == 0 && S_ISREG(st.st_mode)) {
            size_t len = 0;
            char *data = test_read_file(src, &len);
            rc = data ? test_write_file(dst_dir, e->d_name, data, len) : -1;
            free(data);
        }
        free(src);
    }
    closedir(d);
    return rc;
}
