/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pager's state: where each saved page is now, and the clients (the
 * restored process and the children it forks while memory is still being
 * served) with the kernel's events about their memory:
 *   REMOVE (MADV_DONTNEED, MADV_FREE, MADV_REMOVE) those pages read zero
 *          from now on, never the image's bytes;
 *   UNMAP  gone;
 *   REMAP  the saved range lives elsewhere now (mremap);
 *   FORK   a new client, with a copy of the state, served like the first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "restore/pager_int.h"

#define P crac__pg

struct pager crac__pg;

/* The last of n entries (each `size` bytes, sorted by the address they
 * start with) starting at or below addr; 0 when none does. */
static size_t last_at_or_below(const void *base, size_t n, size_t size, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (*(const uint64_t *)((const char *)base + mid * size) <= addr)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

long crac__pg_page(uint64_t orig)
{
    const struct pg_region *g;
    if (!P.nregions)
        return -1;
    g = &P.regions[last_at_or_below(P.regions, P.nregions, sizeof(*g), orig)];
    if (orig < g->start || orig >= g->end)
        return -1;
    return (long)(g->page0 + (orig - g->start) / PG_PAGE);
}

long crac__pg_chunk_of(uint64_t orig)
{
    return (long)last_at_or_below(P.chunks, (size_t)P.nchunks, sizeof(*P.chunks), orig);
}

uint64_t crac__pg_o2c(struct pg_client *c, uint64_t orig, uint64_t *avail)
{
    for (size_t i = 0; i < c->nareas; i++) {
        const struct pg_area *a = &c->areas[i];
        if (orig >= a->orig && orig < a->orig + a->len) {
            *avail = a->orig + a->len - orig;
            return a->cur + (orig - a->orig);
        }
    }
    return 0;
}

uint64_t crac__pg_c2o(struct pg_client *c, uint64_t cur, uint64_t *avail)
{
    for (size_t i = 0; i < c->nareas; i++) {
        const struct pg_area *a = &c->areas[i];
        if (cur >= a->cur && cur < a->cur + a->len) {
            if (avail)
                *avail = a->cur + a->len - cur;
            return a->orig + (cur - a->cur);
        }
    }
    return 0;
}

static int area_add(struct pg_client *c, struct pg_area a)
{
    if (c->nareas == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct pg_area *n = realloc(c->areas, cap * sizeof(*n));
        if (!n)
            return -1;
        c->areas = n;
        c->cap = cap;
    }
    c->areas[c->nareas++] = a;
    return 0;
}

struct pg_client *crac__pg_client_new(int uffd, const struct pg_client *from)
{
    struct pg_client *c = calloc(1, sizeof(*c));
    pthread_rwlockattr_t ra;
    if (!c || !(c->st = malloc(P.npages + 1)) || !(c->claim = calloc((size_t)P.nchunks, 1)) ||
        !(c->prog = calloc((size_t)P.nchunks, sizeof(*c->prog))))
        return NULL; /* the caller gives up on it; small leaks on a dying path */
    c->uffd = uffd;
    for (int i = 0; i < PG_URGENT; i++)
        c->urgent[i] = -1;
    /* Writers first: an event must not wait behind a stream of fills. */
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->lk, &ra);
    if (from) {
        memcpy(c->st, from->st, P.npages);
        for (size_t i = 0; i < from->nareas; i++)
            if (area_add(c, from->areas[i]))
                return NULL;
    } else {
        memcpy(c->st, P.init, P.npages);
        c->root = true;
        for (size_t i = 0; i < P.nregions; i++)
            if (area_add(c, (struct pg_area){P.regions[i].start, P.regions[i].start,
                                             P.regions[i].end - P.regions[i].start}))
                return NULL;
    }
    pthread_mutex_lock(&P.mu);
    c->next = P.clients;
    P.clients = c;
    P.nclients++;
    pthread_mutex_unlock(&P.mu);
    return c;
}

/* Takes [s, e) (current addresses) out of c's areas; what was in it goes
 * to moved (when given). */
