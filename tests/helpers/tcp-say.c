/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tcp-say: one request to a line protocol on 127.0.0.1, for the tests that
 * drive real servers whose clients are not in Debian (memcached, beanstalkd).
 *
 *   tcp-say [--timeout S] PORT TEXT [EXPECT]
 *
 * Sends TEXT (with \r, \n and \\ escapes) and reads the reply until it
 * contains EXPECT (when given) or the server closes the connection or the
 * timeout (default 5 s) passes.  Prints the reply.  Exit 0 when EXPECT was
 * found (or, without EXPECT, when anything came back), 1 otherwise, 2 on a
 * usage error.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static size_t unescape(const char *in, char *out)
{
    size_t n = 0;
    for (; *in; in++) {
        if (*in != '\\' || !in[1]) {
            out[n++] = *in;
            continue;
        }
        in++;
        out[n++] = *in == 'r' ? '\r' : *in == 'n' ? '\n' : *in;
    }
    return n;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    double timeout_s = 5;
    int i = 1;
    if (argc > 2 && !strcmp(argv[1], "--timeout")) {
        timeout_s = atof(argv[2]);
        i = 3;
    }
    if (argc - i < 2 || argc - i > 3 || atoi(argv[i]) <= 0) {
        fprintf(stderr, "usage: tcp-say [--timeout S] PORT TEXT [EXPECT]\n");
        return 2;
    }
    const char *expect = argc - i == 3 ? argv[i + 2] : NULL;
    static char req[1 << 16], reply[1 << 20];
    size_t len = unescape(argv[i + 1], req), got = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[i]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("tcp-say: connect");
        return 1;
    }
    if (write(fd, req, len) != (ssize_t)len) {
        perror("tcp-say: write");
        return 1;
    }
    long long deadline = now_ms() + (long long)(timeout_s * 1000);
    while (got < sizeof(reply) - 1 && !(expect && strstr(reply, expect))) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = read(fd, reply + got, sizeof(reply) - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        reply[got] = 0;
    }
    fputs(reply, stdout);
    close(fd);
    return expect ? !strstr(reply, expect) : got == 0;
}
