/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pager's filling: a chunk's runs are read with one pread into a
 * private buffer, every run's checksum checked there (so the bytes checked
 * are the bytes copied: a file changed meanwhile is caught, never served),
 * then the chunk is filled in address order, zero gaps (UFFDIO_ZEROPAGE,
 * the shared zero page, as an eager restore maps them) and runs
 * (UFFDIO_COPY), so that a program reading forward finds pages ready.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "image/hash.h"
#include "restore/lazy.h"
#include "restore/pager_int.h"
#include "restore/trust.h"

#define P crac__pg

_Thread_local bool crac__pg_is_fault_thread;

/* One fill over [cur, cur + len): COPY from src, or the zero page (src
 * NULL).  Bytes done (> 0), or -errno. */
long crac__pg_ioctl(struct pg_client *c, uint64_t cur, uint64_t len, const char *src)
{
    if (src) {
        struct uffdio_copy cp = {.dst = cur, .src = (uint64_t)src, .len = len};
        if (ioctl(c->uffd, UFFDIO_COPY, &cp) == 0)
            return (long)len;
        return cp.copy > 0 ? cp.copy : cp.copy ? cp.copy : -errno;
    }
    struct uffdio_zeropage zp = {.range = {cur, len}};
    if (ioctl(c->uffd, UFFDIO_ZEROPAGE, &zp) == 0)
        return (long)len;
    return zp.zeropage > 0 ? zp.zeropage : zp.zeropage ? zp.zeropage : -errno;
}

static uint8_t st_get(struct pg_client *c, long pg)
{
    return __atomic_load_n(&c->st[pg], __ATOMIC_RELAXED);
}

static void st_set(struct pg_client *c, long pg, uint8_t v)
{
    __atomic_store_n(&c->st[pg], v, __ATOMIC_RELAXED);
}

static bool wanted(struct pg_client *c, uint64_t a, int want)
{
    long pg = crac__pg_page(a);
    if (pg < 0)
        return false;
    uint8_t s = st_get(c, pg);
    return (s == PS_NEED && (want & W_NEED)) || (s == PS_ZERO && (want & W_ZERO)) ||
           (s == PS_ZERO && (want & W_GAP) && P.init[pg] == PS_ZERO);
}

static void mark(struct pg_client *c, uint64_t a, uint64_t len, uint8_t v)
{
    for (uint64_t x = a; x < a + len; x += PG_PAGE) {
        long pg = crac__pg_page(x);
        if (pg >= 0)
            st_set(c, pg, v);
    }
}

/* A fill met a pending event (EAGAIN): only the reader of the messages
 * can let it through.  The fault thread reads them itself (events applied,
 * faults kept for later); a prefetcher lets it. */
static void let_event_through(struct pg_client *c)
{
    pthread_rwlock_unlock(&c->lk);
    if (crac__pg_is_fault_thread)
        crac__pg_drain(c);
    else
        sched_yield();
    pthread_rwlock_rdlock(&c->lk);
}

/* Fills the pages of [orig, orig + npages) that `want` takes, src holding
 * the bytes of the whole range (NULL: zero pages).  0, or -1 when the
 * client is gone. */
int crac__pg_fill(struct pg_client *c, uint64_t orig, uint64_t npages, const char *src, int want)
{
    uint64_t end = orig + npages * PG_PAGE, a = orig, maxlen = ~0UL;
    pthread_rwlock_rdlock(&c->lk);
    while (a < end && !atomic_load(&c->dead)) {
        if (!wanted(c, a, want)) {
            a += PG_PAGE;
            continue;
        }
        uint64_t b = a + PG_PAGE, avail, cur;
        while (b < end && wanted(c, b, want))
            b += PG_PAGE;
        if (!(cur = crac__pg_o2c(c, a, &avail))) { /* unmapped since */
            mark(c, a, PG_PAGE, PS_GONE);
            a += PG_PAGE;
            continue;
        }
        uint64_t len = b - a < avail ? b - a : avail;
        len = len < maxlen ? len : maxlen;
        long r = crac__pg_ioctl(c, cur, len, src ? src + (a - orig) : NULL);
        if (r > 0) {
            mark(c, a, (uint64_t)r, PS_DONE);
            atomic_fetch_add(src ? &P.copied : &P.zeroed, r / (long)PG_PAGE);
            a += (uint64_t)r;
            maxlen = ~0UL;
            continue;
        }
        switch (-r) {
        case EEXIST: /* there already (a fault served it meanwhile) */
            mark(c, a, PG_PAGE, PS_DONE);
            a += PG_PAGE;
            break;
        case EAGAIN:
            let_event_through(c);
            break;
        case ENOENT:
            /* No registered mapping over all of it: mprotect splits a
             * mapping without an event, and a fill may not cross the
             * split.  Halve; a single page that fails is gone. */
            if (len > PG_PAGE) {
                maxlen = (len / 2 + PG_PAGE - 1) & ~(PG_PAGE - 1);
                break;
            }
            mark(c, a, PG_PAGE, PS_GONE);
            a += PG_PAGE;
            maxlen = ~0UL;
            break;
        default: /* ESRCH: the process is gone */
            atomic_store(&c->dead, true);
        }
    }
    pthread_rwlock_unlock(&c->lk);
    return atomic_load(&c->dead) ? -1 : 0;
}

