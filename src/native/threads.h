/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Threads: the safepoint that parks every other thread inside the library
 * before the dump, and what each thread re-establishes for itself after a
 * restore (src/dump/threads.c, safepoint.c).
 */
#ifndef CRAC_THREADS_H
#define CRAC_THREADS_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "crac.h"
#include "image/format.h"

/* The real-time signal that parks threads.  glibc keeps 32 and 33 for
 * itself; applications most often take the low end of SIGRTMIN..SIGRTMAX. */
#define CRAC_SAFEPOINT_SIGNAL 62
#define CRAC_MAX_THREADS 1024

/* The safepoint's own synchronization and bookkeeping (safepoint.c only). */
struct crac__safepoint {
    atomic_uint round;      /* current round; 0: none */
    atomic_uint arrived;    /* threads parked in this round */
    atomic_uint released;   /* = round when the parked threads may go */
    atomic_uint checked_in; /* restored threads that re-established their state */
    atomic_uint resumed;    /* = round when restored threads may go */
    uint32_t self;          /* index of the checkpointing thread */
    unsigned rounds;        /* rounds started so far */
    unsigned gone;          /* records of threads that ended before they parked */
    struct sigaction old_action; /* the signal's action before the safepoint took it */
};

/* Everything the safepoint and the thread records write at each
 * checkpoint, in one object.  Every page a checkpoint dirties is saved in
 * the image, so the small fields come first, then the per-thread flags,
 * then the records, and the object starts on a page: a checkpoint of a
 * process with a few threads (up to 6) dirties one page of the library's
 * memory (separate globals dirtied two or three).  In the image's memory,
 * so that every restored thread finds its own record. */
struct crac__thread_table {
    uint32_t nthreads;
    struct crac__safepoint sp;
    unsigned char signaled[CRAC_MAX_THREADS];
    atomic_uchar parked[CRAC_MAX_THREADS];
    struct crac_img_thread threads[CRAC_MAX_THREADS]; /* [0] is the thread group leader */
};

/* Room for the table and a page more (safepoint.c).  It is aligned at run
 * time: an aligned attribute would align the whole .bss section, moving
 * the library's first globals off the page they share with .data (always
 * written) onto a page of their own that the checkpoint dirties. */
extern char crac__thread_room[];

static inline struct crac__thread_table *crac__thread_table(void)
{
    return (struct crac__thread_table *)(((uintptr_t)crac__thread_room + CRAC_PAGE - 1) &
                                         ~(uintptr_t)(CRAC_PAGE - 1));
}

/* The saved threads and how many are listed (ended ones have tid 0). */
#define crac__threads (crac__thread_table()->threads)
#define crac__nthreads (crac__thread_table()->nthreads)

/* The calling thread's kernel state, with raw system calls only
 * (async-signal-safe: it also runs in the safepoint handler). */
void crac__thread_capture(struct crac_img_thread *t);
/* After a restore, on the thread itself. */
void crac__thread_apply(const struct crac_img_thread *t, int32_t rseq_offset, uint32_t rseq_size);

/* Problems that would keep a thread from reaching the safepoint (it blocks
 * the signal, or it is a zombie leader), one cause each. */
void crac__safepoint_check(crac_error *problems);
/* Parks every thread but the caller and records each in crac__threads;
 * the caller's record is filled too (all but its CPU context).  0, or -1
 * with *err naming the threads that did not arrive (all released again). */
int crac__safepoint_enter(long timeout_ms, crac_error **err);
/* Lets the parked threads go on (no restore happened). */
void crac__safepoint_leave(void);
/* In the restored process, on the checkpointing thread: waits until every
 * recreated thread has re-established its own state, then lets them go. */
void crac__safepoint_resume_restored(void);
/* The record of the calling (checkpointing) thread. */
struct crac_img_thread *crac__thread_self_record(void);

#endif
