/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pager: the parent of a lazily restored process serves its memory.
 *   1. It receives the userfaultfd the child made (lazy.c) and, while the
 *      child stages and jumps, builds its tables at idle priority.
 *   2. When the blob has registered the regions at their final addresses
 *      it writes one byte; from then on a fault waits for the one run it
 *      touched (read, checked, copied), and two prefetch threads fill
 *      everything else in address order, 2 MiB at a time.
 *   3. When all of a process's memory is in, the pager unregisters it (the
 *      process holds a copy of the descriptor, so closing ours would not)
 *      and closes its descriptor: the memory is plain memory again.
 * The parent then goes on waiting for the child, as it does after an
 * eager restore.  Being the parent matters: the child's parent-death
 * signal ends it if the pager dies, so it cannot run on missing memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "restore/lazy.h"
#include "restore/pager_int.h"

#define P crac__pg

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Waits for one message from the child: its tag, and the descriptor sent
 * with 'U'.  The tag, or 0 when the child ended or closed first. */
static char receive(int sock, int *fd)
{
    char tag = 0;
    struct iovec iov = {&tag, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } c;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
                        .msg_controllen = sizeof(c.buf)};
    ssize_t n;
    *fd = -1;
    while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        return 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
            memcpy(fd, CMSG_DATA(cm), sizeof(*fd));
    return tag;
}

static int add_region(const struct crac_img *img, size_t i, uint64_t *pages)
{
    const struct crac_img_region *r = &img->regions[i];
    const struct crac_img_run *first = &img->runs[r->runs_first];
    const struct crac_img_run *last = &img->runs[r->runs_first + r->runs_count - 1];
    P.regions[P.nregions++] = (struct pg_region){r->start, r->end, first->addr,
                                                 last->addr + last->npages * PG_PAGE, *pages};
    for (uint64_t k = r->runs_first; k < r->runs_first + r->runs_count; k++)
        memset(P.init + *pages + (img->runs[k].addr - r->start) / PG_PAGE,
               P.hot[k] ? PS_DONE : PS_NEED, img->runs[k].npages);
    *pages += (r->end - r->start) / PG_PAGE;
    return 0;
}

/* Chunks of region g: whole runs spanning at most PG_CHUNK and read with
 * one pread (consecutive in the pages file); the first starts at the
 * region's start, each ends where the next starts, the last at its end. */
static void add_chunks(const struct crac_img *img, size_t i, uint32_t g)
{
    const struct crac_img_region *r = &img->regions[i];
    const struct crac_img_run *runs = img->runs;
    size_t k = r->runs_first, end = r->runs_first + r->runs_count;
    long first = P.nchunks;
    while (k < end) {
        size_t r0 = k++;
        while (k < end && runs[k].addr + runs[k].npages * PG_PAGE - runs[r0].addr <= PG_CHUNK &&
               runs[k - 1].file_off + runs[k - 1].npages * PG_PAGE == runs[k].file_off)
            k++;
        P.chunks[P.nchunks] = (struct pg_chunk){runs[r0].addr, 0, r0, k, g};
        if (P.nchunks > first)
            P.chunks[P.nchunks - 1].end = runs[r0].addr;
        P.nchunks++;
    }
    P.chunks[first].start = r->start;
    P.chunks[P.nchunks - 1].end = r->end;
}

static int build(const struct crac_img *img)
{
    uint64_t pages = 0;
    size_t n = 0;
    for (size_t i = 0; i < img->nregions; i++)
        if (crac__lazy_region(img, i)) {
            n++;
            pages += (img->regions[i].end - img->regions[i].start) / PG_PAGE;
        }
    P.regions = calloc(n + 1, sizeof(*P.regions));
    P.init = calloc(pages + 1, 1);
    P.chunks = calloc(img->nruns + 1, sizeof(*P.chunks));
    P.zero = aligned_alloc(PG_PAGE, PG_PAGE);
    P.hot = crac__lazy_hot_runs(img);
    if (!P.regions || !P.init || !P.chunks || !P.zero || !P.hot)
        return -1;
    memset(P.zero, 0, PG_PAGE);
    P.npages = pages;
    pages = 0;
    for (size_t i = 0; i < img->nregions; i++)
        if (crac__lazy_region(img, i)) {
            add_chunks(img, i, (uint32_t)P.nregions);
            add_region(img, i, &pages);
        }
    return 0;
}

