/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The safepoint.  Every thread but the checkpointing one gets
 * CRAC_SAFEPOINT_SIGNAL; its handler records the thread's kernel state,
 * saves a resume context with crac__ctx_save() and parks on a futex.  The
 * interrupted state (all registers, FPU/AVX, signal mask, a system call to
 * restart or to fail with EINTR, exactly as the kernel decided when it
 * delivered the signal) stays in the signal frame on the thread's stack.
 *
 * After a restore, the restorer recreates each thread and jumps to its
 * saved context: crac__ctx_save() "returns" again inside the handler, the
 * thread re-establishes its own kernel state, waits for the checkpointing
 * thread's go, and returns from the handler: rt_sigreturn resumes it
 * where it was interrupted.
 *
 * Rounds are numbered so that a thread that arrives after a round was
 * given up (timeout) goes straight back to work.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "native/dump.h"
#include "native/threads.h"
#include "image/maps.h"
#include "core/core.h"

char crac__thread_room[sizeof(struct crac__thread_table) + CRAC_PAGE - 1];
/* What threads.h promises: the small fields, the flags and 6 records fit
 * in the table's first page. */
_Static_assert(offsetof(struct crac__thread_table, threads) + 6 * sizeof(struct crac_img_thread) <=
               CRAC_PAGE, "a checkpoint of up to 6 threads dirties one page of the thread table");

/* The safepoint's parts of the thread table (threads.h). */
#define sp (&crac__thread_table()->sp)
#define signaled (crac__thread_table()->signaled)
#define parked (crac__thread_table()->parked)

