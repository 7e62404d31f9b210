/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An image's meaning, checked before anything trusts it.  Checksums only
 * prove that the writer meant the bytes; these checks prove that they fit
 * together (and keep a crafted image out): every index and offset inside
 * its table, every address inside the user address space and inside the
 * saved memory it must lie in, with the protection it needs, and every
 * value the kernel will check past the point of no return within what it
 * allows.  What needs the machine (file sizes now, mmap_min_addr, rlimits)
 * is checked by the restorer (src/restore/validate.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/core.h"
#include "image/check.h"

int crac__img_refuse(const struct crac_img *img, crac_error **err, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    *err = crac__error_src("image", "%s: %s", img->dir, what);
    return -1;
}

bool crac__img_str_ok(const struct crac_img *img, uint32_t off)
{
    return off < img->strings_len;
}

const struct crac_img_region *crac__img_region_at(const struct crac_img *img, uint64_t addr)
{
    size_t lo = 0, hi = img->nregions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct crac_img_region *r = &img->regions[mid];
        if (addr < r->start)
            hi = mid;
        else if (addr >= r->end)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

bool crac__img_mem_has(const struct crac_img *img, uint64_t addr, uint64_t len, uint32_t prot)
{
    const struct crac_img_region *r = crac__img_region_at(img, addr);
    const struct crac_img_region *last = img->regions + img->nregions;
    uint64_t end = addr + len;
    if (!r || end < addr)
        return false;
    for (;;) {
        if ((r->prot & prot) != prot)
            return false;
        if (end <= r->end)
            return true;
        /* goes on into the next region, which must follow without a gap */
        if (r + 1 == last || r[1].start != r->end)
            return false;
        r++;
    }
}

/* "key=value" items, NUL-separated (the table's last byte is a NUL). */
static int check_items(const struct crac_img *img, const char *buf, size_t len, const char *what,
                       crac_error **err)
{
    for (size_t i = 0; i < len;) {
        size_t n = strlen(buf + i);
        const char *eq = memchr(buf + i, '=', n);
        if (!eq || eq == buf + i)
            return crac__img_refuse(img, err, "%s: item at offset %zu is not KEY=VALUE", what, i);
        i += n + 1;
    }
    return 0;
}

static int check_tables(const struct crac_img *img, crac_error **err)
{
    if (img->strings[0])
        return crac__img_refuse(img, err, "string table: offset 0 is not the empty string");
    return check_items(img, img->labels, img->labels_len, "labels", err) ||
           check_items(img, img->notes, img->notes_len, "notes", err);
}

int crac__img_check(const struct crac_img *img, crac_error **err)
{
    if (check_tables(img, err) || crac__img_check_mem(img, err) ||
        crac__img_check_layout(img, err) || crac__img_check_state(img, err) ||
        crac__img_check_threads(img, err) || crac__img_check_fds(img, err))
        return -1;
    return 0;
}
