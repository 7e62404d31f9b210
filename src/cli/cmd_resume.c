/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `crac resume PID`: lets a process paused by the pause engine go on.
 * The protocol (src/engine/pause.c, docs/api.md) is one SIGCONT: the paused
 * process waits for it, removes its ready-file and runs after-restore.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "engine/engine.h"

static const char usage[] =
    "Usage: crac resume PID\n"
    "\n"
    "Lets a process paused by the pause engine go on: it then removes its\n"
    "ready-file, runs its after-restore callbacks and continues (its\n"
    "crac_checkpoint_restore() call returns, counting one restore).\n"
    "\n"
    "The pause engine (CRAC_ENGINE=pause) coordinates a checkpoint for a\n"
    "snapshot taken from outside (VM snapshot, container checkpoint): after\n"
    "every before-checkpoint callback and the checks passed, it writes its\n"
    "ready-file (CRAC_ENGINE_OPTIONS=ready_file=PATH; contents \"PID\\n\") and\n"
    "waits for SIGCONT.  This command sends that SIGCONT; `kill -CONT PID`\n"
    "does the same.  With timeout_ms=N in the engine options, a process not\n"
    "resumed within N ms fails its checkpoint instead.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n"
    "\n"
    "A process that is not paused by the pause engine (none of its threads\n"
    "is named " CRAC__PAUSED_THREAD_NAME ") gets nothing.\n"
    "\n"
    "Exit status: 0 signal sent, 1 no such process, not paused, or not\n"
    "allowed, 2 usage error.\n";

/* Whether a thread of pid waits in the pause engine (its name says so). */
static bool paused(pid_t pid)
{
    char path[64], name[32];
    bool found = false;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d && !found && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/comm", (int)pid, e->d_name);
        FILE *f = fopen(path, "re");
        if (f && fgets(name, sizeof(name), f))
            found = !strcmp(name, CRAC__PAUSED_THREAD_NAME "\n");
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

int crac__cmd_resume(int argc, char **argv)
{
    const char *pid_text = NULL;
    pid_t pid;
    int r = crac__one_arg("resume", usage, argc, argv, &pid_text);
    if (r >= 0)
        return r;
    r = crac__pid_arg("resume", pid_text, &pid);
    if (r)
        return r;
    if (kill(pid, 0) == 0 && !paused(pid))
        return crac__fail("resume", "pid %d is not paused by crac's pause engine (no thread "
                          "named " CRAC__PAUSED_THREAD_NAME "): nothing sent", (int)pid);
    if (kill(pid, SIGCONT) < 0) {
        if (errno == ESRCH)
            return crac__fail("resume", "no process with pid %d", (int)pid);
        return crac__fail("resume", "cannot signal pid %d: %s", (int)pid,
                          strerror(errno));
    }
    printf("pid %d resumed\n", (int)pid);
    return CRAC__EXIT_OK;
}
