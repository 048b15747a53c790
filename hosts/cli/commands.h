/* The subcommands of the dgxm command-line host. Each runs on the main thread, prints its
 * result to stdout and diagnostics to stderr, and returns the process exit status. */
#ifndef DGXM_CLI_COMMANDS_H
#define DGXM_CLI_COMMANDS_H

typedef int (*dgxm_cli_command_fn)(int argc, char **argv);

typedef struct dgxm_cli_command {
    const char *name;
    const char *usage;   /* argument synopsis */
    const char *summary; /* one line */
    dgxm_cli_command_fn run;
} dgxm_cli_command;

/* argv[0] is the subcommand name. */
int dgxm_cmd_generate(int argc, char **argv);
int dgxm_cmd_bench(int argc, char **argv);
int dgxm_cmd_doctor(int argc, char **argv);
int dgxm_cmd_info(int argc, char **argv);
int dgxm_cmd_tokenize(int argc, char **argv);

#endif
