/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a descriptor is, and how to name it so that someone can find it in
 * their program: the kind, the path, the open flags and offset, the bytes
 * waiting in a pipe and which descriptor holds its other end, the fds an
 * epoll watches, a timerfd's clock and next expiry, ...  Sockets are in
 * check_sock.c.
 *
 * Inspecting uses direct syscalls (fstat, fcntl, lseek, readlink): they are
 * cheaper than reading /proc/self/fdinfo, and every open descriptor is
 * inspected.  fdinfo is read only to describe what is reported.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/maps.h"
#include "checker/checker.h"
#include "core/core.h"

static const char *const kind_names[CRAC__FD_KIND_COUNT] = {
    [CRAC__FD_FILE] = "regular file",   [CRAC__FD_DIR] = "directory",
    [CRAC__FD_PIPE] = "pipe",           [CRAC__FD_FIFO] = "FIFO",
    [CRAC__FD_SOCKET] = "socket",       [CRAC__FD_DEVICE] = "device",
    [CRAC__FD_EVENTFD] = "eventfd",     [CRAC__FD_EPOLL] = "epoll",
    [CRAC__FD_TIMERFD] = "timerfd",     [CRAC__FD_SIGNALFD] = "signalfd",
    [CRAC__FD_INOTIFY] = "inotify",     [CRAC__FD_MEMFD] = "memfd",
    [CRAC__FD_IO_URING] = "io_uring",   [CRAC__FD_PIDFD] = "pidfd",
    [CRAC__FD_ANON] = "anonymous inode", [CRAC__FD_OTHER] = "descriptor",
};

const char *crac__fd_kind_name(enum crac__fd_kind k)
{
    return (unsigned)k < CRAC__FD_KIND_COUNT ? kind_names[k] : "descriptor";
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The kernel names anonymous inodes in the link text; their st_mode says
 * nothing useful (it changed across kernel versions). */
static enum crac__fd_kind anon_kind(const char *link)
{
    static const struct { const char *name; enum crac__fd_kind kind; } names[] = {
        {"[eventfd]", CRAC__FD_EVENTFD},   {"[eventpoll]", CRAC__FD_EPOLL},
        {"[timerfd]", CRAC__FD_TIMERFD},   {"[signalfd]", CRAC__FD_SIGNALFD},
        {"inotify", CRAC__FD_INOTIFY},     {"[io_uring]", CRAC__FD_IO_URING},
        {"[pidfd]", CRAC__FD_PIDFD},
    };
    const char *name = link + strlen("anon_inode:");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i].name) == 0)
            return names[i].kind;
    return CRAC__FD_ANON;
}

static enum crac__fd_kind kind_of(const struct crac__fd_info *fi)
{
    const char *p = fi->path;
    mode_t m = fi->st.st_mode;
    if (starts(p, "anon_inode:"))
        return anon_kind(p);
    if (starts(p, "pidfd:"))
        return CRAC__FD_PIDFD; /* pidfs may name them so */
    if (S_ISREG(m))
        return starts(p, "/memfd:") ? CRAC__FD_MEMFD : CRAC__FD_FILE;
    if (S_ISDIR(m))
        return CRAC__FD_DIR;
    if (S_ISFIFO(m))
        return starts(p, "pipe:[") ? CRAC__FD_PIPE : CRAC__FD_FIFO;
    if (S_ISSOCK(m))
        return CRAC__FD_SOCKET;
    if (S_ISCHR(m) || S_ISBLK(m))
        return CRAC__FD_DEVICE;
    return CRAC__FD_OTHER;
}

int crac__fd_inspect(int fd, struct crac__fd_info *fi)
{
    char link[32];
    fi->fd = fd;
    fi->pos = -1;
    fi->deleted = false;
    fi->path[0] = '\0';
    if (fstat(fd, &fi->st) < 0)
        return -errno;
    fi->flags = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);
    fi->cloexec = fdfl >= 0 && (fdfl & FD_CLOEXEC);
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, fi->path, sizeof(fi->path) - 1);
    if (n < 0)
        return -errno;
    fi->path[n] = '\0';
    fi->kind = kind_of(fi);
    if ((fi->kind == CRAC__FD_FILE || fi->kind == CRAC__FD_DIR || fi->kind == CRAC__FD_MEMFD) &&
        n > 10 && strcmp(fi->path + n - 10, " (deleted)") == 0) {
        fi->path[n - 10] = '\0';
        fi->deleted = fi->kind != CRAC__FD_MEMFD; /* a memfd never had a name */
    }
    if (fi->kind == CRAC__FD_FILE || fi->kind == CRAC__FD_DIR || fi->kind == CRAC__FD_DEVICE)
        fi->pos = lseek(fd, 0, SEEK_CUR);
    if (fi->kind == CRAC__FD_SOCKET)
        crac__sock_inspect(fd, &fi->sock, fi->path, sizeof(fi->path));
    return 0;
}

