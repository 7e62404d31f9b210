/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy `reopen` for sockets (sim engine): a listening TCP socket, a
 * listening unix socket and a bound UDP socket are closed before the
 * checkpoint and, after the "restore", are back on their descriptor numbers
 * with the same address, options (SO_REUSEADDR, TCP_NODELAY, SO_RCVBUF),
 * backlog, O_NONBLOCK and close-on-exec, and accept connections again.  An
 * epoll set that watched the listener (kept: `epoll ignore`, fine for sim)
 * watches the new one with the same events and data.  A connected socket
 * cannot be reopened: refused, naming why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "checkutil.h"

static int opt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    CHECK(getsockopt(fd, level, name, &v, &len) == 0, "getsockopt");
    return v;
}

static void accepts(int l, const struct sockaddr *to, socklen_t len, const char *what)
{
    int c = socket(to->sa_family, SOCK_STREAM, 0);
    CHECK(connect(c, to, len) == 0, "%s: connect: %s", what, strerror(errno));
    struct pollfd p = {.fd = l, .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1, "%s: no connection to accept", what);
    int a = accept(l, NULL, NULL);
    CHECK(a >= 0, "%s: accept: %s", what, strerror(errno));
    CHECK(write(c, "hi", 2) == 2, "write");
    char buf[4] = "";
    CHECK(read(a, buf, 2) == 2 && !strcmp(buf, "hi"), "%s: data", what);
    close(a);
    close(c);
}

int main(void)
{
    setenv("CRAC_ENGINE", "sim", 1);
    int one = 1, rcvbuf = 65536;
    /* TCP */
    struct sockaddr_in in = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    socklen_t inlen = sizeof(in);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
          setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 &&
          setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0, "options");
    CHECK(bind(l, (void *)&in, inlen) == 0 && listen(l, 9) == 0 &&
          getsockname(l, (void *)&in, &inlen) == 0, "tcp listener");
    int rcv_before = opt(l, SOL_SOCKET, SO_RCVBUF);
    /* unix */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    CHECK(strlen(test_tmp()) < 90, "tmp path too long");
    snprintf(un.sun_path, sizeof(un.sun_path), "%.90s/s.sock", test_tmp());
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(u, (void *)&un, sizeof(un)) == 0 && listen(u, 4) == 0, "unix listener");
    /* UDP */
    struct sockaddr_in uin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &uin.sin_addr);
    socklen_t uinlen = sizeof(uin);
    int d = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(bind(d, (void *)&uin, uinlen) == 0 && getsockname(d, (void *)&uin, &uinlen) == 0, "udp");
    /* epoll watching the listener */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) == 0, "epoll");

    const char *pol = write_policies("policies",
        "socket reopen listening=true\n"
        "socket reopen proto=udp local-addr=127.0.0.0/8\n"
        "epoll ignore\n");
    CHECK(crac_set_option("policies", pol) == 0, "set policies");
    crac_error *err = NULL;
    int rc = crac_checkpoint_restore(&err);
    if (rc < 0)
        free(show(err));
    CHECK(rc == 0 && crac_restore_count() == 1, "the checkpoint must go through");

    struct sockaddr_in now;
    socklen_t nowlen = sizeof(now);
    CHECK(getsockname(l, (void *)&now, &nowlen) == 0 && now.sin_port == in.sin_port, "same port");
    CHECK(opt(l, SOL_SOCKET, SO_ACCEPTCONN) == 1, "listening again");
    CHECK(opt(l, SOL_SOCKET, SO_REUSEADDR) == 1, "SO_REUSEADDR");
    CHECK(opt(l, IPPROTO_TCP, TCP_NODELAY) == 1, "TCP_NODELAY");
    CHECK(opt(l, SOL_SOCKET, SO_RCVBUF) == rcv_before, "SO_RCVBUF %d, want %d",
          opt(l, SOL_SOCKET, SO_RCVBUF), rcv_before);
    struct tcp_info ti;
    socklen_t tilen = sizeof(ti);
    CHECK(getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &tilen) == 0 && ti.tcpi_sacked == 9,
          "backlog %u, want 9", ti.tcpi_sacked);
    CHECK(fcntl(l, F_GETFL) & O_NONBLOCK, "O_NONBLOCK");
    CHECK(fcntl(l, F_GETFD) == FD_CLOEXEC, "close-on-exec");
    accepts(l, (void *)&in, inlen, "tcp");
    struct epoll_event got;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (void *)&in, inlen) == 0, "connect");
    CHECK(epoll_wait(ep, &got, 1, 5000) == 1 && got.data.u64 == 0x1234,
          "the epoll set must watch the reopened listener with its data");
    close(c);

    accepts(u, (void *)&un, sizeof(un), "unix");
    CHECK(fcntl(u, F_GETFD) == 0, "unix: no close-on-exec, as before");

    struct sockaddr_in unow;
    socklen_t unowlen = sizeof(unow);
    CHECK(getsockname(d, (void *)&unow, &unowlen) == 0 && unow.sin_port == uin.sin_port, "udp port");
    CHECK(sendto(d, "u", 1, 0, (void *)&uin, uinlen) == 1, "udp send");
    char b[2] = "";
    CHECK(recv(d, b, 1, 0) == 1 && b[0] == 'u', "udp receive");

    /* a connection cannot be reopened */
    c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (void *)&in, inlen) == 0, "connect");
    struct pollfd pf = {.fd = l, .events = POLLIN};
    while (poll(&pf, 1, 5000) == 1) {
        int a = accept(l, NULL, NULL); /* the epoll test's connection, then c's */
        CHECK(a >= 0, "accept");
        if (opt(a, SOL_SOCKET, SO_ERROR) == 0 && recv(a, b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
            errno == EAGAIN)
            break; /* alive: keep it */
        close(a);
    }
    pol = write_policies("policies2", "socket reopen family=inet\nepoll ignore\n");
    CHECK(crac_set_option("policies", pol) == 0, "set policies");
    CHECK(crac_checkpoint_restore(&err) < 0, "a connection cannot be reopened");
    free(show(err));
    char want[200];
    snprintf(want, sizeof(want), "[policy %s:1: only listening sockets", pol);
    EXPECT_FD(err, c, want);
    EXPECT_FD(err, c, "TCP/IPv4 socket, ESTABLISHED, local 127.0.0.1:");
    crac_error_free(err);
    printf("policy-reopen-socket: ok\n");
    return 0;
}
