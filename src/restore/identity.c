/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which pid and tids the restored process gets (`crac restore --pid=`):
 *   keep  the saved pid and tids: `crac restore` forks a child with clone3's
 *         set_tid (needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN);
 *   ns    a new pid namespace with its own /proc: a small init (pid 1) reaps
 *         and forwards signals, the restored process has its saved pid and
 *         tids inside it (needs CAP_SYS_ADMIN);
 *   new   this process becomes the restored one, threads get new tids;
 *         glibc's cached tids are set by the kernel (CLONE_PARENT_SETTID);
 *   auto  keep when every saved id is free and allowed, else ns when
 *         allowed, else new.
 * In keep and ns, `crac restore` waits for the restored process, forwards
 * SIGTERM, SIGINT and SIGHUP to it, and exits with its status.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/core.h"
#include "restore/lazy.h"
#include "restore/restore.h"

#define CAP_CR 40 /* CAP_CHECKPOINT_RESTORE */
#define CAP_ADMIN 21

const char *crac__pid_mode_name(enum crac__pid_mode m)
{
    static const char *names[] = {"auto", "keep", "ns", "new"};
    return names[m];
}

int crac__pid_mode_parse(const char *s, enum crac__pid_mode *m)
{
    for (int i = 0; i <= PID_NEW; i++)
        if (!strcmp(s, crac__pid_mode_name((enum crac__pid_mode)i))) {
            *m = (enum crac__pid_mode)i;
            return 0;
        }
    return -EINVAL;
}

static int has_cap(int cap)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return 0;
    return (d[cap / 32].effective >> (cap % 32)) & 1;
}

static int ids_free(const struct crac_img *img)
{
    for (size_t i = 0; i < img->nthreads; i++)
        if (kill(img->threads[i].tid, 0) == 0 || errno != ESRCH)
            return 0;
    return 1;
}

int crac__pid_mode_choose(const struct crac_img *img, enum crac__pid_mode want,
                          enum crac__pid_mode *got, crac_error **err)
{
    int can_keep = has_cap(CAP_CR) || has_cap(CAP_ADMIN), can_ns = has_cap(CAP_ADMIN);
    int32_t tid;
    uint64_t pid_max;
    /* saved ids above pid_max cannot be taken, in a namespace either */
    int fit = crac__restore_ids_fit(img, &tid, &pid_max);
    if (want == PID_AUTO) {
        *got = can_keep && fit && ids_free(img) ? PID_KEEP : can_ns && fit ? PID_NS : PID_NEW;
        return 0;
    }
    if (want != PID_NEW && !fit) {
        *err = crac__error_src("restore", "--pid=%s: thread id %d is above this machine's "
                               "pid_max (%llu) (try --pid=new)", crac__pid_mode_name(want), tid,
                               (unsigned long long)pid_max);
        return -1;
    }
    switch (want) {
    case PID_AUTO:
        break;
    case PID_KEEP:
        if (!can_keep) {
            *err = crac__error_src("restore", "--pid=keep needs CAP_CHECKPOINT_RESTORE or "
                                   "CAP_SYS_ADMIN");
            return -1;
        }
        if (!ids_free(img)) {
            *err = crac__error_src("restore", "--pid=keep: pid %d or one of the saved thread ids "
                                   "is in use (try --pid=ns or --pid=new)", img->proc->pid);
            return -1;
        }
        break;
    case PID_NS:
        if (!can_ns) {
            *err = crac__error_src("restore", "--pid=ns needs CAP_SYS_ADMIN");
            return -1;
        }
        break;
    case PID_NEW:
        break;
    }
    *got = want;
    return 0;
}

static pid_t forward_to;

static void forward(int sig)
{
    if (forward_to > 0)
        kill(forward_to, sig);
}

static void forward_signals(pid_t child)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward;
    forward_to = child;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

