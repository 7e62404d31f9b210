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
#include <string.h>
#include "image/check.h"

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
