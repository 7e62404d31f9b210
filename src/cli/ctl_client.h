/* SPDX-License-Identifier: Apache-2.0 */
/* The crac command's end of the control socket (docs/control.md). */
#ifndef CRAC_CLI_CTL_CLIENT_H
#define CRAC_CLI_CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct crac__ctl_reply {
    char *buf;        /* the whole reply; header lines split in place */
    size_t nlines;    /* header lines after the first ("KEY VALUE") */
    char **lines;
    const char *body; /* text after the header: an error tree, or "" */
    bool complete;    /* the header's empty line arrived */
};

/* The value of header line KEY, NULL when absent. */
const char *crac__ctl_get(const struct crac__ctl_reply *r, const char *key);

/* The whole of a command: parses PID_TEXT (a usage error exits 2), sends
 * the request, and hands the reply to `report`, whose return is the exit
 * status. */
int crac__ctl_command(const char *cmd, const char *pid_text, const char *request,
                      int (*report)(pid_t, const struct crac__ctl_reply *));

/* Prints "crac CMD: pid PID: " and the error tree `text` (one line stays on
 * the prefix's line, a tree starts below it) to `f`. */
void crac__ctl_print_tree(FILE *f, const char *cmd, pid_t pid, const char *what,
                          const char *text);

#endif
