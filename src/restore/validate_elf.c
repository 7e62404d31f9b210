/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loaded ELF files against the files as they are now.  A load is one ELF
 * file mapped at one load address: the executable (found from start_code),
 * the interpreter (AT_BASE), and whatever an executable region maps (which
 * must lie in a loadable segment).  Each load must be whole: every page of
 * every segment with file bytes mapped from the offset the ELF file gives
 * it, with the segment's protection (or less writing: RELRO; or none), or
 * mapped over by something else the program put there (code copied to
 * anonymous huge pages, say); never a hole.  So a region dropped from a
 * library, code moved to other bytes of its file or made non-executable,
 * is refused instead of run.
 */
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <unistd.h>
#include "restore/restore.h"

#define PAGE_MASK (CRAC_PAGE - 1)
#define MAX_SEGS 32

struct seg {
    uint64_t off, end, vaddr; /* page-rounded file range, and where it is loaded */
    uint32_t prot;            /* PROT_* from p_flags */
};

struct elf {
    int32_t file; /* index in the image's files, -1: none read yet */
    int n;        /* segments with file bytes; 0: not an ELF file */
    uint64_t code_vaddr; /* the lowest p_vaddr of an executable segment (start_code) */
    struct seg segs[MAX_SEGS];
};

static uint32_t prot_of(uint32_t flags)
{
    return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
           (flags & PF_X ? PROT_EXEC : 0);
}

/* The PT_LOAD segments with file bytes of image file f. */
static const struct elf *read_elf(const struct crac_img *img, int32_t f, struct elf *e)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph[MAX_SEGS * 2];
    if (e->file == f)
        return e;
    memset(e, 0, sizeof(*e));
    e->file = f;
    e->code_vaddr = UINT64_MAX;
    int fd = open(crac__img_str(img, img->files[f].path), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return e;
    if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
        eh.e_phnum <= MAX_SEGS * 2 &&
        pread(fd, ph, eh.e_phnum * sizeof(ph[0]), (off_t)eh.e_phoff) ==
            (ssize_t)(eh.e_phnum * sizeof(ph[0])))
        for (int i = 0; i < eh.e_phnum && e->n < MAX_SEGS; i++) {
            const Elf64_Phdr *p = &ph[i];
            if (p->p_type != PT_LOAD || !p->p_filesz || p->p_offset >= (1ULL << 62) ||
                p->p_filesz >= (1ULL << 62) || p->p_vaddr >= CRAC_TASK_SIZE)
                continue;
            e->segs[e->n++] = (struct seg){p->p_offset & ~PAGE_MASK,
                                           (p->p_offset + p->p_filesz + PAGE_MASK) & ~PAGE_MASK,
                                           p->p_vaddr & ~PAGE_MASK, prot_of(p->p_flags)};
            if ((p->p_flags & PF_X) && p->p_vaddr < e->code_vaddr)
                e->code_vaddr = p->p_vaddr;
        }
    close(fd);
    return e;
}

/* A region of the load mapping segment s: at the segment's offsets, with
 * its protection, less writing, or none. */
static const char *seg_problem(const struct crac_img *img, const struct crac_img_region *r,
                               const struct seg *s, uint64_t bias)
{
    uint32_t want = s->prot;
    if (r->start - r->file_offset != bias + s->vaddr - s->off)
        return "at another offset";
    if ((img->proc->personality & READ_IMPLIES_EXEC) && (want & PROT_READ))
        want |= PROT_EXEC;
    if (r->prot != want && r->prot != (want & ~(uint32_t)PROT_WRITE) && r->prot != PROT_NONE)
        return "with another protection";
    return NULL;
}

static const char *rwx(uint32_t prot, char *buf)
{
    buf[0] = prot & PROT_READ ? 'r' : '-';
    buf[1] = prot & PROT_WRITE ? 'w' : '-';
    buf[2] = prot & PROT_EXEC ? 'x' : '-';
    buf[3] = 0;
    return buf;
}

/* Every region in segment s of file f's load at `bias`: at the segment's
 * offsets and with its protection. */
static int check_seg(const struct crac_img *img, int32_t f, const struct seg *s, uint64_t bias,
                     crac_error **err)
{
    const char *path = crac__img_str(img, img->files[f].path), *why;
    char have[4], want[4];
    uint64_t at = bias + s->vaddr, end = at + (s->end - s->off);
    while (at < end) {
        const struct crac_img_region *r = crac__img_region_at(img, at);
        /* A hole is allowed: programs unmap pieces of their own loads
         * (node leaves a page of its text unmapped, and maps parts of its
         * executable again elsewhere), and the kernel needs none of it. */
        if (!r) {
            at += CRAC_PAGE;
            continue;
        }
        if (r->file == f && (why = seg_problem(img, r, s, bias)))
            return crac__img_refuse(img, err, "region %zu (%" PRIx64 "-%" PRIx64 "): maps %s (%s "
                                    "from offset %#" PRIx64 ") %s than its ELF segment at offset "
                                    "%#" PRIx64 " (%s) in the load at %#" PRIx64,
                                    (size_t)(r - img->regions), r->start, r->end, path,
                                    rwx(r->prot, have), r->file_offset, why, s->off,
                                    rwx(s->prot, want), bias);
        at = r->end;
    }
    return 0;
}

static int check_load(const struct crac_img *img, const struct elf *e, uint64_t bias,
                      crac_error **err)
{
    for (int k = 0; k < e->n; k++)
        if (check_seg(img, e->file, &e->segs[k], bias, err))
            return -1;
    return 0;
}

/* Executable region i: in a segment, and its load whole. */
static int check_code(const struct crac_img *img, size_t i, const struct elf *e, crac_error **err)
{
    const struct crac_img_region *r = &img->regions[i];
    for (int k = 0; k < e->n; k++)
        if (r->file_offset >= e->segs[k].off && r->file_offset < e->segs[k].end)
            return check_load(img, e, r->start - (r->file_offset - e->segs[k].off) -
                                          e->segs[k].vaddr, err);
    return crac__img_refuse(img, err, "region %zu (%" PRIx64 "-%" PRIx64 "): executable mapping "
                            "of %s at offset %#" PRIx64 ", in none of its segments", i, r->start,
                            r->end, crac__img_str(img, img->files[r->file].path), r->file_offset);
}

/* The executable's load (from start_code) and the interpreter's (AT_BASE). */
static int check_known(const struct crac_img *img, struct elf *e, crac_error **err)
{
    const struct crac_img_proc *p = img->proc;
    const struct crac_img_region *r;
    if (read_elf(img, p->exe_file, e)->n && e->code_vaddr != UINT64_MAX &&
        check_load(img, e, p->start_code - e->code_vaddr, err))
        return -1;
    for (uint32_t i = 0; i + 1 < p->auxv_words; i += 2)
        if (p->auxv[i] == AT_BASE && p->auxv[i + 1] &&
            (r = crac__img_region_at(img, p->auxv[i + 1])) && r->kind == CRAC_RGN_FILE &&
            read_elf(img, r->file, e)->n && check_load(img, e, p->auxv[i + 1], err))
            return -1;
    return 0;
}

int crac__restore_validate_elf(const struct crac_img *img, crac_error **err)
{
    struct elf e = {.file = -1};
    for (size_t i = 0; i < img->nregions; i++) {
        const struct crac_img_region *r = &img->regions[i];
        if (r->kind == CRAC_RGN_FILE && (r->prot & PROT_EXEC) && read_elf(img, r->file, &e)->n &&
            check_code(img, i, &e, err))
            return -1;
    }
    return check_known(img, &e, err);
}
