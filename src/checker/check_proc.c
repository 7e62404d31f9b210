/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the checker reports besides descriptors: child processes, POSIX
 * timers, SysV shared memory attachments and shared writable mappings.
 * None of them can be carried into an image: a child is another process, a
 * timer lives in the kernel, and shared memory is shared with someone the
 * image does not hold.  Rules of type child, timer and mapping may ignore
 * them for engines that keep the process as it is (pause, sim).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/maps.h"
#include "checker/checker.h"
#include "policy/policy.h"
#include "core/core.h"

static void add(crac_error *problems, const struct crac__decision *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add(crac_error *problems, const struct crac__decision *d, const char *fmt, ...)
{
    char msg[1024];
    struct crac__sb sb = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    crac__sb_printf(&sb, "%s", msg);
    crac__decision_text(d, &sb);
    char *text = crac__sb_take(&sb);
    crac_error_add_cause(problems, crac__error_src("checker", "%s", text ? text : msg));
    free(text);
}

/* ---- children ---- */

static void report_child(long pid, const struct crac__engine *engine, crac_error *problems)
{
    char path[64], stat[512], exe[PATH_MAX] = "", comm[64] = "?";
    char state = '?';
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (crac__read_small(path, stat, sizeof(stat)) > 0) {
        /* "pid (comm) S ...": comm may hold ')' itself, so the last one */
        char *open = strchr(stat, '('), *close = strrchr(stat, ')');
        if (open && close && close > open) {
            snprintf(comm, sizeof(comm), "%.*s", (int)(close - open - 1), open + 1);
            state = close[1] == ' ' ? close[2] : '?';
        }
    }
    snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
    ssize_t n = readlink(path, exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    struct crac__decision d;
    crac__decide_other(CRAC__SUBJ_CHILD, *exe ? exe : comm, engine, &d);
    if (d.action != CRAC__ACT_ERROR)
        return;
    if (state == 'Z')
        add(problems, &d, "child process %ld (%s) has exited but was not waited for: reap it "
            "(waitpid) before the checkpoint", pid, comm);
    else
        add(problems, &d, "child process %ld (%s%s%s) is running: wait for it before the "
            "checkpoint", pid, comm, *exe ? ", " : "", exe);
}

/* Whether the process has any child at all: one system call, where the
 * /proc walk below costs a directory and a file per thread (WNOWAIT: a
 * child that has exited stays to be reaped by the program). */
static bool has_children(void)
{
    siginfo_t si;
    return waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT | __WALL) == 0 ||
           errno != ECHILD;
}

static void check_children(const struct crac__engine *engine, crac_error *problems)
{
    DIR *d;
    struct dirent *e;
    if (!has_children() || !(d = opendir("/proc/self/task")))
        return;
    /* a child belongs to the thread that forked it: ask every thread */
    while ((e = readdir(d))) {
        char path[64], buf[4096];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%.20s/children", e->d_name);
        if (crac__read_small(path, buf, sizeof(buf)) <= 0)
            continue;
        for (char *s = buf, *end; *s; s = end) {
            long pid = strtol(s, &end, 10);
            if (end == s)
                break;
            report_child(pid, engine, problems);
        }
    }
    closedir(d);
}

/* ---- POSIX timers ---- */

static const char *clock_text(int id)
{
    switch (id) {
    case 0: return "CLOCK_REALTIME";
    case 1: return "CLOCK_MONOTONIC";
    case 2: return "CLOCK_PROCESS_CPUTIME_ID";
    case 3: return "CLOCK_THREAD_CPUTIME_ID";
    case 7: return "CLOCK_BOOTTIME";
    case 8: return "CLOCK_REALTIME_ALARM";
    case 9: return "CLOCK_BOOTTIME_ALARM";
    default: return id < 0 ? "a CPU-time clock" : "a clock";
    }
}

static void report_timer(const char *block, const struct crac__engine *engine, crac_error *problems)
{
    int id = -1, sig = 0, clock = 0, target = 0;
    char how[16] = "", who[8] = "";
    const char *p;
    if ((p = strstr(block, "ID:")))
        id = atoi(p + 3);
    if ((p = strstr(block, "signal:")))
        sig = atoi(p + 7);
    if ((p = strstr(block, "notify:")))
        sscanf(p + 7, " %15[a-z]/%7[a-z].%d", how, who, &target); /* "signal/tid.123" */
    if ((p = strstr(block, "ClockID:")))
        clock = atoi(p + 8);
    struct crac__decision d;
    crac__decide_other(CRAC__SUBJ_TIMER, NULL, engine, &d);
    if (d.action != CRAC__ACT_ERROR)
        return;
    char note[96];
    const char *abbrev = sig > 0 && sig < 32 ? sigabbrev_np(sig) : NULL;
    if (!strcmp(how, "none"))
        snprintf(note, sizeof(note), "no notification");
    else if (abbrev)
        snprintf(note, sizeof(note), "notifies %s %d by SIG%s", strcmp(who, "tid") ? "process" : "thread",
                 target, abbrev);
    else
        snprintf(note, sizeof(note), "notifies %s %d by signal %d", strcmp(who, "tid") ? "process" : "thread",
                 target, sig);
    add(problems, &d, "POSIX timer %d on %s (%s): delete it (timer_delete) before the checkpoint",
        id, clock_text(clock), note);
}

static void check_timers(const struct crac__engine *engine, crac_error *problems)
{
    size_t len;
    char *text = crac__read_file_alloc("/proc/self/timers", &len);
    if (!text)
        return; /* a kernel without CONFIG_CHECKPOINT_RESTORE does not tell */
    /* blocks start with "ID: " */
    for (char *b = strstr(text, "ID:"); b;) {
        char *next = strstr(b + 3, "\nID:");
        if (next)
            *next++ = '\0';
        report_timer(b, engine, problems);
        b = next;
    }
    free(text);
}

/* ---- shared memory ---- */

static void check_maps(const struct crac__engine *engine, crac_error *problems)
{
    size_t len;
    const char *buf = crac__maps_snapshot(&len);
    const char *cur = buf;
    struct crac_map m;
    if (!buf)
        return;
    while (crac__maps_next(&cur, buf + len, &m) == 1) {
        char path[PATH_MAX];
        bool sysv = m.path_len >= 5 && !memcmp(m.path, "/SYSV", 5);
        if (!sysv && !(m.perms[3] == 's' && m.perms[1] == 'w'))
            continue;
        snprintf(path, sizeof(path), "%.*s", (int)m.path_len, m.path);
        size_t plen = strlen(path);
        if (plen > 10 && !strcmp(path + plen - 10, " (deleted)"))
            path[plen - 10] = '\0'; /* SysV and shared anonymous memory always say so */
        struct crac__decision d;
        crac__decide_other(CRAC__SUBJ_MAPPING, path, engine, &d);
        if (d.action != CRAC__ACT_ERROR)
            continue;
        unsigned long size = (unsigned long)(m.end - m.start);
        if (sysv)
            add(problems, &d, "SysV shared memory attached at %lx-%lx (key 0x%.8s, shmid %llu, "
                "%lu bytes, %s): detach it (shmdt) before the checkpoint", (unsigned long)m.start,
                (unsigned long)m.end, path + 5, (unsigned long long)m.ino, size, m.perms);
        else
            add(problems, &d, "shared writable mapping %lx-%lx of %s (%lu bytes): unmap it before "
                "the checkpoint", (unsigned long)m.start, (unsigned long)m.end,
                !strcmp(path, "/dev/zero") ? "anonymous memory" : path, size);
    }
}

void crac__check_process(const struct crac__engine *engine, crac_error *problems)
{
    check_children(engine, problems);
    check_timers(engine, problems);
    check_maps(engine, problems);
}
