/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Several fsync()s at once, for publishing an image: its two files and the
 * two directories that name them must all be durable.  Each fsync of a
 * new file or directory ends in a cache flush of the disk; one after
 * another, four of them cost about 0.2 ms more than the same four issued
 * together (docs/benchmarks.md), which is a sixth of a small checkpoint.
 *
 * The helpers are bare clone() threads, not pthreads: the program's other
 * threads are parked and one may hold the allocator's lock, which
 * pthread_create() needs.  A helper shares our TLS, so it runs nothing but
 * the system call (no errno, no sanitizer, no stack protector), with every
 * signal blocked, and is gone when crac__fsync_finish() returns.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "native/dump.h"

__attribute__((no_sanitize("address", "undefined"), optimize("no-stack-protector")))
static int helper_main(void *arg)
{
    struct crac__fsync_job *j = arg;
    long rc;
    __asm__ volatile("syscall"
                     : "=a"(rc)
                     : "0"((long)SYS_fsync), "D"((long)j->fd)
                     : "rcx", "r11", "memory");
    j->rc = rc;
    return 0;
}

void crac__fsync_start(struct crac__fsync_job *j, int fd)
{
    sigset_t all, old;
    long tid;
    j->fd = fd;
    j->tid = 0;
    j->rc = 0;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    tid = clone(helper_main, j->stack + sizeof(j->stack),
                CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                    CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
                j, &j->tid, NULL, &j->tid);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* No helper (out of threads, say): the same work, here and now. */
    if (tid < 0)
        helper_main(j);
}

int crac__fsync_finish(struct crac__fsync_job *j)
{
    int tid;
    /* The kernel wakes a shared (not private) futex on clear-child-tid. */
    while ((tid = j->tid) != 0)
        syscall(SYS_futex, &j->tid, FUTEX_WAIT, tid, NULL, NULL, 0);
    return (int)j->rc;
}

int crac__fsync_all(const int *fds, int n)
{
    enum { MAX = 8 };
    struct crac__fsync_job jobs[MAX];
    int rc = 0;
    if (n > MAX)
        n = MAX;
    for (int i = 1; i < n; i++)
        crac__fsync_start(&jobs[i], fds[i]);
    if (n > 0 && fsync(fds[0]) < 0)
        rc = -errno;
    for (int i = 1; i < n; i++) {
        int r = crac__fsync_finish(&jobs[i]);
        if (r < 0 && !rc)
            rc = r;
    }
    return rc;
}
