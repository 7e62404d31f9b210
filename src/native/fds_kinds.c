/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files, devices, eventfds, timerfds, signalfds and pipes, as the native
 * engine saves them (the scan in fds.c calls these for the first
 * descriptor of each open file description).  System calls only: with
 * s->capture the other threads are parked.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "native/dump.h"
#include "native/fds.h"

/* The stateless character devices: what a read or write does never
 * depends on anything but the call. */
static bool stateless_device(dev_t rdev)
{
    unsigned mi = minor(rdev);
    return major(rdev) == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
}

static const char *file_refusal(const struct crac__fdscan *s, const struct crac__fdent *e,
                                const char *path)
{
    size_t n = strlen(path);
    int acc = e->flags & O_ACCMODE;
    if (e->rec.kind == CRAC_FDK_DEVICE && !stateless_device(e->st.st_rdev))
        return "only /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom are restored";
    if (!strncmp(path, "/memfd:", 7))
        return "a memfd is not restored";
    if (path[0] != '/')
        return "it has no path to open it again by";
    if (n > 10 && !strcmp(path + n - 10, " (deleted)"))
        return "it was deleted, so it cannot be opened again by its path";
    if (e->rec.kind == CRAC_FDK_FILE && !(e->flags & (O_PATH | O_APPEND)) && acc != O_RDONLY)
        return "it is open for writing at an offset: only read-only and O_APPEND files are "
               "restored (a `reopen` rule says to open it again anyway)";
    if (e->rec.kind != CRAC_FDK_DEVICE && crac__fdscan_field(s, "lock:"))
        return "it holds a file lock, which a restore would not take again";
    return NULL;
}

int crac__fdscan_file(struct crac__fdscan *s, struct crac__fdent *e, const char *path)
{
    struct crac_img_fd *r = &e->rec;
    const char *why;
    int rc = e->rec.kind == CRAC_FDK_DEVICE ? 0 : crac__fdscan_fdinfo(s, e->fd);
    if (rc < 0)
        return rc;
    if ((why = file_refusal(s, e, path))) {
        crac__fdscan_refuse(e, why, -1);
        return 0;
    }
    r->u.file.pos = e->flags & O_PATH ? 0 : lseek(e->fd, 0, SEEK_CUR);
    if (r->u.file.pos < 0)
        r->u.file.pos = 0; /* not seekable: nothing to restore */
    r->u.file.dev = e->st.st_dev;
    r->u.file.ino = e->st.st_ino;
    r->u.file.size = (uint64_t)e->st.st_size;
    r->u.file.mtime_sec = e->st.st_mtim.tv_sec;
    r->u.file.mtime_nsec = e->st.st_mtim.tv_nsec;
    r->u.file.rdev = e->st.st_rdev;
    if (s->capture && !(r->path = crac__dump_str(s->d, path, strlen(path))))
        return -ENOSPC;
    return 0;
}

/* ---- eventfd, timerfd, signalfd: their state is in fdinfo ---- */

static uint64_t ns_of(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000ULL + (uint64_t)t->tv_nsec;
}

static int timerfd(struct crac__fdscan *s, struct crac__fdent *e, const struct itimerspec *cur)
{
    const char *c = crac__fdscan_field(s, "clockid:"), *t = crac__fdscan_field(s, "ticks:"),
               *f = crac__fdscan_field(s, "settime flags:");
    struct timespec now;
    if (!c || !t || !f) {
        crac__fdscan_refuse(e, "this kernel does not show a timerfd's state", -1);
        return 0;
    }
    e->rec.u.timerfd.clockid = (int32_t)crac__fdscan_num(c, 10);
    e->rec.u.timerfd.ticks = crac__fdscan_num(t, 10);
    e->rec.u.timerfd.settime_flags = (uint32_t)crac__fdscan_num(f, 8);
    e->rec.u.timerfd.value_ns = ns_of(&cur->it_value);
    e->rec.u.timerfd.interval_ns = ns_of(&cur->it_interval);
    /* An absolute timer's deadline is this clock reading plus what is left. */
    clockid_t base = e->rec.u.timerfd.clockid == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
                     : e->rec.u.timerfd.clockid == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME
                                                                         : e->rec.u.timerfd.clockid;
    if (clock_gettime(base, &now) < 0)
        return -errno;
    e->rec.u.timerfd.now_ns = ns_of(&now);
    return 0;
}

int crac__fdscan_anon(struct crac__fdscan *s, struct crac__fdent *e)
{
    struct itimerspec cur;
    const char *a, *b;
    int rc;
    /* timerfd_gettime() first: it counts the periods a periodic timer
     * missed into its ticks, which fdinfo shows only after that. */
    if (e->rec.kind == CRAC_FDK_TIMERFD && timerfd_gettime(e->fd, &cur) < 0)
        return -errno;
    if ((rc = crac__fdscan_fdinfo(s, e->fd)) < 0)
        return rc;
    switch (e->rec.kind) {
    case CRAC_FDK_EVENTFD:
        a = crac__fdscan_field(s, "eventfd-count:");
        b = crac__fdscan_field(s, "eventfd-semaphore:");
        if (!a || !b)
            crac__fdscan_refuse(e, "this kernel does not show an eventfd's count and "
                                   "semaphore mode (fdinfo, Linux 6.6 and later)", -1);
        else
            e->rec.u.eventfd.count = crac__fdscan_num(a, 16), /* the kernel prints it in hex */
                e->rec.u.eventfd.semaphore = crac__fdscan_num(b, 10) != 0;
        return 0;
    case CRAC_FDK_TIMERFD:
        return timerfd(s, e, &cur);
    default: /* CRAC_FDK_SIGNALFD */
        if (!(a = crac__fdscan_field(s, "sigmask:")))
            crac__fdscan_refuse(e, "this kernel does not show a signalfd's mask", -1);
        else
            e->rec.u.signalfd.mask = crac__fdscan_num(a, 16);
        return 0;
    }
}

