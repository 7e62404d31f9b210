/* SPDX-License-Identifier: Apache-2.0 */
/* native-fds pipe and socketpair: the bytes that were waiting, byte for
 * byte, datagram boundaries, sizes, flags, shutdowns.  Part of native-fds.c. */

/* Exactly `want` (len bytes) waiting at fd, then nothing. */
static void expect_bytes(int fd, const void *want, size_t len, const char *what)
{
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));
    EXPECT(n == (ssize_t)len && !memcmp(buf, want, len), "%s: read %zd bytes", what, n);
}

static int mode_pipe(void)
{
    static const char msg[] = "hello\0world\n";
    static char big[100000], back[100000];
    int p1[2], p2[2], p3[2], p4[2], n = 0;
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    if (pipe2(p1, O_CLOEXEC) || pipe(p2) || pipe2(p3, O_NONBLOCK) || pipe(p4))
        return 2;
    fcntl(p1[0], F_SETFL, O_NONBLOCK);       /* read end non-blocking, write end not */
    fcntl(p1[1], F_SETPIPE_SZ, 262144);
    fcntl(p2[1], F_SETFD, FD_CLOEXEC);       /* close-on-exec on one end only */
    fcntl(p3[1], F_SETPIPE_SZ, 131072);
    if (write(p1[1], msg, 12) != 12 || write(p3[1], big, sizeof(big)) != sizeof(big) ||
        write(p4[1], "eof-test", 8) != 8)
        return 2;
    close(p4[1]);                            /* a read end whose writers are gone */
    int d1 = dup(p1[0]);
    struct fdsnap snap;
    fd_snapshot(&snap);
    if (checkpoint())
        return 3;
    fd_compare(&snap);
    EXPECT(ioctl(p1[0], FIONREAD, &n) == 0 && n == 12, "p1: %d bytes waiting", n);
    EXPECT(fcntl(p1[0], F_GETPIPE_SZ) == 262144, "p1 size %d", fcntl(p1[0], F_GETPIPE_SZ));
    expect_bytes(d1, msg, 12, "p1 (through its dup)");
    EXPECT(ioctl(p2[0], FIONREAD, &n) == 0 && n == 0, "p2: %d bytes waiting", n);
    EXPECT(write(p2[1], "x", 1) == 1, "p2 write");
    expect_bytes(p2[0], "x", 1, "p2");
    EXPECT(fcntl(p3[0], F_GETPIPE_SZ) == 131072, "p3 size");
    size_t got = 0;
    for (ssize_t r; got < sizeof(back) && (r = read(p3[0], back + got, sizeof(back) - got)) > 0;)
        got += (size_t)r;
    EXPECT(got == sizeof(big) && !memcmp(big, back, got), "p3: %zu bytes back", got);
    expect_bytes(p4[0], "eof-test", 8, "p4");
    EXPECT(read(p4[0], back, 1) == 0, "p4: no EOF after the bytes");
    return 0;
}

static int mode_pairs(void)
{
    int s[2], d[2], q[2], e[2], sndbuf = 65536, before, after;
    socklen_t len = sizeof(after);
    char buf[64];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, d) ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, q) || socketpair(AF_UNIX, SOCK_STREAM, 0, e))
        return 2;
    setsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    getsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &before, &len);
    if (send(s[1], "abc", 3, 0) != 3 || send(s[0], "xyz123", 6, 0) != 6 ||
        send(d[1], "one", 3, 0) != 3 || send(d[1], "", 0, 0) != 0 || send(d[1], "three", 5, 0) != 5 ||
        send(q[0], "A", 1, 0) != 1 || send(q[0], "BB", 2, 0) != 2 || send(e[1], "last", 4, 0) != 4)
        return 2;
    shutdown(e[1], SHUT_WR);
    struct fdsnap snap;
    fd_snapshot(&snap);
    if (checkpoint())
        return 3;
    fd_compare(&snap);
    EXPECT(recv(s[0], buf, sizeof(buf), MSG_DONTWAIT) == 3 && !memcmp(buf, "abc", 3), "s[0]");
    EXPECT(recv(s[1], buf, sizeof(buf), MSG_DONTWAIT) == 6 && !memcmp(buf, "xyz123", 6), "s[1]");
    len = sizeof(after);
    EXPECT(getsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &after, &len) == 0 && after == before,
           "SO_SNDBUF %d, was %d", after, before);
    EXPECT(recv(d[0], buf, sizeof(buf), 0) == 3 && !memcmp(buf, "one", 3), "datagram 1");
    EXPECT(recv(d[0], buf, sizeof(buf), 0) == 0, "datagram 2 (empty)");
    EXPECT(recv(d[0], buf, sizeof(buf), 0) == 5 && !memcmp(buf, "three", 5), "datagram 3");
    EXPECT(recv(d[0], buf, sizeof(buf), 0) < 0 && errno == EAGAIN, "a fourth datagram");
    EXPECT(recv(q[1], buf, sizeof(buf), MSG_DONTWAIT) == 1 && buf[0] == 'A', "seqpacket 1");
    EXPECT(recv(q[1], buf, sizeof(buf), MSG_DONTWAIT) == 2 && !memcmp(buf, "BB", 2), "seqpacket 2");
    EXPECT(recv(e[0], buf, sizeof(buf), MSG_DONTWAIT) == 4 && !memcmp(buf, "last", 4), "shut-down pair");
    EXPECT(recv(e[0], buf, sizeof(buf), MSG_DONTWAIT) == 0, "no EOF after a shutdown");
    EXPECT(send(e[1], "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "sending after SHUT_WR");
    EXPECT(send(s[1], "new", 3, 0) == 3 && recv(s[0], buf, sizeof(buf), 0) == 3, "s goes on");
    return 0;
}
