/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A process with 8 threads in mixed states, checkpointed with the native
 * engine; after restore every thread's work is verified.
 *
 *   native-threads main     the main thread checkpoints
 *   native-threads other    another thread checkpoints (as a control
 *                           thread would); the main thread is parked
 *   native-threads serve    after restore, prints "SERVING pid" and
 *                           answers SIGUSR1 by printing "ALIVE" (for the
 *                           concurrent-instances test); runs until killed
 *
 * Threads: 2 computing, nanosleep, pthread_cond_wait, pthread_mutex_lock
 * (contended: the checkpointing thread holds the mutex across the
 * checkpoint), sigsuspend, poll with no fds, and one that only waits to be
 * joined.  Prints "PID n" before and after, "THREADS OK" when all is well.
 */
#include <crac.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"

#define NT 8

static pthread_t th[NT];
static atomic_int ready, stop;
static _Atomic pid_t usr1_tid[NT]; /* which kernel thread handled SIGUSR1 */
static __thread int my_index = -1;
static __thread uint64_t tls_mark;
static __thread volatile int self_signals;
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cmtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_flag;
static uint64_t results[NT];
static atomic_int failures;

static void fail(const char *what, int i)
{
    printf("MISMATCH thread %d: %s\n", i, what);
    atomic_fetch_add(&failures, 1);
}

static void on_usr1(int sig)
{
    (void)sig;
    if (my_index >= 0)
        atomic_store(&usr1_tid[my_index], (pid_t)syscall(SYS_gettid));
}

static void on_usr2(int sig)
{
    (void)sig;
    self_signals++;
}

static void start(int i)
{
    my_index = i;
    tls_mark = 0xabc000 + (uint64_t)i;
    atomic_fetch_add(&ready, 1);
}

/* The thread's own view after restore: TLS intact, glibc's cached tid
 * right (pthread_kill on itself reaches this very thread). */
static void self_check(int i)
{
    if (tls_mark != 0xabc000 + (uint64_t)i)
        fail("thread-local variable", i);
    if (pthread_kill(pthread_self(), SIGUSR2) != 0 || self_signals != 1)
        fail("pthread_kill(self) did not reach this thread", i);
}

/* Busy across the checkpoint: the number of steps and the value reached
 * must agree when main recomputes them afterwards. */
static uint64_t steps[NT];
static void *compute(void *arg)
{
    int i = (int)(intptr_t)arg;
    uint64_t x = (uint64_t)i + 1, k = 0;
    start(i);
    while (!atomic_load(&stop)) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        k++;
    }
    results[i] = x;
    steps[i] = k;
    self_check(i);
    return NULL;
}

static void *sleeper(void *arg)
{
    int i = (int)(intptr_t)arg;
    struct timespec ts = {0, 1000000};
    start(i);
    while (!atomic_load(&stop))
        nanosleep(&ts, NULL);
    self_check(i);
    return NULL;
}

static void *condwaiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    start(i);
    pthread_mutex_lock(&cmtx);
    while (!cond_flag)
        pthread_cond_wait(&cond, &cmtx);
    pthread_mutex_unlock(&cmtx);
    results[i] = 1;
    self_check(i);
    return NULL;
}

static void *locker(void *arg)
{
    int i = (int)(intptr_t)arg;
    start(i);
    pthread_mutex_lock(&mtx); /* held by the checkpointing thread */
    results[i] = 1;
    pthread_mutex_unlock(&mtx);
    self_check(i);
    return NULL;
}

static void *suspender(void *arg)
{
    int i = (int)(intptr_t)arg;
    sigset_t none;
    sigemptyset(&none);
    start(i);
    /* Returns for any handled signal (the safepoint's too): loop until ours. */
    while (!atomic_load(&usr1_tid[i]))
        sigsuspend(&none);
    self_check(i);
    return NULL;
}

static void *poller(void *arg)
{
    int i = (int)(intptr_t)arg;
    start(i);
    while (!atomic_load(&stop))
        poll(NULL, 0, 5);
    self_check(i);
    return NULL;
}

static void *idle(void *arg)
{
    int i = (int)(intptr_t)arg;
    start(i);
    while (!atomic_load(&stop))
        usleep(2000);
    self_check(i);
    results[i] = 7;
    return (void *)(intptr_t)42;
}


static void *checkpointer(void *arg)
{
    return (void *)(intptr_t)checkpoint() + 0 * (intptr_t)arg;
}

static void start_threads(void)
{
    static void *(*fns[NT])(void *) = {compute, compute, sleeper, condwaiter,
                                       locker,  suspender, poller, idle};
    static const char *names[NT] = {"compute0", "compute1", "sleeper", "condwait",
                                    "locker",   "suspend",  "poller",  "idle"};
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    for (int i = 0; i < NT; i++) {
        pthread_create(&th[i], NULL, fns[i], (void *)(intptr_t)i);
        pthread_setname_np(th[i], names[i]);
    }
    while (atomic_load(&ready) < NT)
        usleep(1000);
}

static void verify(void)
{
    void *ret;
    uint64_t expect[2];
    pthread_mutex_unlock(&mtx);
    pthread_mutex_lock(&cmtx);
    cond_flag = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&cmtx);
    /* a signal to one given thread reaches that thread */
    pthread_kill(th[5], SIGUSR1);
    usleep(20000);
    atomic_store(&stop, 1);
    for (int i = 0; i < NT; i++) {
        if (pthread_join(th[i], &ret) != 0)
            fail("pthread_join", i);
        if (i == 7 && ret != (void *)(intptr_t)42)
            fail("return value through pthread_join", i);
    }
    for (int i = 0; i < 2; i++) {
        uint64_t x = (uint64_t)i + 1;
        for (uint64_t k = 0; k < steps[i]; k++)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        expect[i] = x;
        if (results[i] != expect[i] || steps[i] == 0)
            fail("computation result", i);
    }
    if (results[3] != 1 || results[4] != 1 || results[7] != 7)
        fail("condition variable / mutex / idle work", 3);
    if (!atomic_load(&usr1_tid[5]))
        fail("SIGUSR1 to the sigsuspend thread", 5);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "main";
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_mutex_lock(&mtx); /* before the locker starts: it must wait */
    start_threads();
    usleep(20000); /* the computing threads are well under way */
    printf("PID %d\n", getpid());
    if (!strcmp(mode, "other")) {
        pthread_t c;
        void *r;
        pthread_create(&c, NULL, checkpointer, NULL);
        pthread_join(c, &r);
        if (r)
            return 1;
    } else if (checkpoint()) {
        return 1;
    }
    printf("PID %d restored %u\n", getpid(), crac_restore_count());
    if (getpid() != syscall(SYS_getpid) || crac_restore_count() != 1)
        fail("pid or restore count", -1);
    verify();
    if (atomic_load(&failures))
        return 1;
    printf("THREADS OK\n");
    if (!strcmp(mode, "serve")) {
        printf("SERVING %d\n", getpid());
        for (;;)
            pause();
    }
    return 0;
}
