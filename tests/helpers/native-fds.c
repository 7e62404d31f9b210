/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native engine's descriptors, kind by kind: each mode sets some up,
 * checkpoints (CRAC_ENGINE=native, CRAC_CHECKPOINT_TO from the test), and
 * after the restore checks the exact values and the behaviour, and that
 * every descriptor is on its number with its flags.  Prints "RESTORED OK"
 * and exits 0 when all matches, what differs and 1 otherwise.  With
 * keep_running=true the same checks run in the original process after the
 * checkpoint ("KEPT OK"): a checkpoint takes nothing away.
 *
 *   native-fds eventfd | timerfd | signalfd | pipe | socketpair | files
 *   native-fds epoll       interest lists (ET, ONESHOT armed and fired,
 *                          EXCLUSIVE, nested, stale numbers), by fdinfo and
 *                          by behaviour
 *   native-fds listen DIR  listening TCP v4/v6, unix path (in DIR) and
 *                          abstract, UDP, a never-used socket
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>

#include "helpers/fdutil.h"

static bool restored(void)
{
    return crac_restore_count() > 0;
}

#include "helpers/fds-pipes.h"
#include "helpers/fds-files.h"
#include "helpers/fds-epoll.h"
#include "helpers/fds-refuse.h"


/* ---- eventfd ---- */
static void eventfd_check(int e1, int e2, int e3)
{
    uint64_t v = 0;
    for (int i = 0; i < 5; i++) {
        EXPECT(read(e1, &v, 8) == 8 && v == 1, "semaphore read %d gave %llu", i,
               (unsigned long long)v);
    }
    EXPECT(read(e1, &v, 8) < 0 && errno == EAGAIN, "a sixth semaphore read: %s", strerror(errno));
    EXPECT(read(e3, &v, 8) < 0 && errno == EAGAIN, "the dup is another eventfd");
    EXPECT(read(e2, &v, 8) == 8 && v == 0x123456789ULL, "count %llx", (unsigned long long)v);
}

static int mode_eventfd(void)
{
    int e1 = eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC), e2 = eventfd(0, 0);
    uint64_t big = 0x123456789ULL;
    if (write(e2, &big, 8) != 8)
        return 2;
    int e3 = dup(e1); /* the same eventfd under another number */
    struct fdsnap snap;
    fd_snapshot(&snap);
    if (checkpoint())
        return 3;
    fd_compare(&snap);
    eventfd_check(e1, e2, e3);
    return 0;
}

/* ---- timerfd ---- */
static double ts_s(const struct timespec *t)
{
    return t->tv_sec + t->tv_nsec / 1e9;
}

static int mode_timerfd(void)
{
    struct itimerspec rel = {{0, 250000000}, {2, 0}}, one = {{0, 0}, {0, 1000000}},
                      slow = {{10, 0}, {0, 1000000}}, got, before;
    struct timespec now;
    int t1 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int t2 = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    int t3 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    int t4 = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
    int t5 = timerfd_create(CLOCK_MONOTONIC, 0);
    uint64_t n = 0;
    clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec abs = {{0, 500000000}, {now.tv_sec + 1, now.tv_nsec}};
    timerfd_settime(t2, TFD_TIMER_ABSTIME, &abs, NULL);
    timerfd_settime(t3, 0, &one, NULL);  /* fires once, unread */
    timerfd_settime(t4, 0, &slow, NULL); /* fires once, then every 10 s */
    usleep(30000);
    timerfd_settime(t1, 0, &rel, NULL);
    timerfd_gettime(t1, &before);
    struct fdsnap snap;
    fd_snapshot(&snap);
    if (checkpoint())
        return 3;
    fd_compare(&snap);
    /* relative: what it had left, give or take the time the restore took */
    timerfd_gettime(t1, &got);
    EXPECT(ts_s(&got.it_value) <= ts_s(&before.it_value) && ts_s(&got.it_value) > ts_s(&before.it_value) - 0.5,
           "t1 left %.3f s, had %.3f", ts_s(&got.it_value), ts_s(&before.it_value));
    EXPECT(got.it_interval.tv_sec == 0 && got.it_interval.tv_nsec == 250000000, "t1 interval");
    EXPECT(read(t1, &n, 8) < 0 && errno == EAGAIN, "t1 expired already: %llu", (unsigned long long)n);
    /* absolute and periodic, its deadline long past (the test sleeps in the
     * image): the next period to come, the missed ones not counted */
    char flags[32];
    fdinfo_field(t2, "settime flags:", flags, sizeof(flags));
    EXPECT(!strcmp(flags, "\t01") || !strcmp(flags, " 01"), "t2 settime flags '%s'", flags);
    timerfd_gettime(t2, &got);
    double limit = restored() ? 0.5 : 1.0; /* kept running: its first deadline is still to come */
    EXPECT(ts_s(&got.it_value) > 0 && ts_s(&got.it_value) <= limit, "t2 left %.3f", ts_s(&got.it_value));
    EXPECT(got.it_interval.tv_nsec == 500000000 && got.it_interval.tv_sec == 0, "t2 interval");
    EXPECT(read(t2, &n, 8) < 0 && errno == EAGAIN, "t2: a burst of %llu", (unsigned long long)n);
    /* expirations not read at the checkpoint: kept, exactly */
    EXPECT(read(t3, &n, 8) == 8 && n == 1, "t3 ticks %llu", (unsigned long long)n);
    EXPECT(read(t4, &n, 8) == 8 && n == 1, "t4 ticks %llu", (unsigned long long)n);
    timerfd_gettime(t4, &got);
    EXPECT(got.it_interval.tv_sec == 10 && ts_s(&got.it_value) > 8, "t4 left %.3f", ts_s(&got.it_value));
    timerfd_gettime(t5, &got);
    EXPECT(!got.it_value.tv_sec && !got.it_value.tv_nsec, "t5 armed");
    /* and it goes on: the relative one fires when its time is up */
    struct pollfd p = {t1, POLLIN, 0};
    EXPECT(poll(&p, 1, 2600) == 1, "t1 did not fire");
    return 0;
}

