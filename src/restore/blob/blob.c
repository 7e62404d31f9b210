/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The restorer blob.  `crac restore` has already validated the image and
 * staged every saved region in its own address space (read, checksummed,
 * protected as saved).  The blob, copied into an area the image does not
 * use, finishes with nothing of the old process left to rely on:
 *   1. undo the restoring process's rseq registration;
 *   2. park the vDSO trio inside the blob area;
 *   3. move every staged region onto its saved address (mremap: page tables
 *      move, no data is copied);
 *   4. unmap everything else (the old program, its libraries, its stack);
 *   5. move the vDSO trio onto its saved addresses;
 *   6. set the mm layout (brk, args, env, auxv, exe) with PR_SET_MM_MAP;
 *   7. lazy restore: register the empty regions with the userfaultfd and
 *      tell the pager (the parent process), which then fills them;
 *   8. recreate the other threads, each jumping to its saved context;
 *   9. load the leader's saved registers and jump back into library code.
 * After step 1 there is no way back: a failure prints a message and exits.
 */
#include "image/restore_info.h"
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include "restore/blob/sys.h"

#define SECTION_ENTRY __attribute__((section(".text.entry"), used))

static void put(const char *s)
{
    long n = 0;
    while (s[n])
        n++;
    sys3(NR_write, 2, (long)s, n);
}

static void put_hex(uint64_t v)
{
    char buf[19];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 16; i++) {
        unsigned d = (unsigned)(v >> (60 - 4 * i)) & 15;
        buf[2 + i] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    }
    buf[18] = 0;
    put(buf);
}

static __attribute__((noreturn)) void die(const char *what, uint64_t addr, long err)
{
    put("crac restore: ");
    put(what);
    put(" at ");
    put_hex(addr);
    put(" failed: error ");
    put_hex((uint64_t)-err);
    put(" (the restore was past the point of no return)\n");
    sys1(NR_exit_group, 127);
    __builtin_unreachable();
}

static void move(const struct crac_blob_move *m, const char *what)
{
    long r = sys5(NR_mremap, (long)m->from, (long)m->len, (long)m->len,
                  B_MREMAP_MAYMOVE | B_MREMAP_FIXED, (long)m->to);
    if (r < 0)
        die(what, m->to, r);
}

/* Unmaps [start, end) except the kept ranges (sorted, non-overlapping). */
static void unmap_rest(const struct crac_blob_args *a)
{
    const struct crac_blob_range *keep = (const void *)((const char *)a + a->keep_off);
    uint64_t at = 0;
    for (uint64_t i = 0; i <= a->nkeep; i++) {
        uint64_t stop = i < a->nkeep ? keep[i].start : a->task_size;
        if (stop > at) {
            long r = sys2(NR_munmap, (long)at, (long)(stop - at));
            if (r < 0)
                die("unmapping the old process", at, r);
        }
        if (i < a->nkeep && keep[i].end > at)
            at = keep[i].end;
    }
}

static void set_mm(struct crac_blob_args *a)
{
    long r;
    a->mm.auxv = (uint64_t)a->auxv;
    r = sys5(NR_prctl, B_PR_SET_MM, B_PR_SET_MM_MAP, (long)&a->mm, sizeof(a->mm), 0);
    if (r < 0 && a->mm.exe_fd != (uint32_t)-1) {
        /* Naming the executable needs CAP_CHECKPOINT_RESTORE; without it the
         * rest of the layout still applies. */
        struct crac_restore_info *info = (void *)a->info;
        a->mm.exe_fd = (uint32_t)-1;
        info->flags &= ~CRAC_RI_EXE_KEPT;
        r = sys5(NR_prctl, B_PR_SET_MM, B_PR_SET_MM_MAP, (long)&a->mm, sizeof(a->mm), 0);
    }
    if (r < 0)
        die("setting the memory layout (PR_SET_MM_MAP)", a->mm.start_brk, r);
}

/* Loads what crac__ctx_save() stored from the struct crac_cpu_ctx at rsi
 * and continues there; rax must hold the value crac__ctx_save() is to
 * "return" the second time (the restore information). */
#define RESUME_CTX                                                             \
    "movq 0(%%rsi), %%rbx\n\t"                                                 \
    "movq 8(%%rsi), %%rbp\n\t"                                                 \
    "movq 16(%%rsi), %%r12\n\t"                                                \
    "movq 24(%%rsi), %%r13\n\t"                                                \
    "movq 32(%%rsi), %%r14\n\t"                                                \
    "movq 40(%%rsi), %%r15\n\t"                                                \
    "ldmxcsr 64(%%rsi)\n\t"                                                    \
    "fldcw 68(%%rsi)\n\t"                                                      \
    "movq 48(%%rsi), %%rsp\n\t"                                                \
    "jmpq *56(%%rsi)\n\t"

static __attribute__((noreturn)) void jump(const struct crac_blob_args *a)
{
    const struct crac_cpu_ctx *c = &a->ctx;
    long r = sys2(NR_arch_prctl, B_ARCH_SET_FS, (long)c->fsbase);
    if (r < 0)
        die("setting the thread pointer", c->fsbase, r);
    __asm__ volatile(RESUME_CTX
                     :
                     : "S"(c), "a"(a->info)
                     : "memory");
    __builtin_unreachable();
}

/* What clone3 wants (struct clone_args, version 2). */
struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};