/* ---- pipes ---- */

/* The bytes waiting, read without taking them: tee() into a pipe of our
 * own, then read from that. */
static int pipe_bytes(struct crac__fdscan *s, struct crac__fdent *e, int waiting)
{
    int *sp = s->scratch_pipe;
    long off;
    ssize_t got, r;
    if (sp[0] < 0 && pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    if (fcntl(sp[1], F_GETPIPE_SZ) < (int)e->rec.u.pipe.size &&
        fcntl(sp[1], F_SETPIPE_SZ, (int)e->rec.u.pipe.size) < 0)
        return -errno;
    if ((off = crac__fdscan_reserve(s, (size_t)waiting)) < 0)
        return (int)off;
    got = tee(e->fd, sp[1], (size_t)waiting, SPLICE_F_NONBLOCK);
    if (got != waiting)
        return got < 0 ? -errno : -EIO;
    for (ssize_t done = 0; done < got; done += r)
        if ((r = read(sp[0], s->data + off + done, (size_t)(got - done))) <= 0)
            return r < 0 ? -errno : -EIO;
    e->rec.data_off = (uint64_t)off;
    e->rec.data_len = (uint64_t)got;
    return 0;
}

int crac__fdscan_pipe(struct crac__fdscan *s, struct crac__fdent *e)
{
    int acc = e->flags & O_ACCMODE, size = fcntl(e->fd, F_GETPIPE_SZ), waiting = 0;
    if (acc == O_RDWR) {
        crac__fdscan_refuse(e, "a pipe opened for reading and writing (through /proc) is "
                               "not restored", -1);
        return 0;
    }
    if (size < 0)
        return -errno;
    e->rec.u.pipe.size = (uint32_t)size;
    if (acc != O_RDONLY || !s->capture)
        return 0;
    /* One read end of each pipe carries its bytes. */
    for (const struct crac__fdent *f = s->ents; f < e; f++)
        if (f->rec.kind == CRAC_FDK_PIPE && f->rec.data_len && f->st.st_ino == e->st.st_ino &&
            f->st.st_dev == e->st.st_dev)
            return 0;
    if (ioctl(e->fd, FIONREAD, &waiting) < 0)
        return -errno;
    return waiting > 0 ? pipe_bytes(s, e, waiting) : 0;
}

/* Whether no end of the other kind is open anywhere, as poll() on this
 * end tells: POLLHUP on a read end means no writer is left, POLLERR on a
 * write end no reader.  An end held by another process keeps them away. */
static bool other_end_closed(const struct crac__fdent *e)
{
    struct pollfd p = {.fd = e->fd, .events = 0};
    bool rd = (e->flags & O_ACCMODE) == O_RDONLY;
    return poll(&p, 1, 0) == 1 && (p.revents & (rd ? POLLHUP : POLLERR));
}

/* The ends of the pipe of s->ents[lead] (its first end not closed by a
 * policy) name it as their group; the bytes waiting go with it. */
static void group(struct crac__fdscan *s, size_t lead)
{
    struct crac__fdent *l = &s->ents[lead], *data = NULL, *refused = NULL, *rd = NULL, *wr = NULL;
    int gone_r = 0, gone_w = 0, ends = 0;
    const char *why = NULL;
    for (size_t j = 0; j < s->n; j++) {
        struct crac__fdent *f = &s->ents[j];
        if (f->rec.kind != CRAC_FDK_PIPE || f->same != (int)j || f->st.st_ino != l->st.st_ino ||
            f->st.st_dev != l->st.st_dev)
            continue;
        bool is_rd = (f->flags & O_ACCMODE) == O_RDONLY;
        if (f->gone) {
            *(is_rd ? &gone_r : &gone_w) += 1;
            continue;
        }
        f->rec.u.pipe.group = l->fd;
        ends++;
        *(is_rd ? &rd : &wr) = f;
        refused = f->why ? f : refused;
        data = f->rec.data_len ? f : data;
    }
    if (data && data != l) {
        l->rec.data_off = data->rec.data_off;
        l->rec.data_len = data->rec.data_len;
        data->rec.data_off = data->rec.data_len = 0;
    }
    /* An end the policies close is gone by the checkpoint, like one the
     * program closed; one held elsewhere is not. */
    if (refused)
        why = "its other end, fd %d, cannot be restored";
    else if (ends > 64) /* as many as a restore makes (src/restore/fds_pair.c) */
        why = "a pipe opened more than 64 times is not restored";
    else if (!rd && !gone_r && !other_end_closed(wr))
        why = "its read end is held by another process (a pipe to a child or parent)";
    else if (!wr && !gone_w && !other_end_closed(rd))
        why = "its write end is held by another process (a pipe to a child or parent)";
    for (size_t j = 0; why && j < s->n; j++) {
        struct crac__fdent *f = &s->ents[j];
        if (f->rec.kind == CRAC_FDK_PIPE && f->same == (int)j && !f->gone && f != refused &&
            f->rec.u.pipe.group == l->fd)
            crac__fdscan_refuse(f, why, refused ? refused->fd : -1);
    }
}

void crac__fdscan_pipe_groups(struct crac__fdscan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct crac__fdent *e = &s->ents[i];
        if (e->rec.kind == CRAC_FDK_PIPE && e->same == (int)i && !e->gone && !e->rec.u.pipe.group)
            group(s, i);
    }
}
