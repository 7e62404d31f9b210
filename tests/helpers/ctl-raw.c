/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A raw control-socket client for tests: connects to SOCKET, sends stdin as
 * the request, half-closes, and copies the reply to stdout until the other
 * side closes.  Exit 0 when a reply (any) was read, 1 when it could not
 * connect.  Lets a test send what `crac` never would (bad requests), and
 * connect as another user.
 *
 *   printf 'crac-control 1\nrequest status\n\n' | ctl-raw SOCKET
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char buf[4096];
    ssize_t n;
    if (argc != 2 || strlen(argv[1]) >= sizeof(a.sun_path)) {
        fprintf(stderr, "usage: ctl-raw SOCKET\n");
        return 2;
    }
    strcpy(a.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror(argv[1]);
        return 1;
    }
    while ((n = read(0, buf, sizeof(buf))) > 0)
        if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    shutdown(fd, SHUT_WR);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, stdout);
    return 0;
}