/* ---- the table of every descriptor ---- */

static int cmp_fd(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int crac__fd_table_read(struct crac__fd_table *t)
{
    *t = (struct crac__fd_table){0};
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -errno;
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = atoi(e->d_name);
        if (fd <= 2 || fd == dirfd(d) || crac__fd_is_library(fd))
            continue;
        if (t->n == cap) {
            cap = cap ? cap * 2 : 64;
            int *f = realloc(t->fds, cap * sizeof(*f));
            if (f)
                t->fds = f;
            if (!f) {
                rc = -ENOMEM;
                break;
            }
        }
        t->fds[t->n++] = fd;
    }
    closedir(d);
    if (rc == 0 && t->n) {
        /* procfs lists in order today; sorted anyway, as reports promise it */
        qsort(t->fds, t->n, sizeof(int), cmp_fd);
        t->st = calloc(t->n, sizeof(*t->st));
        if (!t->st)
            rc = -ENOMEM;
        for (size_t i = 0; rc == 0 && i < t->n; i++)
            if (fstat(t->fds[i], &t->st[i]) < 0)
                t->st[i].st_ino = 0; /* closed meanwhile */
    }
    if (rc)
        crac__fd_table_free(t);
    return rc;
}

void crac__fd_table_free(struct crac__fd_table *t)
{
    free(t->fds);
    free(t->st);
    *t = (struct crac__fd_table){0};
}

/* ---- describing ---- */

static void flags_text(int flags, struct crac__sb *sb)
{
    static const struct { int bit; const char *name; } bits[] = {
        {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_SYNC, "O_SYNC"},
        {O_DSYNC, "O_DSYNC"},   {O_DIRECT, "O_DIRECT"},     {O_NOATIME, "O_NOATIME"},
        {O_PATH, "O_PATH"},
    };
    int acc = flags & O_ACCMODE;
    crac__sb_printf(sb, "%s", acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : "O_RDWR");
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if ((flags & bits[i].bit) == bits[i].bit && !(bits[i].bit == O_DSYNC && (flags & O_SYNC) == O_SYNC))
            crac__sb_printf(sb, "|%s", bits[i].name);
}

static void fdinfo_path(int fd, char *buf, size_t size)
{
    snprintf(buf, size, "/proc/self/fdinfo/%d", fd);
}