static void areas_cut(struct pg_client *c, uint64_t s, uint64_t e, struct pg_area *moved,
                      size_t *nmoved)
{
    size_t n = c->nareas;
    struct pg_area *old = malloc((n + 1) * sizeof(*old));
    if (!old)
        return;
    memcpy(old, c->areas, n * sizeof(*old));
    c->nareas = 0;
    for (size_t i = 0; i < n; i++) {
        struct pg_area a = old[i];
        uint64_t as = a.cur, ae = a.cur + a.len;
        if (ae <= s || as >= e) {
            area_add(c, a);
            continue;
        }
        if (as < s)
            area_add(c, (struct pg_area){as, a.orig, s - as});
        uint64_t ms = as > s ? as : s, me = ae < e ? ae : e;
        if (moved)
            moved[(*nmoved)++] = (struct pg_area){ms, a.orig + (ms - as), me - ms};
        if (ae > e)
            area_add(c, (struct pg_area){e, a.orig + (e - as), ae - e});
    }
    free(old);
}

/* Pages at current addresses [s, e) become `to` (gone pages stay gone). */
static void mark_range(struct pg_client *c, uint64_t s, uint64_t e, uint8_t to)
{
    for (uint64_t a = s; a < e;) {
        uint64_t avail, o = crac__pg_c2o(c, a, &avail);
        if (!o) {
            a += PG_PAGE;
            continue;
        }
        uint64_t l = e - a < avail ? e - a : avail;
        for (uint64_t x = o; x < o + l; x += PG_PAGE) {
            long pg = crac__pg_page(x);
            if (pg >= 0 && c->st[pg] != PS_GONE)
                __atomic_store_n(&c->st[pg], to, __ATOMIC_RELAXED);
        }
        a += l;
    }
}

static void remap(struct pg_client *c, uint64_t from, uint64_t to, uint64_t len)
{
    size_t nm = 0;
    struct pg_area *mv = malloc((c->nareas + 2) * sizeof(*mv));
    if (!mv)
        return;
    areas_cut(c, from, from + len, mv, &nm);
    for (size_t i = 0; i < nm; i++) {
        mv[i].cur = mv[i].cur - from + to;
        area_add(c, mv[i]);
    }
    free(mv);
}

/* Called with c->lk held for writing. */
void crac__pg_event(struct pg_client *c, const struct uffd_msg *m)
{
    atomic_fetch_add(&P.events, 1);
    switch (m->event) {
    case UFFD_EVENT_REMOVE:
        mark_range(c, m->arg.remove.start, m->arg.remove.end, PS_ZERO);
        break;
    case UFFD_EVENT_UNMAP:
        mark_range(c, m->arg.remove.start, m->arg.remove.end, PS_GONE);
        areas_cut(c, m->arg.remove.start, m->arg.remove.end, NULL, NULL);
        break;
    case UFFD_EVENT_REMAP:
        remap(c, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
        break;
    case UFFD_EVENT_FORK:
        atomic_fetch_add(&P.forks, 1);
        if (!crac__pg_client_new((int)m->arg.fork.ufd, c))
            close((int)m->arg.fork.ufd); /* the child's memory becomes plain: zeros */
        break;
    }
}

/* Room for one more fault read while draining: a fault read and then
 * dropped would wait until a fill of its page happens to wake it (never,
 * for a page no prefetcher fills). */
static bool pend_room(void)
{
    if (P.npend == P.pend_cap) {
        int cap = P.pend_cap ? 2 * P.pend_cap : 256;
        struct pg_pend *n = realloc(P.pend, (size_t)cap * sizeof(*n));
        if (!n)
            return false;
        P.pend = n;
        P.pend_cap = cap;
    }
    return true;
}

/* Reads what is pending: events applied at once, faults kept for the main
 * loop.  Only the fault thread reads. */
void crac__pg_drain(struct pg_client *c)
{
    struct uffd_msg msgs[64];
    pthread_rwlock_wrlock(&c->lk);
    ssize_t r = read(c->uffd, msgs, sizeof(msgs));
    for (int j = 0; j < (r > 0 ? (int)(r / (ssize_t)sizeof(*msgs)) : 0); j++) {
        if (msgs[j].event != UFFD_EVENT_PAGEFAULT)
            crac__pg_event(c, &msgs[j]);
        else if (pend_room())
            P.pend[P.npend++] = (struct pg_pend){c, msgs[j].arg.pagefault.address,
                                                 !!(msgs[j].arg.pagefault.flags &
                                                    UFFD_PAGEFAULT_FLAG_WRITE)};
    }
    pthread_rwlock_unlock(&c->lk);
}

