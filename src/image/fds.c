/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The descriptor sections of an image: validated before a restore trusts
 * any of it (numbers in range and ascending, kinds known, every reference
 * to another descriptor or into the data section inside the image), and
 * described for people (`crac image info`, restore errors).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "core/core.h"
#include "image/image.h"
#include "image/sock.h"

/* A string of the table (not crac__img_str: image.c calls us). */
static const char *str(const struct crac_img *img, uint32_t off)
{
    return off < img->strings_len ? img->strings + off : "";
}

static const char *const kind_names[CRAC_FDK_MAX + 1] = {
    "?", "regular file", "directory", "device", "pipe", "socket pair", "socket",
    "eventfd", "timerfd", "signalfd", "epoll", "dropped connection",
};

const char *crac__img_fd_kind_name(uint32_t kind)
{
    return kind >= 1 && kind <= CRAC_FDK_MAX ? kind_names[kind] : "?";
}

const struct crac_img_fd *crac__img_fd(const struct crac_img *img, int fd)
{
    size_t lo = 0, hi = img->nfds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (img->fds[mid].fd == fd)
            return &img->fds[mid];
        if (img->fds[mid].fd < fd)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct crac_img_fd *crac__img_fd_object(const struct crac_img *img,
                                              const struct crac_img_fd *f)
{
    const struct crac_img_fd *o = f->same_as >= 0 ? crac__img_fd(img, f->same_as) : f;
    return o ? o : f;
}

const struct crac_img_sock *crac__img_fd_sock(const struct crac_img *img,
                                              const struct crac_img_fd *f)
{
    return (const void *)(img->fddata + f->data_off);
}

/* ---- validation ---- */

/* The saved descriptor `fd` carrying an object of `kind` (not a dup). */
static bool object_of_kind(const struct crac_img *img, int fd, uint32_t kind)
{
    const struct crac_img_fd *o = crac__img_fd(img, fd);
    return o && o->kind == kind && o->same_as < 0;
}

/* A datagram queue: uint32_t lengths and bytes, exactly filling len. */
static bool queue_ok(const uint8_t *p, uint64_t len, int type)
{
    if (type == SOCK_STREAM)
        return true;
    while (len) {
        uint32_t n;
        if (len < sizeof(n))
            return false;
        memcpy(&n, p, sizeof(n));
        if (n > len - sizeof(n))
            return false;
        p += sizeof(n) + n;
        len -= sizeof(n) + n;
    }
    return true;
}

static bool epoll_ok(const struct crac_img *img, const struct crac_img_fd *f)
{
    const struct crac_img_epoll_entry *e = (const void *)(img->fddata + f->data_off);
    if (f->data_len % sizeof(*e))
        return false;
    for (size_t i = 0; i < f->data_len / sizeof(*e); i++)
        if (e[i].tfd < 0 || e[i].tfd >= CRAC_IMG_FD_LIMIT || !crac__img_fd(img, e[i].file_fd) ||
            e[i].file_fd == f->fd)
            return false;
    return true;
}

static bool clock_ok(int32_t c)
{
    return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC || c == CLOCK_BOOTTIME ||
           c == CLOCK_REALTIME_ALARM || c == CLOCK_BOOTTIME_ALARM;
}

/* What the pipe and socket pair kinds' fields must hold; NULL when fine. */
static const char *pair_problem(const struct crac_img *img, const struct crac_img_fd *f)
{
    const uint8_t *data = img->fddata + f->data_off;
    const struct crac_img_fd *p;
    const struct crac_img_sock *s = (const void *)data;
    if (f->kind == CRAC_FDK_PIPE) {
        if (!object_of_kind(img, f->u.pipe.group, CRAC_FDK_PIPE))
            return "pipe group is no saved pipe";
        if (f->data_len && f->u.pipe.group != f->fd)
            return "bytes waiting on an end that is not its pipe's group";
        if ((f->flags & O_ACCMODE) == O_RDWR)
            return "a pipe end open for reading and writing";
        return NULL;
    }
    p = crac__img_fd(img, f->u.pair.peer);
    if (!p || p == f || p->kind != CRAC_FDK_SOCKETPAIR || p->same_as >= 0 ||
        p->u.pair.peer != f->fd)
        return "socket pair peer is no saved socket pair naming it back";
    if (f->data_len < sizeof(*s) || s->family != AF_UNIX)
        return "socket pair description out of range";
    if (crac__sock_problem(s))
        return crac__sock_problem(s);
    if (!queue_ok(data + sizeof(*s), f->data_len - sizeof(*s), s->type))
        return "socket pair queue not filled exactly by its datagrams";
    return NULL;
}

/* What each kind's own fields must hold; NULL when fine. */
static const char *kind_problem(const struct crac_img *img, const struct crac_img_fd *f)
{
    switch (f->kind) {
    case CRAC_FDK_FILE:
    case CRAC_FDK_DIR:
    case CRAC_FDK_DEVICE:
        if (!f->path || f->path >= img->strings_len || f->data_len)
            return "no path, or data for a kind that has none";
        return f->u.file.pos >= 0 && f->u.file.mtime_nsec >= 0 &&
                       f->u.file.mtime_nsec < 1000000000
                   ? NULL : "a negative offset, or a modification time that is no time";
    case CRAC_FDK_PIPE:
    case CRAC_FDK_SOCKETPAIR:
        return pair_problem(img, f);
    case CRAC_FDK_SOCKET:
        return f->data_len == sizeof(struct crac_img_sock)
                   ? crac__sock_problem((const void *)(img->fddata + f->data_off))
                   : "socket description of another size";
    case CRAC_FDK_TIMERFD:
        return f->u.timerfd.settime_flags <= 3 && clock_ok(f->u.timerfd.clockid)
                   ? NULL : "timer clock or flags unknown";
    case CRAC_FDK_EPOLL:
        return epoll_ok(img, f) ? NULL : "epoll entry watching no saved descriptor";
    default:
        return f->data_len == 0 ? NULL : "data for a kind that has none";
    }
}

static const char *fd_problem(const struct crac_img *img, size_t i)
{
    const struct crac_img_fd *f = &img->fds[i];
    if (f->fd < 3 || f->fd >= CRAC_IMG_FD_LIMIT || (i && f->fd <= img->fds[i - 1].fd))
        return "number out of range or not above the one before";
    if (f->kind < 1 || f->kind > CRAC_FDK_MAX)
        return "unknown kind";
    if ((f->flags & O_ACCMODE) == O_ACCMODE || f->cloexec > 1)
        return "bad access mode or close-on-exec flag";
    if (f->path >= img->strings_len)
        return "path outside the string table";
    if ((f->data_off & 7) || f->data_off > img->fddata_len ||
        f->data_len > img->fddata_len - f->data_off)
        return "data outside the descriptor data or unaligned";
    if (f->same_as >= 0) /* a dup: the object is its lower twin's */
        return f->same_as < f->fd && object_of_kind(img, f->same_as, f->kind) && f->data_len == 0
                   ? NULL : "a duplicate of no lower saved descriptor of its kind";
    return f->same_as == -1 ? kind_problem(img, f) : "a duplicate of a negative number";
}

int crac__img_check_fds(const struct crac_img *img, crac_error **err)
{
    for (size_t i = 0; i < img->nfds; i++) {
        const char *why = fd_problem(img, i);
        if (why) {
            *err = crac__error_src("image", "%s: descriptor %zu (fd %d) is inconsistent: %s "
                                   "(corrupted image)", img->dir, i, img->fds[i].fd, why);
            return -1;
        }
    }
    return 0;
}

/* ---- the files behind saved descriptors ---- */

bool crac__img_fd_same_file(const struct crac_img_fd *f, const struct stat *st)
{
    if (f->kind == CRAC_FDK_DEVICE)
        return S_ISCHR(st->st_mode) && st->st_rdev == f->u.file.rdev;
    if (st->st_dev != f->u.file.dev || st->st_ino != f->u.file.ino)
        return false;
    return f->kind == CRAC_FDK_DIR || (f->flags & (O_APPEND | O_PATH)) ||
           ((uint64_t)st->st_size == f->u.file.size && st->st_mtim.tv_sec == f->u.file.mtime_sec &&
            st->st_mtim.tv_nsec == f->u.file.mtime_nsec);
}

int crac__img_check_fd_files(const struct crac_img *img, crac_error **err)
{
    crac_error *top = NULL;
    for (size_t i = 0; i < img->nfds; i++) {
        const struct crac_img_fd *f = &img->fds[i];
        const char *path = str(img, f->path);
        struct stat st;
        if (f->same_as >= 0 || (f->kind != CRAC_FDK_FILE && f->kind != CRAC_FDK_DIR &&
                                f->kind != CRAC_FDK_DEVICE))
            continue;
        int rc = stat(path, &st) < 0 ? errno : 0;
        if (!rc && crac__img_fd_same_file(f, &st))
            continue;
        if (!top)
            top = crac__error_src("image", "%s: files behind saved descriptors changed", img->dir);
        crac_error_add_cause(top, crac__error_src("image", "fd %d: %s: %s", f->fd, path,
                                                  rc ? strerror(rc) : "changed since the checkpoint"));
    }
    *err = top;
    return top ? -1 : 0;
}

/* ---- describing ---- */

static void sock_text(const struct crac_img_sock *s, char *buf, size_t size)
{
    char addr[128], what[32];
    const char *state = s->flags & CRAC_SOCK_LISTENING ? " listening on"
                        : s->flags & CRAC_SOCK_BOUND   ? " bound to" : ", not bound";
    if (s->family == AF_UNIX)
        snprintf(what, sizeof(what), "unix %s", s->type == SOCK_STREAM ? "stream"
                                                : s->type == SOCK_DGRAM ? "datagram" : "seqpacket");
    else
        snprintf(what, sizeof(what), "%s/IPv%c", s->type == SOCK_STREAM ? "TCP" : "UDP",
                 s->family == AF_INET ? '4' : '6');
    crac__sockaddr_text((const void *)s->addr, s->addr_len, addr, sizeof(addr));
    if (!(s->flags & (CRAC_SOCK_LISTENING | CRAC_SOCK_BOUND)))
        addr[0] = '\0';
    snprintf(buf, size, "%s socket%s%s%s", what, state, *addr ? " " : "", addr);
}

static void epoll_text(const struct crac_img *img, const struct crac_img_fd *f, char *buf,
                       size_t size)
{
    const struct crac_img_epoll_entry *e = (const void *)(img->fddata + f->data_off);
    size_t n = f->data_len / sizeof(*e), len;
    snprintf(buf, size, "epoll instance watching %s", n ? "fds" : "nothing");
    for (size_t i = 0; i < n && (len = strlen(buf)) + 16 < size; i++)
        snprintf(buf + len, size - len, "%s%d", i ? ", " : " ", e[i].tfd);
}

static void timer_text(const struct crac_img_fd *f, char *buf, size_t size)
{
    static const char *const clocks[] = {"CLOCK_REALTIME", "CLOCK_MONOTONIC", "", "", "", "", "",
                                         "CLOCK_BOOTTIME", "CLOCK_REALTIME_ALARM", "CLOCK_BOOTTIME_ALARM"};
    const typeof(f->u.timerfd) *t = &f->u.timerfd;
    snprintf(buf, size, "timerfd on %s, %s%.3f s left, every %.3f s, %" PRIu64 " expirations unread",
             clocks[t->clockid < 10 ? t->clockid : 2], t->settime_flags & 1 ? "absolute, " : "",
             t->value_ns / 1e9, t->interval_ns / 1e9, t->ticks);
}

void crac__img_fd_describe(const struct crac_img *img, const struct crac_img_fd *f, char *buf,
                           size_t size)
{
    const struct crac_img_fd *o = crac__img_fd_object(img, f);
    int acc = o->flags & O_ACCMODE;
    switch (o->kind) {
    case CRAC_FDK_FILE:
        snprintf(buf, size, "regular file %s (%s%s, offset %" PRId64 ")", str(img, o->path),
                 acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : "O_RDWR",
                 o->flags & O_APPEND ? "|O_APPEND" : "", o->u.file.pos);
        break;
    case CRAC_FDK_DIR:
    case CRAC_FDK_DEVICE:
        snprintf(buf, size, "%s %s", kind_names[o->kind], str(img, o->path));
        break;
    case CRAC_FDK_PIPE:
        if (o->u.pipe.group == o->fd)
            snprintf(buf, size, "pipe %s end, %" PRIu64 " bytes waiting, %u bytes large",
                     acc == O_RDONLY ? "read" : "write", o->data_len, o->u.pipe.size);
        else
            snprintf(buf, size, "pipe %s end, of fd %d's pipe", acc == O_RDONLY ? "read" : "write",
                     o->u.pipe.group);
        break;
    case CRAC_FDK_SOCKETPAIR:
        snprintf(buf, size, "unix socket pair with fd %d, %" PRIu64 " bytes waiting", o->u.pair.peer,
                 o->data_len - sizeof(struct crac_img_sock));
        break;
    case CRAC_FDK_SOCKET:
        sock_text(crac__img_fd_sock(img, o), buf, size);
        break;
    case CRAC_FDK_EVENTFD:
        snprintf(buf, size, "eventfd, count %" PRIu64 "%s", o->u.eventfd.count,
                 o->u.eventfd.semaphore ? ", semaphore mode" : "");
        break;
    case CRAC_FDK_TIMERFD:
        timer_text(o, buf, size);
        break;
    case CRAC_FDK_SIGNALFD:
        snprintf(buf, size, "signalfd, mask %#" PRIx64, o->u.signalfd.mask);
        break;
    case CRAC_FDK_EPOLL:
        epoll_text(img, o, buf, size);
        break;
    case CRAC_FDK_GONE:
        snprintf(buf, size, "connection dropped by a policy: comes back closed by its peer");
        break;
    default:
        snprintf(buf, size, "?");
    }
}