/* ---- signalfd ---- */
static int mode_signalfd(void)
{
    sigset_t set;
    char mask[64], after[64];
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int s1 = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    fdinfo_field(s1, "sigmask:", mask, sizeof(mask));
    struct fdsnap snap;
    fd_snapshot(&snap);
    if (checkpoint())
        return 3;
    fd_compare(&snap);
    fdinfo_field(s1, "sigmask:", after, sizeof(after));
    EXPECT(!strcmp(mask, after), "sigmask '%s', was '%s'", after, mask);
    struct signalfd_siginfo si;
    EXPECT(read(s1, &si, sizeof(si)) < 0 && errno == EAGAIN, "a signal waiting already");
    kill(getpid(), SIGUSR1);
    EXPECT(read(s1, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1, "no SIGUSR1");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(void);
    } modes[] = {
        {"eventfd", mode_eventfd}, {"timerfd", mode_timerfd},       {"signalfd", mode_signalfd},
        {"pipe", mode_pipe},       {"socketpair", mode_pairs},      {"files", mode_files},
        {"epoll", mode_epoll},
    };
    setvbuf(stdout, NULL, _IONBF, 0);
    int rc = -1;
    const char *a1 = argc >= 3 ? argv[2] : NULL, *a2 = argc >= 4 ? argv[3] : NULL;
    for (size_t i = 0; argc >= 2 && i < sizeof(modes) / sizeof(modes[0]); i++)
        if (!strcmp(argv[1], modes[i].name))
            rc = modes[i].fn();
    if (argc < 2)
        ;
    else if (!strcmp(argv[1], "refuse-pipe"))
        rc = mode_refuse_pipe();
    else if (!strcmp(argv[1], "refuse-tcp"))
        rc = mode_refuse_tcp();
    else if (a1 && !strcmp(argv[1], "listen"))
        rc = mode_listen(a1);
    else if (a1 && !strcmp(argv[1], "hold-file"))
        rc = mode_hold_file(a1);
    else if (a2 && !strcmp(argv[1], "hold-port"))
        rc = mode_hold_port(a1, a2);
    else if (a1 && !strcmp(argv[1], "occupy"))
        rc = mode_occupy(a1);
    else if (a1 && !strcmp(argv[1], "serve"))
        rc = mode_serve(a1);
    if (rc < 0) {
        fprintf(stderr, "usage: native-fds MODE [ARGS] (see the comments in tests/helpers/)\n");
        return 2;
    }
    if (rc)
        return rc;
    if (failures)
        return 1;
    printf("%s OK\n", restored() ? "RESTORED" : "KEPT");
    return 0;
}
