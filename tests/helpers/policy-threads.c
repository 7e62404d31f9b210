/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A threaded server that knows nothing of its listening socket's fate: one
 * thread sits in accept() on it, answering "hello" to each client, and
 * gives up (exit 1, "ACCEPT FAILED") on any other error.  The main thread
 * checkpoints (CRAC_ENGINE=native, CRAC_POLICIES saying to reopen the
 * socket), prints "RESTORED" (or "CONTINUED" with keep_running=true), and
 * waits.  The accepting thread must find its socket open again when it
 * resumes, in the restored process and in the one that kept running.
 *   policy-threads PORT [poll]   (poll: the thread polls the socket every
 *                                 millisecond instead of blocking in accept)
 */
#include <arpa/inet.h>
#include <crac.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int lfd;
static int polling; /* "poll" mode: poll every millisecond, then accept */

static void *acceptor(void *arg)
{
    (void)arg;
    for (;;) {
        if (polling) {
            /* Busy with the descriptor all the time: any moment it is
             * closed shows (POLLNVAL). */
            struct pollfd p = {.fd = lfd, .events = POLLIN};
            if (poll(&p, 1, 1) < 0 && errno != EINTR)
                continue;
            if (p.revents & POLLNVAL) {
                printf("ACCEPT FAILED: the descriptor was closed under poll()\n");
                fflush(stdout);
                exit(1);
            }
            if (!(p.revents & POLLIN))
                continue;
        }
        int c = accept(lfd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            printf("ACCEPT FAILED: %s\n", strerror(errno));
            fflush(stdout);
            exit(1);
        }
        if (write(c, "hello\n", 6) != 6)
            perror("write");
        close(c);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    pthread_t t;
    crac_error *err = NULL;
    if (argc < 2)
        return 2;
    polling = argc > 2 && !strcmp(argv[2], "poll");
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 16) < 0) {
        perror("listen");
        return 1;
    }
    pthread_create(&t, NULL, acceptor, NULL);
    usleep(20000); /* the acceptor is blocked in accept() */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (crac_checkpoint_restore(&err) < 0) {
        char *s = crac_error_format(err);
        printf("CHECKPOINT FAILED\n%s", s);
        return 1;
    }
    /* keep_running=true: the same process goes on (restore count 0) */
    printf("%s\n", crac_restore_count() ? "RESTORED" : "CONTINUED");
    for (;;)
        pause();
}
