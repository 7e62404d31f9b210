/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Objects with more than one end: a pipe (every read and write end the
 * process held, the bytes that were waiting, its size) and a socket pair
 * (both ends, their options, the bytes or datagrams waiting in each,
 * shutdowns).  Ends the process no longer held are closed again, so a
 * read end whose writers were all gone still reads the bytes, then EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image/sock.h"
#include "restore/fds.h"

#define ENDS_MAX 64

/* Ends made, each with its record, before they go on their numbers. */
struct ends {
    int got[ENDS_MAX];
    size_t rec[ENDS_MAX];
    int n;
};

/* No end may be put where another still waits: one whose number is
 * another's target moves above the saved numbers first. */
static int settle(struct crac__fdplan *p, struct ends *e)
{
    for (int k = 0; k < e->n; k++) {
        bool clash = false;
        for (int j = 0; j < e->n; j++)
            clash |= j != k && e->got[k] == p->img->fds[e->rec[j]].fd;
        if (!clash || e->got[k] == p->img->fds[e->rec[k]].fd)
            continue;
        int moved = fcntl(e->got[k], F_DUPFD_CLOEXEC, p->top);
        if (moved < 0)
            return -errno;
        close(e->got[k]);
        e->got[k] = moved;
    }
    return 0;
}

static int place_all(struct crac__fdplan *p, struct ends *e)
{
    int rc = settle(p, e);
    for (int k = 0; k < e->n; k++) {
        if (rc == 0) {
            p->failed = (int)e->rec[k];
            rc = crac__fdplan_place(p, e->got[k], e->rec[k]);
        } else if (e->got[k] != p->img->fds[e->rec[k]].fd) {
            close(e->got[k]);
        }
    }
    p->step = rc ? "dup3" : p->step;
    return rc;
}

static void close_ends(struct ends *e)
{
    for (int k = 0; k < e->n; k++)
        close(e->got[k]);
}

/* Status flags as saved (the ones a descriptor can change: O_NONBLOCK
 * and the like). */
static int set_status(int fd, uint32_t saved)
{
    int keep = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME, now = fcntl(fd, F_GETFL);
    if (now < 0)
        return -errno;
    if ((now & keep) != ((int)saved & keep) && fcntl(fd, F_SETFL, (now & ~keep) | ((int)saved & keep)) < 0)
        return -errno;
    return 0;
}

/* Another description of the end we have (opened anew through /proc), for
 * a process that held one end under two open file descriptions. */
static int pipe_end(int have, int acc)
{
    char path[40];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", have);
    return open(path, acc | O_CLOEXEC | O_NONBLOCK);
}

static int pipe_fill(struct crac__fdplan *p, const struct crac_img_fd *l, int w)
{
    const uint8_t *data = p->img->fddata + l->data_off;
    p->step = "F_SETPIPE_SZ";
    if (fcntl(w, F_GETPIPE_SZ) != (int)l->u.pipe.size &&
        fcntl(w, F_SETPIPE_SZ, (int)l->u.pipe.size) < 0)
        return -errno;
    p->step = "writing the bytes that were waiting";
    for (uint64_t done = 0; done < l->data_len;) {
        ssize_t n = write(w, data + done, l->data_len - done);
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (uint64_t)n;
    }
    return 0;
}

