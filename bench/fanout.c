/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fanout: start N copies of a command at once and time until all have
 * answered (the "instances" row of bench/run.sh).
 *
 * bench/run.sh uses it twice per run, the same way both times: as the floor,
 * `fanout 16 -- /bin/true` (starting 16 programs at once on this machine),
 * and `fanout 16 --mark -- crac restore DIR` (16 instances of one image
 * coming up at once, each answering with its "mark=NS" line).  One process
 * watches all of them with poll(), so the time of the last answer is read
 * on one clock without a fork of its own in the way.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
    "usage: fanout N [--mark] [--timeout S] -- CMD [ARG...]\n"
    "\n"
    "Starts N copies of CMD at once (fork+exec back to back; stdin from\n"
    "/dev/null, stdout a pipe of its own, stderr inherited, no other\n"
    "descriptors) and times from just before the first fork until all N have\n"
    "answered:\n"
    "  without --mark  a copy answers by exiting (its pipe closes; reaped)\n"
    "  with --mark     a copy answers with a line \"mark=NS\"; fanout then\n"
    "                  waits for each copy's \"verify=ok\" line (or its exit),\n"
    "                  sends SIGTERM to the copies still running and reaps them\n"
    "                  (SIGKILL after 5 s)\n"
    "--timeout S: give up on answers after S seconds (default 60).\n"
    "\n"
    "prints key=value lines:\n"
    "  all_ns       from before the first fork to the last answer (without\n"
    "               --mark: to the last copy reaped)\n"
    "  first_ns     to the first answer\n"
    "  forked_ns    to the last fork's return in fanout\n"
    "  all_mark_ns  (--mark) to the latest CLOCK_REALTIME the copies printed\n"
    "  answered     how many answered; verified (--mark) how many said verify=ok\n"
    "exit status 0 when all N answered (and, with --mark, verified), else 1.\n";

#define MAX_N 256

struct copy {
    pid_t pid;
    int fd;          /* read end of its stdout, -1 once closed */
    int answered;    /* mark line seen (--mark) or pipe closed */
    int verified;    /* verify=ok seen */
    size_t have;     /* bytes of a partial line in buf */
    char buf[512];
};

static struct copy c[MAX_N];

/* Takes the complete lines in c->buf; returns 1 when a mark line was new. */
static int scan(struct copy *cp, uint64_t *mark_max)
{
    int newmark = 0;
    char *line = cp->buf, *nl;
    cp->buf[cp->have] = 0;
    while ((nl = strchr(line, '\n'))) {
        *nl = 0;
        if (!strncmp(line, "mark=", 5) && !cp->answered) {
            uint64_t m = strtoull(line + 5, NULL, 10);
            if (m > *mark_max)
                *mark_max = m;
            cp->answered = newmark = 1;
        } else if (!strcmp(line, "verify=ok")) {
            cp->verified = 1;
        }
        line = nl + 1;
    }
    cp->have = strlen(line);
    memmove(cp->buf, line, cp->have);
    if (cp->have >= sizeof(cp->buf) - 1) /* a line we do not care about */
        cp->have = 0;
    return newmark;
}

