/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pause engine: for snapshots taken from outside (a VM snapshot, a
 * container checkpoint).  crac coordinates (before-checkpoint, checker),
 * then this engine tells the outside world the process is quiet and waits
 * until it is told to go on; after-restore follows.
 *
 * Protocol:
 *   1. A SIGCONT handler is installed (the previous action is saved).
 *   2. The ready-file (option ready_file=PATH) is written atomically: a
 *      temporary file beside it, mode 0600, holding "PID\n", renamed into
 *      place.  Without ready_file a line on stderr says the process waits.
 *   3. The calling thread waits until SIGCONT arrives: sent by
 *      `crac resume PID`, or by `kill -CONT PID` from any tool.  SIGCONT is
 *      the signal a stopped process gets when it may go on, so a freezer that
 *      stops the process with SIGSTOP resumes it with the same signal.
 *   4. The ready-file is removed, the old SIGCONT action put back, and the
 *      engine reports a restore.  With timeout_ms=N and no SIGCONT within N
 *      milliseconds, the checkpoint fails instead (a checkpoint error).
 *
 * Why a handler and an eventfd rather than sigtimedwait(): a signal sent to
 * a process goes to any thread that does not block it, so only the calling
 * thread blocking SIGCONT would not stop another thread from taking it.  A
 * handler runs on whichever thread takes the signal and wakes the waiting
 * thread through the eventfd (write() is async-signal-safe).
 *
 * Other threads are not stopped: freezing them is the outside tool's job.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "core/core.h"

static char *ready_file;          /* NULL: none */
static unsigned long timeout_ms;  /* 0: wait for ever */
static volatile sig_atomic_t wake_fd = -1;

static const struct crac__engine_option pause_options[] = {
    { "ready_file", NULL,
      "file written (\"PID\\n\", mode 0600, atomically) once the process is "
      "quiet, and removed when it goes on" },
    { "timeout_ms", "0",
      "fail the checkpoint when no SIGCONT (crac resume PID) arrives within "
      "this many milliseconds; 0 waits for ever" },
    { NULL, NULL, NULL },
};

static int parse_ms(const char *s, unsigned long *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno || v > LONG_MAX / 2)
        return -EINVAL;
    *out = (unsigned long)v;
    return 0;
}

static int pause_configure(const char *key, const char *value, crac_error **err)
{
    if (strcmp(key, "ready_file") == 0) {
        char *copy = *value ? strdup(value) : NULL;
        if (*value && !copy) {
            *err = crac__error_src("engine", "out of memory");
            return -ENOMEM;
        }
        free(ready_file);
        ready_file = copy;
        return 0;
    }
    if (strcmp(key, "timeout_ms") == 0) {
        if (parse_ms(value, &timeout_ms) == 0)
            return 0;
        *err = crac__error_src("engine", "pause: timeout_ms must be a number "
                               "of milliseconds, not '%s'", value);
        return -EINVAL;
    }
    *err = crac__error_src("engine", "pause: no option '%s'", key);
    return -EINVAL;
}

static void on_sigcont(int sig)
{
    (void)sig;
    int saved = errno;
    uint64_t one = 1;
    if (wake_fd >= 0) {
        ssize_t w = write(wake_fd, &one, sizeof(one));
        (void)w;
    }
    errno = saved;
}

/* Step 2: temporary file beside the target, then rename, so a reader never
 * sees a half-written file. */
static crac_error *write_ready_file(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
        (int)sizeof(tmp))
        return crac__error_src("engine", "pause: ready_file path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
    if (fd < 0)
        return crac__error_src("engine", "pause: cannot create %s: %s", tmp,
                               strerror(errno));
    char line[32];
    int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
    int err = 0;
    errno = 0;
    if (fchmod(fd, 0600) < 0 || write(fd, line, (size_t)n) != n)
        err = errno ? errno : EIO;
    if (close(fd) < 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) < 0)
        err = errno;
    if (err) {
        unlink(tmp);
        return crac__error_src("engine", "pause: cannot write ready file %s: %s",
                               path, strerror(err));
    }
    return NULL;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Step 3.  0 when woken, -ETIMEDOUT, or another -errno. */
static int wait_for_sigcont(int efd)
{
    long long deadline = timeout_ms ? now_ms() + (long long)timeout_ms : 0;
    for (;;) {
        uint64_t v;
        if (read(efd, &v, sizeof(v)) == sizeof(v))
            return 0;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int wait = -1;
        if (deadline) {
            long long left = deadline - now_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            wait = left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd p = { .fd = efd, .events = POLLIN };
        if (poll(&p, 1, wait) < 0 && errno != EINTR)
            return -errno;
    }
}

static int pause_checkpoint(const struct crac__cp_request *req, crac_error **err)
{
    if (req->dry_run)
        return CRAC__CP_CONTINUED; /* nothing of its own to check */
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) {
        *err = crac__error_src("engine", "pause: eventfd: %s", strerror(errno));
        return CRAC__CP_FAILED;
    }
    crac__fd_claim(efd);
    wake_fd = efd;
    struct sigaction sa = { .sa_handler = on_sigcont }, old;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCONT, &sa, &old);

    int ret = 0;
    if (ready_file)
        *err = write_ready_file(ready_file);
    else
        fprintf(stderr, "crac: pause: process %d is paused; resume it with "
                "`crac resume %d` (or SIGCONT)\n", (int)getpid(), (int)getpid());
    if (!*err) {
        /* The waiting thread is named so while it waits: that is how
         * `crac resume PID` tells a paused process from any other. */
        char name[16] = "";
        prctl(PR_GET_NAME, name);
        prctl(PR_SET_NAME, CRAC__PAUSED_THREAD_NAME);
        crac__log("pause: waiting for SIGCONT");
        ret = wait_for_sigcont(efd);
        prctl(PR_SET_NAME, name);
        if (ready_file && unlink(ready_file) < 0 && errno != ENOENT)
            crac__log("pause: cannot remove %s: %s", ready_file, strerror(errno));
    }

    sigaction(SIGCONT, &old, NULL);
    wake_fd = -1;
    crac__fd_release(efd);
    close(efd);
    if (*err)
        return CRAC__CP_FAILED;
    if (ret == -ETIMEDOUT) {
        *err = crac__error_src("engine", "pause: not resumed within %lu ms "
                               "(timeout_ms)", timeout_ms);
        return CRAC__CP_FAILED;
    }
    if (ret < 0) {
        *err = crac__error_src("engine", "pause: waiting: %s", strerror(-ret));
        return CRAC__CP_FAILED;
    }
    return CRAC__CP_RESTORED;
}

const struct crac__engine crac__engine_pause = {
    .abi = CRAC__ENGINE_ABI,
    .name = "pause",
    .description = "coordinate, write a ready-file, wait for `crac resume PID` "
                   "(SIGCONT): for snapshots taken from outside",
    .writes_image = false,
    .options = pause_options,
    .configure = pause_configure,
    .check = NULL,
    .checkpoint = pause_checkpoint,
};
