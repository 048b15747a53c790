/* libFuzzer target: dgxm_tokenizer_encode of arbitrary bytes with the fixture tokenizer
 * (tests/fixtures/tokenizer/tokenizer.json: the full nmt_nfkc charsmap, 1100 ids). Valid UTF-8
 * must give ids in range ending with </s>; anything else must be refused as invalid UTF-8.
 *
 * The fixture is found through DGXM_SOURCE_DIR when the build defines it for this program, else
 * relative to the working directory (tests/fuzz/run-short.sh runs from the repository root),
 * else relative to the executable (BUILD/fuzz/tests/fuzz/). */
#include "tokenizer.h"

#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIXTURE "tests/fixtures/tokenizer/tokenizer.json"

static dgxm_tokenizer *tok; /* loaded once, read-only afterwards; freed at exit by the OS */

static dgxm_tokenizer *try_load(const char *root, dgxm_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, FIXTURE);
    return dgxm_tokenizer_load_json(path, err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dgxm_error err;
    dgxm_error_clear(&err);
#ifdef DGXM_SOURCE_DIR
    tok = try_load(DGXM_SOURCE_DIR, &err);
#endif
    if (!tok) {
        dgxm_error_clear(&err);
        tok = try_load(".", &err);
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (!tok && n > 0) {
        self[n] = '\0'; /* BUILD/fuzz/tests/fuzz/fuzz_tokenize_text -> source root */
        char *root = dirname(dirname(dirname(dirname(dirname(self)))));
        dgxm_error_clear(&err);
        tok = try_load(root, &err);
    }
    if (!tok) {
        fprintf(stderr, "fuzz_tokenize_text: cannot load the fixture: %s\n", err.message);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    int32_t *ids = NULL;
    size_t count = 0;
    dgxm_status st = dgxm_tokenizer_encode(tok, (const char *)data, size, &ids, &count, &err);
    if (st != DGXM_OK) {
        if (st != DGXM_ERR_INVALID_ARG || ids || count || !strstr(err.message, "byte offset"))
            abort();
        return 0;
    }
    int vocab = dgxm_tokenizer_vocab_size(tok);
    if (count == 0 || ids[count - 1] != dgxm_tokenizer_eos_id(tok))
        abort();
    for (size_t i = 0; i < count; i++)
        if (ids[i] < 0 || ids[i] >= vocab)
            abort();
    free(ids);
    return 0;
}