/* Exits as `child` did: same code, or killed by the same signal. */
static __attribute__((noreturn)) void exit_like(int status)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        signal(sig, SIG_DFL);
        raise(sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* What the waiting parent does first: serve the child's memory when the
 * restore is lazy (the direct parent only; the others let go of it). */
struct parent_job {
    const struct crac_img *img;
    const struct crac__restore_opts *o;
    struct crac__lazy *lz;
};

/* Waits for `child`, reaping any other process that ends meanwhile (an
 * init must), then exits as it did: with 1 when its image's page data
 * turned out corrupted (the pager stopped it and said so). */
static __attribute__((noreturn)) void wait_and_exit(pid_t child, const struct parent_job *job)
{
    int status, bad = 0;
    pid_t p;
    forward_signals(child);
    if (job && job->lz->on)
        bad = crac__pager_serve(job->img, job->o, job->lz, child) < 0;
    for (;;) {
        p = waitpid(-1, &status, __WALL);
        if (p == child) {
            if (bad)
                _exit(1);
            exit_like(status);
        }
        if (p < 0 && errno == ECHILD)
            _exit(1);
    }
}

static pid_t clone3_pid(uint64_t flags, pid_t set_tid)
{
    struct {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
        uint64_t set_tid, set_tid_size, cgroup;
    } ca;
    memset(&ca, 0, sizeof(ca));
    ca.flags = flags;
    ca.exit_signal = SIGCHLD;
    if (set_tid) {
        ca.set_tid = (uint64_t)&set_tid;
        ca.set_tid_size = 1;
    }
    return (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
}

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* After a reboot, or on another machine, CLOCK_MONOTONIC and CLOCK_BOOTTIME
 * may be behind where the saved process left them: time would go backwards
 * for it (timeouts computed before the checkpoint would wait for hours).
 * The child we are about to fork gets a time namespace whose offsets put
 * them back ahead.  Needs CAP_SYS_ADMIN; called just before that fork.
 * Returns 1 when an offset was set, 0 when none was needed, -errno. */
static int clocks_forward(const struct crac_img *img)
{
    uint64_t mono = clock_ns(CLOCK_MONOTONIC), boot = clock_ns(CLOCK_BOOTTIME);
    uint64_t want_mono = img->proc->monotonic_ns, want_boot = img->proc->boottime_ns;
    char text[128];
    int fd, n;
    if (mono >= want_mono && boot >= want_boot)
        return 0;
    /* a margin for the time the restore itself takes */
    uint64_t dm = want_mono > mono ? want_mono - mono + 1000000000ULL : 0;
    uint64_t db = want_boot > boot ? want_boot - boot + 1000000000ULL : 0;
    if (unshare(CLONE_NEWTIME) < 0)
        return -errno;
    n = snprintf(text, sizeof(text), "monotonic %llu %llu\nboottime %llu %llu\n",
                 (unsigned long long)(dm / 1000000000ULL), (unsigned long long)(dm % 1000000000ULL),
                 (unsigned long long)(db / 1000000000ULL), (unsigned long long)(db % 1000000000ULL));
    fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write(fd, text, (size_t)n) != n) {
        int e = errno;
        close(fd);
        return -e;
    }
    close(fd);
    return 1;
}

static void clocks_forward_or_warn(const struct crac_img *img)
{
    int rc = clocks_forward(img);
    if (rc < 0)
        fprintf(stderr, "crac restore: warning: the clocks are behind the image's and a time "
                "namespace cannot be made (%s): CLOCK_MONOTONIC goes backwards for the "
                "restored process\n", strerror(-rc));
    else if (rc > 0)
        crac__log("restore: clocks behind the image's: a time namespace keeps them ahead");
}

/* In the namespace's init: a /proc of its own, so that the restored process
 * sees itself (and its threads) under the ids it has. */
static int ns_setup(void)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return -errno;
    return 0;
}

/* In a child of `crac restore`: it dies with its parent.  `crac restore`
 * stands for the restored process (it forwards signals and returns its
 * status); if it is killed outright, nothing it started may linger (a
 * namespace's init takes the whole namespace with it). */
static void die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* the parent may have gone before prctl; an init's parent is outside
     * its namespace (getppid() is 0 there) */
    if (parent && getppid() != parent)
        _exit(1);
}

int crac__pid_mode_enter(const struct crac_img *img, enum crac__pid_mode *modep, bool fallback,
                         const struct crac__restore_opts *o, struct crac__lazy *lz,
                         crac_error **err)
{
    enum crac__pid_mode mode = *modep;
    pid_t child, self = getpid();
    struct parent_job job = {img, o, lz};
    if (mode == PID_KEEP && fallback) {
        /* auto chose keep because the ids were free a moment ago; another
         * restore of the same image may have taken them since. */
        clocks_forward_or_warn(img);
        child = clone3_pid(0, img->proc->pid);
        if (child > 0)
            wait_and_exit(child, &job);
        if (child == 0) {
            die_with_parent(self);
            return 0;
        }
        if (errno != EEXIST) {
            *err = crac__error_src("restore", "cannot take pid %d: %s", img->proc->pid,
                                   strerror(errno));
            return -1;
        }
        *modep = mode = has_cap(CAP_ADMIN) ? PID_NS : PID_NEW;
    }
    if (mode == PID_NEW) {
        /* This process becomes the restored one: no fork to give a time
         * namespace to. */
        if (clock_ns(CLOCK_MONOTONIC) < img->proc->monotonic_ns)
            fprintf(stderr, "crac restore: warning: CLOCK_MONOTONIC is behind the image's (a "
                    "reboot, or another machine): it goes backwards for the restored process; "
                    "--pid keep or ns (CAP_SYS_ADMIN) keep it ahead\n");
        return 0;
    }
    if (mode == PID_NS) {
        child = clone3_pid(CLONE_NEWPID | CLONE_NEWNS, 0);
        if (child < 0) {
            *err = crac__error_src("restore", "cannot create a pid namespace: %s", strerror(errno));
            return -1;
        }
        if (child > 0) {
            crac__lazy_drop(lz); /* the namespace's init serves it */
            wait_and_exit(child, NULL);
        }
        /* the namespace's init */
        die_with_parent(0);
        self = getpid();
        if (ns_setup() < 0) {
            fprintf(stderr, "crac restore: cannot mount /proc in the new namespace: %s\n",
                    strerror(errno));
            _exit(1);
        }
    }
    clocks_forward_or_warn(img);
    child = clone3_pid(0, img->proc->pid);
    if (child < 0) {
        *err = crac__error_src("restore", "cannot take pid %d: %s", img->proc->pid, strerror(errno));
        if (mode == PID_NS)
            _exit(1);
        return -1;
    }
    if (child > 0)
        wait_and_exit(child, &job);
    die_with_parent(self);
    return 0;
}
