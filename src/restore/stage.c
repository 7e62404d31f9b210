/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Staging: every saved region is rebuilt in the restoring process at a
 * temporary address, its page data read and checksummed there, its
 * protection set.  Only then does the blob move the regions onto their
 * saved addresses with mremap (page tables move; no data is copied).  So
 * a corrupted image is found while nothing has been given up yet, and the
 * checksum runs over data that was just read and is still in cache.
 *
 * Staged addresses keep the saved address modulo 2 MiB so that huge pages
 * survive the move.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include "image/hash.h"
#include "image/maps.h"
#include "core/core.h"
#include "restore/lazy.h"
#include "restore/restore.h"
#include "restore/trust.h"

#define HUGE (2UL << 20)
#define FILL_THREADS_MAX 4
#define FILL_THREADS_MIN_BYTES (8UL << 20)

static uint64_t up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static int overlaps_image(const struct crac_img *img, uint64_t s, uint64_t e)
{
    for (size_t i = 0; i < img->nregions; i++)
        if (img->regions[i].start < e && s < img->regions[i].end)
            return 1;
    const struct crac_img_vdso *v = &img->proc->vdso;
    uint64_t vs = v->vvar_start ? v->vvar_start : v->vdso_start;
    return vs < e && s < v->vdso_end;
}

/* One reservation for everything, clear of the saved address ranges (the
 * regions must not land on each other when they move) and of our own. */
static int reserve(const struct crac_img *img, struct crac__stage *st, crac_error **err)
{
    uint64_t len = HUGE;
    for (size_t i = 0; i < img->nregions; i++)
        len += up(img->regions[i].end - img->regions[i].start, CRAC_PAGE) + HUGE + CRAC_PAGE;
    st->blob_len = crac__blob_area_len(img);
    len += st->blob_len;
    for (uint64_t a = 0x100000000000ULL; a + len < 0x7f0000000000ULL; a += 0x40000000000ULL) {
        void *p;
        if (overlaps_image(img, a, a + len))
            continue;
        p = mmap((void *)a, len, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED)
            continue;
        st->base = a;
        st->len = len;
        st->blob_base = a + len - st->blob_len;
        return 0;
    }
    *err = crac__error_src("restore", "no free address range of %llu MiB clear of the image",
                           (unsigned long long)(len >> 20));
    return -1;
}

