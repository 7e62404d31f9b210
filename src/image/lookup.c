/* SPDX-License-Identifier: Apache-2.0 */
/* What the checks of an image (check*.c) and its readers look up: where an
 * address is saved, the names of things, and the words of a refusal. */
#include <stdarg.h>
#include <stdio.h>
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

const char *crac__region_kind_name(uint32_t kind)
{
    switch (kind) {
    case CRAC_RGN_ANON: return "anon";
    case CRAC_RGN_FILE: return "file";
    case CRAC_RGN_HEAP: return "heap";
    case CRAC_RGN_STACK: return "stack";
    case CRAC_RGN_SHARED_FILE: return "shared-file";
    }
    return "?";
}
