/* libFuzzer target: dgxm_tokenizer_parse_json (tokenizer.json text). A tokenizer that loads must
 * encode a few fixed prompts into ids inside its vocabulary. */
#include "tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const PROMPTS[] = {
    "90s rock song with loud guitars and heavy drums",
    "  ＡＢＣ ﬁ café a\xCC\x88\xCC\x84 <extra_id_0></s><pad> \xE2\x96\x81x\t\xE3\x80\x80!  ",
    "",
};

static void check_encode(const dgxm_tokenizer *tok, const char *text)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    int32_t *ids = NULL;
    size_t count = 0;
    dgxm_status st = dgxm_tokenizer_encode(tok, text, strlen(text), &ids, &count, &err);
    if (st != DGXM_OK) {
        if (ids || count || err.status != st || !err.message[0])
            abort();
        return;
    }
    int vocab = dgxm_tokenizer_vocab_size(tok);
    if (!ids)
        abort();
    for (size_t i = 0; i < count; i++)
        if (ids[i] < 0 || ids[i] >= vocab)
            abort();
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok =
        dgxm_tokenizer_parse_json("fuzz/tokenizer.json", (const char *)data, size, &err);
    if (!tok) {
        if (err.status == DGXM_OK || !strstr(err.message, "fuzz/tokenizer.json"))
            abort();
        return 0;
    }
    for (size_t i = 0; i < sizeof PROMPTS / sizeof PROMPTS[0]; i++)
        check_encode(tok, PROMPTS[i]);
    dgxm_tokenizer_free(tok);
    return 0;
}