/* /proc/PID/smaps: every mapping still registered ("um") is given back to
 * the kernel, those grown by mremap included.  From here: the ioctl acts
 * on the descriptor's process. */
static void unregister_all(struct pg_client *c)
{
    char path[64], line[512];
    unsigned long s = 0, e = 0;
    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)P.child);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        unsigned long a, b; /* "Anonymous:" starts like a hex number too */
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
            s = a;
            e = b;
            continue;
        }
        if (!strncmp(line, "VmFlags:", 8) && strstr(line, " um")) {
            struct uffdio_range r = {s, e - s};
            /* A fault in the range can still queue itself after the
             * unregistering's own wake (seen on 6.18: a fault taken under
             * the mapping's lock is not held off by mmap_lock), and no one
             * would answer it (the process holds its copy of the
             * descriptor): once the ioctl is back, wake the range again;
             * the fault retries on plain memory. */
            if (ioctl(c->uffd, UFFDIO_UNREGISTER, &r) == 0)
                ioctl(c->uffd, UFFDIO_WAKE, &r);
        }
    }
    fclose(f);
}

/* Events the kernel queued before the memory was unregistered: their
 * callers wait until someone reads them (a madvise would hang for good,
 * the process holding its copy of the descriptor).  A fork's child becomes
 * a client.  A fault read here is woken once more: on memory no longer
 * registered it retries as a plain fault. */
static int drain_events(struct pg_client *c)
{
    struct uffd_msg msgs[64];
    ssize_t r;
    int n = 0;
    while ((r = read(c->uffd, msgs, sizeof(msgs))) > 0)
        for (int j = 0; j < (int)(r / (ssize_t)sizeof(*msgs)); j++) {
            if (msgs[j].event == UFFD_EVENT_PAGEFAULT) {
                struct uffdio_range w = {msgs[j].arg.pagefault.address & ~(PG_PAGE - 1), PG_PAGE};
                ioctl(c->uffd, UFFDIO_WAKE, &w);
                continue;
            }
            crac__pg_event(c, &msgs[j]);
            n++;
        }
    return n;
}

/* A client all in, or gone: its memory becomes plain memory. */
static void release(struct pg_client *c)
{
    pthread_rwlock_wrlock(&c->lk); /* no fill in flight */
    /* Until a pass finds no event: an mremap between reading smaps and
     * unregistering moves a registered mapping where we did not look. */
    for (int pass = 0; c->root && atomic_load(&c->complete) && pass < 16; pass++) {
        unregister_all(c);
        if (!drain_events(c))
            break;
    }
    close(c->uffd);
    c->uffd = -1;
    pthread_rwlock_unlock(&c->lk);
    /* c stays allocated: a prefetcher may still look at it */
}

/* Drops finished clients; fills pf with the others.  How many. */
static int poll_set(struct pollfd *pf, struct pg_client **pc, int max)
{
    struct pg_client *done = NULL;
    int n = 0;
    pthread_mutex_lock(&P.mu);
    for (struct pg_client **pp = &P.clients; *pp;) {
        struct pg_client *c = *pp;
        if (atomic_load(&c->complete) || atomic_load(&c->dead)) {
            *pp = c->next;
            P.nclients--;
            if (c->root && !P.t_done)
                P.t_done = now_ns();
            c->next = done;
            done = c;
            continue;
        }
        if (n < max) {
            pf[n] = (struct pollfd){c->uffd, POLLIN, 0};
            pc[n++] = c;
        }
        pp = &c->next;
    }
    pthread_mutex_unlock(&P.mu);
    /* outside the lock: a fork read while draining adds a client */
    for (struct pg_client *c = done, *next; c; c = next) {
        next = c->next;
        release(c);
    }
    return n;
}

static void read_messages(struct pg_client *c, char *buf)
{
    struct uffd_msg msgs[64];
    pthread_rwlock_wrlock(&c->lk);
    ssize_t r = read(c->uffd, msgs, sizeof(msgs));
    int nm = r > 0 ? (int)(r / (ssize_t)sizeof(*msgs)) : 0;
    for (int j = 0; j < nm; j++)
        if (msgs[j].event != UFFD_EVENT_PAGEFAULT)
            crac__pg_event(c, &msgs[j]);
    pthread_rwlock_unlock(&c->lk);
    for (int j = 0; j < nm; j++)
        if (msgs[j].event == UFFD_EVENT_PAGEFAULT)
            crac__pg_fault(c, msgs[j].arg.pagefault.address,
                           !!(msgs[j].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE), buf);
    if (r < 0 && errno != EAGAIN && errno != EINTR)
        atomic_store(&c->dead, true);
}

