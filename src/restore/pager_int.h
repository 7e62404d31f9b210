/* SPDX-License-Identifier: Apache-2.0 */
/* The pager's state, shared by its files, each calling only those below it:
 * pager.c (start, main loop, end), pager_fault.c (faults), pager_fill.c
 * (reading, checking and filling), pager_state.c (addresses, clients,
 * events).  One pager per `crac restore`, so one global. */
#ifndef CRAC_RESTORE_PAGER_INT_H
#define CRAC_RESTORE_PAGER_INT_H

#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "image/image.h"

#define PG_PAGE 4096UL
#define PG_CHUNK (2UL << 20)   /* address span of one fill (whole runs) */
#define PG_GAP_MAX (2UL << 20) /* larger zero gaps stay unmapped, as eager leaves them */
#define PG_URGENT 64           /* chunks a fault touched, for the prefetchers first */
#define PG_THREADS 2           /* prefetchers: one alone is 1.34x slower to read back */
#define PG_BUF (4UL << 20)

/* Per page, per client: what it must read. */
enum { PS_ZERO = 0, PS_NEED = 1, PS_DONE = 2, PS_GONE = 3 };
/* Which pages a fill takes: unserved data; pages that must read zero; only
 * those zero in the image (the gaps between runs). */
enum { W_NEED = 1, W_ZERO = 2, W_GAP = 4 };

/* A lazily restored region, by its saved address (start first: the lookups
 * search regions and chunks alike by it). */
struct pg_region {
    uint64_t start, end;
    uint64_t lo, hi; /* from its first run to the end of its last: gaps in here are zero-paged */
    uint64_t page0;  /* its first page's index in the per-page arrays */
};

/* Whole runs [r0, r1) spanning at most PG_CHUNK, and the gaps up to the next. */
struct pg_chunk {
    uint64_t start, end;
    size_t r0, r1;
    uint32_t reg;
};

/* Saved range [orig, orig + len) now lives at cur (mremap moves it). */
struct pg_area {
    uint64_t cur, orig, len;
};

/* A process served: the restored one, and each child it forked meanwhile. */
struct pg_client {
    int uffd;
    bool root;
    atomic_bool dead, complete;
    uint8_t *st;               /* per page: PS_* */
    _Atomic uint8_t *claim;    /* per chunk: 0 free, 1 taken, 2 done */
    _Atomic uint64_t *prog;    /* per chunk: its filler is past this address */
    atomic_long nclaimed, ndone, cursor;
    atomic_long urgent[PG_URGENT];
    struct pg_area *areas;
    size_t nareas, cap;
    /* Read: a fill from its state check to the end of its ioctl.  Write:
     * reading messages and applying events.  So a removed page can never
     * be filled with image bytes by a fill that looked before the event. */
    pthread_rwlock_t lk;
    struct pg_client *next;
};

struct pg_pend {
    struct pg_client *c;
    uint64_t addr;
    bool write;
};

struct pager {
    const struct crac_img *img;
    const uint8_t *run_hashes; /* signed image: BLAKE2b of each run */
    bool verbose, poison;
    pid_t child;
    int pidfd;
    struct pg_region *regions;
    size_t nregions;
    uint64_t npages;
    uint8_t *init; /* per page: PS_NEED where the image has data, else PS_ZERO */
    bool *hot;     /* per run: read before the jump (PS_DONE from the start) */
    struct pg_chunk *chunks;
    long nchunks;
    char *zero; /* a page of zeros */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pg_client *clients;
    int nclients;
    atomic_int go, quit;
    atomic_int bad; /* a run failed its check: the program was stopped */
    struct pg_pend *pend; /* faults read while draining for a fill */
    int npend, pend_cap;
    uint64_t t_go, t_done;
    atomic_long faults, copied, zeroed, events, forks;
};

extern struct pager crac__pg;

/* pager_state.c */
struct pg_client *crac__pg_client_new(int uffd, const struct pg_client *from);
void crac__pg_event(struct pg_client *c, const struct uffd_msg *m);
void crac__pg_drain(struct pg_client *c);
long crac__pg_page(uint64_t orig); /* index in the per-page arrays, -1 outside */
long crac__pg_chunk_of(uint64_t orig);
uint64_t crac__pg_o2c(struct pg_client *c, uint64_t orig, uint64_t *avail);
uint64_t crac__pg_c2o(struct pg_client *c, uint64_t cur, uint64_t *avail);

/* pager_fill.c */
int crac__pg_fill(struct pg_client *c, uint64_t orig, uint64_t npages, const char *src, int want);
long crac__pg_ioctl(struct pg_client *c, uint64_t cur, uint64_t len, const char *src);
void crac__pg_serve_chunk(struct pg_client *c, long k, char *buf);
void crac__pg_serve_run(struct pg_client *c, uint64_t orig, char *buf);
int crac__pg_claim(struct pg_client *c, long k);
void crac__pg_finish_chunk(struct pg_client *c, long k);
void crac__pg_urge(struct pg_client *c, long k);
void *crac__pg_prefetch(void *arg);

/* pager_fault.c */
void crac__pg_fault(struct pg_client *c, uint64_t addr, bool write, char *buf);

extern _Thread_local bool crac__pg_is_fault_thread;

#endif