/* The value after "key" in fdinfo text, or NULL. */
static const char *field(const char *text, const char *key)
{
    const char *p = text;
    size_t k = strlen(key);
    while (p && *p) {
        if (strncmp(p, key, k) == 0)
            return p + k;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

/* Other descriptors of this process on the same inode: "fd 7" or "fds 7, 9". */
static void same_inode(const struct crac__fd_info *fi, const struct crac__fd_table *t,
                       struct crac__sb *sb, const char *prefix)
{
    int found = 0;
    for (size_t i = 0; t && i < t->n; i++) {
        if (t->fds[i] == fi->fd || t->st[i].st_ino != fi->st.st_ino ||
            t->st[i].st_dev != fi->st.st_dev)
            continue;
        if (found)
            crac__sb_printf(sb, ", %d", t->fds[i]);
        else
            crac__sb_printf(sb, "%s%d", prefix, t->fds[i]);
        found++;
    }
}

static void describe_pipe(const struct crac__fd_info *fi, const struct crac__fd_table *t,
                          struct crac__sb *sb)
{
    int acc = fi->flags & O_ACCMODE, waiting = -1;
    if (fi->kind == CRAC__FD_FIFO)
        crac__sb_printf(sb, "FIFO %s, ", fi->path);
    else
        crac__sb_printf(sb, "pipe (inode %ju), ", (uintmax_t)fi->st.st_ino);
    crac__sb_printf(sb, "%s", acc == O_RDONLY ? "read end" : acc == O_WRONLY ? "write end" : "opened read-write");
    if (ioctl(fi->fd, FIONREAD, &waiting) == 0)
        crac__sb_printf(sb, ", %d byte%s waiting", waiting, waiting == 1 ? "" : "s");
    same_inode(fi, t, sb, ", also open as fd ");
}

static void describe_file(const struct crac__fd_info *fi, struct crac__sb *sb)
{
    crac__sb_printf(sb, "%s %s%s (", fi->kind == CRAC__FD_DIR ? "directory" : "regular file",
                    fi->path, fi->deleted ? " (deleted)" : "");
    flags_text(fi->flags, sb);
    if (fi->kind == CRAC__FD_FILE && fi->pos >= 0) /* O_PATH descriptors have none */
        crac__sb_printf(sb, ", offset %lld of %lld bytes", fi->pos, (long long)fi->st.st_size);
    crac__sb_printf(sb, ")");
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void describe_epoll(int fd, struct crac__sb *sb)
{
    char path[64];
    size_t len, n = 0, cap = 0;
    int *tfds = NULL;
    fdinfo_path(fd, path, sizeof(path));
    char *text = crac__read_file_alloc(path, &len); /* one line per watched fd: may be long */
    for (const char *p = text; p && (p = strstr(p, "tfd:")); p++) {
        int tfd;
        if (sscanf(p, "tfd: %d", &tfd) != 1)
            continue;
        if (n == cap) {
            int *t = realloc(tfds, (cap = cap ? 2 * cap : 16) * sizeof(int));
            if (!t)
                break;
            tfds = t;
        }
        tfds[n++] = tfd;
    }
    free(text);
    /* the kernel lists them in its tree's order, which means nothing here */
    if (n)
        qsort(tfds, n, sizeof(int), cmp_int);
    crac__sb_printf(sb, "epoll instance watching %s", n ? "fds" : "nothing");
    for (size_t i = 0; i < n; i++)
        crac__sb_printf(sb, "%s%d", i ? ", " : " ", tfds[i]);
    free(tfds);
}

static const char *clock_name(int id)
{
    static const char *const names[] = {"CLOCK_REALTIME", "CLOCK_MONOTONIC", NULL, NULL, NULL, NULL,
                                        NULL, "CLOCK_BOOTTIME", "CLOCK_REALTIME_ALARM",
                                        "CLOCK_BOOTTIME_ALARM"};
    return id >= 0 && id < (int)(sizeof(names) / sizeof(names[0])) && names[id] ? names[id] : "clock";
}

static void describe_timerfd(const char *info, struct crac__sb *sb)
{
    const char *c = field(info, "clockid:"), *v = field(info, "it_value:"),
               *i = field(info, "it_interval:");
    long long vs = 0, vn = 0, is = 0, in = 0;
    crac__sb_printf(sb, "timerfd on %s", clock_name(c ? atoi(c) : -1));
    if (v)
        sscanf(v, " (%lld, %lld)", &vs, &vn);
    if (i)
        sscanf(i, " (%lld, %lld)", &is, &in);
    if (!vs && !vn)
        crac__sb_printf(sb, ", disarmed");
    else
        crac__sb_printf(sb, ", next expiry in %lld.%03lld s", vs, vn / 1000000);
    if (is || in)
        crac__sb_printf(sb, ", every %lld.%03lld s", is, in / 1000000);
}

static void describe_signalfd(const char *info, struct crac__sb *sb)
{
    const char *m = field(info, "sigmask:");
    unsigned long long mask = m ? strtoull(m, NULL, 16) : 0;
    int n = 0;
    crac__sb_printf(sb, "signalfd for");
    for (int sig = 1; sig <= 64; sig++) {
        if (!(mask >> (sig - 1) & 1))
            continue;
        const char *abbrev = sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
        if (abbrev)
            crac__sb_printf(sb, "%sSIG%s", n ? ", " : " ", abbrev);
        else
            crac__sb_printf(sb, "%ssignal %d", n ? ", " : " ", sig);
        n++;
    }
    if (!n)
        crac__sb_printf(sb, " no signals");
}

static void describe_inotify(const char *info, struct crac__sb *sb)
{
    int n = 0;
    for (const char *p = info; (p = strstr(p, "inotify wd:")); p++)
        n++;
    crac__sb_printf(sb, "inotify instance with %d watch%s", n, n == 1 ? "" : "es");
    int shown = 0;
    for (const char *p = info; (p = strstr(p, "inotify wd:")) && shown < 8; p++) {
        unsigned long long ino, sdev;
        unsigned mask;
        if (sscanf(p, "inotify wd:%*d ino:%llx sdev:%llx mask:%x", &ino, &sdev, &mask) != 3)
            continue;
        /* sdev is the kernel's dev_t: 12 bits of major above 20 of minor */
        crac__sb_printf(sb, "%s inode %llu on device %llu:%llu", shown ? "," : ":", ino,
                        sdev >> 20, sdev & 0xfffff);
        shown++;
    }
    if (shown < n)
        crac__sb_printf(sb, ", ...");
}

static void describe_pidfd(const char *info, struct crac__sb *sb)
{
    const char *p = field(info, "Pid:");
    int pid = p ? atoi(p) : 0;
    char path[64], comm[64] = "";
    if (pid > 0) {
        snprintf(path, sizeof(path), "/proc/%d/comm", pid);
        if (crac__read_small(path, comm, sizeof(comm)) > 0)
            comm[strcspn(comm, "\n")] = '\0';
        crac__sb_printf(sb, "pidfd of process %d%s%s%s", pid, *comm ? " (" : "", comm, *comm ? ")" : "");
    } else {
        crac__sb_printf(sb, "pidfd of a process that has exited");
    }
}

/* The kinds whose details are in fdinfo. */
static void describe_anon(const struct crac__fd_info *fi, struct crac__sb *sb)
{
    char path[64], info[4096];
    fdinfo_path(fi->fd, path, sizeof(path));
    if (crac__read_small(path, info, sizeof(info)) < 0)
        info[0] = '\0';
    switch (fi->kind) {
    case CRAC__FD_EVENTFD: {
        const char *c = field(info, "eventfd-count:"), *s = field(info, "eventfd-semaphore:");
        /* the kernel prints the count in hex */
        crac__sb_printf(sb, "eventfd, count %llu%s", c ? strtoull(c, NULL, 16) : 0ULL,
                        s && atoi(s) ? ", semaphore mode" : "");
        break;
    }
    case CRAC__FD_TIMERFD:
        describe_timerfd(info, sb);
        break;
    case CRAC__FD_SIGNALFD:
        describe_signalfd(info, sb);
        break;
    case CRAC__FD_INOTIFY:
        describe_inotify(info, sb);
        break;
    case CRAC__FD_PIDFD:
        describe_pidfd(info, sb);
        break;
    case CRAC__FD_IO_URING: {
        const char *sq = field(info, "SqMask:"), *cq = field(info, "CqMask:");
        crac__sb_printf(sb, "io_uring instance");
        if (sq && cq)
            crac__sb_printf(sb, " (%lu submission, %lu completion entries)",
                            strtoul(sq, NULL, 0) + 1, strtoul(cq, NULL, 0) + 1);
        break;
    }
    default:
        crac__sb_printf(sb, "anonymous inode %s", fi->path + strlen("anon_inode:"));
        break;
    }
}

void crac__fd_describe(const struct crac__fd_info *fi, const struct crac__fd_table *t,
                       struct crac__sb *sb)
{
    switch (fi->kind) {
    case CRAC__FD_FILE:
    case CRAC__FD_DIR:
        describe_file(fi, sb);
        break;
    case CRAC__FD_PIPE:
    case CRAC__FD_FIFO:
        describe_pipe(fi, t, sb);
        break;
    case CRAC__FD_SOCKET:
        crac__sock_describe(fi, t, sb);
        break;
    case CRAC__FD_DEVICE:
        crac__sb_printf(sb, "%s device %s (%u:%u, ", S_ISBLK(fi->st.st_mode) ? "block" : "character",
                        fi->path, major(fi->st.st_rdev), minor(fi->st.st_rdev));
        flags_text(fi->flags, sb);
        crac__sb_printf(sb, ")");
        break;
    case CRAC__FD_MEMFD:
        crac__sb_printf(sb, "memfd \"%s\" (%lld bytes)", fi->path + strlen("/memfd:"),
                        (long long)fi->st.st_size);
        break;
    case CRAC__FD_EPOLL:
        describe_epoll(fi->fd, sb);
        break;
    case CRAC__FD_OTHER:
        crac__sb_printf(sb, "%s (mode 0%o)", fi->path, (unsigned)fi->st.st_mode);
        break;
    default:
        describe_anon(fi, sb);
        break;
    }
}