/* The program ended: its children (forked while served) may still need us. */
static void root_gone(void)
{
    pthread_mutex_lock(&P.mu);
    for (struct pg_client *c = P.clients; c; c = c->next)
        if (c->root)
            atomic_store(&c->dead, true);
    pthread_mutex_unlock(&P.mu);
}

/* Room in the poll set for every client (a program that forks many
 * children while it is served has as many clients) and the pidfd. */
static bool poll_room(struct pollfd **pf, struct pg_client ***pc, int *cap)
{
    pthread_mutex_lock(&P.mu);
    int want = P.nclients + 2;
    pthread_mutex_unlock(&P.mu);
    if (want <= *cap)
        return true;
    struct pollfd *npf = realloc(*pf, (size_t)want * sizeof(**pf));
    if (npf)
        *pf = npf;
    struct pg_client **npc = realloc(*pc, (size_t)want * sizeof(**pc));
    if (npc)
        *pc = npc;
    if (!npf || !npc)
        return false;
    *cap = want;
    return true;
}

/* The fault thread: reads every client's messages until all are served. */
static void serve_loop(char *buf)
{
    struct pollfd *pf = NULL;
    struct pg_client **pc = NULL;
    int pidfd = P.pidfd, cap = 0;
    crac__pg_is_fault_thread = true;
    for (;;) {
        if (!poll_room(&pf, &pc, &cap) && cap < 2) {
            usleep(1000); /* out of memory: faults wait, nothing is dropped */
            continue;
        }
        int n = poll_set(pf, pc, cap - 1), nc = n;
        if (!n) {
            pthread_mutex_lock(&P.mu);
            n = P.nclients; /* a fork may have come with the last events */
            pthread_mutex_unlock(&P.mu);
            if (!n)
                break;
            continue;
        }
        if (pidfd >= 0)
            pf[n++] = (struct pollfd){pidfd, POLLIN, 0};
        if (poll(pf, (nfds_t)n, 50) < 0 && errno != EINTR)
            break;
        if (pidfd >= 0 && pf[nc].revents) {
            root_gone();
            pidfd = -1;
        }
        for (int i = 0; i < nc; i++)
            if (pf[i].revents)
                read_messages(pc[i], buf);
        while (P.npend > 0) { /* faults read while a fill drained events */
            struct pg_pend e = P.pend[--P.npend];
            crac__pg_fault(e.c, e.addr, e.write, buf);
        }
    }
    free(pf);
    free(pc);
}

/* The process blocks on memory only we can give it: the OOM killer should
 * take it rather than us (needs CAP_SYS_RESOURCE; without it nothing
 * changes).  The old value comes back once we are done. */
static int oom_protect(int old)
{
    char buf[16];
    int fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC), n, was = old;
    if (fd < 0)
        return old;
    if (old == INT_MIN && (n = (int)pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
        buf[n] = 0;
        was = atoi(buf);
    }
    n = snprintf(buf, sizeof(buf), "%d", old == INT_MIN ? -1000 : old);
    (void)!pwrite(fd, buf, (size_t)n, 0);
    close(fd);
    return was;
}

static void idle_priority(bool idle)
{
    struct sched_param sp = {0};
    sched_setscheduler(0, idle ? SCHED_IDLE : SCHED_OTHER, &sp);
}

static void report(void)
{
    if (!P.verbose)
        return;
    fprintf(stderr, "crac restore: pager: %.1f MiB copied, %.1f MiB zero-mapped in %.3f ms "
            "after the jump (%ld faults, %ld events, %ld forks)%s\n",
            atomic_load(&P.copied) * PG_PAGE / 1048576.0,
            atomic_load(&P.zeroed) * PG_PAGE / 1048576.0,
            P.t_done && P.t_go ? (P.t_done - P.t_go) / 1e6 : -1.0, atomic_load(&P.faults),
            atomic_load(&P.events), atomic_load(&P.forks),
            atomic_load(&P.bad) ? "; corrupted page data found" : "");
}

/* Waits for the blob's byte ('R': registered).  0, or -1 when the child
 * ended before (it failed, and says why itself). */
