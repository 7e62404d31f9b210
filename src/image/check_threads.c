/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The thread records.  The blob jumps into each saved context: its
 * instruction pointer must be saved code, its stack pointer saved writable
 * memory where the dumper saved that thread's stack, its thread pointer a
 * saved TLS block (the kernel refuses one beyond the user address space:
 * the blob would die), MXCSR without reserved bits (ldmxcsr faults).  Then each thread re-registers what the
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
    if (c->rsp & 7)
        return "stack pointer not aligned to 8 bytes";
    if (!crac__img_mem_has(img, c->rsp - 8, 16, RW))
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

/* The dumper saves a thread's stack from its stack pointer up, less the
 * 128-byte red zone, and nothing below: the page the pointer is in (which
 * holds return addresses: never all zero) is saved, no page under the red
 * zone is. */
static const char *stack_problem(const struct crac_img *img, const struct crac_img_thread *t)
{
    const struct crac_img_region *r = crac__img_region_at(img, t->ctx.rsp - 8);
    uint64_t dead = (t->ctx.rsp - 128) & ~(CRAC_PAGE - 1), top = t->ctx.rsp - 8;
    bool saved = false;
    if (!r || r->kind == CRAC_RGN_FILE || r->kind == CRAC_RGN_SHARED_FILE)
        return NULL;
    for (uint64_t k = r->runs_first; k < r->runs_first + r->runs_count; k++) {
        const struct crac_img_run *run = &img->runs[k];
        if (run->addr < dead)
            return "stack saved below its stack pointer";
        saved |= top >= run->addr && top - run->addr < run->npages * CRAC_PAGE;
    }
    return saved ? NULL : "the stack page its stack pointer is in is not saved";
}

static const char *thread_problem(const struct crac_img *img, const struct crac_img_thread *t)
{
    const char *why = ctx_problem(img, &t->ctx);
    if (why)
        return why;
    if (t->tid <= 0 || t->tid > PID_MAX_LIMIT)
        return "thread id out of range";
    if (t->flags & ~(CRAC_THR_CHECKPOINTER | CRAC_THR_NO_RSEQ))
        return "unknown flags";
    if (t->affinity_valid > 1)
        return "affinity flag neither 0 nor 1";
    if (!memchr(t->comm, 0, sizeof(t->comm)))
        return "name not terminated";
    return (why = stack_problem(img, t)) ? why : kernel_problem(img, t);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

enum { TID, STACK, TLS };

/* Each thread id once, each stack pointer (two threads never run on the
 * same stack at the same place) and each thread pointer (a TLS block is
 * one thread's). */
static int check_unique(const struct crac_img *img, int what, crac_error **err)
{
    static const char *const names[] = {"thread id", "stack pointer", "thread pointer"};
    uint64_t *v = malloc(img->nthreads * sizeof(*v));
    int rc = 0;
    if (!v)
        return crac__img_refuse(img, err, "out of memory");
    for (size_t i = 0; i < img->nthreads; i++)
        v[i] = what == TID     ? (uint64_t)img->threads[i].tid
               : what == STACK ? img->threads[i].ctx.rsp : img->threads[i].ctx.fsbase;
    qsort(v, img->nthreads, sizeof(*v), cmp_u64);
    for (size_t i = 1; i < img->nthreads && !rc; i++)
        if (v[i] == v[i - 1])
            rc = crac__img_refuse(img, err, "threads: %s %#" PRIx64 " appears twice", names[what],
                                  v[i]);
    free(v);
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
    return check_unique(img, TID, err) || check_unique(img, STACK, err) ||
                   check_unique(img, TLS, err) ? -1 : 0;
}
