/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test program for policies with the native engine (tests/native-policy.sh):
 *
 *   policy-state reopen   holds a data file at offset 3, a log file, a
 *                         listening TCP socket and a listening unix socket;
 *                         checkpoints (the policies, from CRAC_POLICIES,
 *                         reopen the data file and the sockets and close the
 *                         log); after the restore checks every descriptor:
 *                         same numbers, offset, accepting connections, the
 *                         log closed (POLICY_STATE_DATA=closed: the data
 *                         file too, by a rule given at restore).  "RESTORED
 *                         OK", exit 0; a restore error is printed, exit 4.
 *   policy-state ignore   holds a file the policies `ignore`: the native
 *                         engine must refuse, naming why; exits 3.
 */
#include <arpa/inet.h>
#include <crac.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "expect.h"

static int checkpoint(void)
{
    crac_error *err = NULL;
    if (crac_checkpoint_restore(&err) < 0) {
        char *s = crac_error_format(err);
        printf("%s\n%s", crac_error_is_restore(err) ? "RESTORE FAILED" : "CHECKPOINT FAILED", s);
        int restore = crac_error_is_restore(err);
        free(s);
        crac_error_free(err);
        return restore ? 4 : 3;
    }
    return 0;
}

static int accepts(int l, const struct sockaddr *to, socklen_t len)
{
    int c = socket(to->sa_family, SOCK_STREAM, 0), a = -1;
    struct pollfd p = {.fd = l, .events = POLLIN};
    if (connect(c, to, len) == 0 && poll(&p, 1, 5000) == 1)
        a = accept(l, NULL, NULL);
    int ok = a >= 0 && write(c, "x", 1) == 1;
    char b = 0;
    ok = ok && read(a, &b, 1) == 1 && b == 'x';
    close(a);
    close(c);
    return ok;
}

static int mode_reopen(const char *tmp)
{
    char data[4096], log[4096];
    snprintf(data, sizeof(data), "%s/data", tmp);
    snprintf(log, sizeof(log), "%s/out.log", tmp);
    int f = open(data, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int g = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (f < 0 || g < 0 || write(f, "abcdef", 6) != 6 || lseek(f, 3, SEEK_SET) != 3)
        return 1;
    int one = 1;
    struct sockaddr_in in = {.sin_family = AF_INET};
    socklen_t inlen = sizeof(in);
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(l, (void *)&in, inlen) < 0 || listen(l, 8) < 0 || getsockname(l, (void *)&in, &inlen) < 0)
        return 1;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "%.90s/u.sock", tmp);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(u, (void *)&un, sizeof(un)) < 0 || listen(u, 4) < 0)
        return 1;
    printf("HOLDING fds %d %d %d %d, port %d\n", f, g, l, u, ntohs(in.sin_port));
    int rc = checkpoint();
    if (rc)
        return rc;
    char buf[16] = "";
    const char *want = getenv("POLICY_STATE_DATA"); /* "closed": by a rule given at restore */
    if (want && !strcmp(want, "closed")) {
        EXPECT(fcntl(f, F_GETFD) < 0 && errno == EBADF, "the data file must stay closed");
    } else {
        EXPECT(lseek(f, 0, SEEK_CUR) == 3, "data offset %lld", (long long)lseek(f, 0, SEEK_CUR));
        EXPECT(write(f, "X", 1) == 1 && pread(f, buf, sizeof(buf) - 1, 0) == 6 && !strcmp(buf, "abcXef"),
               "data '%s'", buf);
    }
    EXPECT(fcntl(g, F_GETFD) < 0 && errno == EBADF, "the log must be closed");
    EXPECT(fcntl(l, F_GETFD) == FD_CLOEXEC, "listener close-on-exec");
    EXPECT(accepts(l, (void *)&in, inlen), "TCP listener on port %d accepts", ntohs(in.sin_port));
    EXPECT(accepts(u, (void *)&un, sizeof(un)), "unix listener %s accepts", un.sun_path);
    if (failures)
        return 1;
    printf("RESTORED OK (pid %d)\n", (int)getpid());
    return 0;
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("CRAC_TEST_TMP") ? getenv("CRAC_TEST_TMP") : "/tmp";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "reopen"))
        return mode_reopen(tmp);
    if (argc >= 2 && !strcmp(argv[1], "ignore")) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/kept", tmp);
        if (open(p, O_RDWR | O_CREAT, 0600) < 0)
            return 1;
        return checkpoint() == 3 ? 3 : 1;
    }
    fprintf(stderr, "usage: policy-state reopen|ignore\n");
    return 2;
}
