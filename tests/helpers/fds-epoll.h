/* SPDX-License-Identifier: Apache-2.0 */
/* native-fds epoll: interest lists compared line by line in fdinfo, then
 * used: the right data word on the right event, EPOLLET edges,
 * EPOLLONESHOT armed and fired, MOD and DEL on restored entries, entries
 * under numbers the program closed or reused since, an epoll in an epoll.
 * Part of native-fds.c. */

/* "tfd events data" of every entry, sorted, as one string. */
static void epoll_list(int ep, char *out, size_t size)
{
    char path[64], line[256], items[64][64];
    int n = 0;
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f) && n < 64) {
        int tfd;
        unsigned ev;
        unsigned long long data;
        if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &ev, &data) == 3)
            snprintf(items[n++], sizeof(items[0]), "%d:%x:%llx ", tfd, ev, data);
    }
    if (f)
        fclose(f);
    qsort(items, (size_t)n, sizeof(items[0]), (int (*)(const void *, const void *))strcmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        strncat(out, items[i], size - strlen(out) - 1);
}

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        printf("setup: epoll_ctl ADD %d: %s\n", fd, strerror(errno));
}

/* What epoll_wait() says now: the data words, "" for nothing. */
static const char *ready(int ep)
{
    static char out[256];
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%llx", i ? "," : "",
                 (unsigned long long)ev[i].data.u64);
    return out;
}

static void poke(int efd)
{
    uint64_t one = 1;
    if (write(efd, &one, 8) != 8)
        printf("poke %d: %s\n", efd, strerror(errno));
}

static int mode_epoll(void)
{
    int p[2], sp[2], ev = eventfd(0, EFD_NONBLOCK), ev2 = eventfd(0, EFD_NONBLOCK);
    int ev3 = eventfd(0, EFD_NONBLOCK), a = eventfd(0, EFD_NONBLOCK), c = eventfd(0, EFD_NONBLOCK);
    int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = epoll_create1(0), b, dd;
    char list1[2048], list2[2048], now1[2048], now2[2048];
    if (pipe2(p, O_NONBLOCK) || socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
        return 2;
    add(ep, p[0], EPOLLIN | EPOLLET, 0x1111222233334444ULL);
    add(ep, ev, EPOLLIN, 0xdeadbeef);
    add(ep, ev2, EPOLLIN | EPOLLONESHOT, 0x42);
    add(ep, ev3, EPOLLIN | EPOLLONESHOT, 0x43);
    poke(ev3);
    EXPECT(!strcmp(ready(ep), "43"), "setup: the oneshot entry did not fire");
    add(ep, sp[0], EPOLLIN | EPOLLRDHUP, 7);
    add(ep, a, EPOLLIN, 0x99); /* then its number is closed: the file lives on as b */
    b = dup(a);
    close(a);
    add(ep, c, EPOLLIN, 0x100); /* its number then holds /dev/null: the file is dd */
    dd = dup(c);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, c);
    close(null);
    add(ep2, ev, EPOLLIN | EPOLLEXCLUSIVE, 5);
    add(ep2, ep, EPOLLIN, 6);
    epoll_list(ep, list1, sizeof(list1));
    epoll_list(ep2, list2, sizeof(list2));
    struct fdsnap snap;
    fd_snapshot(&snap);
    if (checkpoint())
        return 3;
    fd_compare(&snap);
    epoll_list(ep, now1, sizeof(now1));
    epoll_list(ep2, now2, sizeof(now2));
    EXPECT(!strcmp(list1, now1), "interest list\n  now %s\n  was %s", now1, list1);
    EXPECT(!strcmp(list2, now2), "nested interest list\n  now %s\n  was %s", now2, list2);
    /* ev3 is still readable, but its oneshot entry fired: nothing */
    EXPECT(!strcmp(ready(ep), ""), "ready at once: %s", ready(ep));
    EXPECT(write(p[1], "x", 1) == 1 && !strcmp(ready(ep2), "6"), "the nested epoll: %s", ready(ep2));
    EXPECT(!strcmp(ready(ep), "1111222233334444"), "pipe (ET)");
    EXPECT(!strcmp(ready(ep), ""), "an edge-triggered entry fired twice");
    poke(ev2);
    EXPECT(!strcmp(ready(ep), "42") && !strcmp(ready(ep), ""), "oneshot");
    struct epoll_event mod = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x44};
    EXPECT(epoll_ctl(ep, EPOLL_CTL_MOD, ev2, &mod) == 0, "MOD: %s", strerror(errno));
    EXPECT(!strcmp(ready(ep), "44"), "after MOD");
    EXPECT(epoll_ctl(ep, EPOLL_CTL_DEL, ev, NULL) == 0, "DEL: %s", strerror(errno));
    poke(b);
    EXPECT(!strcmp(ready(ep), "99"), "entry under a closed number");
    uint64_t v;
    EXPECT(read(b, &v, 8) == 8, "b");
    poke(dd);
    EXPECT(!strcmp(ready(ep), "100"), "entry under a reused number");
    EXPECT(read(dd, &v, 8) == 8, "dd");
    EXPECT(send(sp[1], "z", 1, 0) == 1 && !strcmp(ready(ep), "7"), "socket pair");
    return 0;
}
