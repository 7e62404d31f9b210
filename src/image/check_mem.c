/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The saved memory: the files it maps, its regions (sorted, page aligned,
 * not overlapping, inside the user address space, each file mapping inside
 * its file) and the runs of page data (inside their region, in order, and
 * laid end to end in the pages file exactly as the dumper writes them, so
 * no two runs share bytes and no byte of the pages file is unaccounted).
 */
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "image/check.h"

#define PAGE_MASK (CRAC_PAGE - 1)
#define RGN "region %zu (%" PRIx64 "-%" PRIx64 ")"

static uint64_t page_up(uint64_t v)
{
    return (v + PAGE_MASK) & ~PAGE_MASK;
}

static int check_file(const struct crac_img *img, size_t i, crac_error **err)
{
    const struct crac_img_file *f = &img->files[i];
    if (!crac__img_str_ok(img, f->path) || img->strings[f->path] != '/')
        return crac__img_refuse(img, err, "file %zu: path is not an absolute path of the string "
                                "table (offset %u)", i, f->path);
    if (f->build_id_len > CRAC_BUILD_ID_MAX)
        return crac__img_refuse(img, err, "file %zu (%s): build-id of %u bytes (at most %d)", i,
                                img->strings + f->path, f->build_id_len, CRAC_BUILD_ID_MAX);
    if (!S_ISREG(f->mode) || f->mtime_nsec < 0 || f->mtime_nsec >= 1000000000 ||
        f->ctime_nsec < 0 || f->ctime_nsec >= 1000000000 || f->hashed > 1 ||
        f->size > (1ULL << 62))
        return crac__img_refuse(img, err, "file %zu (%s): not a regular file's identity (mode "
                                "%#o, size %" PRIu64 ", mtime nsec %" PRId64 ")", i,
                                img->strings + f->path, f->mode, f->size, f->mtime_nsec);
    return 0;
}

/* What the region's kind implies: a file or none, its name, its flags. */
static int check_kind(const struct crac_img *img, size_t i, crac_error **err)
{
    const struct crac_img_region *r = &img->regions[i];
    bool is_file = r->kind == CRAC_RGN_FILE || r->kind == CRAC_RGN_SHARED_FILE;
    const char *name = crac__img_str_ok(img, r->name) ? img->strings + r->name : NULL;
    if (r->kind < CRAC_RGN_ANON || r->kind > CRAC_RGN_SHARED_FILE || (r->prot & ~7u))
        return crac__img_refuse(img, err, RGN ": unknown kind %u or protection %#x", i, r->start,
                                r->end, r->kind, r->prot);
    if (is_file ? r->file < 0 || (size_t)r->file >= img->nfiles : r->file != -1)
        return crac__img_refuse(img, err, RGN ": a %s region with file index %d (%zu files)", i,
                                r->start, r->end, crac__region_kind_name(r->kind), r->file,
                                img->nfiles);
    /* The dumper names each region after its file or the kernel's name. */
    if (!name || (is_file && r->name != img->files[r->file].path) ||
        (r->kind == CRAC_RGN_HEAP && strcmp(name, "[heap]")) ||
        (r->kind == CRAC_RGN_STACK && strcmp(name, "[stack]")) ||
        (r->kind == CRAC_RGN_ANON && *name && strncmp(name, "[anon:", 6)))
        return crac__img_refuse(img, err, RGN ": name (string offset %u) does not match its kind "
                                "%s", i, r->start, r->end, r->name, crac__region_kind_name(r->kind));
    if ((r->flags & ~CRAC_RGN_F_KNOWN) ||
        ((r->flags & CRAC_RGN_F_WIPEONFORK) && (is_file || r->runs_count)))
        return crac__img_refuse(img, err, RGN ": unknown or inconsistent flags %#x", i, r->start,
                                r->end, r->flags);
    if (r->kind == CRAC_RGN_SHARED_FILE && ((r->prot & PROT_WRITE) || r->runs_count))
        return crac__img_refuse(img, err, RGN ": a shared file mapping that is writable or has "
                                "page data", i, r->start, r->end);
    return 0;
}

/* A file mapping reads the file: a page wholly past its end faults
 * (SIGBUS) when touched, and the restorer writes saved pages into it. */
static int check_file_range(const struct crac_img *img, size_t i, crac_error **err)
{
    const struct crac_img_region *r = &img->regions[i];
    const struct crac_img_file *f;
    uint64_t len = r->end - r->start;
    if (r->file < 0)
        return 0;
    f = &img->files[r->file];
    if ((r->file_offset & PAGE_MASK) || r->file_offset > (1ULL << 62) ||
        r->file_offset + len > page_up(f->size))
        return crac__img_refuse(img, err, RGN ": file offset %#" PRIx64 " + %#" PRIx64 " past the "
                                "end of %s (%" PRIu64 " bytes)", i, r->start, r->end,
                                r->file_offset, len, img->strings + f->path, f->size);
    return 0;
}

