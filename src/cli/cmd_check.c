/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `crac check PID`: the dry run, over the control socket.  The process runs
 * its whole cycle except the checkpoint itself (callbacks, checker, the
 * engine's own refusals) and sends back every problem; nothing is written
 * and the process goes on.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/ctl_client.h"
#include "cli/util.h"

static const char usage[] =
    "Usage: crac check PID [--policies FILE]\n"
    "\n"
    "Dry run: says whether process PID could be checkpointed now, and if not\n"
    "every reason, each with its source (a resource's name, `checker`,\n"
    "`engine`).  The process must have a control socket (started with `crac\n"
    "run`, or linked with libcrac and run with CRAC_CONTROL=1).\n"
    "\n"
    "The process runs its before-checkpoint and after-restore callbacks and\n"
    "its checker, as for a real checkpoint; the engine only reports what would\n"
    "stop it.  Nothing is written, and the process goes on.\n"
    "\n"
    "Options:\n"
    "  --policies FILE  judge with the rules of FILE instead of the process's\n"
    "                   policies file, as `crac checkpoint --policies` would\n"
    "  -h, --help       show this help\n"
    "\n"
    "Exit status: 0 a checkpoint would go through; 1 it would be refused (the\n"
    "problems are printed), or the process could not be reached; 2 usage\n"
    "error.\n";

static int report(pid_t pid, const struct crac__ctl_reply *r)
{
    const char *result = crac__ctl_get(r, "result");
    const char *engine = crac__ctl_get(r, "engine");
    if (!r->complete || !result)
        return crac__fail("check", "pid %d closed the connection without "
                          "answering: it exited or crashed", (int)pid);
    if (strcmp(result, "ok") == 0) {
        printf("pid %d: a checkpoint would go through (engine %s)\n", (int)pid,
               engine ? engine : "?");
        return CRAC__EXIT_OK;
    }
    if (strcmp(result, "failed") == 0) {
        /* The problems are this command's answer: stdout. */
        printf("pid %d: a checkpoint would be refused (engine %s):\n%s",
               (int)pid, engine ? engine : "?", r->body);
        if (*r->body && r->body[strlen(r->body) - 1] != '\n')
            putchar('\n');
        return CRAC__EXIT_FAIL;
    }
    crac__ctl_print_tree(stderr, "check", pid,
                         strcmp(result, "refused") == 0 ? "refused" : NULL,
                         *r->body ? r->body : "failed without saying why\n");
    return CRAC__EXIT_FAIL;
}

int crac__cmd_check(int argc, char **argv)
{
    const char *pid_text = NULL, *pol = NULL;
    char *args[3] = {argv[0], NULL, NULL}, *line, *req = NULL;
    int n = 1;
    /* --policies FILE apart, one PID: the usual check of the arguments */
    for (int i = 1; i < argc; i++) {
        int v = crac__opt_value("check", "policies", argc, argv, &i, &pol);
        if (v < 0)
            return CRAC__EXIT_USAGE;
        if (v == 0 && n < 3)
            args[n++] = argv[i];
        else if (v == 0)
            return crac__usage_error("check", "expected one PID");
    }
    int r = crac__one_arg("check", usage, n, args, &pid_text);
    if (r >= 0)
        return r;
    if (!(line = crac__policies_line("check", pol)))
        return CRAC__EXIT_FAIL;
    if (asprintf(&req, "request check\n%s", line) < 0) {
        free(line);
        return crac__fail("check", "out of memory");
    }
    r = crac__ctl_command("check", pid_text, req, report);
    free(line);
    free(req);
    return r;
}
