/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writing phase: walk our own mappings and write the pages worth saving.
 *
 * This runs after crac__ctx_save() while the heap and stdio are part of what
 * is being saved, so it calls no malloc and no stdio: only system calls and
 * the scratch mapping of struct crac__dump, which the walk leaves out.
 *
 * Which pages are saved (from /proc/self/pagemap):
 *  - anonymous memory: present or swapped pages that are not all zero (a
 *    page never touched, or all zero, reads back as zero after restore);
 *  - private file mappings: pages that are anonymous copies (written at some
 *    point), zero or not: under them the file has other bytes;
 *  - the stack below the saved stack pointer is dead and not saved.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "image/hash.h"
#include "native/dump.h"
#include "native/threads.h"
#include "image/image.h"
#include "image/maps.h"
#include "native/fds.h"

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61)

static int page_is_zero(const void *page)
{
    const uint64_t *w = page;
    uint64_t acc = 0;
    /* Most saved pages differ from zero in their first bytes; check a few
     * words before scanning the whole page. */
    if (w[0] | w[1] | w[2] | w[3])
        return 0;
    for (size_t i = 4; i < CRAC_PAGE / 8; i += 4)
        acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3];
    return acc == 0;
}

/* Pages are written straight from memory (writev, one iovec per run),
 * and each run's checksum is computed afterwards from the file's own
 * bytes: the batch just written is mapped from the page cache and hashed
 * there.  Memory keeps changing under the walk (the kernel updates each
 * thread's rseq area, the dumper's own globals change), so the checksum
 * must describe the bytes in the file, not the bytes in memory.  The
 * earlier design copied every page into a buffer first; faulting in that
 * buffer cost as much as the rest of a small checkpoint. */

/* A run being collected: pages [start, start + n*PAGE) of region r. */
struct run_state {
    struct crac_img_region *r;
    uint64_t start, n;
};

/* Pages are written in batches of at most this much; after each batch the
 * disk starts on it (so that it works while we walk on, instead of all of
 * it waiting for the final fsync: 1 GiB took 245-290 ms instead of
 * 375-480 ms, docs/benchmarks.md) and its runs are hashed. */
#define BATCH_BYTES (32UL << 20)

/* Writes the pending batch, starts its write-back and hashes its runs
 * from the page cache. */
static int write_batch(struct crac__dump *d)
{
    uint64_t from = d->pages_off - d->pending, len = d->pending;
    const unsigned char *map;
    int rc;
    if (!len)
        return 0;
    rc = crac__pwritev_all(d->pages_fd, d->iov, (int)d->niov, (off_t)from);
    d->niov = 0;
    d->pending = 0;
    if (rc)
        return rc;
    sync_file_range(d->pages_fd, (off_t)from, (off_t)len, SYNC_FILE_RANGE_WRITE);
    map = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, d->pages_fd, (off_t)from);
    if (map == MAP_FAILED)
        return -errno;
    for (; d->runs_hashed < d->nruns; d->runs_hashed++) {
        struct crac_img_run *run = &d->runs[d->runs_hashed];
        run->hash = crac__hash(map + (run->file_off - from), run->npages * CRAC_PAGE);
    }
    munmap((void *)map, len);
    return 0;
}

/* Ends the current run: records it and queues its pages for writing. */
static int flush_run(struct crac__dump *d, struct run_state *rs)
{
    struct crac_img_run *run;
    uint64_t bytes = rs->n * CRAC_PAGE;
    struct iovec *last = d->niov ? &d->iov[d->niov - 1] : NULL;
    if (!rs->n)
        return 0;
    if (d->nruns == d->runs_cap)
        return -E2BIG;
    run = &d->runs[d->nruns++];
    run->addr = rs->start;
    run->npages = rs->n;
    run->file_off = d->pages_off;
    rs->r->runs_count++;
    rs->r->pages_saved += rs->n;
    rs->n = 0;
    /* Runs split only by the size limit are one iovec. */
    if (last && (uint64_t)last->iov_base + last->iov_len == run->addr)
        last->iov_len += bytes;
    else
        d->iov[d->niov++] = (struct iovec){(void *)run->addr, bytes};
    d->pages_off += bytes;
    d->pending += bytes;
    if (d->niov == d->iov_cap || d->pending >= BATCH_BYTES)
        return write_batch(d);
    return 0;
}

