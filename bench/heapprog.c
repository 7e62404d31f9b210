/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process bench/run.sh checkpoints and restores.
 *
 * It allocates N MiB on the heap, touches every page, fills about half of
 * the pages with data that no simple scheme could skip or compress and
 * leaves the other half all zero, then calls crac_checkpoint_restore().
 * After a restore its first act is to print the wall clock (the "first
 * instruction after the checkpoint call"), then it reads all of its memory
 * back, checking every word, and prints how long that took.
 *
 * With --threads N it also starts N threads in mixed states before the
 * checkpoint (the "8 threads" row): some computing, some blocked in
 * nanosleep, pthread_cond_wait, a contended mutex and poll.  They are
 * stopped, joined and their work checked after the read-back, so the time
 * to the mark includes bringing every thread back but not checking them.
 *
 * Everything it reports is a "key=value" line on stdout, written with
 * write(2) so nothing sits in a stdio buffer across the checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "crac.h"
#include "bench.h"

#define PAGE 4096UL
#define WORDS (PAGE / 8)

static const char usage[] =
    "usage: heapprog --mib N [--layout mixed|alternate|halves] [--threads N]\n"
    "                [--serve]\n"
    "\n"
    "Benchmark subject for bench/run.sh.  Allocates N MiB of heap, touches all\n"
    "of it, makes about half of the pages non-zero, then checkpoints itself with\n"
    "the engine configured by CRAC_ENGINE, CRAC_CHECKPOINT_TO and\n"
    "CRAC_ENGINE_OPTIONS (use keep_running=true to get the checkpoint time).\n"
    "\n"
    "layouts (where the zero pages are):\n"
    "  mixed      (default) a run of non-zero pages, then a zero run of the\n"
    "             same length (1 to 32 pages, from a fixed pseudo-random\n"
    "             sequence), and so on: half non-zero, but for a last run\n"
    "             cut short by the end of the block\n"
    "  alternate  every other page zero (the most fragmented image)\n"
    "  halves     first half non-zero, second half zero (one run)\n"
    "\n"
    "--threads N  start N more threads before the checkpoint (default 0), in\n"
    "             turn: computing, computing, nanosleep 1 ms, cond_wait,\n"
    "             poll 5 ms, a mutex the main thread holds across the\n"
    "             checkpoint, cond_wait, nanosleep 20 ms; after the read-back\n"
    "             they are stopped, joined and their results checked\n"
    "--serve      after a restore and its checks, stay up until killed (for\n"
    "             many instances at once)\n"
    "\n"
    "output, one key=value per line on stdout:\n"
    "  before the checkpoint: heap_bytes, heap_nonzero_bytes, proc_nonzero_bytes\n"
    "    (every non-zero page of the process the dumper should save),\n"
    "    readall_before_ns\n"
    "  after a kept-running checkpoint: ckpt_ns, ckpt_user_ns, ckpt_sys_ns\n"
    "    (the call's wall time, and the CPU time the process spent in it)\n"
    "  after a restore: mark (CLOCK_REALTIME ns, printed first), runq_wait_ns\n"
    "    (how long this thread's task had been ready to run but waiting for a\n"
    "    CPU, by /proc/thread-self/schedstat, since the task began), readall_ns,\n"
    "    threads_ns (stopping and joining the threads: 0 without --threads),\n"
    "    verify=ok (or verify=FAIL and exit status 1)\n";

/* One line, one write(2): unbuffered, so neither lost nor doubled across
 * the checkpoint, and the restored "mark" leaves the process at once. */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)!write(1, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static uint64_t tv_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000ULL + (uint64_t)tv.tv_usec * 1000ULL;
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Each non-zero page has its own odd seed s; word j is s * (j + 1), which is
 * never zero (an odd number times 1..512 modulo 2^64), differs from page to
 * page, and is cheap enough to check that reading memory back is measured
 * rather than the checking. */
static uint64_t page_seed(uint64_t p)
{
    return splitmix(p) | 1;
}

static enum { MIXED, ALTERNATE, HALVES } layout = MIXED;

/* nz[p] = 1 when page p holds data. */
static void plan(unsigned char *nz, uint64_t npages)
{
    uint64_t p = 0, r = 42;
    switch (layout) {
    case ALTERNATE:
        for (p = 0; p < npages; p++)
            nz[p] = !(p & 1);
        break;
    case HALVES:
        for (p = 0; p < npages; p++)
            nz[p] = p < npages / 2;
        break;
    case MIXED:
        /* a run of data, then a zero run of the same length: exactly half */
        while (p < npages) {
            r = splitmix(r);
            uint64_t len = 1ULL << (r % 6); /* 1, 2, 4, ..., 32 pages */
            for (int on = 1; on >= 0; on--)
                for (uint64_t k = 0; k < len && p < npages; k++)
                    nz[p++] = (unsigned char)on;
        }
        break;
    }
}

static void fill(uint64_t *mem, const unsigned char *nz, uint64_t npages)
{
    for (uint64_t p = 0; p < npages; p++) {
        uint64_t *w = mem + p * WORDS;
        if (!nz[p]) {
            w[0] = 0; /* a write fault: the page is really allocated */
            continue;
        }
        uint64_t s = page_seed(p);
        for (uint64_t j = 0; j < WORDS; j++)
            w[j] = s * (j + 1);
    }
}

/* Reads every word; returns the number of pages that differ from the plan. */
static uint64_t verify(const uint64_t *mem, const unsigned char *nz, uint64_t npages, uint64_t *sum)
{
    uint64_t bad = 0, total = 0;
    for (uint64_t p = 0; p < npages; p++) {
        const uint64_t *w = mem + p * WORDS;
        uint64_t diff = 0;
        if (nz[p]) {
            uint64_t s = page_seed(p);
            for (uint64_t j = 0; j < WORDS; j++) {
                diff |= w[j] ^ (s * (j + 1));
                total += w[j];
            }
        } else {
            for (uint64_t j = 0; j < WORDS; j++)
                diff |= w[j];
        }
        bad += diff != 0;
    }
    *sum = total;
    return bad;
}

/* What the dumper should save for the whole process (not only our heap):
 * present anonymous pages that are not all zero, and pages of private file
 * mappings that were written (anonymous copies over the file).  The image
 * is compared with this, so its metadata and any page saved needlessly
 * show up as the difference. */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61)