int main(int argc, char **argv)
{
    int n = 0, mark = 0, i = 1;
    double timeout_s = 60;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 2) {
        n = atoi(argv[1]);
        i = 2;
    }
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--mark"))
            mark = 1;
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else
            break;
    }
    if (n < 1 || n > MAX_N || i >= argc || timeout_s <= 0) {
        fputs(usage, stderr);
        return 2;
    }

    /* Everything the children need is prepared before the clock starts. */
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), wfd[MAX_N];
    if (devnull < 0) {
        perror("fanout: /dev/null");
        return 1;
    }
    for (int k = 0; k < n; k++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
            perror("fanout: pipe");
            return 1;
        }
        c[k].fd = p[0];
        wfd[k] = p[1];
    }
    uint64_t t0_real = now_ns(CLOCK_REALTIME), t0 = now_ns(CLOCK_MONOTONIC);
    for (int k = 0; k < n; k++) {
        c[k].pid = fork();
        if (c[k].pid < 0) {
            perror("fanout: fork");
            n = k; /* reap what was started, and fail */
            break;
        }
        if (c[k].pid == 0) {
            /* dup2 clears close-on-exec on 0 and 1; everything else closes
             * at exec, so a checkpointed CMD holds only 0, 1 and 2. */
            if (dup2(devnull, 0) < 0 || dup2(wfd[k], 1) < 0)
                _exit(126);
            syscall(SYS_close_range, 3U, ~0U, 0U);
            execvp(argv[i], argv + i);
            fprintf(stderr, "fanout: cannot run %s: %s\n", argv[i], strerror(errno));
            _exit(127);
        }
        close(wfd[k]);
    }
    uint64_t t_forked = now_ns(CLOCK_MONOTONIC);

    /* Watch every pipe.  Without --mark the answer is the pipe closing (the
     * copy exited); with --mark the mark line, then verify=ok or the pipe
     * closing ends the watch of that copy. */
    uint64_t deadline = t0 + (uint64_t)(timeout_s * 1e9), first = 0, last = 0, mark_max = 0;
    int answered = 0, open_fds = n;
    struct pollfd pf[MAX_N];
    while (open_fds > 0) {
        int np = 0, idx[MAX_N];
        for (int k = 0; k < n; k++)
            if (c[k].fd >= 0 && !(mark && c[k].verified)) {
                pf[np] = (struct pollfd){.fd = c[k].fd, .events = POLLIN};
                idx[np++] = k;
            }
        if (!np)
            break;
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= deadline)
            break;
        int r = poll(pf, (nfds_t)np, (int)((deadline - now) / 1000000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            perror("fanout: poll");
            break;
        }
        uint64_t at = now_ns(CLOCK_MONOTONIC);
        for (int q = 0; q < np; q++) {
            if (!pf[q].revents)
                continue;
            struct copy *cp = &c[idx[q]];
            ssize_t got = read(cp->fd, cp->buf + cp->have, sizeof(cp->buf) - 1 - cp->have);
            int newly = 0;
            if (got > 0) {
                cp->have += (size_t)got;
                newly = mark && scan(cp, &mark_max);
            } else if (got == 0 || errno != EINTR) {
                close(cp->fd);
                cp->fd = -1;
                open_fds--;
                if (!mark && !cp->answered)
                    cp->answered = newly = 1;
            }
            if (newly) {
                if (!answered++)
                    first = at - t0;
                last = at - t0;
            }
        }
        if (mark && answered == n) {
            int all = 1;
            for (int k = 0; k < n; k++)
                all &= c[k].verified || c[k].fd < 0;
            if (all)
                break;
        }
    }

    /* Stop the copies still running (restored instances serve until
     * killed); crac restore forwards SIGTERM to the restored process. */
    int verified = 0;
    for (int k = 0; k < n; k++) {
        verified += c[k].verified;
        if (mark)
            kill(c[k].pid, SIGTERM);
    }
    uint64_t kill_at = now_ns(CLOCK_MONOTONIC) + 5000000000ULL;
    int left = n, killed = 0;
    while (left > 0) {
        int status;
        pid_t p = waitpid(-1, &status, mark ? WNOHANG : 0);
        if (p > 0) {
            left--;
            continue;
        }
        if (p < 0 && errno == EINTR)
            continue;
        if (p < 0)
            break;
        if (!killed && now_ns(CLOCK_MONOTONIC) > kill_at) {
            for (int k = 0; k < n; k++)
                kill(c[k].pid, SIGKILL);
            killed = 1;
        }
        usleep(1000);
    }
    if (!mark)
        last = now_ns(CLOCK_MONOTONIC) - t0;

    printf("all_ns=%llu\nfirst_ns=%llu\nforked_ns=%llu\n", (unsigned long long)last,
           (unsigned long long)first, (unsigned long long)(t_forked - t0));
    if (mark)
        printf("all_mark_ns=%lld\n", mark_max ? (long long)(mark_max - t0_real) : -1LL);
    printf("answered=%d\n", answered);
    if (mark)
        printf("verified=%d\n", verified);
    if (answered < n || (mark && verified < n)) {
        for (int k = 0; k < n; k++)
            if (!c[k].answered || (mark && !c[k].verified))
                fprintf(stderr, "fanout: copy %d (pid %d) %s\n", k, (int)c[k].pid,
                        !c[k].answered ? "did not answer" : "did not verify");
        return 1;
    }
    return 0;
}
