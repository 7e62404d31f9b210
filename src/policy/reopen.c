/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reopening, for the `reopen` policy: a file by its path with the same open
 * flags and offset; a listening (or unconnected UDP) socket with the same
 * family, address, options and backlog.  Either lands on the descriptor
 * number it had, with its close-on-exec flag, because the program holds
 * that number in its variables.
 *
 * Socket options are copied by comparing with a fresh socket: only those
 * the program changed are set, so options that need a privilege (SO_MARK)
 * are only set when the program had set them itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "policy/reopen.h"
#include "core/core.h"

/* Options worth carrying over.  SO_RCVBUF/SO_SNDBUF read back doubled. */
static const struct {
    int level, name;
    const char *text;
    unsigned char tcp_only, halve;
    int family; /* 0: any */
} opt_table[] = {
    {SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 0, 0, 0},
    {SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 0, 0, 0},
    {SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 0, 0, 0},
    {SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 0, 1, 0},
    {SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 0, 1, 0},
    {SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", 0, 0, 0},
    {SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 0, 0, 0},
    {SOL_SOCKET, SO_MARK, "SO_MARK", 0, 0, 0},
    {SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", 0, 0, 0},
    {SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 0, 0, 0},
    {SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED", 0, 0, AF_UNIX},
    {IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1, 0, 0},
    {IPPROTO_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT", 1, 0, 0},
    {IPPROTO_TCP, TCP_FASTOPEN, "TCP_FASTOPEN", 1, 0, 0},
    {IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 1, 0, 0},
    {IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 1, 0, 0},
    {IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 1, 0, 0},
    {IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", 1, 0, 0},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT", 1, 0, 0},
    {IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", 0, 0, AF_INET6},
    {IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", 0, 0, AF_INET},
    {IPPROTO_IP, IP_TTL, "IP_TTL", 0, 0, AF_INET},
};
#define N_OPTS (int)(sizeof(opt_table) / sizeof(opt_table[0]))

static bool opt_applies(int i, const struct crac__reopen *r)
{
    if (opt_table[i].tcp_only && (r->type != SOCK_STREAM || r->family == AF_UNIX))
        return false;
    return !opt_table[i].family || opt_table[i].family == r->family;
}

static const char *opt_name(int level, int name)
{
    for (int i = 0; i < N_OPTS; i++)
        if (opt_table[i].level == level && opt_table[i].name == name)
            return opt_table[i].text;
    return "option";
}

static void capture_sock(const struct crac__fd_info *fi, struct crac__reopen *r)
{
    const struct crac__sock_info *s = &fi->sock;
    r->family = s->family;
    r->type = s->type;
    r->protocol = s->protocol;
    r->listening = s->listening;
    r->addr = s->local;
    r->addr_len = s->local_len;
    r->backlog = s->backlog >= 0 ? s->backlog : SOMAXCONN; /* unknown: the usual maximum */
    for (int i = 0; i < N_OPTS && r->nopts < CRAC__REOPEN_MAX_OPTS; i++) {
        int v;
        socklen_t len = sizeof(v);
        if (!opt_applies(i, r) || getsockopt(fi->fd, opt_table[i].level, opt_table[i].name, &v, &len))
            continue;
        r->opts[r->nopts++] = (struct crac__sockopt_val){opt_table[i].level, opt_table[i].name, v};
    }
    socklen_t len = sizeof(r->bind_dev);
    if (getsockopt(fi->fd, SOL_SOCKET, SO_BINDTODEVICE, r->bind_dev, &len) < 0)
        r->bind_dev[0] = '\0';
}

int crac__reopen_capture(const struct crac__fd_info *fi, struct crac__reopen *r, crac_error **err)
{
    memset(r, 0, sizeof(*r));
    r->fd = fi->fd;
    r->kind = fi->kind;
    r->cloexec = fi->cloexec;
    r->flags = fi->flags;
    r->pos = fi->pos;
    if (fi->kind == CRAC__FD_SOCKET) {
        capture_sock(fi, r);
        return 0;
    }
    r->path = strdup(fi->path);
    if (!r->path) {
        *err = crac__error_src("crac", "out of memory");
        return -1;
    }
    return 0;
}

void crac__reopen_free(struct crac__reopen *r)
{
    free(r->path);
    r->path = NULL;
}

/* ---- opening again ---- */

/* Puts `got` on descriptor number `target`, with the close-on-exec flag it
 * had.  Our own O_CLOEXEC open comes first, so no exec in another thread can
 * inherit the descriptor in between. */
static int place(int got, int target, bool cloexec)
{
    if (got == target) {
        if (!cloexec && fcntl(got, F_SETFD, 0) < 0)
            return -errno;
        return 0;
    }
    int rc = dup3(got, target, cloexec ? O_CLOEXEC : 0) < 0 ? -errno : 0;
    close(got);
    return rc;
}

static int open_file(const struct crac__reopen *r, const char **step)
{
    /* F_GETFL gives the access mode and status flags; creation flags are
     * gone by now, and must stay out (O_TRUNC would empty the file). */
    int keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_SYNC | O_DSYNC |
               O_PATH | O_LARGEFILE;
    int flags = (r->flags & keep) | O_CLOEXEC | O_NOCTTY;
    if (r->kind == CRAC__FD_DIR)
        flags |= O_DIRECTORY;
    int fd = open(r->path, flags);
    if (fd < 0)
        return -errno;
    if (r->pos > 0 && !(r->flags & O_PATH) && lseek(fd, r->pos, SEEK_SET) < 0) {
        int e = errno;
        *step = "lseek";
        close(fd);
        return -e;
    }
    return fd;
}

static int set_opts(int s, const struct crac__reopen *r, const char **failed)
{
    for (int i = 0; i < r->nopts; i++) {
        const struct crac__sockopt_val *o = &r->opts[i];
        int now, v = o->value;
        socklen_t len = sizeof(now);
        if (getsockopt(s, o->level, o->name, &now, &len) == 0 && now == v)
            continue;
        if (o->level == SOL_SOCKET && (o->name == SO_RCVBUF || o->name == SO_SNDBUF))
            v /= 2; /* the kernel doubles what it is given */
        if (setsockopt(s, o->level, o->name, &v, sizeof(v)) < 0) {
            *failed = opt_name(o->level, o->name);
            return -errno;
        }
    }
    if (r->bind_dev[0] &&
        setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, r->bind_dev, (socklen_t)strlen(r->bind_dev)) < 0) {
        *failed = "SO_BINDTODEVICE";
        return -errno;
    }
    return 0;
}

/* A unix socket bound to a path leaves its file behind when closed; binding
 * again needs it gone.  Only a socket file is removed, nothing else. */
static void unlink_stale(const struct crac__reopen *r)
{
    const struct sockaddr_un *un = (const void *)&r->addr;
    struct stat st;
    if (r->family != AF_UNIX || r->addr_len <= sizeof(sa_family_t) || !un->sun_path[0])
        return;
    char path[sizeof(un->sun_path) + 1];
    memcpy(path, un->sun_path, sizeof(un->sun_path));
    path[sizeof(un->sun_path)] = '\0';
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
}

static int open_socket(const struct crac__reopen *r, const char **step)
{
    int s = socket(r->family, r->type | SOCK_CLOEXEC, r->protocol);
    int rc = 0;
    if (s < 0) {
        *step = "socket";
        return -errno;
    }
    rc = set_opts(s, r, step);
    if (rc == 0) {
        unlink_stale(r);
        if (bind(s, (const struct sockaddr *)&r->addr, r->addr_len) < 0) {
            *step = "bind";
            rc = -errno;
        }
    }
    if (rc == 0 && r->listening && listen(s, r->backlog) < 0) {
        *step = "listen";
        rc = -errno;
    }
    if (rc == 0 && (r->flags & O_NONBLOCK) && fcntl(s, F_SETFL, O_NONBLOCK) < 0) {
        *step = "fcntl";
        rc = -errno;
    }
    if (rc) {
        close(s);
        return rc;
    }
    return s;
}

/* Adds the new descriptor back to the epoll sets that watched the old one
 * (closing it took it out of them).  Best effort: an epoll set that is gone
 * has nothing to be added to. */
static void rewatch(const struct crac__reopen *r)
{
    for (int i = 0; i < r->nwatches; i++) {
        struct epoll_event ev = {.events = r->watches[i].events, .data.u64 = r->watches[i].data};
        if (epoll_ctl(r->watches[i].epfd, EPOLL_CTL_ADD, r->fd, &ev) < 0)
            crac__log("fd %d: cannot add it back to epoll fd %d: %s", r->fd, r->watches[i].epfd,
                      strerror(errno));
    }
}

int crac__reopen_raw(const struct crac__reopen *r, const char **step)
{
    *step = "open";
    if (fcntl(r->fd, F_GETFD) >= 0)
        return -EBUSY; /* the number is taken */
    int got = r->kind == CRAC__FD_SOCKET ? open_socket(r, step) : open_file(r, step);
    int rc = got < 0 ? got : place(got, r->fd, r->cloexec);
    if (rc < 0) {
        if (got >= 0)
            *step = "dup3";
        return rc;
    }
    rewatch(r);
    return 0;
}

crac_error *crac__reopen_error(const struct crac__reopen *r, const char *desc, int rc,
                               const char *step)
{
    if (rc == -EBUSY) {
        char taken[64], link[256];
        snprintf(taken, sizeof(taken), "/proc/self/fd/%d", r->fd);
        ssize_t n = readlink(taken, link, sizeof(link) - 1);
        link[n > 0 ? n : 0] = '\0';
        return crac__error_src("crac", "fd %d: cannot reopen %s: the number is taken by %s",
                               r->fd, desc, link);
    }
    return crac__error_src("crac", "fd %d: cannot reopen %s: %s%s%s: %s", r->fd, desc, step,
                           r->path ? " " : "", r->path ? r->path : "", strerror(-rc));
}

int crac__reopen_apply(const struct crac__reopen *r, const char *desc, crac_error **err)
{
    const char *step;
    int rc = crac__reopen_raw(r, &step);
    if (rc < 0) {
        *err = crac__reopen_error(r, desc, rc, step);
        return -1;
    }
    return 0;
}
