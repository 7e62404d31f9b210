/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The thread records.  The blob jumps into each saved context: its
 * instruction pointer must be saved code, its stack pointer saved writable
 * memory, its thread pointer a saved TLS block (the kernel refuses one
 * beyond the user address space: the blob would die), MXCSR without
 * reserved bits (ldmxcsr faults).  Then each thread re-registers what the
 * kernel keeps per thread, writing to some of it at once (its cached tid)
 * or later (the robust list at exit, rseq on every preemption, the
 * alternate stack on a signal): each must be saved writable memory.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "image/check.h"

#define RW (PROT_READ | PROT_WRITE)
#define PID_MAX_LIMIT (4 * 1024 * 1024)
#define ROBUST_HEAD_LEN 24 /* struct robust_list_head: the only length the kernel takes */
#define RSEQ_ALIGN 32
#define SS_KNOWN (SS_ONSTACK | SS_DISABLE | (1u << 31) /* SS_AUTODISARM */)

/* Where the context resumes. */
static const char *ctx_problem(const struct crac_img *img, const struct crac_cpu_ctx *c)
{
    if (!crac__img_mem_has(img, c->rip, 1, PROT_EXEC))
        return "instruction pointer outside executable saved memory";
    if ((c->rsp & 7) || !crac__img_mem_has(img, c->rsp - 8, 16, RW))
        return "stack pointer outside writable saved memory";
    if (!crac__img_mem_has(img, c->fsbase, 8, RW))
        return "thread pointer outside writable saved memory";
    if (c->mxcsr & ~0xffffu)
        return "MXCSR with reserved bits set";
    return NULL;
}

/* What the thread registers again after the restore. */
static const char *kernel_problem(const struct crac_img *img, const struct crac_img_thread *t)
{
    const struct crac_img_proc *p = img->proc;
    uint64_t rseq = t->ctx.fsbase + (uint64_t)(int64_t)p->rseq_offset;
    if (t->tid_address && ((t->tid_address & 3) || !crac__img_mem_has(img, t->tid_address, 4, RW)))
        return "clear-child-tid address outside writable saved memory";
    if (t->robust_list && (t->robust_len != ROBUST_HEAD_LEN ||
                           !crac__img_mem_has(img, t->robust_list, ROBUST_HEAD_LEN, RW)))
        return "robust list head outside writable saved memory";
    if (p->rseq_size && ((rseq & (RSEQ_ALIGN - 1)) || !crac__img_mem_has(img, rseq, 32, RW)))
        return "rseq area (thread pointer + rseq offset) outside writable saved memory";
    if ((uint32_t)t->altstack_flags & ~SS_KNOWN)
        return "alternate signal stack flags unknown";
    if (t->altstack_sp && !(t->altstack_flags & SS_DISABLE) &&
        (t->altstack_size < 2048 || !crac__img_mem_has(img, t->altstack_sp, t->altstack_size, RW)))
        return "alternate signal stack outside writable saved memory";
    return NULL;
}

static const char *thread_problem(const struct crac_img *img, const struct crac_img_thread *t)
{
    const char *why = ctx_problem(img, &t->ctx);
    if (why)
        return why;
    if (t->tid <= 0 || t->tid > PID_MAX_LIMIT)
        return "thread id out of range";
    if (t->flags & ~CRAC_THR_CHECKPOINTER)
        return "unknown flags";
    if (t->affinity_valid > 1)
        return "affinity flag neither 0 nor 1";
    if (!memchr(t->comm, 0, sizeof(t->comm)))
        return "name not terminated";
    return kernel_problem(img, t);
}

static int cmp_tid(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Each thread id once. */
static int check_unique(const struct crac_img *img, crac_error **err)
{
    int32_t *tids = malloc(img->nthreads * sizeof(*tids));
    int rc = 0;
    if (!tids)
        return crac__img_refuse(img, err, "out of memory");
    for (size_t i = 0; i < img->nthreads; i++)
        tids[i] = img->threads[i].tid;
    qsort(tids, img->nthreads, sizeof(*tids), cmp_tid);
    for (size_t i = 1; i < img->nthreads && !rc; i++)
        if (tids[i] == tids[i - 1])
            rc = crac__img_refuse(img, err, "threads: thread id %d appears twice", tids[i]);
    free(tids);
    return rc;
}

int crac__img_check_threads(const struct crac_img *img, crac_error **err)
{
    size_t checkpointers = 0;
    if (img->nthreads == 0 || img->nthreads != img->proc->nthreads ||
        img->threads[0].tid != img->proc->pid)
        return crac__img_refuse(img, err, "threads: %zu records, the process section says %u, "
                                "the first with thread id %d (the pid is %d)", img->nthreads,
                                img->proc->nthreads, img->nthreads ? img->threads[0].tid : 0,
                                img->proc->pid);
    for (size_t i = 0; i < img->nthreads; i++) {
        const struct crac_img_thread *t = &img->threads[i];
        const char *why = thread_problem(img, t);
        if (why)
            return crac__img_refuse(img, err, "thread %zu (tid %d): %s (rip %#" PRIx64 ", rsp %#"
                                    PRIx64 ", fs %#" PRIx64 ")", i, t->tid, why, t->ctx.rip,
                                    t->ctx.rsp, t->ctx.fsbase);
        checkpointers += t->flags & CRAC_THR_CHECKPOINTER;
    }
    if (checkpointers != 1)
        return crac__img_refuse(img, err, "threads: %zu marked as the one that checkpointed",
                                checkpointers);
    return check_unique(img, err);
}
