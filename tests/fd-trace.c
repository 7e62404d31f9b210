/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRAC_FD_TRACE=1: each reported descriptor says which call opened it and
 * from where, naming the program's own functions (static ones too, from
 * the file's symbol table).  Calls that make descriptors in other ways are
 * traced too (fopen, socket, pipe, dup2, accept4, eventfd, ...), a number
 * closed and reused by an untraced call is not misattributed, and without
 * the variable nothing is traced.  The variable is read once at start: the
 * test runs itself again with it set.  `fd-trace dlopen LIB`: a library
 * loaded later is traced too (tests/fd-trace-dlopen.sh).
 */
#include <dlfcn.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "checkutil.h"

static int fd_open, fd_sock, fd_dup, fd_event, fd_pipe[2], fd_reused;
static FILE *cfg;

__attribute__((noinline)) static int open_the_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    __asm__ volatile("" ::: "memory"); /* keep the call from being a tail call */
    return fd;
}

__attribute__((noinline)) static FILE *read_config(const char *path)
{
    FILE *f = fopen(path, "w");
    __asm__ volatile("" ::: "memory");
    return f;
}

__attribute__((noinline)) static void make_more(void)
{
    fd_sock = socket(AF_INET, SOCK_DGRAM, 0);
    fd_dup = dup(fd_sock);
    fd_event = eventfd(0, 0);
    CHECK(pipe(fd_pipe) == 0, "pipe");
    __asm__ volatile("" ::: "memory");
}

/* A number closed, then taken again by a raw system call nobody traces. */
static void reuse_untraced(const char *path)
{
    int fd = open(path, O_RDONLY);
    close(fd);
    fd_reused = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    CHECK(fd_reused == fd, "the number %d must be reused (got %d)", fd, fd_reused);
}

/* fd-trace dlopen LIB: a library loaded later opens a file
 * (tests/fd-trace-dlopen.sh builds it). */
static int dlopen_case(const char *lib)
{
    void *h = dlopen(lib, RTLD_NOW);
    CHECK(h, "dlopen: %s", dlerror());
    int (*opener)(const char *) = (int (*)(const char *))dlsym(h, "opener_open");
    CHECK(opener, "opener_open");
    char p[4200];
    snprintf(p, sizeof(p), "%s/by-plugin", test_tmp());
    int fd = opener(p);
    CHECK(fd >= 0, "opener_open");
    crac_error *err = NULL;
    CHECK(crac_checkpoint_restore(&err) < 0, "refused");
    free(show(err));
    char pre[32];
    snprintf(pre, sizeof(pre), "fd %d: ", fd);
    CHECK(find_cause(err, pre, "\nopened by open() at:\n  opener_open+0x"), "the plugin's open");
    crac_error_free(err);
    printf("fd-trace: dlopen ok\n");
    return 0;
}

static const char *problem(const crac_error *err, int fd)
{
    char pre[32];
    snprintf(pre, sizeof(pre), "fd %d: ", fd);
    const char *m = find_cause(err, pre, NULL);
    CHECK(m, "fd %d is not reported", fd);
    return m;
}

static void has(const char *msg, const char *part)
{
    CHECK(strstr(msg, part), "'%s' not in:\n%s", part, msg);
}

int main(int argc, char **argv)
{
    if (!getenv("CRAC_FD_TRACE")) {
        /* first without: nothing is traced */
        setenv("CRAC_ENGINE", "sim", 1);
        char p[4200];
        snprintf(p, sizeof(p), "%s/untraced", test_tmp());
        int fd = open_the_log(p);
        crac_error *err = NULL;
        CHECK(crac_checkpoint_restore(&err) < 0, "refused");
        CHECK(!strstr(problem(err, fd), "opened"), "traced without CRAC_FD_TRACE");
        crac_error_free(err);
        close(fd);
        setenv("CRAC_FD_TRACE", "1", 1);
        execv("/proc/self/exe", argv);
        CHECK(0, "exec: %s", strerror(errno));
    }
    if (argc == 3 && !strcmp(argv[1], "dlopen"))
        return dlopen_case(argv[2]);
    char p[4200], q[4200];
    snprintf(p, sizeof(p), "%s/app.log", test_tmp());
    snprintf(q, sizeof(q), "%s/app.conf", test_tmp());
    fd_open = open_the_log(p);
    cfg = read_config(q);
    make_more();
    reuse_untraced(p);

    crac_error *err = NULL;
    CHECK(crac_checkpoint_restore(&err) < 0, "refused");
    free(show(err));
    const char *m = problem(err, fd_open);
    has(m, "\nopened by open() at:\n  open_the_log+0x");
    has(m, "(fd-trace)\n  main+0x");
    m = problem(err, fileno(cfg));
    has(m, "\nopened by fopen() at:\n  read_config+0x");
    has(problem(err, fd_sock), "\nopened by socket() at:\n  make_more+0x");
    has(problem(err, fd_dup), "\nopened by dup() at:\n  make_more+0x");
    has(problem(err, fd_event), "\nopened by eventfd() at:\n  make_more+0x");
    has(problem(err, fd_pipe[0]), "\nopened by pipe() at:\n  make_more+0x");
    has(problem(err, fd_pipe[1]), "\nopened by pipe() at:\n  make_more+0x");
    has(problem(err, fd_reused), "\nopened where no trace was recorded");
    char *text = crac_error_format(err);
    has(text, "  [checker] fd ");
    has(text, "\n    opened by open() at:\n      open_the_log+0x"); /* one level deeper */
    free(text);
    crac_error_free(err);
    printf("fd-trace: ok\n");
    return 0;
}
