/* SPDX-License-Identifier: Apache-2.0 */
/* Process and thread state: captured before the dump, applied again after
 * the restorer jumped back into this (restored) process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "native/dump.h"
#include "image/image.h"
#include "image/maps.h"
#include "core/core.h"
#include "image/restore_info.h"

/* /proc/self/stat fields after the comm: PR_SET_MM_MAP needs them. */
static int read_stat(struct crac_img_proc *p)
{
    char buf[4096], *s;
    unsigned long long v[52];
    int i = 3;
    long n = crac__read_file("/proc/self/stat", buf, sizeof(buf) - 1);
    if (n < 0)
        return (int)n;
    buf[n] = 0;
    /* The comm may hold spaces and parentheses: start after the last ')'. */
    s = strrchr(buf, ')');
    if (!s)
        return -EINVAL;
    s += 2;
    memset(v, 0, sizeof(v));
    while (*s && i < 52) {
        char *e;
        if (i == 3) { /* the state letter */
            s += 2;
            i++;
            continue;
        }
        v[i] = strtoull(s, &e, 10);
        if (e == s)
            break;
        s = *e ? e + 1 : e;
        i++;
    }
    if (i < 52)
        return -EINVAL;
    p->start_code = v[26];
    p->end_code = v[27];
    p->start_stack = v[28];
    p->start_data = v[45];
    p->end_data = v[46];
    p->start_brk = v[47];
    p->arg_start = v[48];
    p->arg_end = v[49];
    p->env_start = v[50];
    p->env_end = v[51];
    /* p->brk is read by the writing phase, when the heap no longer moves. */
    return 0;
}

static int read_auxv(struct crac_img_proc *p)
{
    long n = crac__read_file("/proc/self/auxv", (char *)p->auxv, sizeof(p->auxv));
    if (n < 0)
        return (int)n;
    p->auxv_words = (uint32_t)(n / 8);
    return 0;
}

static void capture_signals(struct crac_img_proc *p)
{
    for (int sig = 1; sig <= CRAC_NSIG; sig++)
        syscall(SYS_rt_sigaction, sig, NULL, &p->sigaction[sig - 1], 8);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &p->sigmask, 8);
}

static void capture_misc(struct crac__dump *d, struct crac_img_proc *p)
{
    char cwd[PATH_MAX];
    struct utsname u;
    mode_t m = umask(0);
    umask(m);
    p->umask = m;
    p->personality = (uint32_t)personality(0xffffffff);
    p->no_new_privs = (uint32_t)prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
    for (int i = 0; i < CRAC_NRLIMIT; i++) {
        struct rlimit r;
        if (getrlimit(i, &r) == 0) {
            p->rlimit[i][0] = r.rlim_cur;
            p->rlimit[i][1] = r.rlim_max;
        }
    }
    for (int i = 0; i < 3; i++) {
        struct itimerval it;
        if (getitimer(i, &it) == 0) {
            p->itimer[i][0] = (uint64_t)it.it_interval.tv_sec;
            p->itimer[i][1] = (uint64_t)it.it_interval.tv_usec;
            p->itimer[i][2] = (uint64_t)it.it_value.tv_sec;
            p->itimer[i][3] = (uint64_t)it.it_value.tv_usec;
        }
    }
    if (getcwd(cwd, sizeof(cwd)))
        p->cwd = crac__dump_str(d, cwd, strlen(cwd));
    if (uname(&u) == 0)
        snprintf(p->kernel_release, sizeof(p->kernel_release), "%s", u.release);
}

void crac__proc_capture_signals(struct crac_img_proc *p)
{
    memset(p, 0, sizeof(*p));
    capture_signals(p);
}

