/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dumper: saves the calling process into an image directory.
 *
 * Phases: crac__dump_prepare() (may use the heap: paths, files, process
 * state), then crac__ctx_save(), then crac__dump_write() which must not touch
 * the heap or stdio (it is saving them), then crac__dump_finish().
 * Everything the writing phase needs lives in one private mapping that the
 * walk leaves out of the image.
 */
#ifndef CRAC_DUMP_H
#define CRAC_DUMP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include "crac.h"
#include "image/format.h"

/* One fsync() on a helper thread (src/dump/fsyncs.c): start it, do other
 * work, then wait for it (0 or -errno).  The job must stay in place until
 * then. */
struct crac__fsync_job {
    int fd;
    volatile int tid; /* set by the kernel at clone, cleared when the helper ends */
    long rc;
    char stack[4096] __attribute__((aligned(16)));
};
void crac__fsync_start(struct crac__fsync_job *j, int fd);
int crac__fsync_finish(struct crac__fsync_job *j);

#define CRAC__WIPE_MAX 256

struct crac__dump {
    char dest[PATH_MAX];   /* the image directory to publish */
    char tmp[PATH_MAX];    /* where it is written first */
    char parent[PATH_MAX]; /* their directory, fsync'ed after the rename */
    bool replace;          /* dest exists (an older image) and is replaced */
    int meta_fd, pages_fd, pagemap_fd;
    int lock_fd;           /* flock on tmp while it is written (dump.c) */
    const int *dropped;    /* the request's `drop` descriptors (fds_run.c) */
    size_t ndropped;
    /* scratch: one mapping, excluded from the image */
    void *scratch;
    size_t scratch_len;
    char *maps;
    size_t maps_cap;
    struct crac_img_region *regions;
    size_t nregions, regions_cap;
    struct crac_img_run *runs;
    size_t nruns, runs_cap;
    struct crac_img_file *files;
    size_t nfiles, files_cap;
    char *strings;
    size_t strings_len, strings_cap;
    char *labels;
    size_t labels_len, labels_cap;
    char *notes;
    size_t notes_len, notes_cap;
    uint64_t *pagemap;
    size_t pagemap_cap; /* entries */
    struct iovec *iov;  /* the runs of the batch being collected */
    size_t niov, iov_cap;
    struct crac_img_thread *threads; /* the live thread records, as written */
    struct crac__parker *parker;     /* the safepoint's ptrace helper (threads.h) */
    size_t nthreads;
    void *fdscan;        /* the descriptor scan's area (src/native/fds.h) */
    uint64_t pages_off;  /* bytes of page data so far (written or pending) */
    uint64_t pending;    /* bytes queued in iov, not yet written */
    size_t runs_hashed;  /* runs before this one have their checksum */
    /* the page data's fsync, started as soon as it is all written */
    struct crac__fsync_job pages_sync;
    bool pages_sync_started;
    int err;             /* -errno of the first failure in the writing phase */
    const char *err_what;
    char err_text[PATH_MAX + 64]; /* err_what, when it names a file */
    /* Mappings marked MADV_WIPEONFORK (wipe.c): saved as empty regions. */
    struct { uint64_t start, end; } wipe[CRAC__WIPE_MAX];
    size_t nwipe;
    /* The image's process section: here rather than in the library's
     * memory, where the checkpoint would dirty pages the image then saves
     * (a restored process gets it from the restore information). */
    struct crac_img_proc proc;
};

/* uint64_t crac__ctx_save(struct crac_cpu_ctx *): 0 now, the restore
 * information's address when the restorer jumps back (src/dump/ctx.S). */
uint64_t crac__ctx_save(struct crac_cpu_ctx *ctx) __attribute__((returns_twice));

/* The dumper's state, in its own scratch mapping; NULL with *err set. */
struct crac__dump *crac__dump_prepare(const char *dest, crac_error **err);
/* Done with d: its scratch mapping is kept for the next checkpoint (or,
 * after a large one, unmapped). */
void crac__dump_free(struct crac__dump *d);
/* In a restored process: the kept scratch mapping was left out of the
 * image, so it is not there. */
