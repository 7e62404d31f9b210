/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native engine's descriptors: which of them it brings back exactly,
 * and, at the checkpoint, what the image needs to do so.
 *
 * One scan answers both, so that `crac check` says what the checkpoint
 * then does: the checker asks before the resources are notified
 * (crac__fds_check, heap allowed, nothing changed), and the checkpoint
 * saves with the other threads parked (crac__fds_capture: system calls
 * only, into the scan's part of the dumper's scratch mapping).
 *
 * The passes: classify every descriptor; find those that share one open
 * file description (kcmp, so that a dup comes back as a dup: one eventfd
 * seen under two numbers stays one eventfd); read each object's state;
 * pair up pipe ends and socket pairs; read interest lists and judge them
 * by what they watch; then refuse duplicates of what was refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "native/fds.h"

/* ---- the passes ---- */

/* What kind of object, from the link text and the file type; refuses
 * what no kind covers. */
static void classify(struct crac__fdent *e, const char *link)
{
    static const struct { const char *link; uint32_t kind; const char *why; } anon[] = {
        {"anon_inode:[eventfd]", CRAC_FDK_EVENTFD, NULL},
        {"anon_inode:[timerfd]", CRAC_FDK_TIMERFD, NULL},
        {"anon_inode:[signalfd]", CRAC_FDK_SIGNALFD, NULL},
        {"anon_inode:[eventpoll]", CRAC_FDK_EPOLL, NULL},
        {"anon_inode:inotify", 0, "an inotify instance is not restored"},
        {"anon_inode:[io_uring]", 0, "an io_uring instance is not restored"},
        {"anon_inode:[pidfd]", 0, "a pidfd is not restored"},
        {"pidfd:", 0, "a pidfd is not restored"},
        {"anon_inode:", 0, "an anonymous inode of this kind is not restored"},
    };
    mode_t m = e->st.st_mode;
    for (size_t i = 0; i < sizeof(anon) / sizeof(anon[0]); i++)
        if (!strncmp(link, anon[i].link, strlen(anon[i].link))) {
            e->rec.kind = anon[i].kind;
            if (anon[i].why)
                crac__fdscan_refuse(e, anon[i].why, -1);
            return;
        }
    if (S_ISREG(m))
        e->rec.kind = CRAC_FDK_FILE;
    else if (S_ISDIR(m))
        e->rec.kind = CRAC_FDK_DIR;
    else if (S_ISCHR(m))
        e->rec.kind = CRAC_FDK_DEVICE;
    else if (S_ISFIFO(m) && !strncmp(link, "pipe:[", 6))
        e->rec.kind = CRAC_FDK_PIPE;
    else if (S_ISSOCK(m))
        e->rec.kind = CRAC_FDK_SOCKET;
    else if (S_ISFIFO(m))
        crac__fdscan_refuse(e, "a named pipe (FIFO) is not restored", -1);
    else
        crac__fdscan_refuse(e, "a descriptor of this type is not restored", -1);
}

/* Whether two descriptors of one inode share one open file description. */
static bool same_file(const struct crac__fdent *a, const struct crac__fdent *b)
{
    pid_t me = getpid();
    long r = syscall(SYS_kcmp, me, me, KCMP_FILE, a->fd, b->fd);
    if (r >= 0)
        return r == 0;
    /* Without kcmp (CONFIG_KCMP): a socket seen twice is one (it cannot
     * be opened again), so is a pipe end; anonymous inodes cannot be told
     * apart, so each counts alone. */
    return a->rec.kind == CRAC_FDK_SOCKET ||
           (a->rec.kind == CRAC_FDK_PIPE && (a->flags & O_ACCMODE) == (b->flags & O_ACCMODE));
}

static void descriptions(struct crac__fdscan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct crac__fdent *e = &s->ents[i];
        e->same = (int)i;
        for (size_t j = 0; j < i && !e->gone; j++) {
            const struct crac__fdent *f = &s->ents[j];
            if (f->gone || f->same != (int)j || f->rec.kind != e->rec.kind ||
                f->st.st_ino != e->st.st_ino || f->st.st_dev != e->st.st_dev)
                continue;
            if (same_file(e, f)) {
                e->same = (int)j;
                break;
            }
        }
    }
}