/* Appends the page at addr to the current run (starting one if needed). */
static int add_page(struct crac__dump *d, struct run_state *rs, uint64_t addr)
{
    int rc = 0;
    if (rs->n && (rs->start + rs->n * CRAC_PAGE != addr || rs->n == CRAC_RUN_MAX_PAGES))
        rc = flush_run(d, rs);
    if (rc)
        return rc;
    if (!rs->n)
        rs->start = addr;
    rs->n++;
    return 0;
}

/* A stack holding a thread's saved stack pointer is dead below it (less
 * the red zone): those pages are the dumper's own frames, or garbage. */
static uint64_t dead_below(const struct crac__dump *d, const struct crac_img_region *r)
{
    uint64_t dead = 0;
    for (size_t i = 0; i < d->nthreads; i++) {
        uint64_t sp = d->threads[i].ctx.rsp;
        if (sp > r->start && sp <= r->end) {
            uint64_t below = (sp - 128) & ~(CRAC_PAGE - 1);
            if (below > dead)
                dead = below;
        }
    }
    return dead;
}

static int save_pages(struct crac__dump *d, struct crac_img_region *r)
{
    int anon = r->kind != CRAC_RGN_FILE;
    struct run_state rs = {r, 0, 0};
    uint64_t addr = r->start;
    uint64_t dead = dead_below(d, r);
    int rc = 0;

    r->runs_first = d->nruns;
    while (addr < r->end && !rc) {
        uint64_t npages = (r->end - addr) / CRAC_PAGE;
        if (npages > d->pagemap_cap)
            npages = d->pagemap_cap;
        if (pread(d->pagemap_fd, d->pagemap, npages * 8, (off_t)(addr / CRAC_PAGE * 8)) !=
            (ssize_t)(npages * 8))
            return errno ? -errno : -EIO;
        for (uint64_t i = 0; i < npages && !rc; i++, addr += CRAC_PAGE) {
            uint64_t pm = d->pagemap[i];
            int save;
            if (anon)
                save = (pm & (PM_PRESENT | PM_SWAPPED)) && addr + CRAC_PAGE > dead &&
                       !page_is_zero((const void *)addr);
            else
                save = (pm & PM_SWAPPED) || ((pm & PM_PRESENT) && !(pm & PM_FILE));
            if (!save) {
                rc = flush_run(d, &rs);
                continue;
            }
            rc = add_page(d, &rs, addr);
        }
    }
    if (!rc)
        rc = flush_run(d, &rs);
    return rc;
}

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Anonymous kinds that the kernel names in brackets. */
static uint32_t bracket_kind(const struct crac_map *m)
{
    if (crac__map_is(m, "[heap]"))
        return CRAC_RGN_HEAP;
    if (crac__map_is(m, "[stack]"))
        return CRAC_RGN_STACK;
    if (m->path_len > 6 && !memcmp(m->path, "[anon:", 6))
        return CRAC_RGN_ANON;
    return 0;
}

static int is_special(const struct crac_map *m)
{
    return crac__map_is(m, "[vvar]") || crac__map_is(m, "[vvar_vclock]") ||
           crac__map_is(m, "[vdso]") || crac__map_is(m, "[vsyscall]");
}

/* Saves one piece [start, end) of mapping m. */
static int save_piece(struct crac__dump *d, const struct crac_map *m, uint64_t start, uint64_t end)
{
    struct crac_img_region *r;
    int prot = (m->perms[0] == 'r' ? PROT_READ : 0) | (m->perms[1] == 'w' ? PROT_WRITE : 0) |
               (m->perms[2] == 'x' ? PROT_EXEC : 0);
    int rc;
    if (d->nregions == d->regions_cap)
        return -E2BIG;
    r = &d->regions[d->nregions++];
    memset(r, 0, sizeof(*r));
    r->start = start;
    r->end = end;
    r->prot = (uint32_t)prot;
    r->file = -1;
    if (m->path_len && m->path[0] == '/') {
        r->kind = m->perms[3] == 's' ? CRAC_RGN_SHARED_FILE : CRAC_RGN_FILE;
        r->file = crac__dump_file(d, m->path, m->path_len, m->ino);
        if (r->file < 0)
            return r->file;
        r->file_offset = m->offset + (start - m->start);
        r->name = d->files[r->file].path;
    } else {
        r->kind = m->path_len ? bracket_kind(m) : CRAC_RGN_ANON;
        if (!r->kind)
            return -EOPNOTSUPP;
        r->name = m->path_len ? crac__dump_str(d, m->path, m->path_len) : 0;
    }
    r->runs_first = d->nruns;
    if (r->kind == CRAC_RGN_SHARED_FILE)
        return 0;
    if (r->kind != CRAC_RGN_FILE && crac__dump_wiped(d, start, end)) {
        r->flags |= CRAC_RGN_F_WIPEONFORK; /* zero in every instance (wipe.c) */
        return 0;
    }
    /* We must read the pages to save them; lift a missing read permission
     * for the duration (the region records the real protection). */
    if (!(prot & PROT_READ) && mprotect((void *)start, end - start, prot | PROT_READ) < 0)
        return -errno;
    rc = save_pages(d, r);
    /* the pages are read when written: before the protection comes back */
    if (!(prot & PROT_READ) && !rc)
        rc = write_batch(d);
    if (!(prot & PROT_READ) && mprotect((void *)start, end - start, prot) < 0 && !rc)
        rc = -errno;
    return rc;
}