int crac__proc_capture(struct crac__dump *d, struct crac_img_proc *p)
{
    char exe[PATH_MAX];
    ssize_t n;
    int rc;
    d->err_what = "reading the process layout (/proc/self/stat, /proc/self/auxv)";
    if ((rc = read_stat(p)) || (rc = read_auxv(p)))
        return rc;
    capture_misc(d, p);
    p->rseq_offset = (int32_t)__rseq_offset;
    p->rseq_size = __rseq_size;
    p->pid = getpid();
    {
        char comm[16] = "";
        prctl(PR_GET_NAME, comm);
        memcpy(p->comm, comm, sizeof(p->comm));
    }
    crac__cpu_features(&p->cpu);
    /* The vDSO layout: from the writing phase's read of the maps. */
    d->err_what = "reading /proc/self/exe";
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0)
        return -errno;
    rc = crac__dump_file(d, exe, (size_t)n, 0);
    if (rc < 0)
        return rc;
    p->exe_file = rc;
    return 0;
}

/* ---- after restore ---- */

static void warn(const char *what, int e)
{
    crac__log("after restore: %s: %s", what, strerror(e));
}

static void apply_process(const struct crac_img_proc *p)
{
    for (int sig = 1; sig <= CRAC_NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &p->sigaction[sig - 1], NULL, 8);
    for (int i = 0; i < CRAC_NRLIMIT; i++) {
        struct rlimit r = {p->rlimit[i][0], p->rlimit[i][1]};
        /* Raising a hard limit needs privilege; keep what we have then. */
        if (setrlimit(i, &r) < 0)
            warn("setrlimit", errno);
    }
    umask((mode_t)p->umask);
    personality(p->personality);
    /* A program that gave up privileges for good keeps them given up. */
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        warn("PR_SET_NO_NEW_PRIVS", errno);
    for (int i = 0; i < 3; i++) {
        /* Re-armed relative to now, so a periodic timer does not fire every
         * period missed while the image was on disk. */
        struct itimerval it = {{(time_t)p->itimer[i][0], (suseconds_t)p->itimer[i][1]},
                               {(time_t)p->itimer[i][2], (suseconds_t)p->itimer[i][3]}};
        if (it.it_value.tv_sec || it.it_value.tv_usec)
            setitimer(i, &it, NULL);
    }
}

void crac__proc_apply(const struct crac_img_proc *p, const struct crac_restore_info *info)
{
    apply_process(p);
    if (info->cwd[0] && chdir(info->cwd) < 0)
        warn(info->cwd, errno);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &p->sigmask, NULL, 8);
}

/* Index of the environ entry named like kv ("K=..."), or -1. */
static long env_find(char **env, long n, const char *kv)
{
    size_t klen = (size_t)(strchr(kv, '=') - kv);
    for (long i = 0; i < n; i++)
        if (!strncmp(env[i], kv, klen) && env[i][klen] == '=')
            return i;
    return -1;
}

/* A new environ array in memory of its own (mmap, not malloc: other
 * threads may still be parked holding the allocator's lock, and setenv()
 * while they run would race with their getenv()): the saved entries, with
 * those given by --env replacing or joining them.  The strings stay in the
 * restore information's copy, copied into the same mapping.  glibc's
 * setenv() later copies this array rather than growing it. */
void crac__proc_apply_env(const struct crac_restore_info *info)
{
    extern char **environ;
    const char *env = (const char *)info + info->env_off;
    long n = 0;
    size_t len;
    char **arr, *str;
    if (!info->env_count)
        return;
    while (environ && environ[n])
        n++;
    len = (size_t)(n + info->env_count + 1) * sizeof(char *) + info->env_len;
    arr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arr == MAP_FAILED) {
        warn("--env", errno);
        return;
    }
    str = (char *)(arr + n + info->env_count + 1);
    memcpy(str, env, info->env_len);
    for (long i = 0; i < n; i++)
        arr[i] = environ[i];
    for (uint32_t i = 0, off = 0; i < info->env_count && off < info->env_len; i++) {
        char *kv = str + off;
        long at = strchr(kv, '=') ? env_find(arr, n, kv) : -2;
        if (at >= 0)
            arr[at] = kv;
        else if (at == -1)
            arr[n++] = kv;
        off += (uint32_t)strlen(kv) + 1;
    }
    arr[n] = NULL;
    environ = arr;
}