static int wait_registered(int sock)
{
    int fd;
    char tag = receive(sock, &fd);
    if (fd >= 0)
        close(fd);
    return tag == 'R' ? 0 : -1;
}

static void start_threads(pthread_t *th, int *n)
{
    for (*n = 0; *n < PG_THREADS; (*n)++) {
        char *buf = aligned_alloc(PG_PAGE, PG_BUF);
        if (!buf || pthread_create(&th[*n], NULL, crac__pg_prefetch, buf)) {
            free(buf);
            break;
        }
    }
}

/* The pager's state for this image and process.  0, or -1 (out of memory). */
static int setup(const struct crac_img *img, const struct crac__restore_opts *o, int uffd,
                 pid_t child)
{
    P.img = img;
    P.run_hashes = o->run_hashes;
    P.verbose = o->verbose;
    P.child = child;
    P.pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    pthread_mutex_init(&P.mu, NULL);
    pthread_cond_init(&P.cv, NULL);
    /* Without POISON (kernels before 6.6) a bad run's pages stay unserved:
     * the process is stopped all the same. */
    P.poison = true;
    return build(img) || !crac__pg_client_new(uffd, NULL) ? -1 : 0;
}

static void signal_all(atomic_int *flag)
{
    pthread_mutex_lock(&P.mu);
    atomic_store(flag, 1);
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
}

/* The parent waits on for as long as the program runs: give back what is
 * not needed any more (clients stay: a late prefetcher look). */
static void teardown(char *buf)
{
    if (P.pidfd >= 0)
        close(P.pidfd);
    free(buf);
    free(P.init);
    free(P.chunks);
    free(P.pend);
    free(P.hot);
    P.init = NULL;
    malloc_trim(0);
}

int crac__pager_serve(const struct crac_img *img, const struct crac__restore_opts *o,
                      struct crac__lazy *lz, pid_t child)
{
    int uffd, nthreads = 0, oom_was;
    pthread_t th[PG_THREADS];
    char *buf;
    close(lz->sock[1]);
    lz->sock[1] = -1;
    if (receive(lz->sock[0], &uffd) != 'U' || uffd < 0) { /* eager, or the child failed */
        crac__lazy_drop(lz);
        return 0;
    }
    /* The child stages and jumps meanwhile: our start-up must not take a
     * CPU from it. */
    idle_priority(true);
    oom_was = oom_protect(INT_MIN);
    buf = aligned_alloc(PG_PAGE, PG_BUF);
    if (!buf || setup(img, o, uffd, child)) {
        fprintf(stderr, "crac restore: out of memory for the pager: stopping the restored process\n");
        kill(child, SIGKILL);
        return -1;
    }
    idle_priority(false); /* before the threads: they would inherit it */
    start_threads(th, &nthreads);
    if (wait_registered(lz->sock[0]) == 0) {
        P.t_go = now_ns();
        signal_all(&P.go);
        serve_loop(buf);
    }
    signal_all(&P.quit);
    while (nthreads)
        pthread_join(th[--nthreads], NULL);
    if (P.go)
        report();
    else /* the child failed before its memory was registered */
        close(uffd);
    crac__lazy_drop(lz);
    oom_protect(oom_was);
    teardown(buf);
    return atomic_load(&P.bad) ? -1 : 0;
}

/* --pid new: this process becomes the restored one, so the pager must be
 * another's child: an intermediate process forks it and exits.  It leaves
 * the session (no signal from the terminal reaches it) and serves until
 * the process is all in or gone.  Without a parent-death signal to rely
 * on, a dead pager leaves the process waiting in a fault (killable), not
 * reading zeros: it holds its copy of the descriptor. */
int crac__pager_spawn(const struct crac_img *img, const struct crac__restore_opts *o,
                      struct crac__lazy *lz)
{
    static const int quiet[] = {SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE};
    pid_t self = getpid(), mid = fork();
    int status;
    if (mid < 0)
        return -1;
    if (mid == 0) {
        pid_t pager = fork();
        if (pager == 0) {
            int null = open("/dev/null", O_RDWR | O_CLOEXEC);
            setsid();
            for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
                signal(quiet[i], SIG_IGN);
            if (null >= 0) { /* a reader of the program's output sees its end */
                dup2(null, 0);
                dup2(null, 1);
            }
            _exit(crac__pager_serve(img, o, lz, self) < 0);
        }
        _exit(pager < 0);
    }
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