static void futex_wait(atomic_uint *w, unsigned val)
{
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static struct crac_img_thread *record_of(pid_t tid)
{
    for (uint32_t i = 0; i < crac__nthreads; i++)
        if (crac__threads[i].tid == tid)
            return &crac__threads[i];
    return NULL;
}

static void on_safepoint(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    unsigned round = atomic_load(&sp->round);
    struct crac_img_thread *t;
    uint64_t info;
    (void)sig, (void)si, (void)uc;
    t = round ? record_of((pid_t)syscall(SYS_gettid)) : NULL;
    if (!t) /* a round given up, or a thread born after the list was made */
        goto out;
    crac__thread_capture(t);
    info = crac__ctx_save(&t->ctx);
    if (!info) {
        atomic_store(&parked[t - crac__threads], 1);
        atomic_fetch_add(&sp->arrived, 1);
        futex_wake(&sp->arrived);
        while (atomic_load(&sp->released) != round)
            futex_wait(&sp->released, atomic_load(&sp->released));
        goto out;
    }
    /* A recreated thread, on its saved stack: the process-wide state is
     * being re-established by the checkpointing thread meanwhile. */
    crac__thread_apply(t, (int32_t)__rseq_offset, __rseq_size);
    atomic_fetch_add(&sp->checked_in, 1);
    futex_wake(&sp->checked_in);
    while (atomic_load(&sp->resumed) != round)
        futex_wait(&sp->resumed, atomic_load(&sp->resumed));
out:
    errno = saved_errno;
}

/* Thread ids of this process, without the heap (a parked thread may hold
 * the allocator's lock).  Returns how many, or -errno. */
static int task_ids(pid_t *out, int max)
{
    char buf[8192];
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
    ssize_t got;
    if (fd < 0)
        return -errno;
    while ((got = getdents64(fd, buf, sizeof(buf))) > 0)
        for (ssize_t pos = 0; pos < got;) {
            struct dirent64 *e = (struct dirent64 *)(buf + pos);
            long tid = strtol(e->d_name, NULL, 10);
            pos += e->d_reclen;
            if (tid <= 0)
                continue;
            if (n == max) {
                close(fd);
                return -E2BIG;
            }
            out[n++] = (pid_t)tid;
        }
    close(fd);
    return n;
}

static int add_record(pid_t tid)
{
    struct crac_img_thread *t;
    if (crac__nthreads == CRAC_MAX_THREADS)
        return -E2BIG;
    t = &crac__threads[crac__nthreads];
    memset(t, 0, sizeof(*t));
    t->tid = tid;
    signaled[crac__nthreads] = 0;
    atomic_store(&parked[crac__nthreads], 0);
    crac__nthreads++;
    return 0;
}

/* Lists threads not yet known and signals every one not yet signaled;
 * how many were signaled now (0 when the list is complete). */
static int signal_new(int *err)
{
    pid_t ids[CRAC_MAX_THREADS];
    pid_t pid = getpid();
    int n = task_ids(ids, CRAC_MAX_THREADS), added = 0;
    if (n < 0) {
        *err = n;
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!record_of(ids[i]) && (*err = add_record(ids[i])))
            return 0;
    for (uint32_t i = 0; i < crac__nthreads; i++) {
        if (i == sp->self || signaled[i])
            continue;
        signaled[i] = 1;
        if (syscall(SYS_tgkill, pid, crac__threads[i].tid, CRAC_SAFEPOINT_SIGNAL) < 0) {
            /* It exited meanwhile.  Records never move (parked threads
             * point at theirs): it stays as a gap the dumper leaves out. */
            crac__threads[i].tid = 0;
            atomic_store(&parked[i], 1);
            sp->gone++;
            continue;
        }
        added++;
    }
    return added;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* A signaled thread that ended before it handled the signal (it was
 * already on its way out, with every signal blocked) will never park. */
static void forget_ended(void)
{
    pid_t pid = getpid();
    for (uint32_t i = 0; i < crac__nthreads; i++)
        if (!atomic_load(&parked[i]) && crac__threads[i].tid &&
            syscall(SYS_tgkill, pid, crac__threads[i].tid, 0) < 0 && errno == ESRCH) {
            crac__threads[i].tid = 0;
            atomic_store(&parked[i], 1);
            sp->gone++;
        }
}

/* Waits until every listed thread parked or ended; 0, or -ETIMEDOUT. */
static int wait_parked(long deadline)
{
    unsigned have;
    while ((have = atomic_load(&sp->arrived)) < crac__nthreads - 1 - sp->gone) {
        long left = deadline - now_ms();
        struct timespec ts = {0, 10000000L}; /* look for ended threads every 10 ms */
        if (left <= 0)
            return -ETIMEDOUT;
        if (syscall(SYS_futex, &sp->arrived, FUTEX_WAIT_PRIVATE, have, &ts, NULL, 0) < 0 &&
            errno == ETIMEDOUT)
            forget_ended();
    }
    return 0;
}

static void install_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_safepoint;
    /* Nothing else may run on a parked thread while memory is saved. */
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(CRAC_SAFEPOINT_SIGNAL, &sa, &sp->old_action);
}

static crac_error *not_arrived(void)
{
    crac_error *e = crac__error_src("engine", "threads did not reach the safepoint in time");
    for (uint32_t i = 0; i < crac__nthreads; i++) {
        char path[64], comm[32] = "?";
        long n;
        if (i == sp->self || atomic_load(&parked[i]))
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%d/comm", crac__threads[i].tid);
        n = crac__read_file(path, comm, sizeof(comm) - 1);
        comm[n > 0 ? n - 1 : 0] = 0;
        crac_error_add_cause(e, crac__error_src("checker", "thread '%s' (tid %d) did not stop "
                             "for the checkpoint (busy in the kernel, or signal %d blocked)",
                             comm, crac__threads[i].tid, CRAC_SAFEPOINT_SIGNAL));
    }
    return e;
}

int crac__safepoint_enter(long timeout_ms, crac_error **err)
{
    unsigned round = ++sp->rounds;
    long deadline = now_ms() + timeout_ms;
    int rc = 0;
    struct crac_img_thread *self;

    /* The leader is record 0: the restorer resumes it on the restoring
     * process's own thread, so that it keeps pid == tid.  Records never
     * move once listed: a parked thread keeps a pointer to its own. */
    crac__nthreads = 0;
    sp->gone = 0;
    add_record(getpid());
    if (gettid() != getpid())
        add_record(gettid());
    sp->self = crac__nthreads - 1;
    self = &crac__threads[sp->self];
    crac__thread_capture(self);
    self->flags = CRAC_THR_CHECKPOINTER;
    atomic_store(&parked[sp->self], 1);
    atomic_store(&sp->arrived, 0);
    atomic_store(&sp->checked_in, 0);
    install_handler();
    atomic_store(&sp->round, round);
    /* Threads may start threads while we signal: list again until no new
     * one appears once all listed ones are parked. */
    while (signal_new(&rc) > 0 && !rc)
        rc = wait_parked(deadline);
    if (rc) {
        crac__safepoint_leave();
        *err = rc == -ETIMEDOUT ? not_arrived()
                                : crac__error_src("engine", "cannot stop the other threads: %s",
                                                  strerror(-rc));
        return -1;
    }
    return 0;
}

void crac__safepoint_leave(void)
{
    unsigned round = atomic_load(&sp->round);
    atomic_store(&sp->round, 0);
    atomic_store(&sp->released, round);
    futex_wake(&sp->released);
    sigaction(CRAC_SAFEPOINT_SIGNAL, &sp->old_action, NULL);
}

void crac__safepoint_resume_restored(void)
{
    unsigned want = crac__nthreads - 1 - sp->gone, have;
    while ((have = atomic_load(&sp->checked_in)) < want)
        futex_wait(&sp->checked_in, have);
    atomic_store(&sp->resumed, atomic_load(&sp->round));
    atomic_store(&sp->round, 0);
    futex_wake(&sp->resumed);
}

struct crac_img_thread *crac__thread_self_record(void)
{
    return &crac__threads[sp->self];
}

static int still_blocking(pid_t tid)
{
    char path[64], buf[4096];
    const char *blk;
    long len;
    usleep(20000);
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
    len = crac__read_file(path, buf, sizeof(buf) - 1);
    if (len <= 0)
        return 0;
    buf[len] = 0;
    blk = strstr(buf, "\nSigBlk:");
    return blk && (strtoull(blk + 8, NULL, 16) >> (CRAC_SAFEPOINT_SIGNAL - 1) & 1);
}

void crac__safepoint_check(crac_error *problems)
{
    pid_t ids[CRAC_MAX_THREADS];
    int n = task_ids(ids, CRAC_MAX_THREADS);
    pid_t self = gettid(), pid = getpid();
    if (n == -E2BIG)
        crac_error_add_cause(problems, crac__error_src("checker", "more than %d threads",
                                                       CRAC_MAX_THREADS));
    for (int i = 0; i < n; i++) {
        char path[64], buf[4096], comm[32] = "?";
        const char *blk, *state;
        long len;
        if (ids[i] == self)
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%d/comm", ids[i]);
        len = crac__read_file(path, comm, sizeof(comm) - 1);
        comm[len > 0 ? len - 1 : 0] = 0;
        snprintf(path, sizeof(path), "/proc/self/task/%d/status", ids[i]);
        len = crac__read_file(path, buf, sizeof(buf) - 1);
        if (len <= 0)
            continue;
        buf[len] = 0;
        blk = strstr(buf, "\nSigBlk:");
        state = strstr(buf, "\nState:");
        /* A thread on its way out blocks every signal for a moment: only a
         * thread still there a little later blocks ours for good. */
        if (blk && (strtoull(blk + 8, NULL, 16) >> (CRAC_SAFEPOINT_SIGNAL - 1) & 1) &&
            still_blocking(ids[i]))
            crac_error_add_cause(problems, crac__error_src("checker", "thread '%s' (tid %d) "
                                 "blocks signal %d, which crac uses to stop threads for a "
                                 "checkpoint", comm, ids[i], CRAC_SAFEPOINT_SIGNAL));
        if (ids[i] == pid && state && strchr("ZX", state[8] == '\t' ? state[9] : state[8]))
            crac_error_add_cause(problems, crac__error_src("checker", "the main thread has "
                                 "exited (tid %d): the process cannot be restored", pid));
    }
}