struct walk {
    uint64_t prev_end;   /* end of the previous region */
    uint64_t next_run;   /* the first run of the next region */
    uint64_t pages_off;  /* where the next run starts in the pages file */
    uint64_t pages;      /* pages seen */
};

static int check_runs(const struct crac_img *img, size_t i, struct walk *w, crac_error **err)
{
    const struct crac_img_region *r = &img->regions[i];
    uint64_t at = r->start, pages = 0;
    if (r->runs_first != w->next_run || r->runs_count > img->nruns - r->runs_first)
        return crac__img_refuse(img, err, RGN ": runs %" PRIu64 "+%" PRIu64 " do not follow the "
                                "previous region's (%" PRIu64 " of %zu)", i, r->start, r->end,
                                r->runs_first, r->runs_count, w->next_run, img->nruns);
    for (uint64_t k = r->runs_first; k < r->runs_first + r->runs_count; k++) {
        const struct crac_img_run *run = &img->runs[k];
        uint64_t len = run->npages * CRAC_PAGE;
        if (run->npages == 0 || run->npages > CRAC_RUN_MAX_PAGES || (run->addr & PAGE_MASK) ||
            run->addr < at || run->addr >= r->end || len > r->end - run->addr)
            return crac__img_refuse(img, err, RGN ": run %" PRIu64 " (%" PRIu64 " pages at %#"
                                    PRIx64 ") outside the region or not after the run before",
                                    i, r->start, r->end, k, run->npages, run->addr);
        /* the dumper makes runs as long as they can be: one ends where the
         * next begins only when it is full */
        if (k > r->runs_first && run->addr == at && img->runs[k - 1].npages != CRAC_RUN_MAX_PAGES)
            return crac__img_refuse(img, err, RGN ": run %" PRIu64 " at %#" PRIx64 " goes on from "
                                    "run %" PRIu64 ", which is not full", i, r->start, r->end, k,
                                    run->addr, k - 1);
        if (run->file_off != w->pages_off || len > img->hdr->pages_size - w->pages_off)
            return crac__img_refuse(img, err, RGN ": run %" PRIu64 " at offset %#" PRIx64 " of "
                                    "the pages file, %#" PRIx64 " expected (%" PRIu64 " bytes)",
                                    i, r->start, r->end, k, run->file_off, w->pages_off,
                                    img->hdr->pages_size);
        at = run->addr + len;
        w->pages_off += len;
        pages += run->npages;
    }
    if (pages != r->pages_saved)
        return crac__img_refuse(img, err, RGN ": %" PRIu64 " pages saved, its runs hold %" PRIu64,
                                i, r->start, r->end, r->pages_saved, pages);
    w->next_run += r->runs_count;
    w->pages += pages;
    return 0;
}

static int check_region(const struct crac_img *img, size_t i, struct walk *w, crac_error **err)
{
    const struct crac_img_region *r = &img->regions[i];
    if (r->start >= r->end || (r->start & PAGE_MASK) || (r->end & PAGE_MASK) ||
        r->start < w->prev_end || r->end > CRAC_TASK_SIZE)
        return crac__img_refuse(img, err, RGN ": not a page-aligned range after the previous "
                                "region (ending at %#" PRIx64 ") and below %#llx", i, r->start,
                                r->end, w->prev_end, CRAC_TASK_SIZE);
    if (check_kind(img, i, err) || check_file_range(img, i, err) || check_runs(img, i, w, err))
        return -1;
    w->prev_end = r->end;
    return 0;
}

int crac__img_check_mem(const struct crac_img *img, crac_error **err)
{
    struct walk w = {0, 0, 0, 0};
    for (size_t i = 0; i < img->nfiles; i++)
        if (check_file(img, i, err))
            return -1;
    if (img->nregions == 0)
        return crac__img_refuse(img, err, "no memory regions");
    for (size_t i = 0; i < img->nregions; i++)
        if (check_region(img, i, &w, err))
            return -1;
    if (w.next_run != img->nruns || w.pages_off != img->hdr->pages_size ||
        w.pages != img->proc->pages_total)
        return crac__img_refuse(img, err, "the regions' runs cover %" PRIu64 " of %zu runs and %"
                                PRIu64 " of %" PRIu64 " bytes of page data; %" PRIu64 " pages, "
                                "the process section says %" PRIu64, w.next_run, img->nruns,
                                w.pages_off, img->hdr->pages_size, w.pages,
                                img->proc->pages_total);
    return 0;
}
