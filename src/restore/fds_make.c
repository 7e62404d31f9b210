/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Each kind of saved descriptor made again, with its state: a file
 * opened by its path at its offset (when it is still the file that was
 * saved), an eventfd with its count, a timerfd with what was left of its
 * time, a pipe or socket pair with the bytes that were waiting, a socket
 * bound and listening again.  Everything is made O_CLOEXEC and then put
 * on its number with the flag it had.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "image/sock.h"
#include "restore/fds.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static int fail(struct crac__fdplan *p, const char *step)
{
    int rc = -errno;
    p->step = step;
    return rc;
}

static int open_file(struct crac__fdplan *p, size_t i)
{
    const struct crac_img_fd *f = &p->img->fds[i];
    int keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_SYNC | O_DSYNC |
               O_PATH | O_LARGEFILE | O_DIRECTORY;
    struct stat st;
    int rc, fd = open(crac__img_str(p->img, f->path), ((int)f->flags & keep) | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fail(p, "open");
    if (fstat(fd, &st) < 0) {
        rc = fail(p, "fstat");
    } else if (!p->any_file[i] && !crac__img_fd_same_file(f, &st)) {
        p->why = "the path holds another file, or the file changed, since the checkpoint (a "
                 "`reopen` rule given at restore opens it anyway)";
        rc = -ESTALE;
    } else if (f->kind != CRAC_FDK_DEVICE && f->u.file.pos > 0 && !(f->flags & O_PATH) &&
               lseek(fd, f->u.file.pos, SEEK_SET) < 0) {
        rc = fail(p, "lseek");
    } else {
        return fd;
    }
    close(fd);
    return rc;
}

/* A connection a `drop` rule named: the instance gets, on its number, a
 * socket whose peer has closed (reads return 0, writes EPIPE), so that the
 * program finds it closed by its client, as it is: the client was the
 * saved process's, not this instance's. */
static int make_gone(struct crac__fdplan *p, const struct crac_img_fd *f)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (f->flags & O_NONBLOCK ? SOCK_NONBLOCK : 0),
                   0, sv) < 0)
        return fail(p, "socketpair");
    close(sv[1]);
    return sv[0];
}

static int make_eventfd(struct crac__fdplan *p, const struct crac_img_fd *f)
{
    int fd = eventfd(0, EFD_CLOEXEC | (f->flags & O_NONBLOCK ? EFD_NONBLOCK : 0) |
                            (f->u.eventfd.semaphore ? EFD_SEMAPHORE : 0));
    uint64_t n = f->u.eventfd.count;
    if (fd < 0)
        return fail(p, "eventfd");
    /* eventfd() takes an int: a larger count is written */
    if (n && write(fd, &n, sizeof(n)) != sizeof(n)) {
        int rc = fail(p, "write");
        close(fd);
        return rc;
    }
    return fd;
}

static struct timespec ts_of(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
}

/* The time spent in the image does not arrive as a burst of expirations:
 * a relative timer goes on with what it had left; an absolute one keeps
 * its deadline, or, periodic and past it, takes the next period still to
 * come, the periods missed uncounted. */
static void timer_value(const struct crac_img_fd *f, struct itimerspec *its)
{
    const typeof(f->u.timerfd) *t = &f->u.timerfd;
    its->it_interval = ts_of(t->interval_ns);
    its->it_value = ts_of(t->value_ns);
    if (!(t->settime_flags & TFD_TIMER_ABSTIME) || !t->value_ns)
        return;
    struct timespec now;
    clockid_t c = t->clockid == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
                  : t->clockid == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : t->clockid;
    uint64_t deadline = t->now_ns + t->value_ns, nowns;
    clock_gettime(c, &now);
    nowns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
    if (deadline <= nowns && t->interval_ns)
        deadline += ((nowns - deadline) / t->interval_ns + 1) * t->interval_ns;
    its->it_value = ts_of(deadline);
}

static int make_timerfd(struct crac__fdplan *p, const struct crac_img_fd *f)
{
    struct itimerspec its;
    uint64_t ticks = f->u.timerfd.ticks;
    int fd = timerfd_create(f->u.timerfd.clockid,
                            TFD_CLOEXEC | (f->flags & O_NONBLOCK ? TFD_NONBLOCK : 0)), rc = 0;
    if (fd < 0)
        return fail(p, "timerfd_create");
    timer_value(f, &its);
    if (timerfd_settime(fd, (int)(f->u.timerfd.settime_flags & 3), &its, NULL) < 0)
        rc = fail(p, "timerfd_settime");
    /* Expirations nobody read yet: kept, not delivered again. */
    else if (ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks) < 0)
        rc = fail(p, "TFD_IOC_SET_TICKS");
    if (rc) {
        close(fd);
        return rc;
    }
    return fd;
}

static int make_signalfd(struct crac__fdplan *p, const struct crac_img_fd *f)
{
    sigset_t set;
    sigemptyset(&set);
    for (int sig = 1; sig <= 64; sig++)
        if (f->u.signalfd.mask >> (sig - 1) & 1)
            sigaddset(&set, sig);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | (f->flags & O_NONBLOCK ? SFD_NONBLOCK : 0));
    return fd < 0 ? fail(p, "signalfd") : fd;
}

/* The socket, bound and listening again: an address taken is a failure
 * naming it (the record's description does). */
static int make_socket(struct crac__fdplan *p, const struct crac_img_fd *f)
{
    const char *step = "socket";
    int fd = crac__sock_rebuild(crac__img_fd_sock(p->img, f), f->flags & O_NONBLOCK, &step);
    if (fd < 0)
        p->step = step;
    return fd;
}

int crac__fdmake(struct crac__fdplan *p, size_t i)
{
    const struct crac_img_fd *f = &p->img->fds[i];
    int got;
    switch (f->kind) {
    case CRAC_FDK_FILE:
    case CRAC_FDK_DIR:
    case CRAC_FDK_DEVICE:
        got = open_file(p, i);
        break;
    case CRAC_FDK_EVENTFD:
        got = make_eventfd(p, f);
        break;
    case CRAC_FDK_TIMERFD:
        got = make_timerfd(p, f);
        break;
    case CRAC_FDK_SIGNALFD:
        got = make_signalfd(p, f);
        break;
    case CRAC_FDK_SOCKET:
        got = make_socket(p, f);
        break;
    case CRAC_FDK_GONE:
        got = make_gone(p, f);
        break;
    case CRAC_FDK_PIPE:
        return crac__fdmake_pipe(p, i);
    case CRAC_FDK_SOCKETPAIR:
        return crac__fdmake_pair(p, i);
    default:
        p->step = "unknown kind";
        return -EINVAL;
    }
    if (got < 0)
        return got;
    p->step = "dup3";
    return crac__fdplan_place(p, got, i);
}
