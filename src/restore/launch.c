/* SPDX-License-Identifier: Apache-2.0 */
/* The last steps in the restoring process: lay out the blob's area (code,
 * arguments, restore information, stack, vDSO parking), then jump. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/core.h"
#include "restore/lazy.h"
#include "restore/restore.h"

#define RSEQ_SIG 0x53053053

static uint64_t up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* The saved layout of the vDSO trio and where ours sits now. */
static int plan_vdso(const struct crac_img *img, struct crac_blob_args *a, uint64_t park,
                     crac_error **err)
{
    const struct crac_img_vdso *want = &img->proc->vdso;
    struct crac_img_vdso have;
    uint64_t hs[3], he[3], ws[3];
    if (crac__vdso_layout(&have) < 0) {
        *err = crac__error_src("restore", "cannot find this process's vDSO");
        return -1;
    }
    hs[0] = have.vvar_start, he[0] = have.vvar_end, ws[0] = want->vvar_start;
    hs[1] = have.vclock_start, he[1] = have.vclock_end, ws[1] = want->vclock_start;
    hs[2] = have.vdso_start, he[2] = have.vdso_end, ws[2] = want->vdso_start;
    uint64_t base = have.vvar_start ? have.vvar_start : have.vdso_start;
    for (int i = 0; i < 3; i++) {
        if (!hs[i])
            continue;
        /* The three areas only work together at the same relative offsets. */
        a->vdso_park[a->nvdso] = (struct crac_blob_move){hs[i], park + (hs[i] - base), he[i] - hs[i]};
        a->vdso_final[a->nvdso] =
            (struct crac_blob_move){park + (hs[i] - base), ws[i], he[i] - hs[i]};
        a->nvdso++;
    }
    return 0;
}

static void plan_moves(const struct crac_img *img, const struct crac__stage *st,
                       struct crac_blob_args *a)
{
    struct crac_blob_move *mv = (void *)((char *)a + a->moves_off);
    struct crac_blob_range *keep = (void *)((char *)a + a->keep_off);
    size_t k = 0;
    int blob_kept = 0;
    for (size_t i = 0; i < img->nregions; i++) {
        const struct crac_img_region *r = &img->regions[i];
        mv[i] = (struct crac_blob_move){st->addr[i], r->start, r->end - r->start};
        if (!blob_kept && st->blob_base < r->start) {
            keep[k++] = (struct crac_blob_range){st->blob_base, st->blob_base + st->blob_len};
            blob_kept = 1;
        }
        keep[k++] = (struct crac_blob_range){r->start, r->end};
    }
    if (!blob_kept)
        keep[k++] = (struct crac_blob_range){st->blob_base, st->blob_base + st->blob_len};
    a->nmoves = img->nregions;
    a->nkeep = k;
}

static void plan_mm(const struct crac_img *img, struct crac_blob_args *a, int exe_fd)
{
    const struct crac_img_proc *p = img->proc;
    a->mm = (struct crac_blob_mm){p->start_code, p->end_code, p->start_data, p->end_data,
                                  p->start_brk, p->brk, p->start_stack, p->arg_start, p->arg_end,
                                  p->env_start, p->env_end, 0, p->auxv_words * 8,
                                  (uint32_t)exe_fd};
    memcpy(a->auxv, p->auxv, sizeof(a->auxv));
}

/* The leader resumes on our thread; the others are recreated by the blob,
 * with their saved tids when the identity mode keeps them. */
static void plan_threads(const struct crac_img *img, struct crac_blob_args *a, bool keep_ids)
{
    struct crac_blob_thread *bt = (void *)((char *)a + a->threads_off);
    a->ctx = img->threads[0].ctx;
    a->nthreads = img->nthreads - 1;
    for (size_t i = 1; i < img->nthreads; i++) {
        const struct crac_img_thread *t = &img->threads[i];
        bt[i - 1] = (struct crac_blob_thread){t->ctx, t->tid_address, keep_ids ? t->tid : 0, 0};
    }
}

/* The blob's area, in order: code, arguments (+ moves, kept ranges,
 * threads), restore information (+ the process section, --env strings),
 * stack, a page for the new threads, parking room for the vDSO. */
