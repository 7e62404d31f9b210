/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Threads that cannot reach the safepoint: found up front by the check
 * (crac check and every checkpoint), and named, with what each is doing,
 * when a checkpoint gives up waiting for them.  The two must agree: a
 * thread that blocks signal 62 parks only through the ptrace helper, so the
 * check tries exactly what the checkpoint will do (the helper seizes the
 * thread, and lets it go by exiting).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "native/threads.h"
#include "image/maps.h"
#include "core/core.h"

static void read_line(pid_t tid, const char *what, char *buf, size_t len)
{
    char path[64];
    long n;
    snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, what);
    n = crac__read_file(path, buf, len - 1);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
}

/* A field of /proc/self/task/TID/status ("SigBlk", "TracerPid"), or 0. */
static unsigned long long status_field(pid_t tid, const char *field, int base)
{
    char path[64], buf[4096], key[32];
    const char *at;
    long len;
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
    len = crac__read_file(path, buf, sizeof(buf) - 1);
    if (len <= 0)
        return 0;
    buf[len] = 0;
    snprintf(key, sizeof(key), "\n%s:", field);
    at = strstr(buf, key);
    return at ? strtoull(at + strlen(key), NULL, base) : 0;
}

static bool blocks_safepoint_signal(pid_t tid)
{
    return status_field(tid, "SigBlk", 16) >> (CRAC_SAFEPOINT_SIGNAL - 1) & 1;
}

/* The system calls threads wait in most, by number (x86_64). */
static const char *syscall_name(long nr)
{
    static const struct { long nr; const char *name; } names[] = {
        {0, "read"}, {1, "write"}, {7, "poll"}, {17, "pread64"}, {19, "readv"}, {20, "writev"},
        {23, "select"}, {34, "pause"}, {35, "nanosleep"}, {42, "connect"}, {43, "accept"},
        {44, "sendto"}, {45, "recvfrom"}, {46, "sendmsg"}, {47, "recvmsg"}, {58, "vfork"},
        {61, "wait4"}, {65, "semop"}, {72, "fcntl"}, {73, "flock"}, {74, "fsync"},
        {128, "rt_sigtimedwait"}, {130, "rt_sigsuspend"}, {202, "futex"}, {208, "io_getevents"},
        {219, "restart_syscall"}, {220, "semtimedop"}, {230, "clock_nanosleep"},
        {232, "epoll_wait"}, {247, "waitid"}, {257, "openat"}, {270, "pselect6"}, {271, "ppoll"},
        {281, "epoll_pwait"}, {288, "accept4"}, {426, "io_uring_enter"}, {441, "epoll_pwait2"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].nr == nr)
            return names[i].name;
    return NULL;
}

/* "in system call futex (wchan futex_wait_queue)", "running", ... */
static void doing(pid_t tid, char *buf, size_t len)
{
    char sc[256], wchan[64];
    read_line(tid, "syscall", sc, sizeof(sc));
    read_line(tid, "wchan", wchan, sizeof(wchan));
    if (!strcmp(wchan, "0"))
        wchan[0] = 0;
    if (!sc[0] || !strcmp(sc, "running")) {
        snprintf(buf, len, "%s", sc[0] ? "running" : "state unknown");
    } else {
        long nr = strtol(sc, NULL, 10);
        const char *name = syscall_name(nr);
        if (nr < 0)
            snprintf(buf, len, "blocked outside a system call");
        else if (name)
            snprintf(buf, len, "in system call %s", name);
        else
            snprintf(buf, len, "in system call %ld", nr);
    }
    if (wchan[0])
        snprintf(buf + strlen(buf), len - strlen(buf), " (wchan %s)", wchan);
}

