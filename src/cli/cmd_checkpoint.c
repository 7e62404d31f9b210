/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `crac checkpoint PID [--to DIR] [--keep-running]`: asks a process over its
 * control socket to checkpoint itself, and says the truth about the result:
 * exit 0 only when the image is published.
 *
 * The native engine ends the process once the image is published, without
 * answering (it exits from inside the engine).  Before the cycle the process
 * tells us the destination and the identity of what was there; when the
 * connection then ends without an answer, a directory with a new identity
 * there is the published image (the engine publishes by renaming a new
 * directory into place, so the name gets a new inode only when publishing
 * succeeded).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ctl_client.h"
#include "cli/util.h"

static const char usage[] =
    "Usage: crac checkpoint PID [--to DIR] [--keep-running] [--policies FILE]\n"
    "\n"
    "Asks process PID to checkpoint itself, over its control socket (a\n"
    "program started with `crac run`, or linked with libcrac and run with\n"
    "CRAC_CONTROL=1).  The whole cycle runs in the process: before-checkpoint\n"
    "callbacks, the checker, the engine, after-restore.  On failure the whole\n"
    "error tree comes back and is printed, each problem with its source.\n"
    "\n"
    "Options:\n"
    "  --to DIR        write the image to DIR, for this checkpoint only\n"
    "                  (default: the destination the process was started with)\n"
    "  --policies FILE the rules of FILE for this checkpoint only, instead of the\n"
    "                  process's policies file (docs/policies.md)\n"
    "  --keep-running  the process goes on after the image is written; without\n"
    "                  it the process does what it was configured to do (the\n"
    "                  native engine's default: exit, as the reference does)\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status: 0 the image is published (engines that write no image: the\n"
    "checkpoint succeeded); 1 the checkpoint failed, or the process could not\n"
    "be reached; 2 usage error.\n";

/* An absolute DIR: the process has its own working directory. */
static char *absolute(const char *dir)
{
    char cwd[PATH_MAX], *out = NULL;
    if (dir[0] == '/')
        return strdup(dir);
    if (!getcwd(cwd, sizeof(cwd)) || asprintf(&out, "%s/%s", cwd, dir) < 0)
        return NULL;
    return out;
}

/* The connection ended before an answer: published, or not? */
static int judge_silence(pid_t pid, const struct crac__ctl_reply *r)
{
    const char *dir = crac__ctl_get(r, "checkpointing");
    const char *prev = crac__ctl_get(r, "previous-image");
    struct stat st;
    char now[64];
    if (!dir || !prev)
        return crac__fail("checkpoint", "pid %d closed the connection without "
                          "answering: it exited or crashed", (int)pid);
    if (stat(dir, &st) == 0) {
        snprintf(now, sizeof(now), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        if (strcmp(now, prev) != 0) {
            printf("pid %d: image published to %s; the process exited\n",
                   (int)pid, dir);
            return CRAC__EXIT_OK;
        }
    }
    return crac__fail("checkpoint", "pid %d ended during the checkpoint without "
                      "publishing an image to %s", (int)pid, dir);
}

static int report(pid_t pid, const struct crac__ctl_reply *r)
{
    const char *result = crac__ctl_get(r, "result");
    if (!r->complete || !result)
        return judge_silence(pid, r);
    if (strcmp(result, "ok") == 0) {
        const char *dir = crac__ctl_get(r, "checkpointing");
        if (dir)
            printf("pid %d: image published to %s; the process keeps running\n",
                   (int)pid, dir);
        else
            printf("pid %d: checkpoint done (engine %s writes no image)\n",
                   (int)pid, crac__ctl_get(r, "engine") ? crac__ctl_get(r, "engine") : "?");
        return CRAC__EXIT_OK;
    }
    crac__ctl_print_tree(stderr, "checkpoint", pid,
                         strcmp(result, "refused") == 0 ? "refused" : NULL,
                         *r->body ? r->body : "failed without saying why\n");
    return CRAC__EXIT_FAIL;
}

int crac__cmd_checkpoint(int argc, char **argv)
{
    const char *pid_text = NULL, *to = NULL, *pol = NULL;
    bool keep = false, only_args = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_args && crac__is_help(a))
            return crac__print_usage(usage);
        if (!only_args && strcmp(a, "--") == 0) {
            only_args = true;
            continue;
        }
        if (!only_args && strcmp(a, "--keep-running") == 0) {
            keep = true;
            continue;
        }
        int v = only_args ? 0 : crac__opt_value("checkpoint", "to", argc, argv, &i, &to);
        if (v == 0 && !only_args)
            v = crac__opt_value("checkpoint", "policies", argc, argv, &i, &pol);
        if (v < 0)
            return CRAC__EXIT_USAGE;
        if (v > 0)
            continue;
        if (!only_args && a[0] == '-')
            return crac__bad_option("checkpoint", a);
        if (pid_text)
            return crac__usage_error("checkpoint", "expected one PID");
        pid_text = a;
    }
    if (!pid_text)
        return crac__usage_error("checkpoint", "expected one PID");
    if (to && (!*to || strchr(to, '\n')))
        return crac__usage_error("checkpoint", "invalid --to directory");

    char *line = crac__policies_line("checkpoint", pol);
    if (!line)
        return CRAC__EXIT_FAIL;
    char *abs = to ? absolute(to) : NULL, *req = NULL;
    if ((to && !abs) ||
        asprintf(&req, "request checkpoint\n%s%s%s%s%s", abs ? "to " : "",
                 abs ? abs : "", abs ? "\n" : "",
                 keep ? "keep-running true\n" : "", line) < 0) {
        free(abs);
        free(line);
        return crac__fail("checkpoint", "out of memory");
    }
    free(abs);
    free(line);
    int rc = crac__ctl_command("checkpoint", pid_text, req, report);
    free(req);
    return rc;
}
