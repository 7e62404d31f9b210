/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The crac command: global options and dispatch to one function per
 * subcommand (cli.h).  Each subcommand parses its own arguments and has its
 * own --help; `crac help CMD` is the same as `crac CMD --help`.
 */
#include <stdio.h>
#include <string.h>

#include "crac.h"
#include "cli/cli.h"
#include "cli/util.h"

/*
 * Subcommands that arrive with later work (checker/control issue).  They are
 * weak so that this file links before they exist; a command whose function
 * is not linked in is neither listed nor accepted.  To add one, define
 * `int crac__cmd_NAME(int argc, char **argv)` in src/cli/cmd_NAME.c (and
 * declare it in cli.h); nothing here needs to change.
 */
int crac__cmd_run(int argc, char **argv) __attribute__((weak));
int crac__cmd_checkpoint(int argc, char **argv) __attribute__((weak));
int crac__cmd_check(int argc, char **argv) __attribute__((weak));

struct command {
    const char *name;
    int (*fn)(int argc, char **argv); /* NULL: not built in */
    const char *args;
    const char *summary;
};

/* Listed in this order by --help: the life of an image, then tools. */
static const struct command commands[] = {
    { "run", crac__cmd_run, "[OPTIONS] -- PROG [ARGS]",
      "start a program with crac loaded and configured" },
    { "checkpoint", crac__cmd_checkpoint, "PID [OPTIONS]",
      "checkpoint a running process into an image" },
    { "check", crac__cmd_check, "PID",
      "dry run: what would block a checkpoint of PID, and why" },
    { "status", crac__cmd_status, "PID",
      "how a process is set up for checkpoints (engine, destination, ...)" },
    { "restore", crac__cmd_restore, "DIR [OPTIONS]",
      "start a warm instance from an image directory" },
    { "resume", crac__cmd_resume, "PID",
      "let a process paused by the pause engine go on" },
    { "image", crac__cmd_image, "info|verify DIR",
      "show or verify what an image holds" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].fn && strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int usage(FILE *f)
{
    fputs("Usage: crac COMMAND [ARGS]\n"
          "       crac --help | --version | help COMMAND\n"
          "\n"
          "Coordinated Restore at Checkpoint for native Linux programs.\n"
          "\n"
          "Commands:\n",
          f);
    /* Columns as wide as the commands actually built in need. */
    int w = (int)strlen("COMMAND");
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].fn && (int)strlen(commands[i].args) > w)
            w = (int)strlen(commands[i].args);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct command *c = &commands[i];
        if (c->fn)
            fprintf(f, "  %-11s %-*s  %s\n", c->name, w, c->args, c->summary);
    }
    fprintf(f, "  %-11s %-*s  %s\n", "help", w, "COMMAND", "show a command's help");
    fputs("\n"
          "Options:\n"
          "  -h, --help      show this help\n"
          "  -V, --version   print the version\n"
          "\n"
          "Each command has its own --help.  Exit status: 0 success, 1 failure,\n"
          "2 usage error.\n",
          f);
    return f == stdout ? CRAC__EXIT_OK : CRAC__EXIT_USAGE;
}

/* `crac help [CMD]`: the command's own --help, so the text lives in one place. */
static int cmd_help(int argc, char **argv)
{
    if (argc < 2 || crac__is_help(argv[1]))
        return usage(stdout);
    if (argc > 2)
        return crac__usage_error("help", "expected one COMMAND");
    const struct command *c = find_command(argv[1]);
    if (!c)
        return crac__usage_error(NULL, "unknown command '%s'", argv[1]);
    char *sub[] = { argv[1], (char *)"--help", NULL };
    return c->fn(2, sub);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);

    const char *first = argv[1];
    if (crac__is_help(first))
        return usage(stdout);
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
        printf("crac %s\n", crac_version());
        return CRAC__EXIT_OK;
    }
    if (first[0] == '-')
        return crac__bad_option(NULL, first);
    if (strcmp(first, "help") == 0)
        return cmd_help(argc - 1, argv + 1);

    const struct command *c = find_command(first);
    if (!c)
        return crac__usage_error(NULL, "unknown command '%s'", first);
    return c->fn(argc - 1, argv + 1);
}