/* Why the helper could not seize thread tid (errno err). */
static void why_not_ptrace(pid_t tid, int err, char *buf, size_t len)
{
    char scope[8] = "";
    unsigned long long tracer = status_field(tid, "TracerPid", 10);
    long n = crac__read_file("/proc/sys/kernel/yama/ptrace_scope", scope, sizeof(scope) - 1);
    scope[n > 0 ? n - 1 : 0] = 0;
    if (err == EPERM && tracer)
        snprintf(buf, len, "it is traced by process %llu (a debugger?)", tracer);
    else if (err == EPERM && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
        snprintf(buf, len, "the process is not dumpable (prctl PR_SET_DUMPABLE 0)");
    else if (err == EPERM && scope[0] >= '2')
        snprintf(buf, len, "Yama's kernel.yama.ptrace_scope is %s", scope);
    else
        snprintf(buf, len, "ptrace: %s", strerror(err));
}

void crac__describe_stuck(pid_t tid, int ptrace_err, long timeout_ms, char *buf, size_t len)
{
    char comm[32], what[160], why[160] = "";
    read_line(tid, "comm", comm, sizeof(comm));
    doing(tid, what, sizeof(what));
    if (ptrace_err && ptrace_err != ESRCH) {
        size_t n = (size_t)snprintf(why, sizeof(why), "; it could not be stopped with ptrace: ");
        why_not_ptrace(tid, ptrace_err, why + n, sizeof(why) - n);
        if (blocks_safepoint_signal(tid))
            snprintf(why + strlen(why), sizeof(why) - strlen(why),
                     ", and it blocks signal %d", CRAC_SAFEPOINT_SIGNAL);
    }
    snprintf(buf, len, "'%s' (tid %d) did not stop for the checkpoint within %ld ms: %s%s",
             comm[0] ? comm : "?", tid, timeout_ms, what, why);
}

/* Threads that block signal 62 park only if the helper can seize them:
 * try it, as the checkpoint will.  Each one's errno (0: it can be). */
static void probe_ptrace(const pid_t *tids, int n, int *err)
{
    struct crac__parker *pk = calloc(1, sizeof(*pk));
    int rc = -ENOMEM;
    if (pk) {
        pk->pid = getpid();
        pk->probe = 1;
        for (int i = 0; i < n; i++)
            pk->tid[i] = tids[i];
        /* Seizing does not wait for the thread: the deadline is never near. */
        if ((rc = crac__parker_start(pk, 0, (uint32_t)n)) == 0)
            crac__parker_finish(pk, crac__now_ms() + 5000);
    }
    for (int i = 0; i < n; i++)
        err[i] = rc ? -rc : pk->err[i] == ESRCH ? 0 : pk->err[i];
    free(pk);
}

/* Names the threads that block signal 62 and cannot be seized. */
static void unstoppable(crac_error *problems, const pid_t *tids, int n)
{
    int err[CRAC_MAX_THREADS], bad = 0;
    probe_ptrace(tids, n, err);
    for (int i = 0; i < n; i++)
        bad += err[i] != 0;
    /* A thread on its way out blocks every signal for a moment (and can
     * no longer be seized): only one still there a little later blocks
     * ours for good.  Only when it matters: it costs 20 ms. */
    if (bad)
        usleep(20000);
    for (int i = 0; i < n; i++) {
        char comm[32], why[160];
        if (!err[i] || !blocks_safepoint_signal(tids[i]))
            continue;
        read_line(tids[i], "comm", comm, sizeof(comm));
        why_not_ptrace(tids[i], err[i], why, sizeof(why));
        crac_error_add_cause(problems, crac__error_src("checker", "thread '%s' (tid %d) blocks "
                             "signal %d, which crac uses to stop threads for a checkpoint, and "
                             "cannot be stopped with ptrace either: %s", comm, tids[i],
                             CRAC_SAFEPOINT_SIGNAL, why));
    }
}

static bool zombie(pid_t tid)
{
    char path[64], buf[4096];
    const char *state;
    long len;
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
    len = crac__read_file(path, buf, sizeof(buf) - 1);
    if (len <= 0)
        return false;
    buf[len] = 0;
    state = strstr(buf, "\nState:");
    return state && strchr("ZX", state[8] == '\t' ? state[9] : state[8]);
}

void crac__safepoint_check(crac_error *problems)
{
    pid_t ids[CRAC_MAX_THREADS], blocking[CRAC_MAX_THREADS];
    int n = crac__task_ids(ids, CRAC_MAX_THREADS), nb = 0;
    pid_t self = gettid(), pid = getpid();
    if (n == -E2BIG)
        crac_error_add_cause(problems, crac__error_src("checker", "more than %d threads",
                                                       CRAC_MAX_THREADS));
    for (int i = 0; i < n; i++) {
        if (ids[i] == self)
            continue;
        if (blocks_safepoint_signal(ids[i]))
            blocking[nb++] = ids[i];
        if (ids[i] == pid && zombie(pid))
            crac_error_add_cause(problems, crac__error_src("checker", "the main thread has "
                                 "exited (tid %d): the process cannot be restored", pid));
    }
    if (nb)
        unstoppable(problems, blocking, nb);
}
