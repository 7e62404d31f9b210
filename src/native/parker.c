/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ptrace helper of the safepoint.  Signal 62 alone cannot reach a
 * thread that blocks it (jemalloc's background thread, libuv's and many
 * other pools block every signal), and when it reaches a thread blocked in
 * a system call the kernel decides for the program: nanosleep, poll,
 * epoll_wait and others fail with EINTR once the handler returns, which a
 * program that never expects signals may not handle.
 *
 * So a helper stops each thread first: PTRACE_SEIZE and PTRACE_INTERRUPT,
 * then, in the stop, where the kernel has not yet decided:
 *   - an interrupted system call is set to start again when the thread
 *     goes on (rax = the call's number, rip back over the 2-byte syscall
 *     instruction, orig_rax = -1 so that the kernel's own restart logic
 *     leaves it alone).  Its arguments are still in their registers.  A call
 *     the kernel would have resumed through restart_syscall() (nanosleep,
 *     poll with a timeout: -ERESTART_RESTARTBLOCK) is issued again as the
 *     program wrote it: the kernel's restart block does not survive a
 *     signal handler nor a restore, and the program asked for that call, so
 *     a relative timeout starts again from where the thread goes on;
 *   - the true signal mask is read (PTRACE_GETSIGMASK gives the mask a
 *     sigsuspend/ppoll/epoll_pwait will restore, not the temporary one),
 *     and signal 62 unblocked (PTRACE_SETSIGMASK) after queueing it;
 *   - detached, the thread takes the signal at once and parks in the
 *     handler, which puts the true mask into the frame it returns through.
 * What was done is left in the thread table's how[] for the handler.
 *
 * The helper is a process (a thread cannot ptrace its own thread group)
 * made with a bare clone(): CLONE_VM, so that it writes its results into
 * our memory; no CLONE_THREAD; exit signal 0, so that the program's own
 * SIGCHLD handling and wait() calls never see it.  It shares the caller's
 * TLS, so it runs nothing but system calls: no errno, no libc function
 * that takes a lock, no sanitizer, no stack protector.  Its waits are not
 * bounded: the caller kills it at the safepoint's deadline, which lets its
 * threads go (a thread already sent has the signal queued and unblocked,
 * and parks or, if the round was given up, returns at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "native/threads.h"
#include "image/maps.h"

#define HELPER __attribute__((no_sanitize("address", "undefined"), optimize("no-stack-protector")))
#define BIT(sig) (1ULL << ((sig)-1))
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

HELPER static inline long sys(long nr, long a, long b, long c, long d)
{
    long rc;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall"
                     : "=a"(rc)
                     : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return rc;
}

/* Calls whose EINTR means "interrupted before anything happened" (POSIX
 * says so of read and write; the others return what they did, if
 * anything, instead), so that starting them again is what the program
 * would have seen without the signal.  Not close() (the descriptor is gone
 * when it fails with EINTR) nor connect() (the connection goes on). */
HELPER static int eintr_restartable(long nr)
{
    switch (nr) {
    case SYS_read: case SYS_write: case SYS_pread64: case SYS_pwrite64: case SYS_readv:
    case SYS_writev: case SYS_preadv: case SYS_pwritev: case SYS_preadv2: case SYS_pwritev2:
    case SYS_accept: case SYS_accept4: case SYS_sendto: case SYS_recvfrom: case SYS_sendmsg:
    case SYS_recvmsg: case SYS_sendmmsg: case SYS_recvmmsg: case SYS_semop: case SYS_semtimedop:
    case SYS_rt_sigtimedwait: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2:
    case SYS_io_getevents: case SYS_io_pgetevents:
        return 1;
    }
    return 0;
}

/* What the kernel had decided for the interrupted call (CRAC__RESTART_*),
 * or 0 when the thread was not in one that can start again. */
HELPER static unsigned restart_kind(const struct user_regs_struct *r)
{
    long nr = (long)r->orig_rax;
    if (nr < 0)
        return 0;
    switch ((long)r->rax) {
    case -512: return CRAC__RESTART_SYS;    /* ERESTARTSYS */
    case -513: return CRAC__RESTART_NOINTR; /* ERESTARTNOINTR */
    case -514: return CRAC__RESTART_NOHAND; /* ERESTARTNOHAND */
    case -516: /* ERESTART_RESTARTBLOCK; restart_syscall() itself cannot be issued again */
        return nr == SYS_restart_syscall ? 0 : CRAC__RESTART_BLOCK;
    case -EINTR: return eintr_restartable(nr) ? CRAC__RESTART_EINTR : 0;
    }
    return 0;
}

/* Entry i is in its ptrace stop: see the comment at the top. */
HELPER static void send(struct crac__parker *pk, uint32_t i)
{
    struct user_regs_struct regs;
    unsigned long long mask, unblocked;
    long tid = pk->tid[i], rc;
    unsigned kind, how = 0;
    if ((rc = sys(SYS_ptrace, PTRACE_GETREGS, tid, 0, (long)&regs)) < 0 ||
        (rc = sys(SYS_ptrace, PTRACE_GETSIGMASK, tid, sizeof(mask), (long)&mask)) < 0) {
        pk->err[i] = (int32_t)-rc;
        sys(SYS_tgkill, pk->pid, tid, CRAC_SAFEPOINT_SIGNAL, 0);
        sys(SYS_ptrace, PTRACE_DETACH, tid, 0, 0);
        return;
    }
    if ((kind = restart_kind(&regs)) != 0) {
        regs.rax = regs.orig_rax;
        regs.rip -= 2;
        regs.orig_rax = (unsigned long long)-1;
        if (sys(SYS_ptrace, PTRACE_SETREGS, tid, 0, (long)&regs) == 0)
            how |= kind << CRAC__HOW_RESTART_SHIFT;
    }
    if (mask & BIT(CRAC_SAFEPOINT_SIGNAL))
        how |= CRAC__HOW_REBLOCK;
    /* Before the signal can be taken, and before anything we may be
     * killed in the middle of: queued while blocked, it stays pending. */
    atomic_fetch_or(&pk->how[i], (unsigned char)how);
    sys(SYS_tgkill, pk->pid, tid, CRAC_SAFEPOINT_SIGNAL, 0);
    /* Also when 62 was not blocked: it clears a temporary mask that a
     * sigsuspend or epoll_pwait left in place and that may block it. */
    unblocked = mask & ~BIT(CRAC_SAFEPOINT_SIGNAL);
    sys(SYS_ptrace, PTRACE_SETSIGMASK, tid, sizeof(unblocked), (long)&unblocked);
    sys(SYS_ptrace, PTRACE_DETACH, tid, 0, 0);
}

/* Seizes (and, unless probing, interrupts) each thread; how many stop. */
HELPER static uint32_t seize_all(struct crac__parker *pk)
{
    uint32_t stopping = 0;
    for (uint32_t i = pk->first; i < pk->end; i++) {
        long tid = pk->tid[i], rc;
        if (!tid)
            continue;
        rc = sys(SYS_ptrace, PTRACE_SEIZE, tid, 0, 0);
        if (rc == 0 && !pk->probe)
            rc = sys(SYS_ptrace, PTRACE_INTERRUPT, tid, 0, 0);
        if (rc == 0) {
            stopping++;
            continue;
        }
        pk->err[i] = (int32_t)-rc;
        /* The signal alone parks it, unless the thread blocks it. */
        if (!pk->probe)
            sys(SYS_tgkill, pk->pid, tid, CRAC_SAFEPOINT_SIGNAL, 0);
    }
    return stopping;
}

HELPER static int helper_main(void *arg)
{
    struct crac__parker *pk = arg;
    uint32_t stopping;
    /* Started on our CPU (pin_here()); from now on free to move. */
    sys(SYS_sched_setaffinity, 0, sizeof(pk->cpus), (long)pk->cpus, 0);
    stopping = seize_all(pk);
    if (pk->probe)
        return 0; /* exiting detaches them */
    while (stopping) {
        int st;
        long tid = sys(SYS_wait4, -1, (long)&st, __WALL, 0);
        uint32_t i = pk->first;
        if (tid < 0)
            break;
        while (i < pk->end && pk->tid[i] != tid)
            i++;
        if (i == pk->end)
            continue;
        if (!WIFSTOPPED(st)) { /* it ended */
            pk->err[i] = ESRCH;
            stopping--;
        } else if (st >> 16 == PTRACE_EVENT_STOP) {
            send(pk, i);
            stopping--;
        } else { /* one of the program's signals arrived first: let it have it; our stop follows */
            sys(SYS_ptrace, PTRACE_CONT, tid, 0, WSTOPSIG(st));
        }
    }
    return 0;
}

long crac__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Yama's ptrace_scope 1 lets a process trace only its descendants: the
 * helper is ours, but it traces us, so we name our descendants as allowed
 * for as long as it runs.  This replaces a PR_SET_PTRACER the program set
 * itself (it cannot be read back). */
static int allow_helper(void)
{
    char scope[8];
    long n = crac__read_file("/proc/sys/kernel/yama/ptrace_scope", scope, sizeof(scope));
    return n > 0 && scope[0] == '1' && prctl(PR_SET_PTRACER, (unsigned long)getpid(), 0, 0, 0) == 0;
}

/* The helper starts on this CPU, which we are about to leave for it:
 * when the program's own threads kept every CPU busy, a new process put
 * anywhere else waited for one of them to use up its time slice (1-4 ms on
 * this 2-CPU VM), against about 0.05 ms here.  So we pin ourselves for the
 * clone (the child inherits it) and put our own affinity back at once; the
 * helper's first call puts it back for the helper (pk->cpus). */
static bool pin_here(struct crac__parker *pk)
{
    cpu_set_t cpu;
    int c = sched_getcpu();
    if (c < 0 || sched_getaffinity(0, sizeof(pk->cpus), (cpu_set_t *)pk->cpus) < 0)
        return false;
    CPU_ZERO(&cpu);
    CPU_SET(c, &cpu);
    return sched_setaffinity(0, sizeof(cpu), &cpu) == 0;
}

int crac__parker_start(struct crac__parker *pk, uint32_t first, uint32_t end)
{
    sigset_t all, old;
    long pid;
    int e;
    bool pinned;
    pk->first = first;
    pk->end = end;
    for (uint32_t i = first; i < end; i++)
        pk->err[i] = 0;
    pk->ptracer_set = allow_helper();
    memset(pk->cpus, 0xff, sizeof(pk->cpus));
    pinned = pin_here(pk);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pid = clone(helper_main, pk->stack + sizeof(pk->stack),
                CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED | CLONE_PARENT_SETTID |
                    CLONE_CHILD_CLEARTID,
                pk, &pk->htid, NULL, &pk->htid);
    e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pinned)
        sched_setaffinity(0, sizeof(pk->cpus), (cpu_set_t *)pk->cpus);
    if (pid < 0) {
        if (pk->ptracer_set)
            prctl(PR_SET_PTRACER, 0, 0, 0, 0);
        pk->helper = 0;
        return -e;
    }
    pk->helper = (int32_t)pid;
    return 0;
}

void crac__parker_finish(struct crac__parker *pk, long deadline_ms)
{
    siginfo_t si;
    int htid;
    if (!pk->helper)
        return;
    /* The kernel wakes a shared (not private) futex on clear-child-tid. */
    while ((htid = pk->htid) != 0) {
        long left = deadline_ms - crac__now_ms();
        struct timespec ts = {left / 1000, left % 1000 * 1000000L};
        if (left <= 0) {
            kill(pk->helper, SIGKILL);
            break;
        }
        syscall(SYS_futex, &pk->htid, FUTEX_WAIT, htid, &ts, NULL, 0);
    }
    /* ECHILD if the program reaped it with a wait(__WALL) of its own. */
    waitid(P_PID, (id_t)pk->helper, &si, WEXITED | __WALL);
    if (pk->ptracer_set)
        prctl(PR_SET_PTRACER, 0, 0, 0, 0);
    pk->helper = 0;
}
