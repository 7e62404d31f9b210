/* SPDX-License-Identifier: Apache-2.0 */
/* Lazy restore: the restored process's half (lazy.c) and the pager that
 * serves its memory from the parent process (pager*.c). */
#ifndef CRAC_RESTORE_LAZY_H
#define CRAC_RESTORE_LAZY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "restore/restore.h"

/* Newer than the kernel headers of Debian 12 (6.1); the running kernel
 * says whether it has them (UFFDIO_API). */
#define CRAC__UFFD_FEATURE_POISON (1ULL << 14)
struct crac__uffdio_poison {
    unsigned long long start, len, mode;
    long long updated;
};
#define CRAC__UFFDIO_POISON _IOWR(0xAA, 0x08, struct crac__uffdio_poison)

struct crac__lazy {
    bool on;             /* this restore serves memory lazily */
    int sock[2];         /* [0] the pager's end, [1] the restored process's */
    int uffd;            /* in the restored process, once made */
    const char *why_not; /* why the restore is eager after all (-v) */
};

/* Whether region i is staged empty and served by the pager: anonymous or
 * heap, readable, with at least 1 MiB of saved data. */
bool crac__lazy_region(const struct crac_img *img, size_t i);
bool crac__lazy_any(const struct crac_img *img);
/* Per run: read before the jump even in a lazily served region, because a
 * thread resumes on it (its stack or TLS).  calloc'd; NULL when out of
 * memory.  Runs are sorted by address (the image's checks). */
bool *crac__lazy_hot_runs(const struct crac_img *img);

/* Before the fork into the identity: the socket pair.  0, or -1 (eager). */
int crac__lazy_prepare(struct crac__lazy *lz);
/* In the restored process: makes the userfaultfd and hands it to the
 * pager.  0, or -1 with lz->why_not (the pager is told; eager then). */
int crac__lazy_start(struct crac__lazy *lz);
/* Closes what is left of it (a process that is neither side; eager). */
void crac__lazy_drop(struct crac__lazy *lz);

/* In the parent of the restored process: receives the userfaultfd, waits
 * until the memory is registered, fills it all (faults first) and gives
 * the memory back to the kernel.  Returns when every page is in, or when
 * the process ended: 0, or -1 when the image's page data failed a check
 * (the process was stopped and the message printed). */
int crac__pager_serve(const struct crac_img *img, const struct crac__restore_opts *o,
                      struct crac__lazy *lz, pid_t child);

/* --pid new: starts the pager as a process of its own (nobody's child
 * once started) to serve this one.  0, or -1 (eager then). */
int crac__pager_spawn(const struct crac_img *img, const struct crac__restore_opts *o,
                      struct crac__lazy *lz);

#endif