/* A run whose bytes do not match what was saved: it is never served.  Its
 * pages raise SIGBUS where the kernel can poison them, and the restored
 * process is stopped: an instance never runs on bytes that differ. */
static void bad_run(struct pg_client *c, size_t k)
{
    const struct crac_img_run *r = &P.img->runs[k];
    if (!atomic_exchange(&P.bad, 1)) {
        fprintf(stderr, "crac restore: page data at %#llx (%llu pages, run %zu of %s/pages) "
                "fails its checksum (corrupted image): the restored process was stopped\n",
                (unsigned long long)r->addr, (unsigned long long)r->npages, k, P.img->dir);
        syscall(SYS_pidfd_send_signal, P.pidfd, SIGKILL, NULL, 0);
    }
    pthread_rwlock_rdlock(&c->lk);
    for (uint64_t a = r->addr; P.poison && a < r->addr + r->npages * PG_PAGE; a += PG_PAGE) {
        uint64_t avail, cur = crac__pg_o2c(c, a, &avail);
        long pg = crac__pg_page(a);
        struct crac__uffdio_poison p = {cur, PG_PAGE, 0, 0};
        if (cur && pg >= 0 && st_get(c, pg) == PS_NEED && ioctl(c->uffd, CRAC__UFFDIO_POISON, &p) == 0)
            st_set(c, pg, PS_DONE);
    }
    pthread_rwlock_unlock(&c->lk);
}

static bool run_ok(size_t k, const char *p)
{
    const struct crac_img_run *r = &P.img->runs[k];
    size_t len = r->npages * PG_PAGE;
    return crac__hash(p, len) == r->hash &&
           (!P.run_hashes || crac__sign_run_ok(P.run_hashes, k, p, len));
}

static bool read_all(char *buf, uint64_t len, uint64_t off)
{
    for (uint64_t done = 0; done < len;) {
        ssize_t r = pread(P.img->pages_fd, buf + done, len - done, (off_t)(off + done));
        if (r <= 0)
            return false;
        done += (uint64_t)r;
    }
    return true;
}

/* Is the gap [s, e) of region g mapped to the zero page by its filler? */
static bool gap_zeroed(const struct pg_region *g, uint64_t s, uint64_t e)
{
    return s >= g->lo && e <= g->hi && e - s <= PG_GAP_MAX;
}

static int fill_gap(struct pg_client *c, const struct pg_chunk *ch, uint64_t s, uint64_t e)
{
    if (e <= s || !gap_zeroed(&P.regions[ch->reg], s, e))
        return 0;
    return crac__pg_fill(c, s, (e - s) / PG_PAGE, NULL, W_GAP);
}

/* Chunk k of client c, claimed by the caller. */
void crac__pg_serve_chunk(struct pg_client *c, long k, char *buf)
{
    const struct pg_chunk *ch = &P.chunks[k];
    const struct crac_img_run *runs = P.img->runs;
    uint64_t a = ch->start, off0 = runs[ch->r0].file_off;
    const struct crac_img_run *last = &runs[ch->r1 - 1];
    bool bad[PG_CHUNK / PG_PAGE];
    if (!read_all(buf, last->file_off + last->npages * PG_PAGE - off0, off0)) {
        /* a pages file cut short since the restore began: as corrupt */
        for (size_t r = ch->r0; r < ch->r1; r++)
            bad_run(c, r);
        return;
    }
    for (size_t r = ch->r0; r < ch->r1; r++) /* hot runs: checked and in already */
        if ((bad[r - ch->r0] = !P.hot[r] && !run_ok(r, buf + (runs[r].file_off - off0))))
            bad_run(c, r);
    for (size_t r = ch->r0; r < ch->r1; r++) {
        if (fill_gap(c, ch, a, runs[r].addr))
            return;
        atomic_store(&c->prog[k], runs[r].addr);
        if (!bad[r - ch->r0] && crac__pg_fill(c, runs[r].addr, runs[r].npages,
                                              buf + (runs[r].file_off - off0), W_NEED))
            return;
        a = runs[r].addr + runs[r].npages * PG_PAGE;
        atomic_store(&c->prog[k], a);
    }
    if (!fill_gap(c, ch, a, ch->end))
        atomic_store(&c->prog[k], ch->end);
}

