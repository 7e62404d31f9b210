/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small helpers shared by the crac subcommands, so that every command words
 * its usage errors the same way and parses numbers with the same strictness.
 *
 * Naming: `cmd` is the subcommand path as typed after "crac", e.g. "resume" or
 * "image info"; NULL (or "") means the crac command itself.  Messages go to
 * stderr and start with "crac CMD: ".
 *
 * Exit statuses (see cli.h): 0 success, 1 failure, 2 usage error.  The
 * helpers that print an error return the status to exit with, so a
 * subcommand can write `return crac__bad_option("resume", argv[i]);`.
 */
#ifndef CRAC_CLI_UTIL_H
#define CRAC_CLI_UTIL_H

#include <stdio.h>
#include <sys/types.h>
#include "crac.h"

#define CRAC__EXIT_OK 0
#define CRAC__EXIT_FAIL 1
#define CRAC__EXIT_USAGE 2

/* 1 when `arg` asks for help ("--help" or "-h"), else 0. */
int crac__is_help(const char *arg);

/* Prints `usage` (the subcommand's whole help text) to stdout and returns 0:
 * `if (argc > 1 && crac__is_help(argv[1])) return crac__print_usage(USAGE);` */
int crac__print_usage(const char *usage);

/* "crac CMD: unknown option 'OPT' (see crac CMD --help)"; returns 2. */
int crac__bad_option(const char *cmd, const char *opt);

/* "crac CMD: MESSAGE (see crac CMD --help)"; returns 2.  For wrong or
 * missing arguments: crac__usage_error("resume", "expected one PID"). */
int crac__usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "crac CMD: MESSAGE"; returns 1.  For failures that are not usage errors. */
int crac__fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "crac CMD: " followed by the whole error tree (crac_error_format), on
 * stderr; returns 1.  A NULL error prints "unknown error". */
int crac__fail_error(const char *cmd, const crac_error *e);


/* crac__parse_pid() for a command-line argument: on failure prints
 * "crac CMD: invalid PID 'S' (see crac CMD --help)" and returns 2; else 0. */
int crac__pid_arg(const char *cmd, const char *s, pid_t *pid);

/* Parses an unsigned decimal number strictly (digits only) that must not
 * exceed `max`.  0, or -EINVAL (bad text) or -ERANGE (above max); *out is set
 * only on success. */
int crac__parse_ulong(const char *s, unsigned long max, unsigned long *out);

/* Matches an option with a value at argv[*i], as "--NAME VALUE" or
 * "--NAME=VALUE".  Returns 0 when argv[*i] is not this option; 1 when it is,
 * with *value set and *i moved onto the last argument used; -1 when the value
 * is missing, after printing the usage error (exit with 2).  For a plain loop:
 *   int r = crac__opt_value("checkpoint", "to", argc, argv, &i, &dest);
 *   if (r < 0) return CRAC__EXIT_USAGE;
 *   if (r > 0) continue;
 */
int crac__opt_value(const char *cmd, const char *name, int argc, char **argv,
                    int *i, const char **value);

/* For commands that take exactly one operand (a PID) and only --help:
 * --help prints `usage`; "--" ends the options.  Returns -1 with *arg set
 * when the command may go on, or the exit status to return (0 after
 * --help, 2 after a usage error it printed). */
int crac__one_arg(const char *cmd, const char *usage, int argc, char **argv, const char **arg);
/* `--policies FILE` for a request: its absolute path (the process has its
 * own working directory) in a "policies PATH\n" line, malloc'd; "" when
 * file is NULL; NULL after printing why (it cannot be found). */
char *crac__policies_line(const char *cmd, const char *file);

#endif
