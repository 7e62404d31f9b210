/* SPDX-License-Identifier: Apache-2.0 */
/* The restore side of the native engine, run by `crac restore`. */
#ifndef CRAC_RESTORE_H
#define CRAC_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crac.h"
#include "image/image.h"
#include "image/restore_info.h"

struct crac__lazy; /* lazy.h */

enum crac__pid_mode { PID_AUTO, PID_KEEP, PID_NS, PID_NEW };

struct crac__restore_opts {
    const char *dir;
    enum crac__pid_mode pid_mode;
    char **env; /* K=V strings for --env */
    size_t nenv;
    const char *policies; /* --policies FILE, absolute (NULL: none) */
    const char **labels; /* --require-label K=V */
    size_t nlabels;
    bool verbose;
    bool eager;           /* --eager: every page read before the jump */
    bool huge_pages;
    bool insecure;        /* --insecure: no check of who could have written it */
    const char *trust_key; /* --trust-key: the image must be signed by this key */
    const uint8_t *run_hashes; /* from its signature, when signed (trust.h) */
    uint64_t started_ns;
};

/* Where everything is put before the jump. */
struct crac__stage {
    uint64_t base, len;           /* one reservation for staged regions and the blob */
    uint64_t *addr;               /* staged address of each region */
    uint64_t blob_base, blob_len; /* the blob's area, at the end of the reservation */
    int *file_fds;                /* one per image file, -1 until opened */
    bool *lazy;                   /* per region: staged empty, served by the pager */
    bool *hot;                    /* per run: read all the same (crac__lazy_hot_runs) */
    uint64_t pages_lazy;          /* how many saved pages the pager serves */
    bool huge;                    /* MADV_HUGEPAGE on dense regions */
    const uint8_t *run_hashes;    /* signed image: each run read must match */
};

/* Reserves room, maps every region at its staged address, reads the page
 * data into it and checks each run's checksum; with lazy, the regions the
 * pager serves (crac__lazy_region) stay empty.  Nothing irreversible: on
 * failure the caller reports and exits. */
int crac__stage_regions(const struct crac_img *img, struct crac__stage *st,
                        const struct crac__restore_opts *o, bool lazy, crac_error **err);
/* Builds the blob's arguments and jumps; returns only on failure (before
 * the point of no return).  lz: the lazy restore's descriptors (NULL or
 * not on: eager). */
int crac__launch(const struct crac_img *img, struct crac__stage *st,
                 const struct crac__restore_opts *o, struct crac__lazy *lz, crac_error **err);

/* Everything about the image this machine must allow, beyond the image's
 * own consistency (crac__img_open): what the kernel will demand past the
 * point of no return, and the mapped files as they are now (validate.c).
 * saved_ids: the threads take their saved ids (--pid keep or ns).  Only
 * reads; 0, or -1 with *err naming the field and the problem. */
int crac__restore_validate(const struct crac_img *img, bool saved_ids, crac_error **err);
/* The threads against the memory they resume in (validate_mem.c): each
 * right after a call of the function that saved its context, on its TLS
 * block, its cached tid where the kernel will clear it.  0 or -1. */
int crac__restore_validate_threads(const struct crac_img *img, crac_error **err);
/* Executable file mappings against their ELF files now (validate_elf.c):
 * each inside a loadable segment, its load whole and at the right offsets.
 * 0 or -1. */
int crac__restore_validate_elf(const struct crac_img *img, crac_error **err);
/* Reads len bytes at addr of the memory as the restore lays it out (saved
 * page data, else the mapped file now, else zeros).  0, or -1 when addr is
 * not saved memory or a read fails. */
int crac__restore_read_mem(const struct crac_img *img, uint64_t addr, void *buf, size_t len);
/* 1 when every saved thread id is at most this machine's pid_max (*pid_max);
 * else 0 with the first that is not in *bad_tid. */
int crac__restore_ids_fit(const struct crac_img *img, int32_t *bad_tid, uint64_t *pid_max);

/* --pid (identity.c) */
const char *crac__pid_mode_name(enum crac__pid_mode m);
int crac__pid_mode_parse(const char *s, enum crac__pid_mode *m);
/* The mode to use for `want` on this machine, or -1 with *err. */
int crac__pid_mode_choose(const struct crac_img *img, enum crac__pid_mode want,
                          enum crac__pid_mode *got, crac_error **err);
/* For keep and ns: forks into the identity; only the process that is to
 * become the restored one returns (0).  The others wait for it and exit as
 * it does; its parent serves its memory first when lz->on (lazy.h).  With fallback (auto), keep turns into ns or new when the pid was
 * taken meanwhile (*mode says which).  -1 with *err when the fork failed. */
int crac__pid_mode_enter(const struct crac_img *img, enum crac__pid_mode *mode, bool fallback,
                         const struct crac__restore_opts *o, struct crac__lazy *lz,
                         crac_error **err);

/* The saved descriptors, each on its number (src/restore/fds.c): the nours
 * of ours in ours[] (-1: none) move above them, updated to their new
 * numbers, and everything else of ours closes.  0, or -1
 * with *err naming the descriptor and what failed (nothing is left of
 * them then). */
int crac__fds_restore(const struct crac_img *img, const struct crac__restore_opts *o,
                      int *ours, size_t nours, crac_error **err);

/* Room the blob's area needs (code, arguments, threads, stacks, vDSO parking). */
uint64_t crac__blob_area_len(const struct crac_img *img);

extern const char crac__blob_start[], crac__blob_end[];

#endif
