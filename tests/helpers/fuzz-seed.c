/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seed of the image fuzzer (fuzz/): a small process holding something
 * of every kind the image format records, so that mutations reach every
 * section: two more threads (one with an alternate signal stack), a signal
 * handler, descriptors of every kind (a file and its dup, a directory, a
 * device, a pipe and a stream and a datagram socket pair with bytes
 * waiting, TCP and UDP sockets, an eventfd, an armed timerfd, a signalfd,
 * an epoll watching some of them), a resource, a label.
 *
 *   fuzz-seed DIR     checkpoints itself into DIR with the native engine
 *                     and exits 0; restored, it checks its threads and
 *                     descriptors, prints "fuzz-seed: restored" and
 *                     exits 0 (1 when something is not as saved)
 */
#include <crac.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static volatile sig_atomic_t usr1;
static __thread long mark;

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

/* Waits for ever: parked at the checkpoint, recreated by the restore. */
static void *sleeper(void *arg)
{
    static char altstack[64 << 10];
    mark = (long)arg;
    if (arg == (void *)2) {
        stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
        sigaltstack(&ss, NULL);
    }
    pthread_mutex_lock(&mtx);
    for (;;)
        pthread_cond_wait(&cond, &mtx);
    return NULL;
}

static crac_error *noop(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    return NULL;
}

/* One descriptor of each kind; the epoll's number. */
static int open_descriptors(void)
{
    int p[2], sv[2], dg[2], ep = epoll_create1(EPOLL_CLOEXEC), ev = eventfd(3, EFD_NONBLOCK);
    int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET, SOCK_DGRAM, 0);
    int t = timerfd_create(CLOCK_MONOTONIC, 0), f = open("/etc/hostname", O_RDONLY);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct itimerspec its = {{3600, 0}, {3600, 0}};
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 7};
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ||
        socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) || ep < 0 || ev < 0 || tcp < 0 || udp < 0 ||
        t < 0 || f < 0 || write(p[1], "pipe", 4) != 4 || write(sv[0], "stream", 6) != 6 ||
        write(dg[0], "datagram", 8) != 8 || bind(tcp, (void *)&a, sizeof(a)) ||
        listen(tcp, 8) || timerfd_settime(t, 0, &its, NULL) || dup(f) < 0 ||
        open("/", O_RDONLY | O_DIRECTORY) < 0 || open("/dev/null", O_WRONLY) < 0 ||
        signalfd(-1, &m, 0) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) ||
        epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e))
        return -1;
    return ep;
}

int main(int argc, char **argv)
{
    static crac_resource res = {.name = "fuzz-seed", .before_checkpoint = noop,
                                .after_restore = noop};
    struct sigaction sa = {.sa_handler = on_usr1};
    pthread_t th[2];
    crac_error *err = NULL;
    int ep;
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-seed DIR\n");
        return 2;
    }
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    mark = 42;
    sigaction(SIGUSR1, &sa, NULL);
    if ((ep = open_descriptors()) < 0 || crac_context_register(crac_global_context(), &res) ||
        pthread_create(&th[0], NULL, sleeper, (void *)1) ||
        pthread_create(&th[1], NULL, sleeper, (void *)2)) {
        perror("fuzz-seed: setup");
        return 1;
    }
    crac_set_option("engine", "native");
    crac_set_option("checkpoint_to", argv[1]);
    crac_set_option("labels", "seed=fuzz,purpose=mutations");
    if (crac_checkpoint_restore(&err)) {
        fprintf(stderr, "fuzz-seed: %s\n", crac_error_message(err));
        return 1;
    }
    if (!crac_restore_count())
        return 0; /* the checkpoint: the image is written */
    struct epoll_event e;
    raise(SIGUSR1);
    if (mark != 42 || usr1 != 1 || epoll_wait(ep, &e, 1, 0) != 1 || e.data.u64 != 7) {
        printf("fuzz-seed: restored, but not as saved\n");
        return 1;
    }
    printf("fuzz-seed: restored\n");
    return 0;
}
