/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Threads that block every signal, as jemalloc's background thread and
 * many thread pools do, each sitting in a system call (or computing) when
 * the process checkpoints itself with the native engine.  All of them must
 * park, and afterwards (in a restored process, and in the original one
 * with keep_running=true) each must go on exactly: no call fails with
 * EINTR (treated as a failure here), and every thread's signal mask is what
 * it was.  All output goes to stderr: stdout is the epoll instance.
 *
 *   native-blockall launch CMD ARGS...   makes fd 1 an epoll instance
 *       watching fd 0 (a pipe) for hang-up only, then runs CMD: descriptors
 *       above 2 are not restored (yet), 0-2 are the restoring caller's
 *   native-blockall run                  the test program (under launch)
 *   native-blockall nodump               non-dumpable, one thread in a
 *       futex wait: the checkpoint must fail (exit 3 when the process went
 *       on and the thread is fine)
 *   native-blockall nodump-wait          the same, but says "READY pid" and
 *       waits for the end of stdin: crac check and crac checkpoint from
 *       outside (CRAC_CONTROL=1)
 *
 * Threads: futex wait with a timeout, epoll_wait on fd 1 (woken when the
 * writer of the pipe closes it), read() on fd 0, nanosleep and
 * clock_nanosleep(TIMER_ABSTIME) in loops of 200 ms, and one computing.
 * The program prints "PID n", checkpoints once every thread is in its
 * call, prints "RESTORED" or "CONTINUED", checks every thread's mask from
 * /proc, prints "WAITING"; the test then writes "hello" and closes the
 * pipe.  Last line "BLOCKALL OK", or "MISMATCH ..." lines and exit 1.
 */
#include <crac.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { FUTEX, EPOLL, READ, SLEEP, ABSSLEEP, COMPUTE, NT };
static const char *names[NT] = {"futex", "epoll", "read", "sleep", "abssleep", "compute"};
static const long in_syscall[NT] = {SYS_futex, SYS_epoll_wait, SYS_read, SYS_clock_nanosleep,
                                    SYS_clock_nanosleep, -1};

static pthread_t th[NT];
static _Atomic pid_t tids[NT];
static uint64_t masks[NT]; /* each thread's mask as it set it */
static atomic_int stop, failures;
static uint32_t futex_word;
static uint64_t steps, result;
static char line[64];

static void fail(const char *what, int i)
{
    fprintf(stderr, "MISMATCH %s: %s\n", i >= 0 ? names[i] : "main", what);
    atomic_fetch_add(&failures, 1);
}

static void check_call(long rc, int i)
{
    if (rc < 0 && errno == EINTR)
        fail("a blocking call failed with EINTR", i);
    else if (rc < 0 && errno != ETIMEDOUT && errno != EAGAIN)
        fail(strerror(errno), i);
}

static uint64_t own_mask(void)
{
    sigset_t s;
    uint64_t m;
    pthread_sigmask(SIG_SETMASK, NULL, &s);
    memcpy(&m, &s, sizeof(m));
    return m;
}

static void wait_futex(void)
{
    struct timespec ts = {60, 0};
    while (!atomic_load(&futex_word))
        check_call(syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0), FUTEX);
}

static void wait_epoll(void)
{
    struct epoll_event ev;
    long rc = epoll_wait(1, &ev, 1, 60000);
    check_call(rc, EPOLL);
    if (rc != 1 || !(ev.events & EPOLLHUP))
        fail("epoll_wait did not report the hang-up", EPOLL);
}

static void read_line(void)
{
    size_t have = 0;
    long n;
    while ((n = read(0, line + have, sizeof(line) - 1 - have)) != 0) {
        check_call(n, READ);
        if (n < 0)
            return;
        have += (size_t)n;
    }
    line[have] = 0;
}

static void sleep_loop(int absolute)
{
    struct timespec ts = {0, 200000000L};
    while (!atomic_load(&stop)) {
        int rc;
        if (absolute) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 200000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            errno = rc;
            check_call(rc ? -1 : 0, ABSSLEEP);
        } else {
            check_call(nanosleep(&ts, NULL), SLEEP);
        }
    }
}

static void compute(void)
{
    uint64_t x = 1, k = 0;
    while (!atomic_load(&stop)) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        k++;
    }
    result = x;
    steps = k;
}

static void *thread_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    masks[i] = own_mask();
    atomic_store(&tids[i], (pid_t)syscall(SYS_gettid));
    switch (i) {
    case FUTEX: wait_futex(); break;
    case EPOLL: wait_epoll(); break;
    case READ: read_line(); break;
    case SLEEP: sleep_loop(0); break;
    case ABSSLEEP: sleep_loop(1); break;
    case COMPUTE: compute(); break;
    }
    if (own_mask() != masks[i])
        fail("the thread's signal mask changed", i);
    return NULL;
}

