/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wrappers CRAC_FD_TRACE puts in place of the calls that make
 * descriptors (fdtrace.c says how).  Each calls the real function, found
 * with dlsym(RTLD_DEFAULT) so that another interposer (a sanitizer, a
 * preloaded library) still gets its turn, and records the new descriptor.
 * close() forgets the record, so a number reused by a call that is not
 * traced is not attributed to the old opener (fdtrace.c also compares the
 * inode).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "checker/fdtrace.h"

/* Real functions, by the wrapper's name. */
#define REAL(name) real_##name
#define DECL_REAL(ret, name, ...) static ret (*real_##name)(__VA_ARGS__)

DECL_REAL(int, open, const char *, int, ...);
DECL_REAL(int, open64, const char *, int, ...);
DECL_REAL(int, openat, int, const char *, int, ...);
DECL_REAL(int, openat64, int, const char *, int, ...);
DECL_REAL(int, __open_2, const char *, int);
DECL_REAL(int, __open64_2, const char *, int);
DECL_REAL(int, __openat_2, int, const char *, int);
DECL_REAL(int, __openat64_2, int, const char *, int);
DECL_REAL(int, creat, const char *, mode_t);
DECL_REAL(int, creat64, const char *, mode_t);
DECL_REAL(FILE *, fopen, const char *, const char *);
DECL_REAL(FILE *, fopen64, const char *, const char *);
DECL_REAL(FILE *, freopen, const char *, const char *, FILE *);
DECL_REAL(DIR *, opendir, const char *);
DECL_REAL(int, mkstemp, char *);
DECL_REAL(int, mkostemp, char *, int);
DECL_REAL(FILE *, tmpfile, void);
DECL_REAL(int, socket, int, int, int);
DECL_REAL(int, socketpair, int, int, int, int *);
DECL_REAL(int, accept, int, struct sockaddr *, socklen_t *);
DECL_REAL(int, accept4, int, struct sockaddr *, socklen_t *, int);
DECL_REAL(int, pipe, int *);
DECL_REAL(int, pipe2, int *, int);
DECL_REAL(int, eventfd, unsigned, int);
DECL_REAL(int, epoll_create, int);
DECL_REAL(int, epoll_create1, int);
DECL_REAL(int, timerfd_create, int, int);
DECL_REAL(int, signalfd, int, const sigset_t *, int);
DECL_REAL(int, inotify_init, void);
DECL_REAL(int, inotify_init1, int);
DECL_REAL(int, memfd_create, const char *, unsigned);
DECL_REAL(int, pidfd_open, pid_t, unsigned);
DECL_REAL(int, dup, int);
DECL_REAL(int, dup2, int, int);
DECL_REAL(int, dup3, int, int, int);
DECL_REAL(int, fcntl, int, int, ...);
DECL_REAL(int, fcntl64, int, int, ...);
DECL_REAL(int, close, int);
DECL_REAL(void *, dlopen, const char *, int);
DECL_REAL(void *, dlmopen, Lmid_t, const char *, int);

static int rec(int fd, const char *func)
{
    if (fd >= 0)
        crac__fdtrace_record(fd, func);
    return fd;
}

static FILE *rec_file(FILE *f, const char *func)
{
    if (f)
        crac__fdtrace_record(fileno(f), func);
    return f;
}

/* open() and friends take a mode only with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags)                                                        \
    mode_t mode = 0;                                                           \
    if ((flags) & (O_CREAT | __O_TMPFILE)) {                                   \
        va_list ap;                                                            \
        va_start(ap, flags);                                                   \
        mode = va_arg(ap, mode_t);                                             \
        va_end(ap);                                                            \
    }

static int h_open(const char *p, int flags, ...) { MODE_ARG(flags); return rec(REAL(open)(p, flags, mode), "open"); }
static int h_open64(const char *p, int flags, ...) { MODE_ARG(flags); return rec(REAL(open64)(p, flags, mode), "open64"); }
static int h_openat(int d, const char *p, int flags, ...) { MODE_ARG(flags); return rec(REAL(openat)(d, p, flags, mode), "openat"); }
static int h_openat64(int d, const char *p, int flags, ...) { MODE_ARG(flags); return rec(REAL(openat64)(d, p, flags, mode), "openat64"); }
static int h___open_2(const char *p, int f) { return rec(REAL(__open_2)(p, f), "open"); }
static int h___open64_2(const char *p, int f) { return rec(REAL(__open64_2)(p, f), "open64"); }
static int h___openat_2(int d, const char *p, int f) { return rec(REAL(__openat_2)(d, p, f), "openat"); }
static int h___openat64_2(int d, const char *p, int f) { return rec(REAL(__openat64_2)(d, p, f), "openat64"); }
static int h_creat(const char *p, mode_t m) { return rec(REAL(creat)(p, m), "creat"); }
static int h_creat64(const char *p, mode_t m) { return rec(REAL(creat64)(p, m), "creat64"); }
static FILE *h_fopen(const char *p, const char *m) { return rec_file(REAL(fopen)(p, m), "fopen"); }
static FILE *h_fopen64(const char *p, const char *m) { return rec_file(REAL(fopen64)(p, m), "fopen64"); }
static FILE *h_freopen(const char *p, const char *m, FILE *f) { return rec_file(REAL(freopen)(p, m, f), "freopen"); }
static FILE *h_tmpfile(void) { return rec_file(REAL(tmpfile)(), "tmpfile"); }
static int h_mkstemp(char *t) { return rec(REAL(mkstemp)(t), "mkstemp"); }
static int h_mkostemp(char *t, int f) { return rec(REAL(mkostemp)(t, f), "mkostemp"); }
static int h_socket(int d, int t, int p) { return rec(REAL(socket)(d, t, p), "socket"); }
static int h_accept(int s, struct sockaddr *a, socklen_t *l) { return rec(REAL(accept)(s, a, l), "accept"); }
static int h_accept4(int s, struct sockaddr *a, socklen_t *l, int f) { return rec(REAL(accept4)(s, a, l, f), "accept4"); }
static int h_eventfd(unsigned v, int f) { return rec(REAL(eventfd)(v, f), "eventfd"); }
static int h_epoll_create(int n) { return rec(REAL(epoll_create)(n), "epoll_create"); }
static int h_epoll_create1(int f) { return rec(REAL(epoll_create1)(f), "epoll_create1"); }
static int h_timerfd_create(int c, int f) { return rec(REAL(timerfd_create)(c, f), "timerfd_create"); }
static int h_inotify_init(void) { return rec(REAL(inotify_init)(), "inotify_init"); }
static int h_inotify_init1(int f) { return rec(REAL(inotify_init1)(f), "inotify_init1"); }
static int h_memfd_create(const char *n, unsigned f) { return rec(REAL(memfd_create)(n, f), "memfd_create"); }
static int h_pidfd_open(pid_t p, unsigned f) { return rec(REAL(pidfd_open)(p, f), "pidfd_open"); }
static int h_dup(int fd) { return rec(REAL(dup)(fd), "dup"); }
static int h_dup2(int a, int b) { return rec(REAL(dup2)(a, b), "dup2"); }
static int h_dup3(int a, int b, int f) { return rec(REAL(dup3)(a, b, f), "dup3"); }

static DIR *h_opendir(const char *p)
{
    DIR *d = REAL(opendir)(p);
    if (d)
        crac__fdtrace_record(dirfd(d), "opendir");
    return d;
}

static int h_signalfd(int fd, const sigset_t *m, int f)
{
    int r = REAL(signalfd)(fd, m, f);
    return fd == -1 ? rec(r, "signalfd") : r; /* fd != -1 changes an existing one */
}

