/* SPDX-License-Identifier: Apache-2.0 */
/* native-fds: what is refused, and what a restore must refuse.  Part of
 * native-fds.c.
 *   refuse-pipe          a pipe whose write end another process holds
 *   refuse-tcp           an established TCP connection, and an epoll
 *                        watching it
 *   hold-file PATH       PATH open read-only at offset 2; after the restore
 *                        prints what it reads there
 *   hold-port DIR FILE   a unix listener DIR/h.sock and a TCP one, whose
 *                        port goes to FILE; after the restore says whether
 *                        the TCP one is open
 *   occupy PORT          listens on 127.0.0.1:PORT until killed
 */
#include <sys/wait.h>

/* The checkpoint must fail; the process goes on. */
static int expect_refused(void)
{
    if (checkpoint() == 0) {
        printf("CHECKPOINT WENT THROUGH\n");
        return 1;
    }
    printf("PROCESS CONTINUES\n");
    return 3;
}

static int mode_refuse_pipe(void)
{
    int p[2];
    pid_t c;
    if (pipe(p) || (c = fork()) < 0)
        return 2;
    if (c == 0) { /* a grandchild holds the write end: not our child */
        if (fork() == 0) {
            close(p[0]);
            sleep(5);
        }
        _exit(0);
    }
    waitpid(c, NULL, 0);
    close(p[1]);
    return expect_refused();
}

static int mode_refuse_tcp(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;
    int ep = epoll_create1(0);
    if (bind(l, (void *)&a, sizeof(a)) || listen(l, 1) || getsockname(l, (void *)&a, &len) ||
        connect(c, (void *)&a, len) || (s = accept(l, NULL, NULL)) < 0)
        return 2;
    add(ep, s, EPOLLIN, 1);
    printf("connection fds %d %d epoll fd %d\n", c, s, ep);
    return expect_refused();
}

static int mode_hold_file(const char *path)
{
    char buf[8] = "";
    int fd = open(path, O_RDONLY);
    if (fd < 0 || lseek(fd, 2, SEEK_SET) != 2)
        return 2;
    if (checkpoint())
        return 3;
    EXPECT(read(fd, buf, 3) == 3, "read: %s", strerror(errno));
    printf("READ %.3s\n", buf);
    return 0;
}

static int mode_hold_port(const char *dir, const char *file)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    socklen_t len = sizeof(a);
    snprintf(un.sun_path, sizeof(un.sun_path), "%s/h.sock", dir);
    unlink(un.sun_path);
    int u = listener(AF_UNIX, SOCK_STREAM, &un, sizeof(un), 4);
    int t = listener(AF_INET, SOCK_STREAM, &a, sizeof(a), 4);
    FILE *f = fopen(file, "w");
    if (u < 0 || t < 0 || !f || getsockname(t, (void *)&a, &len))
        return 2;
    fprintf(f, "%u\n", ntohs(a.sin_port));
    fclose(f);
    if (checkpoint())
        return 3;
    printf("LISTENER %s\n", fcntl(t, F_GETFD) >= 0 ? "OPEN" : "CLOSED");
    return 0;
}

static int mode_occupy(const char *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (listener(AF_INET, SOCK_STREAM, &a, sizeof(a), 4) < 0)
        return 2;
    printf("OCCUPIED\n");
    pause();
    return 0;
}

/* serve DIR: an event loop as a server has one, run with `crac run`: an
 * epoll over a listener (its port in DIR/port), a self-pipe with its one
 * byte waiting (libuv's signal lock), an eventfd, a periodic timerfd, and
 * a database file open for writing, which only a rule lets through.
 * Prints READY, waits in epoll_wait until restored, then checks. */
static int mode_serve(const char *dir)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sock_case l = {0};
    struct itimerspec every = {{0, 20000000}, {0, 20000000}};
    int p[2], ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), ep = epoll_create1(EPOLL_CLOEXEC);
    int tf = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), db;
    char path[4096], c = 0;
    l.fd = listener(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, &a, sizeof(a), 16);
    snprintf(path, sizeof(path), "%s/db", dir);
    if (l.fd < 0 || pipe2(p, O_CLOEXEC) || write(p[1], "*", 1) != 1 ||
        (db = open(path, O_RDWR | O_CREAT, 0600)) < 0)
        return 2;
    sock_record(&l);
    snprintf(path, sizeof(path), "%s/port", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "%u\n", ntohs(((struct sockaddr_in *)&l.addr)->sin_port));
    fclose(f);
    timerfd_settime(tf, 0, &every, NULL);
    add(ep, l.fd, EPOLLIN, 1);
    add(ep, ev, EPOLLIN, 3);
    add(ep, tf, EPOLLIN, 4);
    printf("READY\n");
    while (!restored()) {
        struct epoll_event e[4];
        uint64_t n;
        int k = epoll_wait(ep, e, 4, 100);
        for (int i = 0; i < k; i++)
            if (e[i].data.u64 == 4 && read(tf, &n, 8) != 8)
                printf("timerfd: %s\n", strerror(errno));
    }
    EXPECT(read(p[0], &c, 1) == 1 && c == '*', "the self-pipe's byte");
    EXPECT(fcntl(db, F_GETFD) < 0, "the database file is open");
    struct epoll_event e;
    EXPECT(epoll_wait(ep, &e, 1, 1000) == 1 && e.data.u64 == 4, "the timerfd does not tick");
    expect_accepts(&l, SOCK_STREAM, "listener");
    return 0;
}
