/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checker names every kind of descriptor with its details (a dry run,
 * then a real sim cycle), plus children, POSIX timers, SysV shm and shared
 * writable mappings; stdin/stdout/stderr and the library's own descriptors
 * are never reported; a dry run leaves everything as it was.
 * White-box: links libcrac.a for crac__fd_claim() and the dry run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "checkutil.h"
#include "checker/checker.h"
#include "core/core.h"

static char tmp[4096];

static int tcp_listener(int family, const char *addr, int backlog, int *port)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int s = socket(family, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    if (family == AF_INET) {
        struct sockaddr_in *in = (void *)&ss;
        in->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &in->sin_addr);
        len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (void *)&ss;
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, addr, &in6->sin6_addr);
        len = sizeof(*in6);
    }
    if (bind(s, (void *)&ss, len) < 0 || listen(s, backlog) < 0) {
        close(s);
        return -1;
    }
    len = sizeof(ss);
    getsockname(s, (void *)&ss, &len);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return s;
}

static char expect_buf[64][256];
static int expect_fd[64], nexpect;

/* Remembers that `fd` must be reported with `fmt...` in its message. */
static void expect(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expect_buf[nexpect], sizeof(expect_buf[0]), fmt, ap);
    va_end(ap);
    expect_fd[nexpect++] = fd;
}

static void files(void)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/data", tmp);
    int f = open(p, O_RDWR | O_CREAT | O_APPEND, 0600);
    CHECK(f >= 0 && write(f, "hello", 5) == 5, "data file");
    expect(f, "regular file %s (O_RDWR|O_APPEND, offset 5 of 5 bytes)", p);
    snprintf(p, sizeof(p), "%s/gone", tmp);
    int g = open(p, O_WRONLY | O_CREAT, 0600);
    unlink(p);
    expect(g, "regular file %s (deleted) (O_WRONLY", p);
    int d = open(tmp, O_RDONLY | O_DIRECTORY);
    expect(d, "directory %s (O_RDONLY)", tmp);
    int n = open("/dev/null", O_RDONLY);
    expect(n, "character device /dev/null (1:3, O_RDONLY)");
    int m = memfd_create("crac-test", 0);
    CHECK(m >= 0 && ftruncate(m, 4096) == 0, "memfd");
    expect(m, "memfd \"crac-test\" (4096 bytes)");
}

static void pipes(void)
{
    int p[2];
    CHECK(pipe(p) == 0 && write(p[1], "abc", 3) == 3, "pipe");
    expect(p[0], "pipe (inode ");
    expect(p[0], "read end, 3 bytes waiting, also open as fd %d", p[1]);
    expect(p[1], "write end");
    char path[4200];
    snprintf(path, sizeof(path), "%s/fifo", tmp);
    CHECK(mkfifo(path, 0600) == 0, "mkfifo");
    int f = open(path, O_RDWR); /* both ends: does not block */
    expect(f, "FIFO %s, opened read-write, 0 bytes waiting", path);
}

/* Whether the kernel answers sock_diag requests about unix sockets (the
 * unix_diag module; a container may lack it): the checker names peers and
 * backlogs with it, and says less without. */
static int unix_diag_works(void)
{
    int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    struct {
        struct nlmsghdr h;
        struct unix_diag_req r;
    } req = {.h = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
             .r = {.sdiag_family = AF_UNIX, .udiag_states = ~0U}};
    union {
        struct nlmsghdr h;
        char bytes[16384];
    } reply;
    int ok = s >= 0 && send(s, &req, sizeof(req), 0) == (ssize_t)sizeof(req) &&
             recv(s, &reply, sizeof(reply), 0) > 0 && reply.h.nlmsg_type != NLMSG_ERROR;
    if (s >= 0)
        close(s);
    return ok;
}

static void unix_sockets(void)
{
    int diag = unix_diag_works();
    if (!diag)
        fprintf(stderr, "(no unix sock_diag here: peers and backlogs not checked)\n");
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    CHECK(strlen(tmp) < 90, "tmp path too long");
    snprintf(un.sun_path, sizeof(un.sun_path), "%.90s/sock", tmp);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(l, (void *)&un, sizeof(un)) == 0 && listen(l, 5) == 0, "unix listener");
    expect(l, diag ? "unix stream socket %s, listening (backlog 5, 0 connections waiting"
                   : "unix stream socket %s, listening", un.sun_path);
    struct sockaddr_un ab = {.sun_family = AF_UNIX};
    int n = snprintf(ab.sun_path + 1, sizeof(ab.sun_path) - 1, "crac-abstract-%d", (int)getpid());
    int a = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(a, (void *)&ab, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0,
          "abstract: %s", strerror(errno));
    expect(a, "unix datagram socket @%s, not connected", ab.sun_path + 1);
    int sp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0 && write(sp[1], "xy", 2) == 2, "pair");
    if (diag) {
        expect(sp[0], "unix stream socket (unnamed), connected to fd %d of this process, 2 bytes waiting", sp[1]);
        expect(sp[1], "connected to fd %d of this process", sp[0]);
    } else {
        expect(sp[0], "unix stream socket (unnamed), connected to (unnamed) of process %d, 2 bytes waiting",
               (int)getpid());
    }
}

