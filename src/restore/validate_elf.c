/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Code mappings against the ELF files they come from, as those files are
 * now: a saved executable region must map part of a loadable segment, and
 * the load it belongs to (the same file at the same load address) must be
 * whole, each of its segments' file pages mapped from the offsets the ELF
 * file gives them.  So a region dropped from a library, or a mapping moved
 * to other bytes of the file, is refused instead of running the wrong
 * code.  Pages of a segment that the program mapped over with something
 * else (code copied to anonymous huge pages, say) are its business; a hole
 * is not.
 */
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "restore/restore.h"

#define PAGE_MASK (CRAC_PAGE - 1)
#define MAX_SEGS 32

struct seg {
    uint64_t off, end, vaddr; /* page-rounded file range, and where it is loaded */
};

/* The PT_LOAD segments with file bytes of the ELF file at path; how many
 * (0: not an ELF file, or unreadable). */
static int read_segs(const char *path, struct seg *segs)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph[MAX_SEGS * 2];
    int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
    if (fd < 0)
        return 0;
    if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
        eh.e_phnum <= MAX_SEGS * 2 &&
        pread(fd, ph, eh.e_phnum * sizeof(ph[0]), (off_t)eh.e_phoff) ==
            (ssize_t)(eh.e_phnum * sizeof(ph[0])))
        for (int i = 0; i < eh.e_phnum && n < MAX_SEGS; i++)
            if (ph[i].p_type == PT_LOAD && ph[i].p_filesz && ph[i].p_offset < (1ULL << 62) &&
                ph[i].p_filesz < (1ULL << 62) && ph[i].p_vaddr < CRAC_TASK_SIZE)
                segs[n++] = (struct seg){ph[i].p_offset & ~PAGE_MASK,
                                         (ph[i].p_offset + ph[i].p_filesz + PAGE_MASK) & ~PAGE_MASK,
                                         ph[i].p_vaddr & ~PAGE_MASK};
    close(fd);
    return n;
}

/* Segment s of the load at `bias`: every page mapped by region(s) of
 * file f at the right offset, or by something else; none missing. */
static int check_seg(const struct crac_img *img, size_t code, const struct seg *s, uint64_t bias,
                     crac_error **err)
{
    int32_t f = img->regions[code].file;
    const char *path = crac__img_str(img, img->files[f].path);
    uint64_t at = bias + s->vaddr, end = at + (s->end - s->off);
    while (at < end) {
        const struct crac_img_region *r = crac__img_region_at(img, at);
        if (!r)
            return crac__img_refuse(img, err, "%s: its segment at file offset %#" PRIx64 " is "
                                    "not mapped at %#" PRIx64 " (a region of it is missing)",
                                    path, s->off, at);
        if (r->file == f && r->start - r->file_offset != bias + s->vaddr - s->off)
            return crac__img_refuse(img, err, "region %zu (%" PRIx64 "-%" PRIx64 "): maps %s from "
                                    "offset %#" PRIx64 ", but the load that code region %zu "
                                    "belongs to has offset %#" PRIx64 " there (ELF segments)",
                                    (size_t)(r - img->regions), r->start, r->end, path,
                                    r->file_offset, code, s->off + (r->start - (bias + s->vaddr)));
        at = r->end;
    }
    return 0;
}

/* Executable region i, of an ELF file with these segments. */
static int check_code(const struct crac_img *img, size_t i, const struct seg *segs, int n,
                      crac_error **err)
{
    const struct crac_img_region *r = &img->regions[i];
    const struct seg *s = NULL;
    for (int k = 0; k < n && !s; k++)
        if (r->file_offset >= segs[k].off && r->file_offset < segs[k].end)
            s = &segs[k];
    if (!s)
        return crac__img_refuse(img, err, "region %zu (%" PRIx64 "-%" PRIx64 "): executable "
                                "mapping of %s at offset %#" PRIx64 ", in none of its segments",
                                i, r->start, r->end, crac__img_str(img, img->files[r->file].path),
                                r->file_offset);
    uint64_t bias = r->start - (r->file_offset - s->off) - s->vaddr;
    for (int k = 0; k < n; k++)
        if (check_seg(img, i, &segs[k], bias, err))
            return -1;
    return 0;
}

int crac__restore_validate_elf(const struct crac_img *img, crac_error **err)
{
    struct seg segs[MAX_SEGS];
    int32_t cached = -1;
    int n = 0;
    for (size_t i = 0; i < img->nregions; i++) {
        const struct crac_img_region *r = &img->regions[i];
        if (r->kind != CRAC_RGN_FILE || !(r->prot & PROT_EXEC))
            continue;
        if (r->file != cached) { /* a library's regions follow each other */
            n = read_segs(crac__img_str(img, img->files[r->file].path), segs);
            cached = r->file;
        }
        if (n && check_code(img, i, segs, n, err))
            return -1;
    }
    return 0;
}
