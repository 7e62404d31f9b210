/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/image: the checks of an image's meaning, beyond its
 * checksums (check.c runs them in order, each file checks one part).  Each
 * returns 0, or -1 with *err naming the image, the entry, the field and
 * what it must agree with.  The later ones rely on the earlier ones: the
 * memory checks need the regions sorted, so they come first.
 */
#ifndef CRAC_IMAGE_CHECK_H
#define CRAC_IMAGE_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include "image/image.h"

/* Whether off names a string of the table (which ends in a NUL). */
bool crac__img_str_ok(const struct crac_img *img, uint32_t off);

/* All of them, in order (called by crac__img_open once the sections are
 * in place and their checksums right). */
int crac__img_check(const struct crac_img *img, crac_error **err);
/* Files, regions and runs (check_mem.c). */
int crac__img_check_mem(const struct crac_img *img, crac_error **err);
/* The vDSO layout, the mm layout PR_SET_MM_MAP gets, the auxiliary vector
 * and the executable (check_layout.c). */
int crac__img_check_layout(const struct crac_img *img, crac_error **err);
/* Signal handlers, limits, and the rest of the process section
 * (check_state.c). */
int crac__img_check_state(const struct crac_img *img, crac_error **err);
/* The thread records (check_threads.c). */
int crac__img_check_threads(const struct crac_img *img, crac_error **err);

#endif