int crac__fdmake_pipe(struct crac__fdplan *p, size_t i)
{
    const struct crac_img *img = p->img;
    const struct crac_img_fd *l = crac__img_fd(img, img->fds[i].u.pipe.group);
    struct ends e = {.n = 0};
    int fds[2], rc, taken[2] = {0, 0};
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        p->step = "pipe2";
        return -errno;
    }
    rc = pipe_fill(p, l, fds[1]);
    /* From the first end on: ends a rule keeps closed are made too (and
     * closed at the end), so each is made the same way as always. */
    for (size_t j = (size_t)(l - img->fds); j < img->nfds && rc == 0; j++) {
        const struct crac_img_fd *f = &img->fds[j];
        int wr = (f->flags & O_ACCMODE) == O_WRONLY;
        if (f->kind != CRAC_FDK_PIPE || f->same_as >= 0 || f->u.pipe.group != l->fd)
            continue;
        if (e.n == ENDS_MAX) {
            p->why = "a pipe opened more than 64 times is not restored";
            rc = -E2BIG;
            break;
        }
        p->step = "opening another end";
        e.rec[e.n] = j;
        e.got[e.n] = taken[wr]++ ? pipe_end(fds[wr], wr ? O_WRONLY : O_RDONLY) : fds[wr];
        if (e.got[e.n] < 0 || (rc = set_status(e.got[e.n], f->flags)) < 0) {
            rc = rc ? rc : -errno;
            e.n += e.got[e.n] >= 0;
            break;
        }
        e.n++;
    }
    /* An end nobody held any more is closed: readers see EOF after the
     * bytes, writers get EPIPE, as they would have. */
    for (int k = 0; k < 2; k++)
        if (!taken[k])
            close(fds[k]);
    if (rc) {
        close_ends(&e);
        return rc;
    }
    return place_all(p, &e);
}

/* The bytes or datagrams one end had waiting, sent from the other. */
static int send_queue(struct crac__fdplan *p, const struct crac_img_fd *f, int from)
{
    const struct crac_img_sock *s = crac__img_fd_sock(p->img, f);
    const uint8_t *q = p->img->fddata + f->data_off + sizeof(*s);
    uint64_t len = f->data_len - sizeof(*s);
    p->step = "sending the bytes that were waiting";
    while (len) {
        uint32_t n = (uint32_t)(len > (1u << 30) ? 1u << 30 : len);
        if (s->type != SOCK_STREAM) {
            memcpy(&n, q, sizeof(n)); /* checked when the image was opened */
            q += sizeof(n);
            len -= sizeof(n);
        }
        ssize_t r = send(from, q, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0)
            return -errno;
        if (s->type != SOCK_STREAM && (uint32_t)r != n)
            return -EMSGSIZE;
        q += r;
        len -= (uint64_t)r;
    }
    return 0;
}

static int pair_end_state(struct crac__fdplan *p, const struct crac_img_fd *f, int fd)
{
    static const int how[] = {-1, SHUT_RD, SHUT_WR, SHUT_RDWR};
    int rc = set_status(fd, f->flags);
    if (rc < 0)
        p->step = "fcntl";
    if (rc == 0 && f->u.pair.shutdown && shutdown(fd, how[f->u.pair.shutdown & 3]) < 0) {
        p->step = "shutdown";
        rc = -errno;
    }
    return rc;
}

int crac__fdmake_pair(struct crac__fdplan *p, size_t i)
{
    const struct crac_img_fd *a = &p->img->fds[i], *b = crac__img_fd(p->img, a->u.pair.peer);
    struct ends e = {.got = {-1, -1}, .rec = {i, (size_t)(b - p->img->fds)}, .n = 2};
    int rc;
    if (socketpair(AF_UNIX, crac__img_fd_sock(p->img, a)->type | SOCK_CLOEXEC, 0, e.got) < 0) {
        p->step = "socketpair";
        return -errno;
    }
    /* Options first (buffer sizes bound what the queues may hold), then
     * each end's queue sent from the other, then shutdowns. */
    if ((rc = crac__sock_set_opts(e.got[0], crac__img_fd_sock(p->img, a), &p->step)) == 0 &&
        (rc = crac__sock_set_opts(e.got[1], crac__img_fd_sock(p->img, b), &p->step)) == 0 &&
        (rc = send_queue(p, a, e.got[1])) == 0 && (rc = send_queue(p, b, e.got[0])) == 0 &&
        (rc = pair_end_state(p, a, e.got[0])) == 0)
        rc = pair_end_state(p, b, e.got[1]);
    if (rc) {
        close_ends(&e);
        return rc;
    }
    return place_all(p, &e);
}
