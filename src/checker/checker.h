/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checker (src/checker/): what each descriptor is, what blocks a
 * checkpoint, and (CRAC_FD_TRACE=1) where descriptors were opened.  The
 * policy layer (src/policy/) builds on the descriptor inspection here; the
 * decisions themselves live there.
 *
 * One descriptor is looked at in two steps: crac__fd_inspect() reads what
 * policies match on (kind, path, flags, socket addresses) with cheap
 * syscalls; crac__fd_describe() adds the details a person needs to find it
 * (fdinfo, peers, bytes waiting) and is only called for what is reported.
 */
#ifndef CRAC_CHECKER_H
#define CRAC_CHECKER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "crac.h"

struct crac__engine;

/* ---- growing text (check_util.c) ---- */
struct crac__sb {
    char *buf; /* NUL-terminated once anything was added; NULL before */
    size_t len, cap;
    bool oom;  /* an allocation failed: the text is cut short */
};
void crac__sb_printf(struct crac__sb *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The text (caller frees), "" when nothing was added; NULL when out of memory. */
char *crac__sb_take(struct crac__sb *sb);
/* Reads a small /proc file whole into buf (NUL-terminated); bytes or -errno. */
long crac__read_small(const char *path, char *buf, size_t size);

/* ---- what a descriptor is (check_fd.c) ---- */
enum crac__fd_kind {
    CRAC__FD_FILE,     /* regular file */
    CRAC__FD_DIR,
    CRAC__FD_PIPE,     /* anonymous pipe */
    CRAC__FD_FIFO,     /* named pipe */
    CRAC__FD_SOCKET,
    CRAC__FD_DEVICE,   /* character or block device */
    CRAC__FD_EVENTFD,
    CRAC__FD_EPOLL,
    CRAC__FD_TIMERFD,
    CRAC__FD_SIGNALFD,
    CRAC__FD_INOTIFY,
    CRAC__FD_MEMFD,
    CRAC__FD_IO_URING,
    CRAC__FD_PIDFD,
    CRAC__FD_ANON,     /* another anonymous inode: fanotify, userfaultfd, perf, bpf, ... */
    CRAC__FD_OTHER,
    CRAC__FD_KIND_COUNT
};
/* "regular file", "pipe", "eventfd", ... */
const char *crac__fd_kind_name(enum crac__fd_kind k);

struct crac__sock_info {
    int family, type, protocol;
    bool listening;
    bool connected;            /* getpeername() succeeded */
    int tcp_state;             /* TCP_ESTABLISHED, ... (linux/tcp.h); 0 unknown */
    struct sockaddr_storage local, remote;
    socklen_t local_len, remote_len;
    int backlog, pending;      /* listening sockets; -1 unknown */
};

struct crac__fd_info {
    int fd;
    enum crac__fd_kind kind;
    struct stat st;
    int flags;                 /* F_GETFL */
    bool cloexec;              /* FD_CLOEXEC */
    bool deleted;              /* the file was unlinked (" (deleted)") */
    long long pos;             /* file offset; -1 when not seekable */
    /* What a path glob matches: the file's path (without " (deleted)"), a
     * unix socket's name ("@name" when abstract, "" unnamed), a memfd's
     * "/memfd:NAME", otherwise the /proc/self/fd link ("anon_inode:[eventfd]",
     * "socket:[123]"). */
    char path[PATH_MAX];
    struct crac__sock_info sock; /* CRAC__FD_SOCKET only */
};

/* Fills *fi for `fd`.  0, or -errno (-EBADF: it was closed meanwhile). */
int crac__fd_inspect(int fd, struct crac__fd_info *fi);

/* Every descriptor of the process but 0-2 and the library's, ascending,
 * with its stat (for peers and pipe ends).  fds[i] and st[i] pair up. */
struct crac__fd_table {
    int *fds;
    struct stat *st;
    size_t n;
};
/* 0 or -errno.  crac__fd_table_free() releases it. */
int crac__fd_table_read(struct crac__fd_table *t);
void crac__fd_table_free(struct crac__fd_table *t);

/* Appends the details of an inspected descriptor to sb, e.g.
 * "regular file /var/log/x.log (O_WRONLY|O_APPEND, offset 120)".  `t` (may
 * be NULL) names the other end of a pipe or socket pair held in this process. */
void crac__fd_describe(const struct crac__fd_info *fi, const struct crac__fd_table *t,
                       struct crac__sb *sb);

/* ---- sockets (check_sock.c) ---- */
void crac__sock_inspect(int fd, struct crac__sock_info *si, char *name, size_t name_size);
void crac__sock_describe(const struct crac__fd_info *fi, const struct crac__fd_table *t,
                         struct crac__sb *sb);

/* ---- the checks (check.c, check_proc.c) ---- */
struct crac_error;
/* Adds one cause (source "checker") to `problems` for each thing that
 * blocks a checkpoint with `engine`: descriptors the policies do not allow
 * (each named with fd number, kind and details, and with CRAC_FD_TRACE=1
 * where it was opened), child processes, POSIX timers, SysV shm, shared
 * writable mappings.  Every engine; engine->check() adds its own after. */
void crac__check_run(const struct crac__engine *engine, crac_error *problems);
/* Children, POSIX timers, SysV shm, shared writable mappings (check_proc.c). */
void crac__check_process(const struct crac__engine *engine, crac_error *problems);
/* The checker alone, no resource notified, nothing closed, for the
 * configured engine (for status requests; `crac check` should rather run
 * crac__checkpoint_restore_opts(true, ...), which also asks the resources).
 * Returns the number of problems, *problems = "[checker] a checkpoint with
 * engine 'E' would be refused for:" with one cause each (NULL when none);
 * -1 with *problems set when the configuration or the policies file is bad.
 * Do not call it from inside a checkpoint's callbacks. */
int crac__check_report(crac_error **problems);

/* ---- where descriptors came from (fdtrace*.c), CRAC_FD_TRACE=1 ---- */
/* Appends "opened by FUNC() at:" and one line per frame, each line starting
 * with "\n" + indent; nothing when tracing is off or nothing was recorded. */
void crac__fdtrace_describe(int fd, const struct stat *st, struct crac__sb *sb,
                            const char *indent);
/* Symbol for an address: "func+0x1a (file)" from the dynamic symbols, or
 * the file's own symbol table when dladdr knows none (check_sym.c). */
void crac__symbolize(void *addr, char *buf, size_t size);

#endif