/* Saves mapping m minus the dumper's own scratch mapping. */
static int save_mapping(struct crac__dump *d, const struct crac_map *m)
{
    uint64_t xs = (uint64_t)d->scratch, xe = xs + d->scratch_len;
    int rc = 0;
    if (m->end <= xs || m->start >= xe)
        return save_piece(d, m, m->start, m->end);
    if (m->start < xs)
        rc = save_piece(d, m, m->start, xs);
    if (!rc && m->end > xe)
        rc = save_piece(d, m, xe, m->end);
    return rc;
}

int crac__dump_write(struct crac__dump *d, struct crac_img_proc *p)
{
    const struct crac__fdscan *fs = d->fdscan;
    struct crac_img parts;
    const char *cur, *end;
    struct crac_map m;
    long n;
    int rc = 0, more;

    /* The break as the kernel has it now, after malloc_trim() and whatever
     * the preparation allocated: the restored [heap] ends exactly here, and
     * glibc's cached break must agree with the kernel's. */
    p->brk = (uint64_t)syscall(SYS_brk, 0);
    p->monotonic_ns = clock_ns(CLOCK_MONOTONIC);
    p->boottime_ns = clock_ns(CLOCK_BOOTTIME);
    /* Threads parked, the records complete: keep the live ones. */
    d->nthreads = 0;
    for (uint32_t i = 0; i < crac__nthreads; i++)
        if (crac__threads[i].tid)
            d->threads[d->nthreads++] = crac__threads[i];
    p->nthreads = (uint32_t)d->nthreads;
    d->err_what = "finding memory marked MADV_WIPEONFORK in /proc/self/smaps";
    if ((rc = crac__dump_find_wipe(d)) < 0)
        return rc;
    d->err_what = "reading /proc/self/maps";
    n = crac__read_file("/proc/self/maps", d->maps, d->maps_cap);
    if (n < 0)
        return (int)n;
    d->err_what = "finding the vDSO";
    if ((rc = crac__vdso_layout_in(d->maps, (size_t)n, &p->vdso)) < 0)
        return rc;
    cur = d->maps;
    end = d->maps + n;
    d->err_what = "saving memory";
    while (!rc && (more = crac__maps_next(&cur, end, &m)) != 0) {
        if (more < 0)
            return -EINVAL;
        if (!is_special(&m))
            rc = save_mapping(d, &m);
    }
    if (!rc)
        rc = write_batch(d);
    if (rc)
        return rc;
    /* The disk works on the page data while the rest of the process
     * state is recorded and the metadata is built. */
    crac__fsync_start(&d->pages_sync, d->pages_fd);
    d->pages_sync_started = true;
    if ((rc = crac__proc_capture(d, p)) || (rc = crac__dump_identify_files(d)))
        return rc;
    d->err_what = "creating the image metadata file";
    if ((d->meta_fd = crac__dump_open_new(d->tmp, CRAC_IMG_META)) < 0)
        return -errno;
    p->pages_total = d->pages_off / CRAC_PAGE;
    parts = (struct crac_img){
        .proc = p, .regions = d->regions, .nregions = d->nregions,
        .runs = d->runs, .nruns = d->nruns, .files = d->files, .nfiles = d->nfiles,
        .strings = d->strings, .strings_len = d->strings_len,
        .labels = d->labels, .labels_len = d->labels_len,
        .threads = d->threads, .nthreads = d->nthreads,
        .notes = d->notes, .notes_len = d->notes_len,
        .fds = fs->out, .nfds = fs->nout, .fddata = fs->data, .fddata_len = fs->data_len,
    };
    d->err_what = "writing the image metadata";
    return crac__img_write_meta(d->meta_fd, &parts, d->pages_off);
}
