/* SPDX-License-Identifier: Apache-2.0 */
/* Per-thread kernel state: recorded before the dump, re-established by each
 * thread itself after a restore; and the list of threads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "native/threads.h"
#include "core/core.h"

#define RSEQ_SIG 0x53053053

/* Whether the kernel has this thread's rseq area registered.  A thread
 * caught between its creation and glibc's registration in start_thread
 * has none: registering one at restore made glibc's own registration fail
 * (EBUSY) when the thread went on, and glibc aborts the process then.
 * Asked by registering: EBUSY means it was; success means it was not, and
 * is undone at once. */
static bool rseq_registered(void)
{
    uint64_t tp;
    if (!__rseq_size)
        return false;
    __asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
    void *area = (void *)(tp + (uint64_t)(int64_t)__rseq_offset);
    if (syscall(SYS_rseq, area, 32, 0, RSEQ_SIG) == 0) {
        syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
        return false;
    }
    return errno == EBUSY;
}

void crac__thread_capture(struct crac_img_thread *t)
{
    stack_t ss;
    uint64_t tidaddr = 0;
    size_t len = 0;
    void *head = NULL;
    t->tid = (int32_t)syscall(SYS_gettid);
    syscall(SYS_prctl, PR_GET_TID_ADDRESS, &tidaddr, 0, 0, 0);
    t->tid_address = tidaddr;
    syscall(SYS_get_robust_list, 0, &head, &len);
    t->robust_list = (uint64_t)head;
    t->robust_len = len;
    if (syscall(SYS_sigaltstack, NULL, &ss) == 0) {
        t->altstack_sp = (uint64_t)ss.ss_sp;
        t->altstack_size = ss.ss_size;
        t->altstack_flags = ss.ss_flags;
    }
    t->affinity_valid = syscall(SYS_sched_getaffinity, 0, sizeof(t->affinity), t->affinity) > 0;
    syscall(SYS_prctl, PR_GET_NAME, t->comm, 0, 0, 0);
    t->flags = rseq_registered() ? 0 : CRAC_THR_NO_RSEQ;
}

/* Thread ids of this process, without the heap (a parked thread may hold
 * the allocator's lock).  Returns how many, or -errno. */
int crac__task_ids(pid_t *out, int max)
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

static void warn(const char *what, int e)
{
    crac__log("after restore: %s: %s", what, strerror(e));
}

void crac__thread_apply(const struct crac_img_thread *t, int32_t rseq_offset, uint32_t rseq_size)
{
    /* glibc caches the tid in struct pthread, at the clear-child-tid
     * address: raise(), pthread_kill() and mutex owners use it; the
     * kernel clears it when the thread ends (pthread_join waits for that). */
    pid_t tid = (pid_t)syscall(SYS_set_tid_address, t->tid_address);
    if (t->tid_address)
        *(volatile pid_t *)t->tid_address = tid;
    if (t->robust_list && syscall(SYS_set_robust_list, t->robust_list, t->robust_len) < 0)
        warn("set_robust_list", errno);
    /* Without registering again, sched_getcpu() returns stale values and
     * rseq critical sections are no longer aborted. */
    if (rseq_size && !(t->flags & CRAC_THR_NO_RSEQ)) {
        uint64_t tp;
        __asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
        if (syscall(SYS_rseq, tp + (uint64_t)(int64_t)rseq_offset, 32, 0, RSEQ_SIG) < 0)
            warn("rseq", errno);
    }
    if (t->altstack_sp && !(t->altstack_flags & SS_DISABLE)) {
        stack_t ss = {.ss_sp = (void *)t->altstack_sp, .ss_size = t->altstack_size, .ss_flags = 0};
        if (syscall(SYS_sigaltstack, &ss, NULL) < 0)
            warn("sigaltstack", errno);
    }
    /* The CPUs may differ on this machine: keep what the kernel allows. */
    if (t->affinity_valid)
        syscall(SYS_sched_setaffinity, 0, sizeof(t->affinity), t->affinity);
    syscall(SYS_prctl, PR_SET_NAME, t->comm, 0, 0, 0);
}