/* The run holding orig alone: what a fault waits for. */
void crac__pg_serve_run(struct pg_client *c, uint64_t orig, char *buf)
{
    const struct pg_chunk *ch = &P.chunks[crac__pg_chunk_of(orig)];
    const struct crac_img_run *runs = P.img->runs;
    size_t lo = ch->r0, hi = ch->r1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (runs[mid].addr <= orig)
            lo = mid;
        else
            hi = mid;
    }
    const struct crac_img_run *r = &runs[lo];
    if (orig < r->addr || orig >= r->addr + r->npages * PG_PAGE)
        return;
    if (!read_all(buf, r->npages * PG_PAGE, r->file_off) || !run_ok(lo, buf)) {
        bad_run(c, lo);
        return;
    }
    crac__pg_fill(c, r->addr, r->npages, buf, W_NEED);
}

int crac__pg_claim(struct pg_client *c, long k)
{
    uint8_t z = 0;
    if (!atomic_compare_exchange_strong(&c->claim[k], &z, 1))
        return 0;
    atomic_fetch_add(&c->nclaimed, 1);
    return 1;
}

void crac__pg_finish_chunk(struct pg_client *c, long k)
{
    atomic_store(&c->claim[k], 2);
    if (atomic_fetch_add(&c->ndone, 1) + 1 == P.nchunks)
        atomic_store(&c->complete, true);
}

/* A fault touched chunk k: the prefetchers take it next. */
void crac__pg_urge(struct pg_client *c, long k)
{
    for (int i = 0; i < PG_URGENT; i++) {
        long e = -1;
        if (atomic_compare_exchange_strong(&c->urgent[i], &e, k))
            return;
    }
}

static struct pg_client *next_client(void)
{
    struct pg_client *c = NULL;
    pthread_mutex_lock(&P.mu);
    for (struct pg_client *x = P.clients; x && !c; x = x->next)
        if (!atomic_load(&x->dead) && atomic_load(&x->nclaimed) < P.nchunks)
            c = x;
    pthread_mutex_unlock(&P.mu);
    return c;
}

static long next_chunk(struct pg_client *c)
{
    for (int i = 0; i < PG_URGENT; i++) {
        long u = atomic_exchange(&c->urgent[i], -1);
        if (u >= 0 && crac__pg_claim(c, u)) {
            atomic_store(&c->cursor, u + 1); /* a reader goes on forward */
            return u;
        }
    }
    long k = atomic_fetch_add(&c->cursor, 1) % P.nchunks;
    return crac__pg_claim(c, k) ? k : -1;
}

/* Prefetching takes idle CPU time only, at first: a restored service
 * answers its first requests without competing with us (a prefetcher that
 * held a CPU delayed the program by a scheduler slice, 3 ms and more,
 * right after the jump); its faults are served at normal priority all the
 * same.  After PG_IDLE_NS a program that keeps every CPU busy still gets
 * its memory filled, at a low priority. */
#define PG_IDLE_NS 1000000000ULL

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void priority(bool idle)
{
    struct sched_param sp = {0};
    sched_setscheduler(0, idle ? SCHED_IDLE : SCHED_OTHER, &sp);
    if (!idle)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
}

/* Takes chunks in address order (after the ones faults touched), for each
 * client in turn, until every chunk of every client is in. */
void *crac__pg_prefetch(void *arg)
{
    char *buf = arg;
    bool idle = true;
    priority(true);
    pthread_mutex_lock(&P.mu);
    while (!atomic_load(&P.go) && !atomic_load(&P.quit))
        pthread_cond_wait(&P.cv, &P.mu);
    pthread_mutex_unlock(&P.mu);
    while (!atomic_load(&P.quit)) {
        if (idle && mono_ns() - P.t_go > PG_IDLE_NS)
            priority(idle = false);
        struct pg_client *c = next_client();
        long k;
        if (!c) {
            pthread_mutex_lock(&P.mu);
            int any = P.nclients;
            pthread_mutex_unlock(&P.mu);
            if (!any)
                break;
            usleep(200); /* every chunk taken: fork children may come */
            continue;
        }
        if ((k = next_chunk(c)) < 0)
            continue;
        crac__pg_serve_chunk(c, k, buf);
        crac__pg_finish_chunk(c, k);
    }
    free(buf); /* the parent waits on for as long as the program runs */
    return NULL;
}
