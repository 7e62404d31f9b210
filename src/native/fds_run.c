/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two uses of the descriptor scan (fds.c): the checker's question,
 * answered before anything changes, and the capture at the checkpoint,
 * with the other threads parked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"
#include "engine/engine.h"
#include "native/dump.h"
#include "native/fds.h"

/* e's reason, "%d" replaced by its number, without stdio. */
static void why_text(const struct crac__fdent *e, char *buf, size_t size)
{
    const char *w = e->why ? e->why : "";
    size_t o = 0;
    for (; *w && o + 12 < size; w++) {
        if (w[0] == '%' && w[1] == 'd') {
            char digits[12];
            int n = 0;
            unsigned v = (unsigned)(e->why_fd < 0 ? 0 : e->why_fd);
            do
                digits[n++] = (char)('0' + v % 10);
            while ((v /= 10) > 0);
            while (n)
                buf[o++] = digits[--n];
            w++;
        } else {
            buf[o++] = *w;
        }
    }
    buf[o] = '\0';
}

void crac__fds_check(const int *fds, const uint8_t *fate, size_t n, struct crac__fd_verdict *out)
{
    size_t len = crac__fdscan_size();
    void *area = n <= CRAC__FDSCAN_MAX ? mmap(NULL, len, PROT_READ | PROT_WRITE,
                                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                                       : MAP_FAILED;
    struct crac__fdscan *s;
    int rc = -ENOMEM;
    if (area != MAP_FAILED) {
        s = crac__fdscan_init(area);
        for (size_t i = 0; i < n; i++)
            s->ents[i] = (struct crac__fdent){.fd = fds[i], .gone = fate[i] == CRAC__FATE_CLOSED,
                                              .dropped = fate[i] == CRAC__FATE_DROPPED};
        s->n = n;
        rc = crac__fdscan_run(s);
    }
    for (size_t i = 0; i < n; i++) {
        out[i].saved = false;
        if (rc < 0)
            snprintf(out[i].why, sizeof(out[i].why), "the native engine could not look at the "
                     "descriptors: %s", n > CRAC__FDSCAN_MAX ? "too many" : strerror(-rc));
        else if ((out[i].saved = (s->ents[i].gone && fate[i] != CRAC__FATE_CLOSED) ||
                                 (!s->ents[i].gone && !crac__fdscan_refused(s, &s->ents[i]))))
            out[i].why[0] = '\0'; /* (gone without a rule: closed meanwhile, nothing to say;
                                     the checkpoint looks again with the threads parked) */
        else
            why_text(&s->ents[i], out[i].why, sizeof(out[i].why));
    }
    if (area != MAP_FAILED)
        munmap(area, len);
}

/* ---- the capture ---- */

struct dirent64 {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

static bool excluded(const struct crac__dump *d, int fd, int dir)
{
    return fd <= 2 || fd == dir || fd == d->pages_fd || fd == d->pagemap_fd ||
           fd == d->meta_fd || fd == d->lock_fd || crac__fd_is_library(fd);
}

/* Whether a `drop` rule names fd (the request's list, kept in d). */
static bool dropped(const struct crac__dump *d, int fd)
{
    for (size_t i = 0; i < d->ndropped; i++)
        if (d->dropped[i] == fd)
            return true;
    return false;
}

/* Every open descriptor that is the program's, ascending (getdents64: no
 * opendir, which allocates). */
static int list_fds(struct crac__fdscan *s, const struct crac__dump *d)
{
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long got;
    if (dir < 0)
        return -errno;
    s->n = 0;
    while ((got = syscall(SYS_getdents64, dir, s->text, CRAC__FDSCAN_TEXT)) > 0) {
        for (long at = 0; at < got;) {
            const struct dirent64 *de = (const void *)(s->text + at);
            int fd = (int)crac__fdscan_num(de->name, 10);
            at += de->reclen;
            if (de->name[0] < '0' || de->name[0] > '9' || excluded(d, fd, dir))
                continue;
            if (s->n == CRAC__FDSCAN_MAX) {
                close(dir);
                return -EMFILE;
            }
            size_t k = s->n++; /* procfs lists in order; kept sorted anyway */
            while (k && s->ents[k - 1].fd > fd) {
                s->ents[k] = s->ents[k - 1];
                k--;
            }
            s->ents[k] = (struct crac__fdent){.fd = fd, .dropped = dropped(d, fd)};
        }
    }
    close(dir);
    return got < 0 ? -errno : 0;
}

/* The records, in fd order; a duplicate only points at its first. */
static void emit(struct crac__fdscan *s)
{
    s->nout = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct crac__fdent *e = &s->ents[i];
        struct crac_img_fd *r = &s->out[s->nout++];
        *r = e->rec;
        if (e->same != (int)i) {
            r->same_as = s->ents[e->same].fd;
            r->kind = s->ents[e->same].rec.kind;
            r->path = 0;
            r->data_off = r->data_len = 0;
            memset(&r->u, 0, sizeof(r->u));
        }
    }
}

static int refusal(struct crac__dump *d, const struct crac__fdent *e)
{
    static const char *const kinds[] = {"descriptor", "regular file", "directory", "device",
                                        "pipe", "socket", "socket", "eventfd", "timerfd",
                                        "signalfd", "epoll"};
    char why[256];
    why_text(e, why, sizeof(why));
    snprintf(d->err_text, sizeof(d->err_text), "saving fd %d (%s, opened or changed after "
             "the checks): %s", e->fd, kinds[e->rec.kind <= CRAC_FDK_MAX ? e->rec.kind : 0], why);
    d->err_what = d->err_text;
    return -ECANCELED;
}

int crac__fds_capture(struct crac__dump *d)
{
    struct crac__fdscan *s = crac__fdscan_init(d->fdscan);
    int rc;
    s->capture = true;
    s->d = d;
    d->err_what = "saving the descriptors";
    if ((rc = list_fds(s, d)) == 0)
        rc = crac__fdscan_run(s);
    for (int i = 0; i < 2; i++)
        if (s->scratch_pipe[i] >= 0)
            close(s->scratch_pipe[i]);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->n; i++)
        if (crac__fdscan_refused(s, &s->ents[i]))
            return refusal(d, &s->ents[i]);
    emit(s);
    return 0;
}