static int zero_page(const void *page)
{
    const uint64_t *w = page;
    uint64_t acc = 0;
    for (size_t i = 0; i < WORDS; i++)
        acc |= w[i];
    return acc == 0;
}

static uint64_t proc_nonzero_bytes(void)
{
    static char maps[1 << 20];
    static uint64_t pm[4096];
    uint64_t total = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    int pfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    ssize_t n;
    if (fd < 0 || pfd < 0)
        return 0;
    while (len < sizeof(maps) - 1 && (n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
        len += (size_t)n;
    maps[len] = 0;
    close(fd);
    for (char *line = maps, *next; *line; line = next) {
        unsigned long start, end, off, ino;
        char perms[8], dev[16], path[512] = "";
        next = strchr(line, '\n');
        next = next ? next + 1 : line + strlen(line);
        if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %511[^\n]", &start, &end, perms, &off, dev, &ino,
                   path) < 6)
            continue;
        char *name = path + strspn(path, " ");
        int file = name[0] == '/';
        if (perms[3] == 's' || perms[0] != 'r' || !strcmp(name, "[vvar]") ||
            !strcmp(name, "[vvar_vclock]") || !strcmp(name, "[vdso]") || !strcmp(name, "[vsyscall]"))
            continue;
        for (uint64_t a = start; a < end;) {
            uint64_t cnt = (end - a) / PAGE;
            if (cnt > sizeof(pm) / 8)
                cnt = sizeof(pm) / 8;
            if (pread(pfd, pm, cnt * 8, (off_t)(a / PAGE * 8)) != (ssize_t)(cnt * 8))
                break;
            for (uint64_t i = 0; i < cnt; i++, a += PAGE) {
                if (file)
                    total += (pm[i] & PM_SWAPPED) || ((pm[i] & PM_PRESENT) && !(pm[i] & PM_FILE)) ? PAGE : 0;
                else if ((pm[i] & (PM_PRESENT | PM_SWAPPED)) && !zero_page((const void *)a))
                    total += PAGE;
            }
        }
    }
    close(pfd);
    return total;
}

/* The second field of /proc/thread-self/schedstat: nanoseconds this task
 * spent runnable but waiting for a CPU.  After a restore the task is one
 * `crac restore` started, so this says how much of the time to the mark was
 * other threads (ours, once released, or anyone's) having the CPUs. */
