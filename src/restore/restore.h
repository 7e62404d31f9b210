/* SPDX-License-Identifier: Apache-2.0 */
/* The restore side of the native engine, run by `crac restore`. */
#ifndef CRAC_RESTORE_H
#define CRAC_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crac.h"
#include "image/image.h"
#include "restore/blob/blob_args.h"

struct crac__restore_opts {
    const char *dir;
    char **env; /* K=V strings for --env */
    size_t nenv;
    bool verbose;
    uint64_t started_ns;
};

/* Where everything is put before the jump. */
struct crac__stage {
    uint64_t base, len;           /* one reservation for staged regions and the blob */
    uint64_t *addr;               /* staged address of each region */
    uint64_t blob_base, blob_len; /* the blob's area, at the end of the reservation */
    int *file_fds;                /* one per image file, -1 until opened */
};

/* Reserves room, maps every region at its staged address, reads the page
 * data into it and checks each region's checksum.  Nothing irreversible:
 * on failure the caller reports and exits. */
int crac__stage_regions(const struct crac_img *img, struct crac__stage *st, crac_error **err);
/* Builds the blob's arguments and jumps; returns only on failure (before
 * the point of no return). */
int crac__launch(const struct crac_img *img, struct crac__stage *st,
                 const struct crac__restore_opts *o, crac_error **err);

extern const char crac__blob_start[], crac__blob_end[];

#endif
