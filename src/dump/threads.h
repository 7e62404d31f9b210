/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Threads: the safepoint that parks every other thread inside the library
 * before the dump, and what each thread re-establishes for itself after a
 * restore (src/dump/threads.c, safepoint.c).
 */
#ifndef CRAC_THREADS_H
#define CRAC_THREADS_H

#include <stdbool.h>
#include <stdint.h>
#include "crac.h"
#include "image/format.h"

/* The real-time signal that parks threads.  glibc keeps 32 and 33 for
 * itself; applications most often take the low end of SIGRTMIN..SIGRTMAX. */
#define CRAC_SAFEPOINT_SIGNAL 62
#define CRAC_MAX_THREADS 1024

/* The saved threads; [0] is the thread group leader.  In the image's
 * memory, so that every restored thread finds its own record. */
extern struct crac_img_thread crac__threads[CRAC_MAX_THREADS];
extern uint32_t crac__nthreads;

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
