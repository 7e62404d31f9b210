/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timerun: start a command with fork+exec and time it in nanoseconds.
 *
 * bench/run.sh uses it twice per run, the same way both times, so the two
 * figures compare: `timerun -- /bin/true` (the floor: what starting any
 * program costs here) and `timerun --mark -- crac restore DIR` (restore to
 * the restored program's first instruction after the checkpoint call, which
 * it reports as a "mark=NS" line with its CLOCK_REALTIME).  Timing in bash
 * (date +%s%N) would add a fork of its own to every figure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

static const char usage[] =
    "usage: timerun [--mark] -- CMD [ARG...]\n"
    "\n"
    "Runs CMD with fork+exec (stdin from /dev/null, stdout a pipe that timerun\n"
    "copies to its own stdout, stderr inherited, no other descriptors) and\n"
    "prints, as key=value lines after the command's own output:\n"
    "  spawn_to_exit_ns  from just before fork() to waitpid()'s return\n"
    "  to_mark_ns        (--mark) from just before fork() to the CLOCK_REALTIME\n"
    "                    nanoseconds CMD printed as a line \"mark=NS\"\n"
    "  exit_status       CMD's exit status (128+N when killed by signal N)\n"
    "timerun's own exit status is CMD's.\n";

int main(int argc, char **argv)
{
    int mark = 0, i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--mark"))
            mark = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else
            break;
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return 2;
    }

    /* Everything the child needs is prepared before the clock starts. */
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), p[2];
    if (devnull < 0 || pipe2(p, O_CLOEXEC) < 0) {
        perror("timerun");
        return 1;
    }
    uint64_t t0_real = now_ns(CLOCK_REALTIME), t0 = now_ns(CLOCK_MONOTONIC);
    pid_t pid = fork();
    if (pid < 0) {
        perror("timerun: fork");
        return 1;
    }
    if (pid == 0) {
        /* dup2 clears close-on-exec on 0 and 1; everything else closes at
         * exec, so a checkpointed CMD holds only 0, 1 and 2. */
        if (dup2(devnull, 0) < 0 || dup2(p[1], 1) < 0)
            _exit(126);
        syscall(SYS_close_range, 3U, ~0U, 0U);
        execvp(argv[i], argv + i);
        fprintf(stderr, "timerun: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    close(p[1]);

    /* Copy CMD's output, looking for the mark line as it arrives. */
    char buf[65536];
    size_t have = 0;
    uint64_t mark_ns = 0;
    for (;;) {
        ssize_t n = read(p[0], buf + have, sizeof(buf) - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            if (mark && !mark_ns && !strncmp(line, "mark=", 5))
                mark_ns = strtoull(line + 5, NULL, 10);
            printf("%s\n", line);
            line = nl + 1;
        }
        have = strlen(line);
        memmove(buf, line, have);
        if (have == sizeof(buf) - 1) { /* an absurdly long line: pass it on */
            fwrite(buf, 1, have, stdout);
            have = 0;
        }
    }
    if (have)
        printf("%.*s\n", (int)have, buf);

    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            perror("timerun: waitpid");
            return 1;
        }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("spawn_to_exit_ns=%llu\n", (unsigned long long)(t1 - t0));
    if (mark) {
        if (mark_ns)
            printf("to_mark_ns=%lld\n", (long long)(mark_ns - t0_real));
        else
            printf("to_mark_ns=none\n");
    }
    printf("exit_status=%d\n", rc);
    return rc;
}
