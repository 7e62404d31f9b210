/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The saved descriptors, made in the restoring process before the blob's
 * jump: what is open then is the restored process's.  Our own descriptors
 * (the executable the blob names, anything else still open) move above the
 * highest saved number or close; then every object is made and put on its
 * number, duplicates on theirs, epolls last (an entry is keyed by the file
 * and the number it was added under, so it is added under its final
 * number, once that holds the file).  Every failure (an address in use, a
 * file that changed, the descriptor limit) is reported with the descriptor
 * and what it was, before the point of no return, and undone: nothing
 * stays bound or half made.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "image/sock.h"
#include "restore/fds.h"
#include "restore/restore.h"

/* Room for every saved number and ours above them: the restored process
 * sets its own limit again later (its saved rlimits). */
static int make_room(struct crac__fdplan *p, crac_error **err)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)p->top + 16;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max >= need) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            return 0;
    }
    *err = crac__error_src("restore", "fd %d: this process may open descriptors up to %llu only "
                           "(RLIMIT_NOFILE)", p->top - 1, (unsigned long long)rl.rlim_max - 1);
    return -1;
}

/* The highest number anything will be put on, epoll entries added under
 * numbers closed since included. */
static int highest(const struct crac_img *img)
{
    int top = img->fds[img->nfds - 1].fd;
    for (size_t i = 0; i < img->nfds; i++) {
        const struct crac_img_fd *f = &img->fds[i];
        const struct crac_img_epoll_entry *e = (const void *)(img->fddata + f->data_off);
        for (size_t k = 0; f->kind == CRAC_FDK_EPOLL && k < f->data_len / sizeof(*e); k++)
            top = e[k].tfd > top ? e[k].tfd : top;
    }
    return top;
}

/* Ours (the executable the blob names, the lazy restore's descriptors)
 * above every saved number, in a row; everything else of ours closed. */
static int clear_numbers(struct crac__fdplan *p, int *ours, size_t nours)
{
    int first = -1, last = -1;
    for (size_t i = 0; i < nours; i++) {
        if (ours[i] < 0)
            continue;
        int moved = fcntl(ours[i], F_DUPFD_CLOEXEC, last >= 0 ? last + 1 : p->top);
        if (moved < 0)
            return -errno;
        close(ours[i]);
        ours[i] = last = moved;
        first = first < 0 ? moved : first;
    }
    if (first < 0)
        return -EBADF;
    close_range(3, (unsigned)first - 1, 0);
    for (int fd = first + 1; fd < last; fd++) {
        bool keep = false;
        for (size_t i = 0; i < nours; i++)
            keep |= ours[i] == fd;
        if (!keep)
            close(fd);
    }
    close_range((unsigned)last + 1, ~0U, 0);
    return 0;
}

/* A failure undone: every saved number closed again, and the names of
 * unix sockets we bound removed (nobody else's: only records we made). */
static void undo(struct crac__fdplan *p)
{
    for (size_t i = 0; i < p->img->nfds; i++) {
        const struct crac_img_fd *f = &p->img->fds[i];
        if (!p->made[i])
            continue;
        if (f->kind == CRAC_FDK_SOCKET && f->same_as < 0) {
            const struct crac_img_sock *s = crac__img_fd_sock(p->img, f);
            const struct sockaddr_un *un = (const void *)s->addr;
            if (s->family == AF_UNIX && (s->flags & CRAC_SOCK_BOUND) && un->sun_path[0])
                unlink(un->sun_path);
        }
        close(f->fd);
    }
}

static crac_error *failure(const struct crac__fdplan *p, int rc)
{
    char what[512];
    const struct crac_img_fd *f = &p->img->fds[p->failed >= 0 ? p->failed : 0];
    crac__img_fd_describe(p->img, f, what, sizeof(what));
    if (p->why)
        return crac__error_src("restore", "fd %d (%s): %s", f->fd, what, p->why);
    return crac__error_src("restore", "fd %d (%s): %s: %s", f->fd, what,
                           p->step ? p->step : "cannot be made", strerror(-rc));
}

/* Every object, ascending (duplicates after the first of theirs), then
 * the epolls; what rules keep closed, closed at the end. */
static int make_all(struct crac__fdplan *p)
{
    int rc = 0;
    for (size_t i = 0; i < p->img->nfds && !rc; i++) {
        const struct crac_img_fd *f = &p->img->fds[i];
        int first;
        p->failed = (int)i;
        p->step = p->why = NULL;
        if (p->made[i] || f->kind == CRAC_FDK_EPOLL || !crac__fdplan_wanted(p, i))
            continue;
        if (f->same_as < 0) {
            rc = crac__fdmake(p, i);
        } else if ((first = crac__fdplan_index(p, f->same_as)) >= 0 && p->made[first]) {
            p->step = "dup3";
            rc = dup3(f->same_as, f->fd, f->cloexec ? O_CLOEXEC : 0) < 0 ? -errno : 0;
            p->made[i] = rc == 0;
        }
    }
    if (!rc)
        rc = crac__fdmake_epolls(p);
    for (size_t i = 0; i < p->img->nfds && !rc; i++)
        if (p->made[i] && p->skip[i]) {
            close(p->img->fds[i].fd);
            p->made[i] = false;
        }
    return rc;
}

int crac__fds_restore(const struct crac_img *img, const struct crac__restore_opts *o,
                      int *ours, size_t nours, crac_error **err)
{
    struct crac__fdplan p = {.img = img, .failed = -1, .top = 3};
    int rc;
    if (!img->nfds) { /* the restored process starts with stdin, stdout and stderr only */
        if ((rc = clear_numbers(&p, ours, nours)) == 0)
            return 0;
        *err = crac__error_src("restore", "cannot move our own descriptors: %s", strerror(-rc));
        return -1;
    }
    p.top = highest(img) + 1;
    p.skip = calloc(img->nfds, 3 * sizeof(bool));
    if (!p.skip) {
        *err = crac__error_src("restore", "out of memory");
        return -1;
    }
    p.any_file = p.skip + img->nfds;
    p.made = p.any_file + img->nfds;
    if (crac__fdplan_rules(&p, o->policies, err) || make_room(&p, err))
        goto out;
    if ((rc = clear_numbers(&p, ours, nours)) < 0) {
        *err = crac__error_src("restore", "cannot move our own descriptors: %s", strerror(-rc));
        goto out;
    }
    if ((rc = make_all(&p)) < 0) {
        *err = failure(&p, rc);
        undo(&p);
    }
out:
    free(p.skip);
    return *err ? -1 : 0;
}