static long long runq_wait_ns(void)
{
    char buf[128];
    unsigned long long run, wait;
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    return sscanf(buf, "%llu %llu", &run, &wait) == 2 ? (long long)wait : -1;
}

/* ---- --threads: a process whose other threads are in mixed states ---- */

#define MAX_THREADS 64
static pthread_t th[MAX_THREADS];
static int nthreads;
static atomic_int ready, stop;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER; /* main holds it across */
static pthread_mutex_t cmtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_flag;
/* computing threads: the number of steps and the value reached, which must
 * agree when main recomputes them; the others set done[i] */
static uint64_t steps[MAX_THREADS], value[MAX_THREADS];
static int done[MAX_THREADS];

static uint64_t lcg(uint64_t x)
{
    return x * 6364136223846793005ULL + 1442695040888963407ULL;
}

static void *compute(void *arg)
{
    int i = (int)(intptr_t)arg;
    uint64_t x = (uint64_t)i + 1, k = 0;
    atomic_fetch_add(&ready, 1);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        x = lcg(x);
        k++;
    }
    value[i] = x;
    steps[i] = k;
    return NULL;
}

static void *sleeper(void *arg)
{
    int i = (int)(intptr_t)arg;
    /* one short and one long sleeper: a restart of a call interrupted early
     * or late in its sleep */
    struct timespec ts = {0, (i % 8 == 2 ? 1 : 20) * 1000000L};
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&stop))
        nanosleep(&ts, NULL);
    done[i] = 1;
    return NULL;
}

static void *condwaiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    pthread_mutex_lock(&cmtx);
    atomic_fetch_add(&ready, 1);
    while (!cond_flag)
        pthread_cond_wait(&cond, &cmtx);
    pthread_mutex_unlock(&cmtx);
    done[i] = 1;
    return NULL;
}

static void *poller(void *arg)
{
    int i = (int)(intptr_t)arg;
    atomic_fetch_add(&ready, 1);
    while (!atomic_load(&stop))
        poll(NULL, 0, 5);
    done[i] = 1;
    return NULL;
}

static void *locker(void *arg)
{
    int i = (int)(intptr_t)arg;
    atomic_fetch_add(&ready, 1);
    pthread_mutex_lock(&held); /* blocks until main lets go after the restore */
    pthread_mutex_unlock(&held);
    done[i] = 1;
    return NULL;
}

static void *(*const kinds[8])(void *) = {compute, compute, sleeper, condwaiter,
                                          poller,  locker,  condwaiter, sleeper};

static int start_threads(int n)
{
    pthread_mutex_lock(&held);
    for (nthreads = 0; nthreads < n; nthreads++) {
        int e = pthread_create(&th[nthreads], NULL, kinds[nthreads % 8], (void *)(intptr_t)nthreads);
        if (e) {
            fprintf(stderr, "heapprog: pthread_create: %s\n", strerror(e));
            return -1;
        }
    }
    while (atomic_load(&ready) < n)
        usleep(1000);
    /* the computing threads well under way, the others in their calls */
    usleep(20000);
    return 0;
}

/* Wakes every thread, joins it and checks its work; returns how many are
 * wrong. */
