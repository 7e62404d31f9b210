/* SPDX-License-Identifier: Apache-2.0 */
/* What the fuzz target and the generator of mutated images share: a seed
 * image taken apart, a work directory to write mutated images into, and
 * every check `crac restore` makes before it changes anything. */
#ifndef CRAC_FUZZ_HARNESS_H
#define CRAC_FUZZ_HARNESS_H

#include <stdbool.h>
#include "crac.h"
#include "fuzz/mutate.h"

struct fz_harness {
    struct fz_meta seed;
    char seed_dir[2048];
    char dir[2048]; /* the mutated image: meta, and pages linked to the seed's */
};

/* Loads SEED_DIR's meta and makes WORK_DIR/img.  0, or -1 with a message. */
int fz_setup(struct fz_harness *h, const char *seed_dir, const char *work_dir);
void fz_teardown(struct fz_harness *h);
/* The seed with the edits encoded in data applied, written as h->dir's
 * meta.  0 or -1. */
int fz_make(struct fz_harness *h, const uint8_t *data, size_t size);
/* Every check of `crac restore` before the point of no return that
 * changes nothing: the reader, this machine, the files, the page data.
 * 0 when the image is accepted; -1 with *err (when err is not NULL).
 * With `exercise`, also what reads an accepted image for people
 * (descriptions, errors naming runs). */
int fz_check(const struct fz_harness *h, bool exercise, crac_error **err);

#endif