void crac__dump_forget_spare(void);
/* The process state, in two steps.  Before the safepoint (which takes a
 * signal): clears p and records the signal actions and mask. */
void crac__proc_capture_signals(struct crac_img_proc *p);
/* In the writing phase, once the page data is written (the disk works on
 * it meanwhile; nothing of this changes while the other threads are
 * parked): everything else but the CPU context and what the walk records.
 * No heap.  0 or -errno (d->err_what says what). */
int crac__proc_capture(struct crac__dump *d, struct crac_img_proc *p);
/* The writing phase: no heap, no stdio.  0 or -errno (d->err_what says where). */
int crac__dump_write(struct crac__dump *d, struct crac_img_proc *p);

/* Finds the mappings marked MADV_WIPEONFORK (d->wipe), from smaps, without
 * the heap.  0, or -errno (-E2BIG: more than CRAC__WIPE_MAX of them). */
int crac__dump_find_wipe(struct crac__dump *d);
/* True when [start, end) lies in one of them. */
bool crac__dump_wiped(const struct crac__dump *d, uint64_t start, uint64_t end);
/* Publishes the image (rename) on success, or removes the temporary
 * directory; closes the files.  Returns rc, or a new -errno if publishing
 * failed.  d stays valid until crac__dump_free(). */
int crac__dump_finish(struct crac__dump *d, int rc);

/* fsync() of every descriptor in fds, concurrently: 0 or the first -errno. */
int crac__fsync_all(const int *fds, int n);


/* The image's labels (req->labels: key=value,...) and notes (req->notes:
 * the resources notified, what policies did).  Heap allowed.  0 or -1 + *err. */
struct crac__cp_request;
int crac__dump_labels_notes(struct crac__dump *d, const struct crac__cp_request *req,
                            crac_error **err);

/* Adds a string to the image's string table; its offset (0 = "" on overflow). */
uint32_t crac__dump_str(struct crac__dump *d, const char *s, size_t len);
/* Index of a file in the image's file table (added when new, by path and
 * the inode it was mapped from, 0 if unknown), or -errno. */
int crac__dump_file(struct crac__dump *d, const char *path, size_t len, uint64_t ino);
/* Fills in every file's identity (device, size, mtime, build-id), checking
 * it is still the file that was mapped.  Runs after the page data is
 * written, so the disk works meanwhile.  0 or -errno (d->err_what). */
int crac__dump_identify_files(struct crac__dump *d);
/* Creates a file of the image (0600, read and write); fd or -1. */
int crac__dump_open_new(const char *dir, const char *name);

/* After a --lazy restore, memory is mapped from the image's pages file:
 * such mappings are the process's memory, not a file it mapped (and the
 * image may have been deleted since).  Identity of that file, or 0s. */
/* A lazily restored process (lazy.c): its copy of the userfaultfd its
 * memory is served through (-1: none), claimed as the library's. */
void crac__lazy_uffd_set(int fd);
/* Before a checkpoint reads the memory: every page still to be served
 * brought in (a page not yet served is absent, and the walk would take it
 * for never touched), then the memory unregistered and the descriptor
 * closed.  0 or -errno. */
int crac__lazy_settle(void);
/* Calls fn for every mapping whose smaps VmFlags has `flag` (two letters),
 * reading /proc/self/smaps in pieces with no heap (smaps.c).  Stops at
 * fn's first non-zero return.  0, fn's value or -errno. */
int crac__smaps_flagged(const char *flag, int (*fn)(void *arg, uint64_t start, uint64_t end),
                        void *arg);

/* Everything the native engine v1 cannot save, one cause each (checker). */
void crac__dump_refusals(crac_error *problems);

/* After the restorer jumped back: per-process kernel state (system calls
 * only: other threads may still be parked holding locks)... */
struct crac_restore_info;
void crac__proc_apply(const struct crac_img_proc *p, const struct crac_restore_info *info);
/* ...and the environment given with --env (no heap either). */
void crac__proc_apply_env(const struct crac_restore_info *info);

#endif