/* The object's own state, for the first descriptor of each description. */
static int read_object(struct crac__fdscan *s, struct crac__fdent *e, const char *link)
{
    switch (e->rec.kind) {
    case CRAC_FDK_FILE:
    case CRAC_FDK_DIR:
    case CRAC_FDK_DEVICE:
        return crac__fdscan_file(s, e, link);
    case CRAC_FDK_PIPE:
        return crac__fdscan_pipe(s, e);
    case CRAC_FDK_SOCKET:
        return crac__fdscan_socket(s, e);
    case CRAC_FDK_EVENTFD:
    case CRAC_FDK_TIMERFD:
    case CRAC_FDK_SIGNALFD:
        return crac__fdscan_anon(s, e);
    }
    return 0; /* epolls come last; refused kinds have nothing to read */
}

/* Looks at descriptor e->fd: what it is and its flags, then its object. */
static int inspect(struct crac__fdent *e)
{
    char path[40], link[PATH_MAX];
    ssize_t n;
    int fdfl;
    if (fstat(e->fd, &e->st) < 0 || (e->flags = fcntl(e->fd, F_GETFL)) < 0 ||
        (fdfl = fcntl(e->fd, F_GETFD)) < 0 ||
        (n = readlink(crac__fdscan_path(path, "/proc/self/fd/", e->fd), link, sizeof(link) - 1)) < 0)
        return -errno;
    link[n] = '\0';
    e->cloexec = fdfl & FD_CLOEXEC;
    e->rec.fd = e->fd;
    e->rec.same_as = -1;
    e->rec.flags = (uint32_t)e->flags;
    e->rec.cloexec = e->cloexec;
    classify(e, link);
    if (e->flags & O_ASYNC)
        crac__fdscan_refuse(e, "it has O_ASYNC set: signal-driven I/O is not restored", -1);
    if (e->dropped) {
        /* what it is no longer matters: an instance gets a socket whose
         * peer has closed, the process keeps the real one */
        e->rec.kind = CRAC_FDK_GONE;
        e->why = NULL;
    }
    return 0;
}

static int read_objects(struct crac__fdscan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct crac__fdent *e = &s->ents[i];
        char path[40], link[PATH_MAX];
        ssize_t n;
        int rc;
        if (e->gone || e->same != (int)i || e->why)
            continue;
        n = readlink(crac__fdscan_path(path, "/proc/self/fd/", e->fd), link, sizeof(link) - 1);
        rc = n < 0 ? -errno : (link[n] = '\0', read_object(s, e, link));
        if ((rc == -EBADF || rc == -ENOENT) && !s->capture)
            e->gone = true; /* closed meanwhile by another thread: the check goes on */
        else if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_epolls(struct crac__fdscan *s)
{
    bool changed = true;
    for (size_t i = 0; i < s->n; i++) {
        struct crac__fdent *e = &s->ents[i];
        int rc;
        if (!e->gone && e->same == (int)i && !e->why && e->rec.kind == CRAC_FDK_EPOLL &&
            (rc = crac__fdscan_epoll(s, e)) < 0)
            return rc;
    }
    /* An epoll watching an epoll stands or falls with it: judge again
     * until nothing changes (the kernel nests them at most 5 deep). */
    for (int round = 0; changed && round < 8; round++) {
        changed = false;
        for (size_t i = 0; i < s->n; i++) {
            struct crac__fdent *e = &s->ents[i];
            if (!e->gone && e->same == (int)i && !e->why && e->rec.kind == CRAC_FDK_EPOLL)
                changed |= crac__fdscan_epoll_judge(s, e);
        }
    }
    return 0;
}

int crac__fdscan_run(struct crac__fdscan *s)
{
    int rc;
    /* Those the policies close are looked at too: they may be the other
     * end of a pipe, or what an epoll watches. */
    for (size_t i = 0; i < s->n; i++) {
        struct crac__fdent *e = &s->ents[i];
        rc = inspect(e);
        if ((rc == -EBADF || rc == -ENOENT) && !s->capture) {
            /* closed meanwhile by another thread (fstat says EBADF, the
             * link in /proc ENOENT, depending on when) */
            e->gone = true;
            e->rec.kind = 0;
        } else if (rc < 0) {
            return rc;
        }
    }
    descriptions(s);
    if ((rc = read_objects(s)) < 0)
        return rc;
    crac__fdscan_pipe_groups(s);
    crac__fdscan_pairs(s);
    if ((rc = read_epolls(s)) < 0)
        return rc;
    for (size_t i = 0; i < s->n; i++) {
        struct crac__fdent *e = &s->ents[i];
        if (e->same != (int)i && s->ents[e->same].why)
            crac__fdscan_refuse(e, "it is the same open file as fd %d, which cannot be restored",
                                s->ents[e->same].fd);
    }
    return 0;
}
