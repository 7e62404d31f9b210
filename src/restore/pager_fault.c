/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fault in lazily served memory.  Unserved data: its run at once (the
 * fault waits for one run, not for 2 MiB), the rest of its chunk first in
 * the prefetchers' queue.  A page that must read zero: the zero page.
 */
#include <sys/ioctl.h>
#include "restore/pager_int.h"

#define P crac__pg

/* A page that must read zero: the zero page over the stretch of such pages
 * around it in its 2 MiB (one round trip per 2 MiB purged); a write gets a
 * page of its own at once. */
static void zero_fault(struct pg_client *c, uint64_t cur, bool write)
{
    uint64_t avail, o = crac__pg_c2o(c, cur, &avail);
    long pg = o ? crac__pg_page(o) : -1;
    if (pg < 0) { /* memory the image never had (a mapping grown since) */
        crac__pg_ioctl(c, cur, PG_PAGE, write ? P.zero : NULL);
        return;
    }
    if (write) {
        pthread_rwlock_rdlock(&c->lk);
        if (c->st[pg] == PS_ZERO && crac__pg_ioctl(c, cur, PG_PAGE, P.zero) == (long)PG_PAGE)
            __atomic_store_n(&c->st[pg], PS_DONE, __ATOMIC_RELAXED);
        pthread_rwlock_unlock(&c->lk);
    }
    uint64_t w0 = o & ~(PG_CHUNK - 1), w1 = w0 + PG_CHUNK, a = o, b = o + PG_PAGE;
    while (a > w0 && crac__pg_page(a - PG_PAGE) >= 0 && c->st[crac__pg_page(a - PG_PAGE)] == PS_ZERO)
        a -= PG_PAGE;
    while (b < w1 && crac__pg_page(b) >= 0 && c->st[crac__pg_page(b)] == PS_ZERO)
        b += PG_PAGE;
    crac__pg_fill(c, a, (b - a) / PG_PAGE, NULL, W_ZERO);
}

static void wake(struct pg_client *c, uint64_t cur)
{
    struct uffdio_range r = {cur, PG_PAGE};
    ioctl(c->uffd, UFFDIO_WAKE, &r);
}

void crac__pg_fault(struct pg_client *c, uint64_t addr, bool write, char *buf)
{
    uint64_t cur = addr & ~(PG_PAGE - 1), avail, o = crac__pg_c2o(c, cur, &avail);
    long pg = o ? crac__pg_page(o) : -1;
    uint8_t s = pg >= 0 ? c->st[pg] : PS_ZERO;
    atomic_fetch_add(&P.faults, 1);
    if (s == PS_NEED) {
        /* The faulting run now, even when a prefetcher has its chunk (it
         * reads and checks 2 MiB first); the rest of the chunk goes to the
         * prefetchers first: a fault waits for one run, not for 2 MiB. */
        long k = crac__pg_chunk_of(o);
        crac__pg_serve_run(c, o, buf);
        if (atomic_load(&c->claim[k]) == 0)
            crac__pg_urge(c, k);
        else
            wake(c, cur); /* a prefetcher filled it first: EEXIST woke nobody */
    } else if (s == PS_ZERO) {
        long k = pg >= 0 ? crac__pg_chunk_of(o) : -1;
        if (k >= 0 && atomic_load(&c->claim[k]) == 0)
            crac__pg_urge(c, k);
        zero_fault(c, cur, write);
    } else {
        /* Filled already: the message raced with the fill that woke the
         * thread (the zero page then fails with EEXIST: wake it), or the
         * page went away without an event reaching us (it must read zero). */
        if (crac__pg_ioctl(c, cur, PG_PAGE, write ? P.zero : NULL) < 0)
            wake(c, cur);
    }
}