static int stop_threads(void)
{
    int bad = 0;
    atomic_store(&stop, 1);
    pthread_mutex_lock(&cmtx);
    cond_flag = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&cmtx);
    pthread_mutex_unlock(&held);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_join(th[i], NULL)) {
            bad++;
            continue;
        }
        if (kinds[i % 8] == compute) {
            uint64_t x = (uint64_t)i + 1;
            for (uint64_t k = 0; k < steps[i]; k++)
                x = lcg(x);
            bad += steps[i] == 0 || x != value[i];
        } else {
            bad += !done[i];
        }
    }
    nthreads = 0;
    return bad;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"mib", required_argument, NULL, 'm'},
        {"layout", required_argument, NULL, 'l'},
        {"threads", required_argument, NULL, 't'},
        {"serve", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long mib = -1, nthr = 0;
    int c, serve = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            mib = strtol(optarg, NULL, 10);
            break;
        case 'l':
            if (!strcmp(optarg, "mixed"))
                layout = MIXED;
            else if (!strcmp(optarg, "alternate"))
                layout = ALTERNATE;
            else if (!strcmp(optarg, "halves"))
                layout = HALVES;
            else {
                fprintf(stderr, "heapprog: unknown layout '%s' (see --help)\n", optarg);
                return 2;
            }
            break;
        case 't':
            nthr = strtol(optarg, NULL, 10);
            break;
        case 's':
            serve = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (mib <= 0 || nthr < 0 || nthr > MAX_THREADS || optind != argc) {
        fputs(usage, stderr);
        return 2;
    }

    uint64_t bytes = (uint64_t)mib << 20, npages = bytes / PAGE;
    /* Heap memory as a program gets it (malloc), aligned to a page inside the
     * block so "half of the pages" is exact. */
    char *raw = malloc(bytes + PAGE);
    unsigned char *nz = malloc(npages);
    if (!raw || !nz) {
        fprintf(stderr, "heapprog: cannot allocate %ld MiB\n", mib);
        return 1;
    }
    uint64_t *mem = (uint64_t *)(((uintptr_t)raw + PAGE - 1) & ~(PAGE - 1));
    uint64_t nonzero = 0, sum, t;
    plan(nz, npages);
    for (uint64_t p = 0; p < npages; p++)
        nonzero += nz[p];
    fill(mem, nz, npages);

    t = now_ns(CLOCK_MONOTONIC);
    if (verify(mem, nz, npages, &sum)) {
        fprintf(stderr, "heapprog: pattern wrong before the checkpoint\n");
        return 1;
    }
    out("heap_bytes=%llu\nheap_nonzero_bytes=%llu\nreadall_before_ns=%llu\n",
        (unsigned long long)bytes, (unsigned long long)(nonzero * PAGE),
        (unsigned long long)(now_ns(CLOCK_MONOTONIC) - t));
    if (nthr && start_threads((int)nthr) < 0)
        return 1;
    out("proc_nonzero_bytes=%llu\n", (unsigned long long)proc_nonzero_bytes());

    crac_error *err = NULL;
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    t = now_ns(CLOCK_MONOTONIC);
    int rc = crac_checkpoint_restore(&err);
    uint64_t mark = now_ns(CLOCK_REALTIME);
    uint64_t t_after = now_ns(CLOCK_MONOTONIC);
    if (rc == 0 && crac_restore_count() > 0) {
        out("mark=%llu\nrunq_wait_ns=%lld\n", (unsigned long long)mark, runq_wait_ns());
        t = now_ns(CLOCK_MONOTONIC);
        uint64_t bad = verify(mem, nz, npages, &sum);
        uint64_t took = now_ns(CLOCK_MONOTONIC) - t;
        t = now_ns(CLOCK_MONOTONIC);
        int bad_threads = stop_threads();
        uint64_t took_threads = now_ns(CLOCK_MONOTONIC) - t;
        out("readall_ns=%llu\nthreads_ns=%llu\nsum=%llx\nverify=%s\n", (unsigned long long)took,
            (unsigned long long)took_threads, (unsigned long long)sum,
            bad || bad_threads ? "FAIL" : "ok");
        if (bad)
            fprintf(stderr, "heapprog: %llu pages differ after the restore\n", (unsigned long long)bad);
        if (bad_threads)
            fprintf(stderr, "heapprog: %d threads did not finish their work right\n", bad_threads);
        if (bad || bad_threads)
            return 1;
        /* an instance that stays up, as a service would: the driver
         * kills it */
        while (serve)
            pause();
        return 0;
    }
    if (rc != 0) {
        char *s = crac_error_format(err);
        fprintf(stderr, "heapprog: checkpoint failed:\n%s", s ? s : "?\n");
        free(s);
        crac_error_free(err);
        return 1;
    }
    /* keep_running=true: the image is complete and synced.  CPU time spent
     * in the call (all threads) against its wall time says how much of a
     * checkpoint is waiting for the disk. */
    getrusage(RUSAGE_SELF, &ru1);
    out("ckpt_ns=%llu\nckpt_user_ns=%llu\nckpt_sys_ns=%llu\n", (unsigned long long)(t_after - t),
        (unsigned long long)(tv_ns(ru1.ru_utime) - tv_ns(ru0.ru_utime)),
        (unsigned long long)(tv_ns(ru1.ru_stime) - tv_ns(ru0.ru_stime)));
    return 0;
}