#define B_CLONE_VM 0x100ULL
#define B_CLONE_FS 0x200ULL
#define B_CLONE_FILES 0x400ULL
#define B_CLONE_SIGHAND 0x800ULL
#define B_CLONE_THREAD 0x10000ULL
#define B_CLONE_SYSVSEM 0x40000ULL
#define B_CLONE_SETTLS 0x80000ULL
#define B_CLONE_PARENT_SETTID 0x100000ULL
#define B_CLONE_CHILD_CLEARTID 0x200000ULL

/* The new thread starts on `stack` with the parent's registers: r12 and r13
 * carry its context and the restore information, and it jumps at once
 * (it never touches the stack, so all new threads can share one page).
 * The kernel sets its TLS and writes its tid into glibc's cache. */
static long spawn(const struct crac_blob_args *a, const struct crac_blob_thread *t, int32_t tid)
{
    struct clone_args_v2 ca = {0};
    register uint64_t r12 __asm__("r12") = (uint64_t)&t->ctx;
    register uint64_t r13 __asm__("r13") = a->info;
    long r;
    ca.flags = B_CLONE_VM | B_CLONE_FS | B_CLONE_FILES | B_CLONE_SIGHAND | B_CLONE_THREAD |
               B_CLONE_SYSVSEM | B_CLONE_SETTLS | B_CLONE_PARENT_SETTID | B_CLONE_CHILD_CLEARTID;
    ca.child_tid = ca.parent_tid = t->tid_address;
    ca.stack = a->thread_stack - 4096;
    ca.stack_size = 4096;
    ca.tls = t->ctx.fsbase;
    if (tid) {
        ca.set_tid = (uint64_t)&tid;
        ca.set_tid_size = 1;
    }
    __asm__ volatile("syscall\n\t"
                     "testq %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "movq %%r13, %%rax\n\t"
                     "movq %%r12, %%rsi\n\t"
                     RESUME_CTX
                     "1:\n\t"
                     : "=a"(r)
                     : "a"(NR_clone3), "D"(&ca), "S"(sizeof(ca)), "r"(r12), "r"(r13)
                     : "rcx", "r11", "memory");
    return r;
}

static void spawn_threads(const struct crac_blob_args *a)
{
    const struct crac_blob_thread *t = (const void *)((const char *)a + a->threads_off);
    for (uint64_t i = 0; i < a->nthreads; i++) {
        long r = spawn(a, &t[i], t[i].set_tid);
        if (r == -17 /* EEXIST */) {
            /* Another process took this thread id after crac restore looked
             * (another restore of the same image, say).  Past the point of
             * no return: give the thread a new id rather than fail. */
            ((struct crac_restore_info *)a->info)->flags |= CRAC_RI_TIDS_CHANGED;
            r = spawn(a, &t[i], 0);
        }
        if (r < 0)
            die("recreating a thread (clone3)", (uint64_t)t[i].set_tid, r);
    }
}

/* Registered only now, at their final addresses: registered before the
 * move, every region's mremap would wait for the pager to read an event.
 * Then one byte on the pager's socket says "serve"; closing it leaves the
 * restored process nothing of ours but the userfaultfd copy. */
static void register_lazy(const struct crac_blob_args *a)
{
    const struct crac_blob_range *lz = (const void *)((const char *)a + a->lazy_off);
    static const char go = 'R';
    for (uint64_t i = 0; i < a->nlazy; i++) {
        struct uffdio_register reg = {.range = {lz[i].start, lz[i].end - lz[i].start},
                                      .mode = UFFDIO_REGISTER_MODE_MISSING};
        long r = sys3(NR_ioctl, a->uffd, (long)UFFDIO_REGISTER, (long)&reg);
        if (r < 0)
            die("registering memory for the lazy restore", lz[i].start, r);
    }
    long r = sys3(NR_write, a->uffd_sock, (long)&go, 1);
    if (r != 1)
        die("waking the pager", 0, r);
    sys1(NR_close, a->uffd_sock);
}

SECTION_ENTRY __attribute__((noreturn)) void crac_blob_entry(struct crac_blob_args *a)
{
    const struct crac_blob_move *moves = (const void *)((const char *)a + a->moves_off);
    uint32_t exe_fd = a->mm.exe_fd;
    long r;
    if (a->version != CRAC_BLOB_ARGS_VERSION || a->size != sizeof(*a))
        die("blob argument version mismatch", a->version, -22);
    /* Left registered, the kernel would keep writing the CPU number into
     * what is about to become the saved process's memory. */
    if (a->rseq_len &&
        (r = sys4(NR_rseq, (long)a->rseq_addr, a->rseq_len, B_RSEQ_FLAG_UNREGISTER, a->rseq_sig)) < 0)
        die("unregistering rseq", a->rseq_addr, r);
    for (uint32_t i = 0; i < a->nvdso; i++)
        move(&a->vdso_park[i], "parking the vDSO");
    for (uint64_t i = 0; i < a->nmoves; i++)
        move(&moves[i], "moving a region into place");
    unmap_rest(a);
    for (uint32_t i = 0; i < a->nvdso; i++)
        move(&a->vdso_final[i], "moving the vDSO into place");
    set_mm(a);
    if (exe_fd != (uint32_t)-1)
        sys1(NR_close, exe_fd);
    if (a->uffd >= 0)
        register_lazy(a);
    spawn_threads(a);
    jump(a);
}
