/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Epoll interest lists, from /proc/self/fdinfo: one line per entry,
 *   tfd: %8d events: %8x data: %16llx  pos:%lli ino:%lx sdev:%x
 * The kernel keys an entry by the watched file *and* the number it was
 * added under (tfd), and never updates that number: after dup(7) to 9 and
 * close(7), the entry still says 7 and the file lives on as fd 9.  Such a
 * stale entry still reports events, and the program can no longer change
 * it, so it is restored as it is: added under 7 while 7 holds that file
 * (src/restore/fds_epoll.c).  Which descriptor holds an entry's file is
 * asked of the kernel (kcmp KCMP_EPOLL_TFD); an entry whose file no
 * descriptor of ours holds (it lives on in another process) refuses the
 * epoll.
 */
#include <errno.h>
#include <linux/kcmp.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "native/fds.h"

/* Whether fd holds the file of the toff-th entry added under tfd. */
static bool holds(int efd, int tfd, int toff, const struct crac__fdent *f, uint64_t ino)
{
    struct kcmp_epoll_slot slot = {(unsigned)efd, (unsigned)tfd, (unsigned)toff};
    pid_t me = getpid();
    long r = syscall(SYS_kcmp, me, me, KCMP_EPOLL_TFD, f->fd, (unsigned long)&slot);
    if (r >= 0)
        return r == 0;
    /* Without kcmp: the number it was added under, if it is the same inode. */
    return f->fd == tfd && f->st.st_ino == ino;
}

/* The descriptor holding an entry's file: its own number if that still
 * holds it, else another one of the same inode; those the policies close
 * only when nothing else does (then the entry goes with them).  -1: none. */
static int holder(const struct crac__fdscan *s, const struct crac__fdent *e, int tfd, int toff,
                  uint64_t ino, unsigned sdev)
{
    int k = crac__fdscan_find(s, tfd);
    for (int gone = 0; gone < 2; gone++) {
        if (k >= 0 && s->ents[k].gone == gone && holds(e->fd, tfd, toff, &s->ents[k], ino))
            return k;
        for (size_t j = 0; j < s->n; j++) {
            const struct crac__fdent *f = &s->ents[j];
            if ((int)j != k && f->gone == gone && f->st.st_ino == ino &&
                major(f->st.st_dev) == sdev >> 20 && minor(f->st.st_dev) == (sdev & 0xfffff) &&
                holds(e->fd, tfd, toff, f, ino))
                return (int)j;
        }
    }
    return -1;
}

static const char *after(const char *p, const char *key)
{
    const char *q = strstr(p, key);
    return q ? q + strlen(key) : NULL;
}

/* One fdinfo line into an entry; false when it is not one. */
static bool parse_entry(const char *line, struct crac_img_epoll_entry *out, uint64_t *ino,
                        unsigned *sdev)
{
    const char *t = after(line, "tfd:"), *ev = after(line, "events:"), *d = after(line, "data:"),
               *i = after(line, "ino:"), *sd = after(line, "sdev:"), *nl = strchr(line, '\n');
    if (!t || !ev || !d || !i || !sd || (nl && sd > nl))
        return false;
    out->tfd = (int32_t)crac__fdscan_num(t, 10);
    out->events = (uint32_t)crac__fdscan_num(ev, 16);
    out->data = crac__fdscan_num(d, 16);
    out->file_fd = -1;
    out->pad = 0;
    *ino = crac__fdscan_num(i, 16);
    *sdev = (unsigned)crac__fdscan_num(sd, 16);
    return true;
}

int crac__fdscan_epoll(struct crac__fdscan *s, struct crac__fdent *e)
{
    struct crac_img_epoll_entry *ent;
    size_t n = 0;
    long off;
    int rc = crac__fdscan_fdinfo(s, e->fd);
    if (rc < 0)
        return rc;
    for (const char *p = s->text; (p = strstr(p, "\ntfd:")); p++)
        n++;
    if ((off = crac__fdscan_reserve(s, n * sizeof(*ent))) < 0)
        return (int)off;
    ent = (void *)(s->data + off);
    e->rec.data_off = (uint64_t)off;
    e->rec.data_len = n * sizeof(*ent);
    n = 0;
    for (const char *p = s->text; (p = strstr(p, "\ntfd:")); p++) {
        uint64_t ino;
        unsigned sdev;
        int toff = 0, k;
        if (!parse_entry(p + 1, &ent[n], &ino, &sdev))
            return -EPROTO;
        for (size_t j = 0; j < n; j++) /* the kernel's index among entries of one number */
            toff += ent[j].tfd == ent[n].tfd;
        if ((k = holder(s, e, ent[n].tfd, toff, ino, sdev)) < 0)
            crac__fdscan_refuse(e, "it watches a file added as fd %d, which this process no "
                                   "longer holds (another process does)", ent[n].tfd);
        else
            ent[n].file_fd = s->ents[k].fd;
        n++;
    }
    return 0;
}

bool crac__fdscan_epoll_judge(struct crac__fdscan *s, struct crac__fdent *e)
{
    const struct crac_img_epoll_entry *ent = (const void *)(s->data + e->rec.data_off);
    for (size_t i = 0; i < e->rec.data_len / sizeof(*ent); i++) {
        int k = crac__fdscan_find(s, ent[i].file_fd);
        const struct crac__fdent *f = k >= 0 ? &s->ents[k] : NULL;
        /* An entry whose file only the policies' closes hold goes with it. */
        if (f && !f->gone && crac__fdscan_refused(s, f)) {
            crac__fdscan_refuse(e, "it watches fd %d, which cannot be restored", f->fd);
            return true;
        }
    }
    return false;
}
