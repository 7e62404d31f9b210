/* SPDX-License-Identifier: Apache-2.0 */
/* native-fds files and listen: files read from and logs at their offsets,
 * devices, directories; listening and bound sockets with their addresses,
 * options and backlog, accepting again.  Part of native-fds.c. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>

static int open_at(const char *name, int flags, char *path)
{
    snprintf(path, 4096, "%s/%s", test_tmp(), name);
    return open(path, flags, 0600);
}

static int mode_files(void)
{
    char ro_path[4096], log_path[4096], ra_path[4096], buf[16];
    int w = open_at("ro.txt", O_WRONLY | O_CREAT | O_TRUNC, ro_path);
    if (w < 0 || write(w, "0123456789", 10) != 10)
        return 2;
    close(w);
    int ro = open(ro_path, O_RDONLY), d = dup(ro);
    int lg = open_at("app.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, log_path);
    int ra = open_at("rw-append.log", O_RDWR | O_APPEND | O_CREAT, ra_path);
    int dir = open(test_tmp(), O_RDONLY | O_DIRECTORY);
    int null = open("/dev/null", O_WRONLY), zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    int full = open("/dev/full", O_RDWR), ur = open("/dev/urandom", O_RDONLY | O_NONBLOCK);
    int rnd = open("/dev/random", O_RDONLY), opath = open(ro_path, O_PATH);
    struct stat dst, lst;
    if (lseek(ro, 3, SEEK_SET) != 3 || write(lg, "line1\n", 6) != 6 || write(ra, "abc", 3) != 3 ||
        lseek(ra, 1, SEEK_SET) != 1 || fstat(dir, &dst) || rnd < 0 || opath < 0)
        return 2;
    struct fdsnap snap;
    fd_snapshot(&snap);
    if (checkpoint())
        return 3;
    fd_compare(&snap);
    EXPECT(lseek(ro, 0, SEEK_CUR) == 3, "ro offset %ld", (long)lseek(ro, 0, SEEK_CUR));
    EXPECT(read(d, buf, 2) == 2 && !memcmp(buf, "34", 2), "reading the dup");
    EXPECT(lseek(ro, 0, SEEK_CUR) == 5, "ro and its dup do not share their offset");
    fstat(lg, &lst);
    EXPECT(write(lg, "line2\n", 6) == 6, "appending: %s", strerror(errno));
    int check = open(log_path, O_RDONLY);
    EXPECT(pread(check, buf, 6, lst.st_size) == 6 && !memcmp(buf, "line2\n", 6),
           "the log did not grow at its end");
    close(check);
    EXPECT(lseek(ra, 0, SEEK_CUR) == 1 && read(ra, buf, 2) == 2 && !memcmp(buf, "bc", 2), "ra");
    struct stat st;
    EXPECT(fstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == dst.st_ino, "the directory");
    EXPECT(write(null, "x", 1) == 1, "/dev/null");
    EXPECT(read(zero, buf, 4) == 4 && !buf[0] && !buf[3], "/dev/zero");
    EXPECT(write(full, "x", 1) < 0 && errno == ENOSPC, "/dev/full");
    EXPECT(read(ur, buf, 16) == 16 && read(rnd, buf, 4) == 4, "random devices");
    EXPECT(fstat(opath, &st) == 0 && S_ISREG(st.st_mode), "O_PATH");
    return 0;
}

/* ---- listening and bound sockets ---- */

struct sock_case {
    int fd;
    struct sockaddr_storage addr;
    socklen_t len;
    int opts[8];
};
static const int opt_list[8][2] = {
    {SOL_SOCKET, SO_REUSEADDR},    {SOL_SOCKET, SO_REUSEPORT},   {SOL_SOCKET, SO_KEEPALIVE},
    {SOL_SOCKET, SO_RCVBUF},       {IPPROTO_TCP, TCP_NODELAY},   {IPPROTO_TCP, TCP_DEFER_ACCEPT},
    {IPPROTO_TCP, TCP_FASTOPEN},   {SOL_SOCKET, SO_ACCEPTCONN},
};

static void sock_record(struct sock_case *c)
{
    c->len = sizeof(c->addr);
    getsockname(c->fd, (struct sockaddr *)&c->addr, &c->len);
    for (int i = 0; i < 8; i++) {
        socklen_t l = sizeof(int);
        c->opts[i] = -12345;
        getsockopt(c->fd, opt_list[i][0], opt_list[i][1], &c->opts[i], &l);
    }
}

