/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The thread records against the memory they will resume in, read as the
 * restore will lay it out (saved page data, else the mapped file as it is
 * now, else zeros): each thread resumes right after a call to the one
 * function that saved its context (crac__ctx_save(): a 5-byte direct
 * call), on a thread pointer whose first word is itself (glibc's TCB, what
 * crac__ctx_save() reads the thread pointer from), with glibc's cached
 * thread id at its clear-child-tid address.  A context changed by as
 * little as a byte or a page fails one of these.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "restore/restore.h"

/* The saved run of region r holding addr, or NULL. */
static const struct crac_img_run *run_at(const struct crac_img *img,
                                         const struct crac_img_region *r, uint64_t addr)
{
    for (uint64_t k = r->runs_first; k < r->runs_first + r->runs_count; k++) {
        const struct crac_img_run *run = &img->runs[k];
        if (addr >= run->addr && addr - run->addr < run->npages * CRAC_PAGE)
            return run;
    }
    return NULL;
}

/* One byte range inside one page of saved memory. */
static int read_page(const struct crac_img *img, uint64_t addr, void *buf, size_t len)
{
    const struct crac_img_region *r = crac__img_region_at(img, addr);
    const struct crac_img_run *run = r ? run_at(img, r, addr) : NULL;
    ssize_t n = -1;
    if (!r)
        return -1;
    if (run) {
        n = pread(img->pages_fd, buf, len, (off_t)(run->file_off + (addr - run->addr)));
    } else if (r->file >= 0) {
        int fd = open(crac__img_str(img, img->files[r->file].path), O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            n = pread(fd, buf, len, (off_t)(r->file_offset + (addr - r->start)));
        if (fd >= 0)
            close(fd);
    } else {
        memset(buf, 0, len); /* anonymous memory not saved: zeros */
        n = (ssize_t)len;
    }
    return n == (ssize_t)len ? 0 : -1;
}

int crac__restore_read_mem(const struct crac_img *img, uint64_t addr, void *buf, size_t len)
{
    while (len) {
        size_t n = CRAC_PAGE - (addr & (CRAC_PAGE - 1));
        n = n < len ? n : len;
        if (read_page(img, addr, buf, n))
            return -1;
        addr += n;
        buf = (char *)buf + n;
        len -= n;
    }
    return 0;
}

/* What is wrong with thread t's memory, or NULL; *callee set to the
 * function it returns from. */
static const char *thread_mem(const struct crac_img *img, const struct crac_img_thread *t,
                              uint64_t *callee)
{
    uint8_t call[5];
    uint64_t self;
    int32_t rel, tid;
    if (crac__restore_read_mem(img, t->ctx.rip - 5, call, 5) || call[0] != 0xe8)
        return "the instruction pointer does not follow a call";
    memcpy(&rel, call + 1, 4);
    *callee = t->ctx.rip + (uint64_t)(int64_t)rel;
    if (crac__restore_read_mem(img, t->ctx.fsbase, &self, 8) || self != t->ctx.fsbase)
        return "the thread pointer's first word is not itself (no TLS block there)";
    if (t->tid_address &&
        (crac__restore_read_mem(img, t->tid_address, &tid, 4) || tid != t->tid))
        return "the clear-child-tid address does not hold the thread's id";
    return NULL;
}

int crac__restore_validate_threads(const struct crac_img *img, crac_error **err)
{
    uint64_t first = 0;
    for (size_t i = 0; i < img->nthreads; i++) {
        const struct crac_img_thread *t = &img->threads[i];
        uint64_t callee = 0;
        const char *why = thread_mem(img, t, &callee);
        if (!why && (i ? callee != first : !crac__img_mem_has(img, callee, 1, PROT_EXEC)))
            why = "the instruction pointer does not follow a call of the function that saved "
                  "the other threads' contexts";
        if (why)
            return crac__img_refuse(img, err, "thread %zu (tid %d): %s (rip %#" PRIx64 ", fs %#"
                                    PRIx64 ")", i, t->tid, why, t->ctx.rip, t->ctx.fsbase);
        first = i ? first : callee;
    }
    return 0;
}
