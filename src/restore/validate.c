/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `crac restore` checks of an image against this machine before
 * anything irreversible, beyond the checks of the image alone
 * (src/image/check*.c): what the kernel will demand of the blob past the
 * point of no return, given this machine's settings (mmap_min_addr,
 * RLIMIT_DATA, its auxiliary vector's size, pid_max, the vDSO's layout,
 * MXCSR's mask) and the files as they are now (a mapping past a file's
 * end faults when touched: SIGBUS).  It only reads: the fuzzer
 * (fuzz/) calls it on every image it makes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/core.h"
#include "image/maps.h"
#include "restore/restore.h"

#define PR_GET_AUXV_ 0x41555856 /* Linux 6.4: the size of the kernel's copy */

static uint64_t sysctl_value(const char *path, uint64_t dflt)
{
    char buf[32];
    long n = crac__read_file(path, buf, sizeof(buf) - 1);
    if (n <= 0)
        return dflt;
    buf[n] = 0;
    return strtoull(buf, NULL, 10);
}

int crac__restore_ids_fit(const struct crac_img *img, int32_t *bad_tid, uint64_t *pid_max)
{
    *pid_max = sysctl_value("/proc/sys/kernel/pid_max", 32768);
    for (size_t i = 0; i < img->nthreads; i++)
        if ((uint64_t)img->threads[i].tid > *pid_max) {
            *bad_tid = img->threads[i].tid;
            return 0;
        }
    return 1;
}

/* PR_SET_MM_MAP refuses bounds below mmap_min_addr, and mremap() will not
 * move a region or the vDSO there. */
static int check_low(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_proc *p = img->proc;
    uint64_t min = sysctl_value("/proc/sys/vm/mmap_min_addr", 65536), low = p->start_code;
    const uint64_t v[] = {p->end_code, p->start_data, p->end_data, p->start_brk, p->brk,
                          p->start_stack, p->arg_start, p->arg_end, p->env_start, p->env_end,
                          p->vdso.vdso_start, img->regions[0].start};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        low = v[i] < low ? v[i] : low;
    if (p->vdso.vvar_start && p->vdso.vvar_start < low)
        low = p->vdso.vvar_start;
    if (low < min)
        return crac__img_refuse(img, err, "the image has memory or bounds at %#" PRIx64 ", below "
                                "this machine's vm.mmap_min_addr (%#" PRIx64 ")", low, min);
    return 0;
}

/* The kernel's check_data_rlimit(), against the limit of this process:
 * the blob sets the layout before the saved limits are applied. */
static int check_data_limit(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_proc *p = img->proc;
    struct rlimit rl;
    uint64_t need = (p->brk - p->start_brk) + (p->end_data - p->start_data);
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur)
        return crac__img_refuse(img, err, "the saved data and break areas (%" PRIu64 " bytes) "
                                "exceed RLIMIT_DATA here (%llu bytes): PR_SET_MM_MAP would refuse "
                                "them", need, (unsigned long long)rl.rlim_cur);
    return 0;
}

/* PR_SET_MM_MAP refuses an auxiliary vector larger than its own copy. */
static int check_auxv_size(const struct crac_img *img, crac_error **err)
{
    long max = prctl(PR_GET_AUXV_, 0, 0, 0, 0);
    if (max <= 0) { /* an older kernel: ours is as long as it gets here */
        char buf[4096];
        max = crac__read_file("/proc/self/auxv", buf, sizeof(buf));
    }
    if (max > 0 && img->proc->auxv_words * 8UL > (unsigned long)max)
        return crac__img_refuse(img, err, "process: auxiliary vector of %u bytes, this kernel "
                                "keeps %ld", img->proc->auxv_words * 8, max);
    return 0;
}

/* The blob moves this kernel's [vvar], [vvar_vclock] and [vdso] together
 * onto the saved places: their offsets from each other must be the saved
 * ones, or the vDSO's code would read its data elsewhere. */
static int check_vdso(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_vdso *w = &img->proc->vdso;
    struct crac_img_vdso h;
    if (crac__vdso_layout(&h) < 0)
        return crac__img_refuse(img, err, "cannot find this process's vDSO");
    uint64_t hb = h.vvar_start ? h.vvar_start : h.vdso_start;
    uint64_t wb = w->vvar_start ? w->vvar_start : w->vdso_start;
    const uint64_t hs[] = {h.vvar_start, h.vclock_start, h.vdso_start};
    const uint64_t he[] = {h.vvar_end, h.vclock_end, h.vdso_end};
    const uint64_t ws[] = {w->vvar_start, w->vclock_start, w->vdso_start};
    const uint64_t we[] = {w->vvar_end, w->vclock_end, w->vdso_end};
    for (int i = 0; i < 3; i++)
        if (!hs[i] != !ws[i] || he[i] - hs[i] != we[i] - ws[i] ||
            (hs[i] && hs[i] - hb != ws[i] - wb))
            return crac__img_refuse(img, err, "process: the saved vDSO layout (%#" PRIx64 "-%#"
                                    PRIx64 ") is not this kernel's (%#" PRIx64 "-%#" PRIx64 ")",
                                    wb, w->vdso_end, hb, h.vdso_end);
    return 0;
}

