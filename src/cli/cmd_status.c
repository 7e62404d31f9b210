/* SPDX-License-Identifier: Apache-2.0 */
/* `crac status PID`: what a process with a control socket is set up to do. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/ctl_client.h"
#include "cli/util.h"

static const char usage[] =
    "Usage: crac status PID\n"
    "\n"
    "Shows how process PID is set up for checkpoints, as the process itself\n"
    "reports it over its control socket (started with `crac run`, or linked\n"
    "with libcrac and run with CRAC_CONTROL=1): engine and its options,\n"
    "destination, policies file, how many times it was restored, its uid, the\n"
    "library version and the socket.  Nothing in the process changes.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 answered; 1 the process could not be reached or refused to\n"
    "answer (another user's: the refusal is printed); 2 usage error.\n";

static int report(pid_t pid, const struct crac__ctl_reply *r)
{
    static const char *keys[] = {"engine", "engine-options", "destination", "policies",
                                 "restore-count", "uid", "version", "socket", "secure-mode"};
    const char *result = crac__ctl_get(r, "result");
    if (!r->complete || !result)
        return crac__fail("status", "pid %d closed the connection without answering: it "
                          "exited or crashed", (int)pid);
    if (strcmp(result, "ok") != 0) {
        /* refused (another user) or an error: say what the process said */
        crac__ctl_print_tree(stderr, "status", pid, result, r->body);
        return CRAC__EXIT_FAIL;
    }
    printf("pid %d\n", (int)pid);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = crac__ctl_get(r, keys[i]);
        if (v || strcmp(keys[i], "secure-mode"))
            printf("  %-15s%s\n", keys[i], v ? v : "(none)");
    }
    return CRAC__EXIT_OK;
}

int crac__cmd_status(int argc, char **argv)
{
    const char *pid_text = NULL;
    int r = crac__one_arg("status", usage, argc, argv, &pid_text);
    if (r >= 0)
        return r;
    return crac__ctl_command("status", pid_text, "request status\n", report);
}