/* What /proc says of thread i: the system call it is in (-1 outside one)
 * and its blocked signals. */
static void proc_state(int i, long *nr, uint64_t *blocked)
{
    char path[64], buf[4096];
    FILE *f;
    *nr = -2;
    *blocked = 0;
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", atomic_load(&tids[i]));
    if ((f = fopen(path, "r"))) {
        if (fgets(buf, sizeof(buf), f))
            *nr = strncmp(buf, "running", 7) ? strtol(buf, NULL, 10) : -1;
        fclose(f);
    }
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", atomic_load(&tids[i]));
    if ((f = fopen(path, "r"))) {
        while (fgets(buf, sizeof(buf), f))
            if (!strncmp(buf, "SigBlk:", 7))
                *blocked = strtoull(buf + 7, NULL, 16);
        fclose(f);
    }
}

/* Until threads [0, n) sit in their calls (the computing one: running). */
static void wait_in_calls(int n)
{
    for (int tries = 0; tries < 5000; tries++) {
        int ok = 1;
        for (int i = 0; i < n && ok; i++) {
            long nr;
            uint64_t blocked;
            if (!atomic_load(&tids[i]))
                ok = 0;
            else if (proc_state(i, &nr, &blocked), nr != in_syscall[i])
                ok = 0;
        }
        if (ok)
            return;
        usleep(1000);
    }
    fail("the threads did not all reach their calls", -1);
}

static void check_masks(void)
{
    for (int i = 0; i < NT; i++) {
        long nr;
        uint64_t blocked;
        proc_state(i, &nr, &blocked);
        if (blocked != masks[i]) {
            char what[96];
            snprintf(what, sizeof(what), "/proc says the mask is %016llx, not %016llx",
                     (unsigned long long)blocked, (unsigned long long)masks[i]);
            fail(what, i);
        }
    }
}

static int finish(void)
{
    uint64_t x = 1;
    atomic_store(&futex_word, 1);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(th[READ], NULL);
    pthread_join(th[EPOLL], NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < NT; i++)
        if (i != READ && i != EPOLL)
            pthread_join(th[i], NULL);
    for (uint64_t k = 0; k < steps; k++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    if (x != result || !steps)
        fail("the computation's result", COMPUTE);
    if (strcmp(line, "hello\n"))
        fail("read() did not return the line written after the checkpoint", READ);
    if (atomic_load(&failures))
        return 1;
    fprintf(stderr, "BLOCKALL OK\n");
    return 0;
}

static int checkpoint(void)
{
    crac_error *err = NULL;
    if (crac_checkpoint_restore(&err) < 0) {
        char *s = crac_error_format(err);
        fprintf(stderr, "CHECKPOINT FAILED\n%s", s);
        free(s);
        crac_error_free(err);
        return -1;
    }
    return 0;
}

/* wait: checked and checkpointed from outside (crac check, crac
 * checkpoint) until stdin ends, rather than by itself. */
static int nodump(int wait)
{
    char c;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    pthread_create(&th[FUTEX], NULL, thread_main, (void *)(intptr_t)FUTEX);
    pthread_setname_np(th[FUTEX], names[FUTEX]);
    /* (/proc/self/task/ of a non-dumpable process is root's) */
    while (!atomic_load(&tids[FUTEX]))
        usleep(1000);
    usleep(20000);
    if (wait) {
        fprintf(stderr, "READY %d\n", getpid());
        while (read(0, &c, 1) > 0)
            ;
    } else if (checkpoint() == 0) {
        return 1;
    }
    fprintf(stderr, "PROCESS CONTINUES\n");
    atomic_store(&futex_word, 1);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(th[FUTEX], NULL);
    return atomic_load(&failures) ? 1 : 3;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "launch")) {
        int ep = epoll_create1(0);
        struct epoll_event ev = {.events = 0}; /* hang-up and errors only */
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) || dup2(ep, 1) != 1)
            return perror("launch"), 2;
        close(ep);
        execvp(argv[2], argv + 2);
        return perror(argv[2]), 2;
    }
    setvbuf(stderr, NULL, _IONBF, 0);
    if (argc > 1 && !strncmp(argv[1], "nodump", 6))
        return nodump(!strcmp(argv[1], "nodump-wait"));
    for (int i = 0; i < NT; i++) {
        pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i);
        pthread_setname_np(th[i], names[i]);
    }
    wait_in_calls(NT);
    fprintf(stderr, "PID %d\n", getpid());
    if (checkpoint())
        return 1;
    fprintf(stderr, "%s\n", crac_restore_count() ? "RESTORED" : "CONTINUED");
    check_masks();
    fprintf(stderr, "WAITING\n");
    return finish();
}
