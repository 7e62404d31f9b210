/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A threaded server that knows nothing of its listening socket's fate: one
 * thread sits in accept() on it, answering "hello" to each client, and
 * gives up (exit 1, "ACCEPT FAILED") on any other error.  The main thread
 * checkpoints (CRAC_ENGINE=native, CRAC_POLICIES saying to reopen the
 * socket), prints "RESTORED", and waits.  After a restore, the accepting
 * thread must find its socket open again when it resumes.
 *   policy-threads PORT
 */
#include <arpa/inet.h>
#include <crac.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int lfd;

static void *acceptor(void *arg)
{
    (void)arg;
    for (;;) {
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
    if (argc != 2)
        return 2;
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
    printf("RESTORED\n");
    for (;;)
        pause();
}