static int two(int rc, int *fds, const char *func)
{
    if (rc == 0) {
        crac__fdtrace_record(fds[0], func);
        crac__fdtrace_record(fds[1], func);
    }
    return rc;
}

static int h_pipe(int *fds) { return two(REAL(pipe)(fds), fds, "pipe"); }
static int h_pipe2(int *fds, int f) { return two(REAL(pipe2)(fds, f), fds, "pipe2"); }
static int h_socketpair(int d, int t, int p, int *fds) { return two(REAL(socketpair)(d, t, p, fds), fds, "socketpair"); }

/* fcntl's third argument is an int or a pointer, or absent: passed on as
 * a word, as glibc itself does. */
#define FCNTL_HOOK(name)                                                       \
    static int h_##name(int fd, int cmd, ...)                                  \
    {                                                                          \
        va_list ap;                                                            \
        va_start(ap, cmd);                                                     \
        unsigned long arg = va_arg(ap, unsigned long);                         \
        va_end(ap);                                                            \
        int r = REAL(name)(fd, cmd, arg);                                      \
        return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC ? rec(r, "fcntl") : r; \
    }
FCNTL_HOOK(fcntl)
FCNTL_HOOK(fcntl64)

static int h_close(int fd)
{
    crac__fdtrace_forget(fd);
    return REAL(close)(fd);
}

/* A library loaded now has its own GOT to redirect. */
static void *h_dlopen(const char *file, int flags)
{
    void *h = REAL(dlopen)(file, flags);
    if (h)
        crac__fdtrace_patch_all();
    return h;
}

static void *h_dlmopen(Lmid_t lm, const char *file, int flags)
{
    void *h = REAL(dlmopen)(lm, file, flags);
    if (h)
        crac__fdtrace_patch_all();
    return h;
}

#define HOOK(name) {#name, (void *)h_##name, (void **)&real_##name}
static const struct {
    const char *name;
    void *hook;
    void **real;
} hooks[] = {
    HOOK(open), HOOK(open64), HOOK(openat), HOOK(openat64), HOOK(__open_2), HOOK(__open64_2),
    HOOK(__openat_2), HOOK(__openat64_2), HOOK(creat), HOOK(creat64), HOOK(fopen),
    HOOK(fopen64), HOOK(freopen), HOOK(opendir), HOOK(tmpfile), HOOK(mkstemp), HOOK(mkostemp),
    HOOK(socket), HOOK(socketpair), HOOK(accept), HOOK(accept4), HOOK(pipe), HOOK(pipe2),
    HOOK(eventfd), HOOK(epoll_create), HOOK(epoll_create1), HOOK(timerfd_create),
    HOOK(signalfd), HOOK(inotify_init), HOOK(inotify_init1), HOOK(memfd_create),
    HOOK(pidfd_open), HOOK(dup), HOOK(dup2), HOOK(dup3), HOOK(fcntl), HOOK(fcntl64),
    HOOK(close), HOOK(dlopen), HOOK(dlmopen),
};
#define N_HOOKS (sizeof(hooks) / sizeof(hooks[0]))

int crac__fdtrace_resolve(void)
{
    for (size_t i = 0; i < N_HOOKS; i++)
        *hooks[i].real = dlsym(RTLD_DEFAULT, hooks[i].name);
    /* without these, records could be wrong (close) or the wrappers unusable */
    return real_close && real_open && real_dlopen ? 0 : -1;
}

void *crac__fdtrace_hook_for(const char *name)
{
    /* most imported names are not ours: the first letter rules them out */
    if (!strchr("_acdefimopst", name[0]))
        return NULL;
    for (size_t i = 0; i < N_HOOKS; i++)
        if (strcmp(name, hooks[i].name) == 0)
            return *hooks[i].real ? hooks[i].hook : NULL;
    return NULL;
}