struct blob_layout {
    uint64_t code, args, moves_off, keep_off, threads_off, lazy_off, info, stack_top, thread_stack,
        park;
    uint64_t len;
};

/* Inside the restore information: the process section, then the --env
 * strings (at most ENV_MAX bytes). */
#define INFO_PROC_OFF up(sizeof(struct crac_restore_info), 64)
#define INFO_ENV_OFF up(INFO_PROC_OFF + sizeof(struct crac_img_proc), 64)
#define ENV_MAX (64U << 10)

static uint64_t park_room(const struct crac_img *img)
{
    const struct crac_img_vdso *v = &img->proc->vdso;
    return up(v->vdso_end - (v->vvar_start ? v->vvar_start : v->vdso_start), CRAC_PAGE) +
           (64UL << 10);
}

static void layout(const struct crac_img *img, uint64_t base, struct blob_layout *l)
{
    uint64_t args_len;
    l->code = base;
    l->args = base + up((uint64_t)(crac__blob_end - crac__blob_start), CRAC_PAGE);
    l->moves_off = up(sizeof(struct crac_blob_args), 64);
    l->keep_off = l->moves_off + img->nregions * sizeof(struct crac_blob_move);
    l->threads_off = up(l->keep_off + (img->nregions + 2) * sizeof(struct crac_blob_range), 64);
    l->lazy_off = up(l->threads_off + img->nthreads * sizeof(struct crac_blob_thread), 64);
    args_len = up(l->lazy_off + img->nregions * sizeof(struct crac_blob_range), CRAC_PAGE);
    l->info = l->args + args_len;
    l->stack_top = l->info + up(INFO_ENV_OFF + ENV_MAX, CRAC_PAGE) + (64UL << 10);
    l->thread_stack = l->stack_top + CRAC_PAGE;
    l->park = l->thread_stack;
    l->len = l->park + park_room(img) - base;
}

uint64_t crac__blob_area_len(const struct crac_img *img)
{
    struct blob_layout l;
    layout(img, 0, &l);
    return l.len;
}

/* The regions the blob registers with the userfaultfd once in place. */
static void plan_lazy(const struct crac_img *img, const struct crac__stage *st,
                      struct crac_blob_args *a, const struct crac__lazy *lz)
{
    struct crac_blob_range *lr = (void *)((char *)a + a->lazy_off);
    a->uffd = a->uffd_sock = -1;
    a->nlazy = 0;
    if (!lz || !lz->on)
        return;
    for (size_t i = 0; i < img->nregions; i++)
        if (st->lazy[i])
            lr[a->nlazy++] = (struct crac_blob_range){img->regions[i].start, img->regions[i].end};
    a->uffd = lz->uffd;
    a->uffd_sock = lz->sock[1];
}

static struct crac_restore_info *plan_info(const struct crac_img *img, void *at,
                                           const struct crac__restore_opts *o,
                                           const struct crac__stage *st,
                                           const struct crac__lazy *lz)
{
    struct crac_restore_info *info = at;
    char *env = (char *)at + INFO_ENV_OFF;
    memset(info, 0, sizeof(*info));
    info->version = CRAC_RESTORE_INFO_VERSION;
    info->size = sizeof(*info);
    info->blob_base = st->blob_base;
    info->blob_len = st->blob_len;
    info->started_ns = o->started_ns;
    info->flags = CRAC_RI_EXE_KEPT | (o->verbose ? CRAC_RI_VERBOSE : 0);
    info->uffd = -1;
    if (lz && lz->on) {
        info->flags |= CRAC_RI_LAZY;
        info->uffd = lz->uffd;
    }
    info->proc_off = INFO_PROC_OFF;
    info->proc_size = sizeof(*img->proc);
    memcpy((char *)at + info->proc_off, img->proc, sizeof(*img->proc));
    info->env_off = INFO_ENV_OFF;
    for (size_t i = 0; i < o->nenv; i++) {
        size_t n = strlen(o->env[i]) + 1;
        if (info->env_len + n > ENV_MAX)
            break;
        memcpy(env + info->env_len, o->env[i], n);
        info->env_len += (uint32_t)n;
        info->env_count++;
    }
    snprintf(info->cwd, sizeof(info->cwd), "%s", crac__img_str(img, img->proc->cwd));
    return info;
}

