/* dgxm: the terminal face of dgx-music. Dispatches to one subcommand per file. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const dgxm_cli_command commands[] = {
    { "generate", "--model DIR --prompt TEXT -o OUT", "text to music", dgxm_cmd_generate },
    { "info", "DIR", "check a checkpoint and describe it", dgxm_cmd_info },
    { "tokenize", "[--spm|--json] DIR TEXT...", "T5 token ids of each text", dgxm_cmd_tokenize },
    { "bench", "--random small|medium|large", "time each part of the engine", dgxm_cmd_bench },
    { "doctor", "[--device cuda|cpu|auto]", "check the device, say whether it is ready",
      dgxm_cmd_doctor },
    { 0 },
};

static void print_usage(FILE *out)
{
    fprintf(out, "usage: dgxm COMMAND [ARGS...]\n\ncommands:\n");
    for (const dgxm_cli_command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %-28s %s\n", c->name, c->usage, c->summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        print_usage(stdout);
        return 0;
    }
    for (const dgxm_cli_command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "dgxm: unknown command '%s'\n", argv[1]);
    print_usage(stderr);
    return 2;
}
