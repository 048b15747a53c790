/* Helpers shared by the test programs: fixture paths and scratch files. */
#ifndef DGXM_TEST_SUPPORT_H
#define DGXM_TEST_SUPPORT_H

#include <stddef.h>

/* DGXM_SOURCE_DIR "/tests/fixtures/" rel, in a static buffer (one at a time). */
const char *test_fixture_path(const char *rel);

/* A fresh empty directory under $TMPDIR; the caller removes it with test_remove_tree.
 * Returns a malloc'ed path. */
char *test_make_temp_dir(void);
void test_remove_tree(const char *path);

/* Writes len bytes to dir/name; returns 0 on success. */
int test_write_file(const char *dir, const char *name, const void *data, size_t len);
/* Copies every regular file of src_dir into dst_dir; returns 0 on success. */
int test_copy_dir(const char *src_dir, const char *dst_dir);
/* Reads a whole file into a malloc'ed, NUL-terminated buffer; NULL on failure. */
char *test_read_file(const char *path, size_t *len);

#endif
