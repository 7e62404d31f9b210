/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Threads: the safepoint that parks every other thread inside the library
 * before the dump (safepoint.c, with the ptrace helper of parker.c and the
 * diagnostics of stuck.c), and what each thread re-establishes for itself
 * after a restore (threads.c).
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
    atomic_uchar how[CRAC_MAX_THREADS]; /* CRAC__HOW_*: what the parker did to the thread */
    atomic_uchar parked[CRAC_MAX_THREADS];
    struct crac_img_thread threads[CRAC_MAX_THREADS]; /* [0] is the thread group leader */
};

/* What the parker did to a thread before it sent it the safepoint signal,
 * for the handler to finish: the signal was unblocked (the handler blocks
 * it again in the mask the thread returns to), and the system call it was
 * interrupted in was rewritten to start again when the handler returns
 * (the kernel's answer it replaced, CRAC__RESTART_*, is kept in bits 2-4). */
#define CRAC__HOW_REBLOCK 1u
#define CRAC__HOW_RESTART_SHIFT 2
enum {
    CRAC__RESTART_SYS = 1,    /* -ERESTARTSYS: restarted if the handler has SA_RESTART */
    CRAC__RESTART_NOINTR,     /* -ERESTARTNOINTR: always restarted */
    CRAC__RESTART_NOHAND,     /* -ERESTARTNOHAND: EINTR if a handler runs */
    CRAC__RESTART_BLOCK,      /* -ERESTART_RESTARTBLOCK: EINTR if a handler runs */
    CRAC__RESTART_EINTR,      /* -EINTR from a call that did nothing yet (read, epoll_wait, ...) */
};

/* The ptrace helper (parker.c): a process, not a thread (a thread cannot
 * ptrace its own thread group), sharing our memory.  For each thread it
 * seizes and stops it, rewrites an interrupted system call so that it
 * starts again exactly, unblocks the safepoint signal, queues it and lets
 * the thread go; the signal handler then parks it.  A thread it cannot
 * seize gets the signal alone, as before.  The caller provides the memory
 * (the dumper's scratch mapping: none of it belongs in the image). */
struct crac__parker {
    int32_t pid;           /* the process whose threads these are */
    uint32_t first, end;   /* entries [first, end) of tid[] are this helper's job */
    int32_t probe;         /* 1: only seize (and so detach) each, to see whether it can be done */
    volatile int32_t htid; /* the helper's id; the kernel clears it when the helper ends */
    int32_t helper;        /* the helper's pid, 0 while none runs */
    int32_t ptracer_set;   /* PR_SET_PTRACER was set for the helper (Yama) */
    atomic_uchar *how;     /* where to say CRAC__HOW_* per entry (NULL when probing) */
    unsigned long cpus[16]; /* the CPUs the helper may use once it runs (our affinity) */
    int32_t tid[CRAC_MAX_THREADS]; /* 0: not to be touched */
    int32_t err[CRAC_MAX_THREADS]; /* errno of the ptrace step that failed, or 0 */
    char stack[8192] __attribute__((aligned(16)));
};
/* Starts the helper for entries [first, end) of pk->tid (pk->pid, tid,
 * how and probe set by the caller).  0, or -errno when no helper could be
 * started (nothing was done then). */
int crac__parker_start(struct crac__parker *pk, uint32_t first, uint32_t end);
/* Waits for the helper until deadline_ms (CLOCK_MONOTONIC), kills it if it
 * is still there then (its threads are let go by the kernel), reaps it. */
void crac__parker_finish(struct crac__parker *pk, long deadline_ms);
long crac__now_ms(void);

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

/* Thread ids of this process, without the heap; how many, or -errno. */
int crac__task_ids(pid_t *out, int max);
/* Problems that would keep a thread from reaching the safepoint (it blocks
 * the signal and cannot be stopped with ptrace either, or it is a zombie
 * leader), one cause each (stuck.c). */
void crac__safepoint_check(crac_error *problems);
/* Parks every thread but the caller and records each in crac__threads;
 * the caller's record is filled too (all but its CPU context).  pk is
 * memory for the ptrace helper.  0, or -1 with *err naming the threads
 * that did not arrive (all released again). */
int crac__safepoint_enter(long timeout_ms, struct crac__parker *pk, crac_error **err);
/* A thread that did not reach the safepoint in time: "'NAME' (tid N)
 * did not stop ...: in system call X (wchan Y)" and why ptrace could not
 * stop it either (ptrace_err, 0 if it could), into buf (stuck.c). */
void crac__describe_stuck(pid_t tid, int ptrace_err, long timeout_ms, char *buf, size_t len);
/* Lets the parked threads go on (no restore happened). */
void crac__safepoint_leave(void);
/* In the restored process, on the checkpointing thread: waits until every
 * recreated thread has re-established its own state, then lets them go. */
void crac__safepoint_resume_restored(void);
/* The record of the calling (checkpointing) thread. */
struct crac_img_thread *crac__thread_self_record(void);

#endif