static void inet_sockets(void)
{
    int port, port6;
    int l = tcp_listener(AF_INET, "127.0.0.1", 7, &port);
    CHECK(l >= 0, "tcp listener");
    expect(l, "TCP/IPv4 socket, listening on 127.0.0.1:%d (backlog 7, 1 connection waiting", port);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (void *)&to, sizeof(to)) == 0, "connect");
    expect(c, "TCP/IPv4 socket, ESTABLISHED, local 127.0.0.1:");
    expect(c, "remote 127.0.0.1:%d", port);
    int l6 = tcp_listener(AF_INET6, "::1", 3, &port6);
    if (l6 >= 0)
        expect(l6, "TCP/IPv6 socket, listening on [::1]:%d (backlog 3", port6);
    else
        fprintf(stderr, "(no IPv6 here: not checked)\n");
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &any.sin_addr);
    CHECK(bind(u, (void *)&any, sizeof(any)) == 0, "udp");
    expect(u, "UDP/IPv4 socket, local 127.0.0.1:");
    expect(u, "not connected");
    int u2 = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(connect(u2, (void *)&to, sizeof(to)) == 0, "udp connect");
    expect(u2, "UDP/IPv4 socket, local 127.0.0.1:");
    expect(u2, "connected to 127.0.0.1:%d", port);
    int nl = socket(AF_NETLINK, SOCK_RAW, 0);
    expect(nl, "netlink socket, NETLINK_ROUTE (0)");
}

static void anon_kinds(void)
{
    int e = eventfd(7, 0);
    expect(e, "eventfd, count 7");
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0 && epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "epoll");
    expect(ep, "epoll instance watching fds %d, %d", e, p[0]);
    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {.it_value = {10, 0}, .it_interval = {1, 500000000}};
    CHECK(timerfd_settime(t, 0, &its, NULL) == 0, "timerfd");
    expect(t, "timerfd on CLOCK_MONOTONIC, next expiry in ");
    expect(t, "every 1.500 s");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    int s = signalfd(-1, &set, 0);
    expect(s, "signalfd for SIGUSR1, SIGTERM");
    int in = inotify_init1(0);
    CHECK(inotify_add_watch(in, tmp, IN_CREATE) >= 0, "inotify");
    expect(in, "inotify instance with 1 watch: inode ");
    struct io_uring_params up = {0};
    int u = (int)syscall(SYS_io_uring_setup, 4, &up);
    if (u >= 0)
        expect(u, "io_uring instance (4 submission, 8 completion entries)");
    else
        fprintf(stderr, "(io_uring not available: %s; not checked)\n", strerror(errno));
}

static pid_t child;

static void process_state(void)
{
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    int pf = (int)syscall(SYS_pidfd_open, child, 0);
    CHECK(pf >= 0, "pidfd_open");
    expect(pf, "pidfd of process %d (internal-check", (int)child);
    timer_t tid;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    CHECK(timer_create(CLOCK_MONOTONIC, &sev, &tid) == 0, "timer_create");
    int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    CHECK(id >= 0 && shmat(id, NULL, 0) != (void *)-1, "shm");
    shmctl(id, IPC_RMID, NULL);
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) != MAP_FAILED,
          "shared mapping");
}

static void check_all(const crac_error *err)
{
    for (int i = 0; i < nexpect; i++)
        EXPECT_FD(err, expect_fd[i], expect_buf[i]);
    char pre[64];
    snprintf(pre, sizeof(pre), "child process %d (internal-check", (int)child);
    CHECK(find_cause(err, pre, "is running"), "child");
    CHECK(find_cause(err, "POSIX timer 0 on CLOCK_MONOTONIC", "by SIGUSR2"), "posix timer");
    CHECK(find_cause(err, "SysV shared memory attached at ", "8192 bytes"), "sysv");
    CHECK(find_cause(err, "shared writable mapping ", "anonymous memory (4096 bytes)"), "shared");
    for (int fd = 0; fd <= 2; fd++) {
        char p[16];
        snprintf(p, sizeof(p), "fd %d: ", fd);
        CHECK(!find_cause(err, p, NULL), "stdin/stdout/stderr must not be reported");
    }
    for (size_t i = 0; i < crac_error_cause_count(err); i++)
        CHECK(!strcmp(crac_error_source(crac_error_cause(err, i)), "checker"), "source checker");
}

int main(void)
{
    snprintf(tmp, sizeof(tmp), "%s", test_tmp());
    CHECK(setenv("CRAC_ENGINE", "sim", 1) == 0, "env");
    files();
    pipes();
    unix_sockets();
    inet_sockets();
    anon_kinds();
    process_state();
    int mine = eventfd(0, 0); /* a library descriptor: never reported */
    crac__fd_claim(mine);

    crac_error *err = NULL;
    CHECK(crac__checkpoint_restore_opts(true, &err) < 0, "the dry run must report problems");
    free(show(err));
    check_all(err);
    char pre[16];
    snprintf(pre, sizeof(pre), "fd %d: ", mine);
    CHECK(!find_cause(err, pre, NULL), "a library fd was reported");
    /* untouched: every descriptor is still open */
    for (int i = 0; i < nexpect; i++)
        CHECK(fcntl(expect_fd[i], F_GETFD) >= 0, "fd %d closed by a dry run", expect_fd[i]);

    /* the checker alone (for status requests) finds the same */
    size_t nprob = crac_error_cause_count(err);
    crac_error_free(err);
    CHECK(crac__check_report(&err) == (int)nprob, "crac__check_report: another count");
    CHECK(!strcmp(crac_error_message(err), "a checkpoint with engine 'sim' would be refused for:") &&
          !strcmp(crac_error_source(err), "checker"), "crac__check_report: %s", crac_error_message(err));
    check_all(err);
    crac_error_free(err);

    /* the real cycle refuses the same way */
    CHECK(crac_checkpoint_restore(&err) < 0, "the checkpoint must be refused");
    check_all(err);
    CHECK(crac_restore_count() == 0, "refused: no restore");
    crac_error_free(err);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("check-kinds: %d descriptors named\n", nexpect);
    return 0;
}
