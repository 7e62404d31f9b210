/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test program for lazy restore (tests/lazy-*.sh): memory the pager has not
 * filled yet must behave exactly as memory read before the jump.
 *
 * It fills 96 MiB of anonymous memory and 16 MiB of malloc'd heap, about
 * half of the pages with data (each page its own words) and half zero, in
 * runs of 1 to 32 pages, so that the image has runs and gaps of every
 * size; checkpoints itself; and after the restore runs the check named on
 * its command line at once, while the pager is still at work, on pages
 * near the end of the big region: the prefetchers go in address order
 * (the heap first), so those are the last they reach.  Before it acts, a
 * check prints "UNSERVED <check> N/M": N of the M pages it acts on were
 * not filled yet (0: it ran on memory already in, and proved nothing
 * about lazy memory).  Then every page is verified, at once and again
 * once the pager is done (pages a check left unread until then show a
 * fill that wrongly overrode the program's change).  "LAZY OK" and exit
 * 0, or a MISMATCH line for each difference and exit 1.
 *
 *   lazy-mem none              verify only
 *   lazy-mem dontneed          MADV_DONTNEED (libc) on 4 MiB: zeros, the
 *                              neighbours intact, a write sticks
 *   lazy-mem dontneed-syscall  the same by syscall(SYS_madvise)
 *   lazy-mem free              MADV_FREE: each page its data or zero; a
 *                              write sticks
 *   lazy-mem mprotect          PROT_NONE, then PROT_READ at once on half,
 *                              after the pager is done on the other half
 *   lazy-mem mremap            8 MiB moved (MREMAP_FIXED) and grown to 12:
 *                              its bytes at the new place, the tail zero
 *   lazy-mem munmap            2 MiB unmapped and mapped anew, 2 MiB
 *                              mapped over with MAP_FIXED: zeros; 2 MiB
 *                              unmapped, and 2 MiB from elsewhere moved
 *                              there (mremap): their own bytes
 *   lazy-mem fork              the child sees all memory, its DONTNEED
 *                              and writes are its own ("CHILD OK")
 *   lazy-mem forks             300 children at once, each reads a page
 *                              not filled yet and exits
 *   lazy-mem kernel            read(2) into and write(2) from unfilled
 *                              pages (the kernel's faults, not the
 *                              program's)
 *   lazy-mem race              MADV_DONTNEED, 64 KiB at a time, just where
 *                              the prefetchers are filling, until they are
 *                              done: a fill that looked at a page before
 *                              the event must not put its bytes back
 *   lazy-mem threads           four threads (started before the checkpoint)
 *                              read a quarter of the big region each at
 *                              once: faults from all of them together
 *   lazy-mem again DIR2        drops and writes a few pages, checkpoints
 *                              again into DIR2 at once (exits 0); after
 *                              that image's restore, verifies
 *   lazy-mem hold FILE         waits (touching nothing) until FILE exists,
 *                              then reports and verifies all memory
 *   lazy-mem fork-hold FILE    forks at once ("FORKED"), then both do as
 *                              hold does; the child says "CHILD OK"
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "expect.h"
#include "lazyutil.h"

#define PAGE LZ_PAGE
#define WORDS (PAGE / 8)
#define BIG_PAGES ((96UL << 20) / PAGE)
#define HEAP_PAGES ((16UL << 20) / PAGE)
#define TAIL_PAGES ((4UL << 20) / PAGE)
/* Where the checks act, in pages of the big region: its last 6 MiB, the
 * last the prefetchers fill.  The last 2 MiB stay as neighbours. */
#define R0 (BIG_PAGES - 1536)
#define R1 (BIG_PAGES - 512)
#define RH ((R0 + R1) / 2)
/* mremap moves 8 MiB from here; munmap moves 2 MiB from F into R's first
 * half and replaces 2 MiB at G with MAP_FIXED. */
#define M0 (BIG_PAGES - 3072)
#define M1 (BIG_PAGES - 1024)
#define F0 (BIG_PAGES - 4096)
#define F1 (BIG_PAGES - 3584)
#define G0 (BIG_PAGES - 5120)
#define G1 (BIG_PAGES - 4608)

/* What a page must hold (low bits), and when it may be read. */
enum {
    X_DATA = 0,   /* as saved: its data, or zero where it was zero */
    X_ZERO = 1,   /* zero */
    X_MARK = 2,   /* written after the restore: every word inverted data */
    X_EITHER = 3, /* its data or zero (MADV_FREE) */
    X_KIND = 0x3f,
    X_AWAY = 0x40, /* not here: moved away (checked at its new place), or
                    * unmapped and something else moved in */
    X_LATE = 0x80, /* read only once the pager is done */
};

struct area {
    const char *name;
    char *base;
    size_t n;
    uint64_t salt;
    unsigned char *nz; /* 1: the page holds data */
    unsigned char *ov; /* X_*: what it must hold now */
};

static unsigned char big_nz[BIG_PAGES], big_ov[BIG_PAGES], heap_nz[HEAP_PAGES],
    heap_ov[HEAP_PAGES], tail_nz[TAIL_PAGES], tail_ov[TAIL_PAGES];
static struct area big = {"big region", NULL, BIG_PAGES, 0xb16, big_nz, big_ov};
static struct area heap = {"heap", NULL, HEAP_PAGES, 0x4ea9, heap_nz, heap_ov};
/* Pages [p0, p1) of big moved to `to` by mremap (X_AWAY in big). */
static struct {
    char *to;
    size_t p0, p1;
} moves[2];
static int nmoves;
/* mremap's grown tail */
static struct area tail = {"grown tail", NULL, 0, 0x7a11, tail_nz, tail_ov};

/* Bytes the kernel wrote into big (read(2) from a pipe): byte i of each is
 * patch_byte(i). */
static struct {
    size_t off, len;
} patches[4];
static int npatches;

static unsigned char patch_byte(size_t i)
{
    return (unsigned char)(i * 131 + 7);
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A run of data pages, then a zero run as long (1, 2, 4 ... 32 pages). */
static void plan(unsigned char *nz, size_t n, uint64_t r)
{
    for (size_t p = 0; p < n;) {
        r = splitmix(r);
        size_t len = 1UL << (r % 6);
        for (int on = 1; on >= 0; on--)
            for (size_t k = 0; k < len && p < n; k++)
                nz[p++] = (unsigned char)on;
    }
}

/* Word j of data page p: odd seed times (j + 1), never zero. */
static void data_page(const struct area *a, size_t p, uint64_t *w)
{
    uint64_t s = splitmix(p ^ (a->salt << 32)) | 1;
    for (size_t j = 0; j < WORDS; j++)
        w[j] = s * (j + 1);
}

static char *page(const struct area *a, size_t p)
{
    return a->base + p * PAGE;
}

/* What page p holds when its kind is `kind`, with the kernel's bytes. */
static void expected(const struct area *a, size_t p, int kind, uint64_t *w)
{
    if (kind == X_ZERO || (kind != X_MARK && !a->nz[p]))
        memset(w, 0, PAGE);
    else
        data_page(a, p, w);
    if (kind == X_MARK)
        for (size_t j = 0; j < WORDS; j++)
            w[j] = ~w[j];
    for (int i = 0; a == &big && i < npatches; i++) {
        size_t s = p * PAGE, e = s + PAGE;
        size_t ps = patches[i].off, pe = ps + patches[i].len;
        for (size_t x = ps > s ? ps : s; x < (pe < e ? pe : e); x++)
            ((unsigned char *)w)[x - s] = patch_byte(x - ps);
    }
}

static void fill(const struct area *a)
{
    for (size_t p = 0; p < a->n; p++)
        expected(a, p, X_DATA, (uint64_t *)page(a, p));
}

enum { V_LATE = 1, V_AWAY = 2 };

/* Pages [p0, p1) of a at base (a->base, or where mremap moved them).
 * V_LATE: those marked X_LATE too; V_AWAY: only those moved away. */
static void verify(const struct area *a, const char *base, size_t p0, size_t p1, int how)
{
    static int printed; /* (threads verify at once: counted atomically) */
    uint64_t want[WORDS];
    for (size_t p = p0; p < p1; p++) {
        int kind = a->ov[p] & X_KIND;
        const char *got = base + (p - p0) * PAGE;
        bool ok;
        if (!(a->ov[p] & X_AWAY) != !(how & V_AWAY) || ((a->ov[p] & X_LATE) && !(how & V_LATE)))
            continue;
        expected(a, p, kind == X_EITHER ? X_DATA : kind, want);
        ok = !memcmp(got, want, PAGE);
        if (!ok && kind == X_EITHER) {
            expected(a, p, X_ZERO, want);
            ok = !memcmp(got, want, PAGE);
        }
        if (ok)
            continue;
        __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
        size_t j = 0; /* the first word that differs (from what X_EITHER wants last) */
        while (j < WORDS - 1 && ((const uint64_t *)got)[j] == want[j])
            j++;
        if (__atomic_fetch_add(&printed, 1, __ATOMIC_RELAXED) < 20)
            printf("MISMATCH %s page %zu (%p, %s%s): word %zu is %#llx, want %#llx\n", a->name,
                   p, (const void *)got, kind == X_ZERO ? "zero" : kind == X_MARK ? "written" :
                   kind == X_EITHER ? "data or zero" : a->nz[p] ? "data" : "zero page",
                   (how & V_LATE) ? ", after the pager" : "", j,
                   (unsigned long long)((const uint64_t *)got)[j], (unsigned long long)want[j]);
    }
}

static void set(const struct area *a, size_t p0, size_t p1, int ov)
{
    memset(a->ov + p0, ov, p1 - p0);
}

/* A write after the restore: the page is the program's now. */
static void write_mark(const struct area *a, size_t p)
{
    a->ov[p] = X_MARK;
    expected(a, p, X_MARK, (uint64_t *)page(a, p));
}

static void unserved(const char *check, const struct area *a, size_t p0, size_t p1)
{
    printf("UNSERVED %s %zu/%zu\n", check, lazy_unserved(page(a, p0), p1 - p0), p1 - p0);
}

/* Everything, at once; then again once the pager is done. */
static int verify_all(const char *who)
{
    for (int late = 0; late <= V_LATE; late++) {
        if (late)
            EXPECT(lazy_wait_pager(15000) == 0, "the pager still serves after 15 s");
        verify(&big, big.base, 0, BIG_PAGES, late);
        verify(&heap, heap.base, 0, HEAP_PAGES, late);
        for (int i = 0; i < nmoves; i++)
            verify(&big, moves[i].to, moves[i].p0, moves[i].p1, late | V_AWAY);
        verify(&tail, tail.base, 0, tail.n, late);
    }
    printf("%s %s\n", who, failures ? "FAILED" : "OK");
    return failures ? 1 : 0;
}

static int sys_madvise(void *addr, size_t len, int advice)
{
    return (int)syscall(SYS_madvise, addr, len, advice);
}

/* Big's pages [p0, p1) moved to `to` (mremap MREMAP_FIXED) and grown by
 * `grow` pages; the first half is read at once, the rest once the pager is
 * done.  The new place, or NULL. */
static char *move(size_t p0, size_t p1, char *to, size_t grow)
{
    size_t len = (p1 - p0) * PAGE, mid = (p0 + p1) / 2;
    char *at = mremap(page(&big, p0), len, len + grow * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    if (at == MAP_FAILED) {
        EXPECT(at != MAP_FAILED, "mremap: %s", strerror(errno));
        return NULL;
    }
    moves[nmoves].to = at;
    moves[nmoves].p0 = p0;
    moves[nmoves++].p1 = p1;
    set(&big, p0, mid, X_AWAY);
    set(&big, mid, p1, X_AWAY | X_LATE);
    verify(&big, at, p0, p1, V_AWAY);
    verify(&big, page(&big, p0 - 1), p0 - 1, p0, 0);
    verify(&big, page(&big, p1), p1, p1 + 1, 0);
    return at;
}

/* dontneed, dontneed-syscall, free: the range's first half is read at
 * once, the second only after the pager is done. */
static void check_advise(const char *check, int (*adv)(void *, size_t, int), int advice)
{
    int kind = advice == MADV_FREE ? X_EITHER : X_ZERO;
    unserved(check, &big, R0, R1);
    EXPECT(adv(page(&big, R0), (R1 - R0) * PAGE, advice) == 0, "%s", strerror(errno));
    set(&big, R0, RH, kind);
    set(&big, RH, R1, kind | X_LATE);
    verify(&big, page(&big, R0 - 1), R0 - 1, RH, 0);
    verify(&big, page(&big, R1), R1, R1 + 1, 0);
    write_mark(&big, R1 - 3);
    verify(&big, page(&big, R1 - 3), R1 - 3, R1 - 2, 0);
}

static void check_mprotect(void)
{
    unserved("mprotect", &big, R0, R1);
    EXPECT(mprotect(page(&big, R0), (R1 - R0) * PAGE, PROT_NONE) == 0, "%s", strerror(errno));
    EXPECT(mprotect(page(&big, R0), (RH - R0) * PAGE, PROT_READ) == 0, "%s", strerror(errno));
    verify(&big, page(&big, R0), R0, RH, 0);
    /* The prefetchers meet memory the program cannot read at all. */
    EXPECT(lazy_wait_pager(15000) == 0, "the pager still serves after 15 s");
    EXPECT(mprotect(page(&big, RH), (R1 - RH) * PAGE, PROT_READ) == 0, "%s", strerror(errno));
    verify(&big, page(&big, RH), RH, R1, 0);
}

static void check_mremap(void)
{
    size_t len = (M1 - M0) * PAGE;
    char *spot = mmap(NULL, len + 2 * TAIL_PAGES * PAGE, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), *moved;
    unserved("mremap", &big, M0, M1);
    if (spot == MAP_FAILED) {
        EXPECT(spot != MAP_FAILED, "%s", strerror(errno));
        return;
    }
    if (!(moved = move(M0, M1, spot, TAIL_PAGES)))
        return;
    /* The tail: memory the image never had, zero; a write sticks. */
    tail.base = moved + len;
    tail.n = TAIL_PAGES;
    set(&tail, TAIL_PAGES / 2, TAIL_PAGES, X_LATE);
    verify(&tail, tail.base, 0, TAIL_PAGES / 2, 0);
    write_mark(&tail, TAIL_PAGES - 5);
}

static void check_munmap(void)
{
    size_t len = (R1 - RH) * PAGE;
    unserved("munmap", &big, R0, R1);
    /* Unmapped, and mapped anew: zeros. */
    EXPECT(munmap(page(&big, RH), len) == 0, "%s", strerror(errno));
    EXPECT(mmap(page(&big, RH), len, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == page(&big, RH),
           "%s", strerror(errno));
    set(&big, RH, (RH + R1) / 2, X_ZERO);
    set(&big, (RH + R1) / 2, R1, X_ZERO | X_LATE);
    verify(&big, page(&big, RH), RH, (RH + R1) / 2, 0);
    verify(&big, page(&big, R1), R1, R1 + 1, 0);
    write_mark(&big, R1 - 3);
    /* Unmapped, and other lazy memory moved there (as mremap without
     * MREMAP_FIXED may do): its own bytes, not those that were unmapped. */
    EXPECT(munmap(page(&big, R0), (RH - R0) * PAGE) == 0, "%s", strerror(errno));
    set(&big, R0, RH, X_AWAY);
    unserved("munmap-move", &big, F0, F1);
    move(F0, F1, page(&big, R0), 0);
    /* mmap over it with no munmap first: the kernel unmaps it itself. */
    unserved("map-fixed", &big, G0, G1);
    EXPECT(mmap(page(&big, G0), (G1 - G0) * PAGE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == page(&big, G0),
           "%s", strerror(errno));
    set(&big, G0, G1, X_ZERO | X_LATE);
    verify(&big, page(&big, G0 - 1), G0 - 1, G0, 0);
    verify(&big, page(&big, G1), G1, G1 + 1, 0);
}

static void check_fork(void)
{
    int pfd[2], status = 0;
    char c;
    pid_t pid;
    unserved("fork", &big, R0, R1);
    EXPECT(pipe(pfd) == 0, "%s", strerror(errno));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        EXPECT(madvise(page(&big, R0), (R1 - R0) * PAGE, MADV_DONTNEED) == 0, "%s",
               strerror(errno));
        set(&big, R0, R1, X_ZERO);
        write_mark(&big, R1 - 3);
        EXPECT(write(pfd[1], "d", 1) == 1, "%s", strerror(errno));
        verify(&big, page(&big, R0), R0, R1, 0);
        fflush(stdout);
        _exit(verify_all("CHILD"));
    }
    close(pfd[1]);
    EXPECT(pid > 0, "fork: %s", strerror(errno));
    /* Once the child dropped and wrote its pages: ours are as they were. */
    EXPECT(read(pfd[0], &c, 1) == 1, "the child did not get as far as its DONTNEED");
    verify(&big, page(&big, R0), R0, R1, 0);
    EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "the child's status %#x", status);
    close(pfd[0]);
}

/* Many children at once, each a client of its own for the pager (more
 * than it once could poll): each reads a page not filled yet and exits. */
static void check_forks(void)
{
    enum { NFORKS = 300 };
    static pid_t pids[NFORKS];
    int bad = 0, status;
    unserved("forks", &big, R0, R1);
    fflush(stdout);
    for (int i = 0; i < NFORKS; i++) {
        size_t p = R0 + (size_t)i * 3 % (R1 - R0);
        if ((pids[i] = fork()) == 0) {
            verify(&big, page(&big, p), p, p + 1, 0);
            fflush(stdout);
            _exit(failures ? 1 : 0);
        }
        EXPECT(pids[i] > 0, "fork %d: %s", i, strerror(errno));
    }
    for (int i = 0; i < NFORKS; i++)
        if (pids[i] > 0 && (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
                            WEXITSTATUS(status) != 0))
            bad++;
    EXPECT(bad == 0, "%d of %d children read a wrong page", bad, NFORKS);
}

/* Kernel-mode faults: the kernel copies to and from memory the pager has
 * not filled (read(2), write(2)): it waits for the pager as the program
 * does, and a partial write into a data page keeps the rest of the page. */
static void check_kernel(void)
{
    static unsigned char in[16384], out[16384], want[16384 + 2 * PAGE];
    size_t a = R1 - 1, span = R0 * PAGE + 2000, from = RH * PAGE + 300;
    int pfd[2];
    unserved("kernel", &big, R0, R1);
    while (!big.nz[a])
        a--;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = patch_byte(i);
    EXPECT(pipe(pfd) == 0, "%s", strerror(errno));
    /* 100 bytes into the middle of a data page */
    EXPECT(write(pfd[1], in, 100) == 100, "%s", strerror(errno));
    EXPECT(read(pfd[0], page(&big, a) + 1000, 100) == 100, "%s", strerror(errno));
    patches[npatches].off = a * PAGE + 1000;
    patches[npatches++].len = 100;
    verify(&big, page(&big, a), a, a + 1, 0);
    /* 16 KiB over five pages, from inside the first */
    EXPECT(write(pfd[1], in, sizeof(in)) == (ssize_t)sizeof(in), "%s", strerror(errno));
    EXPECT(read(pfd[0], big.base + span, sizeof(in)) == (ssize_t)sizeof(in), "%s",
           strerror(errno));
    patches[npatches].off = span;
    patches[npatches++].len = sizeof(in);
    verify(&big, page(&big, R0), R0, R0 + 5, 0);
    /* and 16 KiB out of memory not read yet, into the pipe */
    EXPECT(write(pfd[1], big.base + from, sizeof(out)) == (ssize_t)sizeof(out), "%s",
           strerror(errno));
    EXPECT(read(pfd[0], out, sizeof(out)) == (ssize_t)sizeof(out), "%s", strerror(errno));
    for (size_t p = 0; p * PAGE < sizeof(want); p++)
        expected(&big, RH + p, X_DATA, (uint64_t *)(want + p * PAGE));
    EXPECT(!memcmp(out, want + 300, sizeof(out)), "write(2) from unfilled pages sent other bytes");
    close(pfd[0]);
    close(pfd[1]);
}

/* Follows the prefetchers through the big region: in each 2 MiB window,
 * once they are in it (a page there is resident), drops the 64 KiB after
 * the first page they have not filled yet, and goes on past it. */
static void check_race(void)
{
    static unsigned char vec[512];
    size_t p = 0, dropped = 0;
    struct timespec t0, now;
    unserved("race", &big, 0, BIG_PAGES);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (p + 16 <= BIG_PAGES) {
        size_t n = BIG_PAGES - p < 512 ? BIG_PAGES - p : 512, in = 0, f = n;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 10)
            break; /* (the pager is stuck: verify_all says so) */
        if (mincore(page(&big, p), n * PAGE, vec) < 0)
            break;
        for (size_t i = 0; i < n; i++) {
            in += vec[i] & 1;
            if (f == n && !(vec[i] & 1))
                f = i;
        }
        if (!in)
            continue; /* not there yet */
        if (f == n || p + f + 16 > BIG_PAGES) {
            p += n; /* filled, all of it */
            continue;
        }
        EXPECT(madvise(page(&big, p + f), 16 * PAGE, MADV_DONTNEED) == 0, "%s", strerror(errno));
        set(&big, p + f, p + f + 16, X_ZERO | X_LATE);
        dropped++;
        p += f + 16;
    }
    printf("RACE %zu ranges dropped where the pager was filling\n", dropped);
}

#define NTHREADS 4
static pthread_barrier_t released;

/* Waits across the checkpoint; after the restore, its quarter of the big
 * region at once, with the other threads. */
static void *reader(void *arg)
{
    size_t q = (size_t)arg, n = BIG_PAGES / NTHREADS;
    pthread_barrier_wait(&released);
    verify(&big, page(&big, q * n), q * n, (q + 1) * n, 0);
    return NULL;
}

static int start_readers(pthread_t *th)
{
    pthread_barrier_init(&released, NULL, NTHREADS + 1);
    for (size_t i = 0; i < NTHREADS; i++)
        if (pthread_create(&th[i], NULL, reader, (void *)i))
            return -1;
    return 0;
}

static void check_threads(pthread_t *th)
{
    unserved("threads", &big, 0, BIG_PAGES);
    pthread_barrier_wait(&released);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
}

/* Changes, then a checkpoint before the pager is done: the image must hold
 * the memory as the program sees it, not as the first image had it. */
static int check_again(const char *dir2)
{
    unserved("again", &big, R0, R1);
    EXPECT(madvise(page(&big, R0), (RH - R0) * PAGE, MADV_DONTNEED) == 0, "%s", strerror(errno));
    set(&big, R0, RH, X_ZERO);
    write_mark(&big, R1 - 3);
    unserved("again-all", &big, 0, BIG_PAGES);
    EXPECT(crac_set_option("checkpoint_to", dir2) == 0, "checkpoint_to %s", dir2);
    if (checkpoint())
        return -1;
    printf("RESTORED AGAIN %u\n", crac_restore_count());
    EXPECT(crac_restore_count() == 2, "restored %u times", crac_restore_count());
    return 0;
}

static void check_hold(const char *file)
{
    struct timespec ms = {0, 1000000};
    int waited = 0;
    while (access(file, F_OK) != 0 && waited++ < 60000)
        nanosleep(&ms, NULL);
    EXPECT(waited <= 60000, "%s never appeared", file);
    unserved("hold", &big, 0, BIG_PAGES);
}

/* The parent waits for its child after the hold: 0, or -1 in the child
 * (which has verified and must only exit). */
static int fork_hold(const char *file)
{
    int status = 0;
    pid_t pid;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        check_hold(file);
        return -1;
    }
    EXPECT(pid > 0, "fork: %s", strerror(errno));
    printf("FORKED %d\n", (int)pid);
    check_hold(file);
    EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "the child's status %#x", status);
    return 0;
}

int main(int argc, char **argv)
{
    const char *check = argc > 1 ? argv[1] : "";
    const char *arg = argc > 2 ? argv[2] : NULL;
    void *h = NULL;
    static char out[4096];
    pthread_t th[NTHREADS];
    static const char *const checks[] = {"none",   "dontneed", "dontneed-syscall", "free",
                                         "mprotect", "mremap", "munmap", "fork", "forks",
                                         "kernel", "threads", "race"};
    bool known =
        (!strcmp(check, "again") || !strcmp(check, "hold") || !strcmp(check, "fork-hold")) && arg;
    for (size_t i = 0; i < sizeof(checks) / sizeof(*checks); i++)
        known |= !strcmp(check, checks[i]);
    if (!known) {
        fprintf(stderr, "usage: lazy-mem none|dontneed|dontneed-syscall|free|mprotect|mremap|"
                        "munmap|fork|forks|kernel|threads|race|again DIR2|hold FILE|fork-hold FILE\n");
        return 2;
    }
    /* Lines out at once: a process stopped later has said all it did.
     * The buffer not on the heap: printing touches no lazy memory, so the
     * program can speak while its pager is stopped (tests do that). */
    setvbuf(stdout, out, _IOLBF, sizeof(out));
    /* The heap part from the brk heap ([heap]), not a mapping of its own. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    big.base = mmap(NULL, BIG_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
    if (big.base == MAP_FAILED || posix_memalign(&h, PAGE, HEAP_PAGES * PAGE)) {
        perror("lazy-mem: memory");
        return 1;
    }
    heap.base = h;
    plan(big.nz, BIG_PAGES, 42);
    plan(heap.nz, HEAP_PAGES, 7);
    fill(&big);
    fill(&heap);
    if (!strcmp(check, "threads") && start_readers(th)) {
        perror("lazy-mem: threads");
        return 1;
    }
    if (checkpoint())
        return 1;
    printf("RESTORED %s\n", check);
    if (!strcmp(check, "none"))
        unserved("none", &big, 0, BIG_PAGES);
    else if (!strcmp(check, "dontneed"))
        check_advise(check, madvise, MADV_DONTNEED);
    else if (!strcmp(check, "dontneed-syscall"))
        check_advise(check, sys_madvise, MADV_DONTNEED);
    else if (!strcmp(check, "free"))
        check_advise(check, madvise, MADV_FREE);
    else if (!strcmp(check, "mprotect"))
        check_mprotect();
    else if (!strcmp(check, "mremap"))
        check_mremap();
    else if (!strcmp(check, "munmap"))
        check_munmap();
    else if (!strcmp(check, "fork"))
        check_fork();
    else if (!strcmp(check, "forks"))
        check_forks();
    else if (!strcmp(check, "kernel"))
        check_kernel();
    else if (!strcmp(check, "threads"))
        check_threads(th);
    else if (!strcmp(check, "race"))
        check_race();
    else if (!strcmp(check, "again")) {
        if (check_again(arg))
            return 1;
    } else if (!strcmp(check, "hold"))
        check_hold(arg);
    else if (!strcmp(check, "fork-hold") && fork_hold(arg) < 0) {
        fflush(stdout);
        _exit(verify_all("CHILD"));
    }
    return verify_all("LAZY");
}
