/* dgxm tokenize: the T5 token ids of each TEXT, one line per TEXT, ids separated by single
 * spaces, the final </s> included (what the Hugging Face tokenizer of the checkpoint gives).
 * Diagnostics go to stderr; exit 1 on an error, 2 on a usage error. */
#include "commands.h"

#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: dgxm tokenize [--spm | --json] DIR TEXT...\n"
               "  DIR    a MusicGen checkpoint directory (spiece.model and/or tokenizer.json)\n"
               "  --spm  read spiece.model only     --json  read tokenizer.json only\n");
}

static int print_ids(const int32_t *ids, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (printf(i ? " %d" : "%d", (int)ids[i]) < 0)
            return -1;
    return putchar('\n') == EOF ? -1 : 0;
}

int dgxm_cmd_tokenize(int argc, char **argv)
{
    dgxm_tokenizer_source source = DGXM_TOKENIZER_AUTO;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--spm") || !strcmp(argv[i], "--json")) {
            dgxm_tokenizer_source s = argv[i][2] == 's' ? DGXM_TOKENIZER_SPM : DGXM_TOKENIZER_JSON;
            if (source != DGXM_TOKENIZER_AUTO && source != s) {
                fprintf(stderr, "dgxm tokenize: --spm and --json exclude each other\n");
                return 2;
            }
            source = s;
            continue;
        }
        fprintf(stderr, "dgxm tokenize: unknown option '%s'\n", argv[i]);
        usage(stderr);
        return 2;
    }
    if (argc - i < 2) {
        usage(stderr);
        return 2;
    }
    const char *dir = argv[i++];
    dgxm_error err;
    dgxm_error_clear(&err);
    dgxm_tokenizer *tok = dgxm_tokenizer_load_dir(dir, source, &err);
    if (!tok) {
        fprintf(stderr, "dgxm tokenize: %s\n", err.message);
        return 1;
    }
    int rc = 0;
    for (int k = 1; i < argc; i++, k++) {
        int32_t *ids = NULL;
        size_t count = 0;
        if (dgxm_tokenizer_encode(tok, argv[i], strlen(argv[i]), &ids, &count, &err) != DGXM_OK) {
            fprintf(stderr, "dgxm tokenize: TEXT argument %d: %s\n", k, err.message);
            rc = 1;
            break;
        }
        int w = print_ids(ids, count);
        free(ids);
        if (w != 0) {
            fprintf(stderr, "dgxm tokenize: cannot write to stdout\n");
            rc = 1;
            break;
        }
    }
    dgxm_tokenizer_free(tok);
    return rc;
}
