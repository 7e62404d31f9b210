/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Epolls, made last: each entry is added under the number it was saved
 * with, once everything is on its number, because the kernel keys an
 * entry by the file and that number (an entry added under a temporary
 * number would make the program's later EPOLL_CTL_MOD or DEL fail).  An
 * epoll that watches another is made after it.
 *
 * Two kinds of entry need more than EPOLL_CTL_ADD:
 *  - a stale one, added under a number the program closed or reused since
 *    (the file lives on under another): that number holds the file just
 *    for the ADD, then gets back what it holds;
 *  - an EPOLLONESHOT entry that already fired (disarmed: the kernel keeps
 *    only its flags): added first, armed for anything, and disarmed by an
 *    epoll_wait() that sees only such entries; one whose file is not ready
 *    stays armed for EPOLLERR and EPOLLHUP only, which ADD always adds.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "restore/fds.h"

#define PRIVATE_BITS (EPOLLONESHOT | EPOLLET | EPOLLWAKEUP | EPOLLEXCLUSIVE)

/* A fired EPOLLONESHOT entry, under its own number (a stale one is added
 * as it is: armed for EPOLLERR and EPOLLHUP only). */
static bool disarmed(const struct crac_img_epoll_entry *e)
{
    return (e->events & EPOLLONESHOT) && !(e->events & ~PRIVATE_BITS) && e->tfd == e->file_fd;
}

static const struct crac_img_epoll_entry *entries(const struct crac__fdplan *p,
                                                  const struct crac_img_fd *f, size_t *n)
{
    *n = f->data_len / sizeof(struct crac_img_epoll_entry);
    return (const void *)(p->img->fddata + f->data_off);
}

/* Adds e under its own number while that number holds its file. */
static int add_under(struct crac__fdplan *p, int efd, const struct crac_img_epoll_entry *e,
                     uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = e->data};
    int held = -1, fl = fcntl(e->tfd, F_GETFD), rc = 0;
    if (e->tfd == e->file_fd)
        return epoll_ctl(efd, EPOLL_CTL_ADD, e->tfd, &ev) < 0 ? -errno : 0;
    p->step = "adding an entry under a number the program reused";
    if (fl >= 0 && (held = fcntl(e->tfd, F_DUPFD_CLOEXEC, p->top)) < 0)
        return -errno;
    if (dup3(e->file_fd, e->tfd, O_CLOEXEC) < 0 || epoll_ctl(efd, EPOLL_CTL_ADD, e->tfd, &ev) < 0)
        rc = -errno;
    if (held >= 0) {
        if (dup3(held, e->tfd, fl & FD_CLOEXEC ? O_CLOEXEC : 0) < 0 && !rc)
            rc = -errno;
        close(held);
    } else {
        close(e->tfd);
    }
    return rc;
}

/* Whether entry e's file was made (a rule given at restore may have kept
 * all of its descriptors closed: then the entry went with them). */
static bool file_made(const struct crac__fdplan *p, const struct crac_img_epoll_entry *e)
{
    int k = crac__fdplan_index(p, e->file_fd);
    return k >= 0 && p->made[k];
}

/* One at a time, before any other entry is there: whatever epoll_wait()
 * reports is this one (or one disarmed before it, which then stays so). */
static int disarm(struct crac__fdplan *p, int efd, const struct crac_img_epoll_entry *e, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct epoll_event ev = {.events = e[k].events, .data.u64 = e[k].data}, got;
        int rc, r;
        if (!disarmed(&e[k]) || !file_made(p, &e[k]))
            continue;
        p->step = "epoll_ctl";
        rc = add_under(p, efd, &e[k], e[k].events | EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
        if (rc || (r = epoll_wait(efd, &got, 1, 0)) < 0)
            return rc ? rc : -errno;
        /* Not ready, so still armed: for what ADD always adds only, then. */
        if (r == 0 && epoll_ctl(efd, EPOLL_CTL_MOD, e[k].tfd, &ev) < 0)
            return -errno;
    }
    return 0;
}

static int fill(struct crac__fdplan *p, int efd, const struct crac_img_fd *f)
{
    size_t n;
    const struct crac_img_epoll_entry *e = entries(p, f, &n);
    int rc = disarm(p, efd, e, n);
    for (size_t k = 0; k < n && !rc; k++) {
        p->step = "epoll_ctl";
        if (!disarmed(&e[k]) && file_made(p, &e[k]))
            rc = add_under(p, efd, &e[k], e[k].events);
    }
    return rc;
}

static int make_epoll(struct crac__fdplan *p, size_t i)
{
    const struct crac_img_fd *f = &p->img->fds[i];
    int fd = epoll_create1(EPOLL_CLOEXEC), work, rc;
    size_t n;
    const struct crac_img_epoll_entry *e = entries(p, f, &n);
    p->step = "epoll_create1";
    if (fd < 0 || ((f->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK) < 0))
        return -errno;
    p->step = "dup3";
    if ((rc = crac__fdplan_place(p, fd, i)) < 0)
        return rc;
    /* An entry added under the epoll's own number (reused since) takes
     * that number for a moment: work through another. */
    work = f->fd;
    for (size_t k = 0; k < n && work == f->fd; k++)
        if (e[k].tfd == f->fd && (work = fcntl(f->fd, F_DUPFD_CLOEXEC, p->top)) < 0)
            return -errno;
    rc = fill(p, work, f);
    if (work != f->fd)
        close(work);
    return rc;
}

/* Whether every epoll record i watches is made already. */
static bool ready(const struct crac__fdplan *p, size_t i)
{
    size_t n;
    const struct crac_img_epoll_entry *e = entries(p, &p->img->fds[i], &n);
    for (size_t k = 0; k < n; k++) {
        int j = crac__fdplan_index(p, e[k].file_fd);
        const struct crac_img_fd *o = j >= 0 ? crac__img_fd_object(p->img, &p->img->fds[j]) : NULL;
        if (o && o->kind == CRAC_FDK_EPOLL && !p->made[o - p->img->fds] &&
            crac__fdplan_wanted(p, (size_t)(o - p->img->fds)))
            return false;
    }
    return true;
}

int crac__fdmake_epolls(struct crac__fdplan *p)
{
    bool progress = true, left = true;
    int rc = 0;
    while (progress && left && !rc) {
        progress = left = false;
        for (size_t i = 0; i < p->img->nfds && !rc; i++) {
            const struct crac_img_fd *f = &p->img->fds[i];
            if (f->kind != CRAC_FDK_EPOLL || p->made[i] || !crac__fdplan_wanted(p, i))
                continue;
            p->failed = (int)i;
            p->step = p->why = NULL;
            if (f->same_as >= 0) {
                int first = crac__fdplan_index(p, f->same_as);
                left |= !p->made[first];
                if (p->made[first] && (p->made[i] = dup3(f->same_as, f->fd, f->cloexec ? O_CLOEXEC : 0) >= 0))
                    progress = true;
                else if (p->made[first])
                    rc = -errno;
            } else if (!ready(p, i)) {
                left = true;
            } else {
                rc = make_epoll(p, i);
                progress = true;
            }
        }
    }
    if (!rc && left) {
        p->why = "its epolls watch each other in a circle";
        rc = -ELOOP;
    }
    return rc;
}
