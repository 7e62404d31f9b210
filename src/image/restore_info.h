/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The only interface between `crac restore` (which prepares everything with
 * libc at hand) and the freestanding blob (which finishes the job with the
 * old address space gone), and from the blob to the restored library code.
 * Versioned: a blob refuses arguments of another version.
 */
#ifndef CRAC_BLOB_ARGS_H
#define CRAC_BLOB_ARGS_H

#include <stdint.h>
#include "image/format.h"

#define CRAC_BLOB_ARGS_VERSION 2
#define CRAC_RESTORE_INFO_VERSION 3

/* Given to the restored process: crac__ctx_save() "returns" its address. */
struct crac_restore_info {
    uint32_t version, size;
    uint64_t blob_base, blob_len; /* the restored code unmaps this area */
    uint64_t started_ns;          /* CLOCK_REALTIME when `crac restore` began */
    uint32_t flags;               /* CRAC_RI_* */
    uint32_t env_count;           /* --env K=V strings, packed at env_off */
    uint32_t env_off, env_len;
    /* A copy of the image's process section (struct crac_img_proc, size
     * proc_size), which the restored code applies: so the process need not
     * keep a copy of its own in memory that the image would save again. */
    uint32_t proc_off, proc_size;
    /* Lazy restore: the restored process's copy of the userfaultfd its
     * memory is served through (-1: restored eagerly).  Kept so that the
     * pager's death stops the process instead of handing it zeros, and so
     * that a later checkpoint can bring every page in first. */
    int32_t uffd;
    uint32_t pad;
    char cwd[4096];
};
#define CRAC_RI_EXE_KEPT 1u /* /proc/self/exe names the saved program */
#define CRAC_RI_VERBOSE 2u
#define CRAC_RI_LAZY 4u /* memory served lazily (uffd above) */
#define CRAC_RI_TIDS_CHANGED 8u /* keep: some thread ids were taken, threads got new ones */

struct crac_blob_move {
    uint64_t from, to, len;
};

struct crac_blob_range {
    uint64_t start, end;
};

/* Mirrors the kernel's struct prctl_mm_map (PR_SET_MM_MAP_SIZE = 104). */
struct crac_blob_mm {
    uint64_t start_code, end_code, start_data, end_data;
    uint64_t start_brk, brk, start_stack;
    uint64_t arg_start, arg_end, env_start, env_end;
    uint64_t auxv; /* pointer */
    uint32_t auxv_size;
    uint32_t exe_fd;
};

/* A thread the blob recreates (all but the leader, which is resumed on the
 * blob's own thread). */
struct crac_blob_thread {
    struct crac_cpu_ctx ctx;
    uint64_t tid_address; /* glibc's cached tid: set by the kernel, cleared at exit */
    int32_t set_tid;      /* the tid to take (0: any free one) */
    uint32_t pad;
};

struct crac_blob_args {
    uint32_t version, size;
    uint64_t base, len; /* the blob's own area: kept while everything else goes */
    /* the restoring process's rseq registration, to undo */
    uint64_t rseq_addr;
    uint32_t rseq_len, rseq_sig;
    /* [vvar], [vvar_vclock], [vdso]: current place, a parking place inside
     * the blob area, and the saved place; they must move together */
    uint32_t nvdso;
    uint32_t pad;
    struct crac_blob_move vdso_park[3];
    struct crac_blob_move vdso_final[3];
    /* staged regions → saved addresses; offsets from the args */
    uint64_t moves_off;
    uint64_t nmoves;
    /* sorted ranges that stay mapped (the moved regions and the blob area) */
    uint64_t keep_off;
    uint64_t nkeep;
    uint64_t task_size;
    /* threads to recreate; offset from the args */
    uint64_t threads_off;
    uint64_t nthreads;
    uint64_t thread_stack; /* top of a stack page the new threads never use */
    struct crac_blob_mm mm;
    uint64_t auxv[CRAC_AUXV_WORDS];
    struct crac_cpu_ctx ctx; /* the leader's */
    uint64_t info; /* struct crac_restore_info *, passed to the saved code */
    /* Lazy restore: the regions registered with the userfaultfd once in
     * place (offset from the args), then the socket on which the pager
     * waits for the byte saying so (-1: eager). */
    int32_t uffd, uffd_sock;
    uint64_t lazy_off;
    uint64_t nlazy;
};

/* The blob's entry: never returns. */
typedef void (*crac_blob_entry_fn)(struct crac_blob_args *args);

#endif