/* The saved descriptors on their numbers; ours (the executable, and the
 * lazy restore's userfaultfd and socket) above them. */
static int make_fds(const struct crac_img *img, const struct crac__restore_opts *o, int *exe_fd,
                    struct crac__lazy *lz, crac_error **err)
{
    struct timespec t0, t1;
    int ours[3] = {*exe_fd, lz && lz->on ? lz->uffd : -1, lz && lz->on ? lz->sock[1] : -1};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (crac__fds_restore(img, o, ours, 3, err))
        return -1;
    *exe_fd = ours[0];
    if (lz && lz->on) {
        lz->uffd = ours[1];
        lz->sock[1] = ours[2];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (o->verbose && img->nfds)
        fprintf(stderr, "crac restore: %zu descriptor%s made (%.3f ms)\n", img->nfds,
                img->nfds == 1 ? "" : "s",
                ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e6);
    return 0;
}

int crac__launch(const struct crac_img *img, struct crac__stage *st,
                 const struct crac__restore_opts *o, struct crac__lazy *lz, crac_error **err)
{
    struct blob_layout l;
    struct crac_blob_args *a;
    struct crac_restore_info *info;
    const char *exe = crac__img_str(img, img->files[img->proc->exe_file].path);
    sigset_t all;
    int exe_fd;

    layout(img, st->blob_base, &l);
    if (mmap((void *)l.code, l.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0) == MAP_FAILED) {
        *err = crac__error_src("restore", "cannot map the restorer: %s", strerror(errno));
        return -1;
    }
    memcpy((void *)l.code, crac__blob_start, (size_t)(crac__blob_end - crac__blob_start));
    a = (void *)l.args;
    memset(a, 0, sizeof(*a));
    a->version = CRAC_BLOB_ARGS_VERSION;
    a->size = sizeof(*a);
    a->base = l.code;
    a->len = l.len;
    a->moves_off = l.moves_off;
    a->keep_off = l.keep_off;
    a->threads_off = l.threads_off;
    a->lazy_off = l.lazy_off;
    a->thread_stack = l.thread_stack;
    a->task_size = CRAC_TASK_SIZE;
    if (plan_vdso(img, a, l.park, err))
        return -1;
    plan_moves(img, st, a);
    plan_threads(img, a, o->pid_mode == PID_KEEP || o->pid_mode == PID_NS);
    info = plan_info(img, (void *)l.info, o, st, lz);
    a->info = (uint64_t)info;
    if (__rseq_size) {
        uint64_t tp;
        __asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
        a->rseq_addr = tp + (uint64_t)__rseq_offset;
        a->rseq_len = 32; /* what glibc registered, whatever __rseq_size says */
        a->rseq_sig = RSEQ_SIG;
    }
    exe_fd = open(exe, O_RDONLY | O_CLOEXEC);
    if (exe_fd < 0) {
        *err = crac__error_src("restore", "%s: %s", exe, strerror(errno));
        return -1;
    }
    if (mprotect((void *)l.code, l.args - l.code, PROT_READ | PROT_EXEC) < 0) {
        *err = crac__error_src("restore", "cannot protect the restorer: %s", strerror(errno));
        return -1;
    }
    /* The last step that may fail: what is open after it is the restored
     * process's (and stdin, stdout and stderr of our caller). */
    if (make_fds(img, o, &exe_fd, lz, err))
        return -1;
    fflush(NULL);
    /* From here on, our own handlers and libc are about to vanish. */
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    plan_mm(img, a, exe_fd); /* the blob closes it once it named the executable */
    plan_lazy(img, st, a, lz);
    info->uffd = a->uffd;
    __asm__ volatile("movq %0, %%rsp\n\t"
                     "callq *%1\n\t"
                     :
                     : "r"(l.stack_top), "r"(l.code), "D"(a)
                     : "memory");
    __builtin_unreachable();
}
