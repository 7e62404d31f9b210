/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory marked MADV_WIPEONFORK: a fork's child finds it zeroed, which is
 * how libraries that keep secrets or random state there (BoringSSL,
 * LibreSSL's arc4random, ...) notice that they were copied.  A restored
 * instance is a copy too: such memory is not saved (its secrets do not go
 * into the image either), reads as zeros in every instance, and is marked
 * again at restore, so that the instance's own forks still wipe it.
 *
 * Only /proc/self/smaps shows the flag ("wf" in VmFlags, smaps.c).  It is
 * read in the writing phase, with the other threads parked (nothing
 * changes under it).
 */
#include <errno.h>

#include "native/dump.h"

static int add_wipe(void *arg, uint64_t start, uint64_t end)
{
    struct crac__dump *d = arg;
    if (d->nwipe == CRAC__WIPE_MAX)
        return -E2BIG;
    d->wipe[d->nwipe].start = start;
    d->wipe[d->nwipe++].end = end;
    return 0;
}

int crac__dump_find_wipe(struct crac__dump *d)
{
    d->nwipe = 0;
    return crac__smaps_flagged("wf", add_wipe, d);
}

bool crac__dump_wiped(const struct crac__dump *d, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < d->nwipe; i++)
        if (start >= d->wipe[i].start && end <= d->wipe[i].end)
            return true;
    return false;
}
