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
 * signal blocked, and is gone before crac__fsync_all() returns.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "dump/dump.h"

#define HELPER_STACK 4096

struct helper {
    int fd;
    volatile int tid; /* set by the kernel at clone, cleared when the thread ends */
    long rc;
};

__attribute__((no_sanitize("address", "undefined"), optimize("no-stack-protector")))
static int helper_main(void *arg)
{
    struct helper *h = arg;
    long rc;
    __asm__ volatile("syscall"
                     : "=a"(rc)
                     : "0"((long)SYS_fsync), "D"((long)h->fd)
                     : "rcx", "r11", "memory");
    h->rc = rc;
    return 0;
}

static void wait_helper(struct helper *h)
{
    int tid;
    /* The kernel wakes a shared (not private) futex on clear-child-tid. */
    while ((tid = h->tid) != 0)
        syscall(SYS_futex, &h->tid, FUTEX_WAIT, tid, NULL, NULL, 0);
}

int crac__fsync_all(const int *fds, int n)
{
    enum { MAX = 8 };
    struct helper h[MAX];
    sigset_t all, old;
    char *stacks;
    int started = 0, rc = 0;
    if (n > MAX)
        n = MAX;
    stacks = n > 1 ? mmap(NULL, (size_t)(n - 1) * HELPER_STACK, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                   : MAP_FAILED;
    if (stacks != MAP_FAILED) {
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (int i = 1; i < n; i++, started++) {
            h[i] = (struct helper){.fd = fds[i], .tid = 0, .rc = 0};
            if (clone(helper_main, stacks + (size_t)i * HELPER_STACK,
                      CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                          CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
                      &h[i], &h[i].tid, NULL, &h[i].tid) < 0)
                break;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    /* Whatever could not get a helper is synced here, in order. */
    for (int i = started + 1; i < n; i++)
        if (fsync(fds[i]) < 0 && !rc)
            rc = -errno;
    if (fsync(fds[0]) < 0)
        rc = -errno;
    for (int i = 1; i <= started; i++) {
        wait_helper(&h[i]);
        if (h[i].rc < 0 && !rc)
            rc = (int)h[i].rc;
    }
    if (stacks != MAP_FAILED)
        munmap(stacks, (size_t)(n - 1) * HELPER_STACK);
    return rc;
}