static int file_fd(const struct crac_img *img, struct crac__stage *st, int32_t i, crac_error **err)
{
    if (st->file_fds[i] < 0) {
        const char *path = crac__img_str(img, img->files[i].path);
        st->file_fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (st->file_fds[i] < 0) {
            *err = crac__error_src("restore", "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    return st->file_fds[i];
}

/* Reading the page data is most of a restore's time, and it is bound by
 * page faults and copying, not by the disk (the image is in the page cache
 * when it is restored often).  Several threads share the runs. */
struct fill {
    const struct crac_img *img;
    const struct crac__stage *st;
    const uint8_t *run_hashes; /* signed image: BLAKE2b of each run (trust.h) */
    struct group {
        size_t start, end; /* runs read by one preadv */
        size_t region;     /* the region of run start (a group may go on into the next) */
    } *groups;
    size_t ngroups;
    uint64_t bytes; /* to read in all */
    atomic_size_t next;
    atomic_int failed;
    size_t bad_run;
    const char *bad_what;
};

/* One read for a group of runs: consecutive runs are consecutive in the
 * pages file, so one preadv fills them all (small images are then read in
 * a handful of system calls instead of one per run). */
#define GROUP_RUNS 256            /* iovecs per preadv, well under IOV_MAX */
#define GROUP_BYTES (4UL << 20)   /* and bytes: several groups keep threads busy */

static void fail_run(struct fill *f, size_t k, const char *what)
{
    if (!atomic_exchange(&f->failed, 1)) {
        f->bad_run = k;
        f->bad_what = what;
    }
}

/* Where run k of region i (or of a region after it) is staged. */
static void *staged(const struct fill *f, size_t *i, size_t k)
{
    const struct crac_img_region *r = &f->img->regions[*i];
    while (k >= r->runs_first + r->runs_count)
        r = &f->img->regions[++*i];
    return (void *)(f->st->addr[*i] + (f->img->runs[k].addr - r->start));
}

/* Reads a group of runs and checks each one's checksum, and its signed
 * hash when the image is signed (the bytes checked are the bytes that run). */
static void fill_group(struct fill *f, const struct group *g)
{
    const struct crac_img *img = f->img;
    struct iovec iov[GROUP_RUNS];
    size_t total = 0, n = g->end - g->start, k = g->start, region = g->region;
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = staged(f, &region, k + i);
        iov[i].iov_len = img->runs[k + i].npages * CRAC_PAGE;
        total += iov[i].iov_len;
    }
    ssize_t got = preadv(img->pages_fd, iov, (int)n, (off_t)img->runs[k].file_off);
    if (got != (ssize_t)total) {
        fail_run(f, k, "short read (truncated image)");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (crac__hash(iov[i].iov_base, iov[i].iov_len) != img->runs[k + i].hash) {
            fail_run(f, k + i, "checksum mismatch (corrupted image)");
            return;
        }
        if (f->run_hashes &&
            !crac__sign_run_ok(f->run_hashes, k + i, iov[i].iov_base, iov[i].iov_len)) {
            fail_run(f, k + i, "does not match its signed hash (changed since signed)");
            return;
        }
    }
}

static void *fill_worker(void *arg)
{
    struct fill *f = arg;
    size_t g;
    while (!atomic_load(&f->failed) && (g = atomic_fetch_add(&f->next, 1)) < f->ngroups)
        fill_group(f, &f->groups[g]);
    return NULL;
}

/* Whether run k of region i is read here (not left to the pager). */
static bool read_here(const struct crac__stage *st, size_t i, size_t k)
{
    return !st->lazy[i] || st->hot[k];
}

/* Splits the runs to read into groups (see GROUP_RUNS), into f->groups
 * when given; how many. */
static size_t make_groups(struct fill *f)
{
    const struct crac_img *img = f->img;
    struct group *g = NULL, counting;
    size_t n = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < img->nregions; i++) {
        const struct crac_img_region *r = &img->regions[i];
        for (size_t k = r->runs_first; k < r->runs_first + r->runs_count; k++) {
            uint64_t len = img->runs[k].npages * CRAC_PAGE;
            if (!read_here(f->st, i, k)) {
                g = NULL;
                continue;
            }
            f->bytes += len;
            if (g && k - g->start < GROUP_RUNS && bytes < GROUP_BYTES &&
                img->runs[k - 1].file_off + img->runs[k - 1].npages * CRAC_PAGE ==
                    img->runs[k].file_off) {
                bytes += len;
                g->end = k + 1;
                continue;
            }
            g = f->groups ? &f->groups[n] : &counting;
            *g = (struct group){k, k + 1, i};
            bytes = len;
            n++;
        }
    }
    return n;
}

static int fill_all(const struct crac_img *img, const struct crac__stage *st, crac_error **err)
{
    struct fill f = {.img = img, .st = st, .run_hashes = st->run_hashes};
    pthread_t tids[FILL_THREADS_MAX];
    int nthreads = 0;
    /* Counted first: a lazy restore reads a few runs of many. */
    f.groups = malloc((make_groups(&f) + 1) * sizeof(*f.groups));
    if (!f.groups) {
        *err = crac__error_src("restore", "out of memory");
        return -1;
    }
    f.bytes = 0;
    f.ngroups = make_groups(&f);
    /* Threads pay off only when there is enough to read. */
    long cpus = f.bytes >= FILL_THREADS_MIN_BYTES ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
    while (nthreads < cpus - 1 && nthreads < FILL_THREADS_MAX &&
           pthread_create(&tids[nthreads], NULL, fill_worker, &f) == 0)
        nthreads++;
    fill_worker(&f);
    while (nthreads)
        pthread_join(tids[--nthreads], NULL);
    free(f.groups);
    if (atomic_load(&f.failed)) {
        *err = crac__img_run_error(img, f.bad_run, f.bad_what);
        return -1;
    }
    return 0;
}

static int stage_one(const struct crac_img *img, struct crac__stage *st, size_t i, crac_error **err)
{
    const struct crac_img_region *r = &img->regions[i];
    uint64_t len = r->end - r->start, at = st->addr[i];
    int rw = PROT_READ | PROT_WRITE, prot = (int)r->prot;
    int staged_prot = r->runs_count ? prot | rw : prot;
    void *p;

    if (r->kind == CRAC_RGN_FILE || r->kind == CRAC_RGN_SHARED_FILE) {
        int fd = file_fd(img, st, r->file, err);
        if (fd < 0)
            return -1;
        p = mmap((void *)at, len, staged_prot,
                 (r->kind == CRAC_RGN_FILE ? MAP_PRIVATE : MAP_SHARED) | MAP_FIXED, fd,
                 (off_t)r->file_offset);
    } else {
        p = mmap((void *)at, len, staged_prot,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | (r->kind == CRAC_RGN_STACK ? MAP_GROWSDOWN : 0),
                 -1, 0);
        /* --huge-pages: dense regions get huge pages, one fault per 2 MiB
         * instead of 512.  Not the default: where the host takes free memory
         * back (free page reporting in VMs), a huge page fault on such
         * memory costs far more than the 512 small ones (measured: 1 GiB in
         * 1.8 s instead of 0.2-0.5 s; docs/benchmarks.md). */
        if (p != MAP_FAILED && st->huge && !st->lazy[i] && len >= HUGE &&
            r->pages_saved * CRAC_PAGE * 2 >= len)
            madvise(p, len, MADV_HUGEPAGE);
        /* The flag moves with the mapping when the blob puts it in place. */
        if (p != MAP_FAILED && (r->flags & CRAC_RGN_F_WIPEONFORK) &&
            madvise(p, len, MADV_WIPEONFORK) < 0) {
            *err = crac__error_src("restore", "cannot mark %llx-%llx wipe-on-fork: %s",
                                   (unsigned long long)r->start, (unsigned long long)r->end,
                                   strerror(errno));
            return -1;
        }
    }
    if (p == MAP_FAILED) {
        *err = crac__error_src("restore", "cannot map %llx-%llx %s: %s", (unsigned long long)r->start,
                               (unsigned long long)r->end, crac__img_str(img, r->name), strerror(errno));
        return -1;
    }
    return 0;
}

/* Zero pages between the saved runs of an anonymous region were, most of
 * them, present in the saved process (touched, then found all zero, so not
 * saved): map them now to the shared zero page, in one call per gap, so
 * that the program reads them as fast as before the checkpoint instead of
 * taking a fault on each (64 MiB, half of it zero pages in short runs:
 * reading it all back took 10.3 ms after a restore against 8.5 ms before;
 * with this 5.4 to 7.1 ms, for 1.5 ms more staging).  Gaps over 2 MiB are
 * left alone: there, untouched reserves are likelier than touched zeros,
 * and mapping them would cost page tables for nothing. */
#define ZERO_GAP_MAX_PAGES 512
static void populate_span(const struct crac__stage *st, size_t i, const struct crac_img_region *r,
                          uint64_t from, uint64_t to)
{
    if (to > from)
        madvise((void *)(st->addr[i] + (from - r->start)), to - from, MADV_POPULATE_READ);
}

/* One call for a stretch of runs and the small gaps between them (pages
 * already there cost the kernel a look each, far less than a system call
 * per gap); a large gap ends the stretch. */
static void populate_gaps(const struct crac_img *img, const struct crac__stage *st)
{
    for (size_t i = 0; i < img->nregions; i++) {
        const struct crac_img_region *r = &img->regions[i];
        uint64_t first = r->runs_first, end = r->runs_first + r->runs_count, from;
        if (st->lazy[i] || r->kind == CRAC_RGN_FILE || r->runs_count < 2 || !(r->prot & PROT_READ))
            continue;
        from = img->runs[first].addr;
        for (uint64_t k = first; k + 1 < end; k++) {
            uint64_t gap_at = img->runs[k].addr + img->runs[k].npages * CRAC_PAGE;
            if ((img->runs[k + 1].addr - gap_at) / CRAC_PAGE > ZERO_GAP_MAX_PAGES) {
                populate_span(st, i, r, from, gap_at);
                from = img->runs[k + 1].addr;
            }
        }
        populate_span(st, i, r, from, img->runs[end - 1].addr + img->runs[end - 1].npages * CRAC_PAGE);
    }
}

/* The saved protection, once the data is in. */
static int protect(const struct crac_img *img, const struct crac__stage *st, crac_error **err)
{
    for (size_t i = 0; i < img->nregions; i++) {
        const struct crac_img_region *r = &img->regions[i];
        /* staged writable and readable to be filled (stage_one) */
        if (!r->runs_count || (r->prot | PROT_READ | PROT_WRITE) == r->prot)
            continue;
        if (mprotect((void *)st->addr[i], r->end - r->start, (int)r->prot) < 0) {
            *err = crac__error_src("restore", "mprotect %llx: %s", (unsigned long long)r->start,
                                   strerror(errno));
            return -1;
        }
    }
    return 0;
}

int crac__stage_regions(const struct crac_img *img, struct crac__stage *st,
                        const struct crac__restore_opts *o, bool lazy, crac_error **err)
{
    uint64_t cursor;
    memset(st, 0, sizeof(*st));
    st->huge = o->huge_pages;
    st->run_hashes = o->run_hashes;
    st->addr = calloc(img->nregions + 1, sizeof(*st->addr));
    st->lazy = calloc(img->nregions + 1, sizeof(*st->lazy));
    st->file_fds = malloc((img->nfiles + 1) * sizeof(int));
    if (!st->addr || !st->lazy || !st->file_fds) {
        *err = crac__error_src("restore", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < img->nfiles; i++)
        st->file_fds[i] = -1;
    if (lazy && !(st->hot = crac__lazy_hot_runs(img))) {
        *err = crac__error_src("restore", "out of memory");
        return -1;
    }
    for (size_t i = 0; lazy && i < img->nregions; i++)
        if ((st->lazy[i] = crac__lazy_region(img, i))) {
            const struct crac_img_region *r = &img->regions[i];
            for (uint64_t k = r->runs_first; k < r->runs_first + r->runs_count; k++)
                st->pages_lazy += st->hot[k] ? 0 : img->runs[k].npages;
        }
    if (reserve(img, st, err))
        return -1;
    cursor = st->base;
    for (size_t i = 0; i < img->nregions; i++) {
        const struct crac_img_region *r = &img->regions[i];
        /* same offset inside a 2 MiB page as the saved address */
        uint64_t at = cursor + ((r->start - cursor) & (HUGE - 1));
        st->addr[i] = at;
        cursor = at + (r->end - r->start) + CRAC_PAGE;
        if (stage_one(img, st, i, err))
            return -1;
    }
    if (fill_all(img, st, err))
        return -1;
    populate_gaps(img, st);
    if (protect(img, st, err))
        return -1;
    for (size_t i = 0; i < img->nfiles; i++)
        if (st->file_fds[i] >= 0)
            close(st->file_fds[i]);
    return 0;
}