/* Every file mapping inside its file as it is now. */
static int check_file_sizes(const struct crac_img *img, crac_error **err)
{
    int64_t *size = malloc((img->nfiles + 1) * sizeof(*size));
    int rc = 0;
    if (!size)
        return crac__img_refuse(img, err, "out of memory");
    for (size_t i = 0; i < img->nfiles; i++)
        size[i] = -1;
    for (size_t i = 0; i < img->nregions && !rc; i++) {
        const struct crac_img_region *r = &img->regions[i];
        const char *path = r->file >= 0 ? crac__img_str(img, img->files[r->file].path) : NULL;
        struct stat st;
        if (!path)
            continue;
        if (size[r->file] < 0 && stat(path, &st) == 0)
            size[r->file] = st.st_size;
        if (size[r->file] < 0)
            rc = crac__img_refuse(img, err, "region %zu: %s: %s", i, path, strerror(errno));
        else if (r->file_offset + (r->end - r->start) >
                 (((uint64_t)size[r->file] + CRAC_PAGE - 1) & ~(CRAC_PAGE - 1)))
            rc = crac__img_refuse(img, err, "region %zu: file offset %#" PRIx64 " + %#" PRIx64
                                  " past the end of %s (%" PRId64 " bytes)", i, r->file_offset,
                                  r->end - r->start, path, size[r->file]);
    }
    free(size);
    return rc;
}

/* ldmxcsr faults on the bits this CPU reserves (its MXCSR_MASK). */
static int check_mxcsr(const struct crac_img *img, crac_error **err)
{
    uint8_t area[512] __attribute__((aligned(16)));
    uint32_t mask;
    memset(area, 0, sizeof(area));
    __asm__ volatile("fxsave64 %0" : "=m"(area));
    memcpy(&mask, area + 28, sizeof(mask));
    mask = mask ? mask : 0xffbf; /* the default when the CPU reports none */
    for (size_t i = 0; i < img->nthreads; i++)
        if (img->threads[i].ctx.mxcsr & ~mask)
            return crac__img_refuse(img, err, "thread %zu: MXCSR %#x has bits this CPU reserves "
                                    "(mask %#x)", i, img->threads[i].ctx.mxcsr, mask);
    return 0;
}

/* Limits the blob would meet mapping the regions and making the threads. */
static int check_counts(const struct crac_img *img, bool saved_ids, crac_error **err)
{
    uint64_t maps = sysctl_value("/proc/sys/vm/max_map_count", 65530);
    uint64_t threads = sysctl_value("/proc/sys/kernel/threads-max", UINT64_MAX), pid_max;
    struct rlimit rl;
    int32_t tid;
    /* staged, every region has a gap after it */
    if (2 * img->nregions + 64 > maps)
        return crac__img_refuse(img, err, "%zu regions: too many for vm.max_map_count (%" PRIu64
                                ")", img->nregions, maps);
    /* root goes past RLIMIT_NPROC; others' own processes count too */
    if (img->nthreads > threads ||
        (geteuid() && getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
         img->nthreads > rl.rlim_cur))
        return crac__img_refuse(img, err, "%zu threads: more than this machine or RLIMIT_NPROC "
                                "allows", img->nthreads);
    if (saved_ids && !crac__restore_ids_fit(img, &tid, &pid_max))
        return crac__img_refuse(img, err, "thread id %d is above this machine's pid_max (%" PRIu64
                                "): it cannot be taken again", tid, pid_max);
    return 0;
}

int crac__restore_validate(const struct crac_img *img, bool saved_ids, crac_error **err)
{
    if (check_low(img, err) || check_data_limit(img, err) || check_auxv_size(img, err) ||
        check_vdso(img, err) || check_file_sizes(img, err) || check_mxcsr(img, err) ||
        check_counts(img, saved_ids, err) || crac__restore_validate_elf(img, err) ||
        crac__restore_validate_threads(img, err))
        return -1;
    return 0;
}