static void sock_compare(const struct sock_case *was, const char *what)
{
    struct sock_case now = {.fd = was->fd};
    sock_record(&now);
    EXPECT(now.len == was->len && !memcmp(&now.addr, &was->addr, was->len), "%s: address", what);
    for (int i = 0; i < 8; i++)
        EXPECT(now.opts[i] == was->opts[i], "%s: option %d is %d, was %d", what, i, now.opts[i],
               was->opts[i]);
}

/* A client connects (and says hello: TCP_DEFER_ACCEPT waits for it); the
 * listener accepts. */
static void expect_accepts(const struct sock_case *l, int type, const char *what)
{
    int c = socket(l->addr.ss_family, type, 0), a;
    struct pollfd p = {l->fd, POLLIN, 0};
    EXPECT(connect(c, (const struct sockaddr *)&l->addr, l->len) == 0, "%s: connect: %s", what,
           strerror(errno));
    EXPECT(send(c, "hi", 2, MSG_NOSIGNAL) == 2, "%s: send", what);
    EXPECT(poll(&p, 1, 3000) == 1 && (a = accept(l->fd, NULL, NULL)) >= 0, "%s: accept", what);
    close(c);
}

static void set_int(int fd, int level, int name, int v)
{
    setsockopt(fd, level, name, &v, sizeof(v));
}

static int listener(int family, int type, const void *addr, socklen_t len, int backlog)
{
    int fd = socket(family, type, 0);
    if (fd < 0 || bind(fd, addr, len) < 0 || (backlog && listen(fd, backlog) < 0))
        return -1;
    return fd;
}

static int mode_listen(const char *dir)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    struct sockaddr_un un = {.sun_family = AF_UNIX}, ab = {.sun_family = AF_UNIX};
    struct sock_case c[6] = {{0}};
    int fresh = socket(AF_INET, SOCK_STREAM, 0);
    snprintf(un.sun_path, sizeof(un.sun_path), "%s/l.sock", dir);
    unlink(un.sun_path);
    snprintf(ab.sun_path + 1, sizeof(ab.sun_path) - 1, "crac-fds-%d", (int)getpid());
    c[0].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    set_int(c[0].fd, SOL_SOCKET, SO_REUSEADDR, 1);
    set_int(c[0].fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    set_int(c[0].fd, SOL_SOCKET, SO_RCVBUF, 65536);
    set_int(c[0].fd, IPPROTO_TCP, TCP_NODELAY, 1);
    set_int(c[0].fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
    set_int(c[0].fd, IPPROTO_TCP, TCP_FASTOPEN, 16);
    if (bind(c[0].fd, (void *)&v4, sizeof(v4)) || listen(c[0].fd, 77))
        return 2;
    c[1].fd = socket(AF_INET6, SOCK_STREAM, 0);
    set_int(c[1].fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    set_int(c[1].fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (bind(c[1].fd, (void *)&v6, sizeof(v6)) || listen(c[1].fd, 10))
        return 2;
    c[2].fd = listener(AF_UNIX, SOCK_STREAM, &un, sizeof(un), 5);
    c[3].fd = listener(AF_UNIX, SOCK_SEQPACKET, &ab,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(ab.sun_path + 1)), 3);
    c[4].fd = listener(AF_INET, SOCK_DGRAM, &v4, sizeof(v4), 0);
    if (c[2].fd < 0 || c[3].fd < 0 || c[4].fd < 0 || fresh < 0)
        return 2;
    for (int i = 0; i < 5; i++)
        sock_record(&c[i]);
    struct tcp_info ti;
    socklen_t tl = sizeof(ti);
    struct fdsnap snap;
    fd_snapshot(&snap);
    if (checkpoint())
        return 3;
    fd_compare(&snap);
    static const char *names[] = {"TCP/IPv4", "TCP/IPv6", "unix path", "unix abstract", "UDP"};
    for (int i = 0; i < 5; i++)
        sock_compare(&c[i], names[i]);
    EXPECT(getsockopt(c[0].fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && ti.tcpi_sacked == 77,
           "backlog %u", ti.tcpi_sacked);
    expect_accepts(&c[0], SOCK_STREAM, names[0]);
    expect_accepts(&c[1], SOCK_STREAM, names[1]);
    expect_accepts(&c[2], SOCK_STREAM, names[2]);
    expect_accepts(&c[3], SOCK_SEQPACKET, names[3]);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    char buf[8];
    EXPECT(sendto(u, "dg", 2, 0, (void *)&c[4].addr, c[4].len) == 2 &&
           recv(c[4].fd, buf, sizeof(buf), 0) == 2, "UDP: no datagram");
    struct sockaddr_in fa;
    socklen_t fl = sizeof(fa);
    EXPECT(getsockname(fresh, (void *)&fa, &fl) == 0 && fa.sin_port == 0, "the unused socket is bound");
    return 0;
}
