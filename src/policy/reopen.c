/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reopening, for the `reopen` policy: a file by its path with the same open
 * flags and offset; a listening (or unconnected UDP) socket with the same
 * family, address, options and backlog (src/image/sock.c, shared with the
 * native engine).  Either lands on the descriptor number it had, with its
 * close-on-exec flag, because the program holds that number in its
 * variables.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "policy/reopen.h"
#include "core/core.h"
#include "image/sock.h"

int crac__reopen_capture(const struct crac__fd_info *fi, struct crac__reopen *r, crac_error **err)
{
    memset(r, 0, sizeof(*r));
    r->fd = fi->fd;
    r->kind = fi->kind;
    r->cloexec = fi->cloexec;
    r->flags = fi->flags;
    r->pos = fi->pos;
    if (fi->kind == CRAC__FD_SOCKET) {
        int rc = crac__sock_capture(fi->fd, &r->sock);
        if (rc < 0) {
            *err = crac__error_src("crac", "fd %d: cannot read the socket: %s", fi->fd,
                                   strerror(-rc));
            return -1;
        }
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
    int got = r->kind == CRAC__FD_SOCKET ? crac__sock_rebuild(&r->sock, r->flags & O_NONBLOCK, step)
                                         : open_file(r, step);
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
