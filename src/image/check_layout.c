/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process's layout as the restorer's blob hands it to the kernel past
 * the point of no return: the vDSO trio moved onto its saved addresses,
 * PR_SET_MM_MAP with the saved code, data, brk, stack, argument and
 * environment bounds, the auxiliary vector and the executable.  The kernel
 * refuses some of these (validate_prctl_map_addr() in kernel/sys.c: every
 * bound below TASK_SIZE, the pairs ordered; an auxiliary vector larger
 * than its own); the rest must agree with the saved regions for the
 * restored process to see itself as it was.  What depends on the machine
 * (mmap_min_addr, RLIMIT_DATA, the kernel's auxv size, the vDSO's
 * layout) is checked by the restorer (src/restore/validate.c).
 */
#include <elf.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "image/check.h"

#define PAGE_MASK (CRAC_PAGE - 1)
/* [vvar] to the end of [vdso] spans a few pages; far more is not a vDSO */
#define VDSO_SPAN_MAX (16ULL << 20)

static uint64_t page_up(uint64_t v)
{
    return (v + PAGE_MASK) & ~PAGE_MASK;
}

static bool overlaps_regions(const struct crac_img *img, uint64_t s, uint64_t e)
{
    for (size_t i = 0; i < img->nregions; i++)
        if (img->regions[i].start < e && s < img->regions[i].end)
            return true;
    return false;
}

/* [vvar], [vvar_vclock] (optional) and [vdso]: in this order, page
 * aligned, apart from every region (the blob moves them there last). */
static int check_vdso(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_vdso *v = &img->proc->vdso;
    static const char *const names[] = {"[vvar]", "[vvar_vclock]", "[vdso]"};
    uint64_t s[3] = {v->vvar_start, v->vclock_start, v->vdso_start};
    uint64_t e[3] = {v->vvar_end, v->vclock_end, v->vdso_end};
    uint64_t prev_end = 0, first = 0;
    for (int i = 0; i < 3; i++) {
        if (!s[i] && !e[i] && i < 2)
            continue; /* this kernel has none */
        if (!s[i] || s[i] >= e[i] || ((s[i] | e[i]) & PAGE_MASK) || s[i] < prev_end ||
            e[i] > CRAC_TASK_SIZE)
            return crac__img_refuse(img, err, "process: %s at %#" PRIx64 "-%#" PRIx64 " is not a "
                                    "page-aligned range after the one before it", names[i], s[i],
                                    e[i]);
        if (overlaps_regions(img, s[i], e[i]))
            return crac__img_refuse(img, err, "process: %s at %#" PRIx64 "-%#" PRIx64 " overlaps "
                                    "a saved region", names[i], s[i], e[i]);
        first = first ? first : s[i];
        prev_end = e[i];
    }
    if (prev_end - first > VDSO_SPAN_MAX)
        return crac__img_refuse(img, err, "process: the vDSO areas span %#" PRIx64 " bytes",
                                prev_end - first);
    return 0;
}

/* What PR_SET_MM_MAP itself demands of the bounds. */
static int check_mm_kernel(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_proc *p = img->proc;
    const uint64_t v[] = {p->start_code, p->end_code, p->start_data, p->end_data, p->start_brk,
                          p->brk, p->start_stack, p->arg_start, p->arg_end, p->env_start,
                          p->env_end};
    static const char *const names[] = {"start_code", "end_code", "start_data", "end_data",
                                        "start_brk", "brk", "start_stack", "arg_start", "arg_end",
                                        "env_start", "env_end"};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (v[i] >= CRAC_TASK_SIZE || v[i] < CRAC_PAGE)
            return crac__img_refuse(img, err, "process: %s %#" PRIx64 " outside the user address "
                                    "space", names[i], v[i]);
    if (p->start_code >= p->end_code || p->start_data > p->end_data || p->start_brk > p->brk ||
        p->arg_start > p->arg_end || p->env_start > p->env_end)
        return crac__img_refuse(img, err, "process: memory layout out of order (code %#" PRIx64
                                "-%#" PRIx64 ", data %#" PRIx64 "-%#" PRIx64 ", brk %#" PRIx64
                                "-%#" PRIx64 ", args %#" PRIx64 "-%#" PRIx64 ", env %#" PRIx64
                                "-%#" PRIx64 ")", p->start_code, p->end_code, p->start_data,
                                p->end_data, p->start_brk, p->brk, p->arg_start, p->arg_end,
                                p->env_start, p->env_end);
    return 0;
}

static bool ends_saved(const struct crac_img *img, uint64_t start, uint64_t end)
{
    return crac__img_region_at(img, start) && crac__img_region_at(img, end - 1);
}

/* The bounds against the saved regions: code and data in saved memory,
 * the stack's start in the stack, arguments and environment readable,
 * and the break where the heap ends (the kernel's brk() unmaps from its
 * idea of the break down: a break inside a library would cut into it). */
static int check_mm_regions(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_proc *p = img->proc;
    const struct crac_img_region *stack = crac__img_region_at(img, p->start_stack);
    const struct crac_img_region *heap = crac__img_region_at(img, p->brk - 1);
    const char *what = NULL;
    /* Code and data need only begin and end in saved memory: a program's
     * segments may leave holes between them (node's text has one page
     * unmapped in it), and the kernel asks nothing of what lies between. */
    if (!ends_saved(img, p->start_code, p->end_code))
        what = "code (start_code..end_code)";
    else if (p->end_data > p->start_data && !ends_saved(img, p->start_data, p->end_data))
        what = "data (start_data..end_data)";
    else if (!stack || stack->kind != CRAC_RGN_STACK)
        what = "start_stack (not in a stack region)";
    else if (p->arg_end > p->arg_start &&
             !crac__img_mem_has(img, p->arg_start, p->arg_end - p->arg_start, PROT_READ))
        what = "arguments (arg_start..arg_end)";
    else if (p->env_end > p->env_start &&
             !crac__img_mem_has(img, p->env_start, p->env_end - p->env_start, PROT_READ))
        what = "environment (env_start..env_end)";
    else if (p->brk > p->start_brk &&
             (!heap || heap->kind != CRAC_RGN_HEAP || heap->end != page_up(p->brk) ||
              !crac__img_mem_has(img, p->start_brk, p->brk - p->start_brk, 0)))
        what = "break (start_brk..brk: not in saved memory ending with the heap)";
    if (what)
        return crac__img_refuse(img, err, "process: the saved %s does not agree with the saved "
                                "regions", what);
    return 0;
}

/* Entries that hold addresses of the process's memory. */
static bool auxv_is_pointer(uint64_t type)
{
    return type == AT_PHDR || type == AT_ENTRY || type == AT_RANDOM || type == AT_EXECFN ||
           type == AT_PLATFORM;
}

/* As /proc/self/auxv gave it: (type, value) pairs up to AT_NULL, each type
 * once; the vDSO where the image has it, pointers into saved memory. */
static int check_auxv(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_proc *p = img->proc;
    uint64_t seen = 0;
    uint32_t n = p->auxv_words;
    if (n < 2 || n > CRAC_AUXV_WORDS || n % 2 || p->auxv[n - 2] != AT_NULL)
        return crac__img_refuse(img, err, "process: auxiliary vector of %u words not ended by "
                                "AT_NULL", n);
    for (uint32_t i = 0; i + 2 < n; i += 2) {
        uint64_t type = p->auxv[i], val = p->auxv[i + 1];
        bool bad = type == AT_NULL || type >= 64 || (seen & (1ULL << type)) ||
                   (type == AT_PAGESZ && val != CRAC_PAGE) ||
                   (type == AT_SYSINFO_EHDR && val != p->vdso.vdso_start) ||
                   (type == AT_BASE && val && !crac__img_mem_has(img, val, 1, 0)) ||
                   (auxv_is_pointer(type) && !crac__img_mem_has(img, val, 1, 0));
        if (bad)
            return crac__img_refuse(img, err, "process: auxiliary vector entry %u (type %" PRIu64
                                    ", value %#" PRIx64 ") repeated, unknown or not where the "
                                    "image has it", i / 2, type, val);
        seen |= 1ULL << type;
    }
    return 0;
}

/* The executable (/proc/self/exe again): a regular file the process maps. */
static int check_exe(const struct crac_img *img, crac_error **err)
{
    int32_t exe = img->proc->exe_file;
    if (exe < 0 || (size_t)exe >= img->nfiles)
        return crac__img_refuse(img, err, "process: executable is file %d of %zu", exe,
                                img->nfiles);
    for (size_t i = 0; i < img->nregions; i++)
        if (img->regions[i].kind == CRAC_RGN_FILE && img->regions[i].file == exe)
            return 0;
    return crac__img_refuse(img, err, "process: the executable %s is mapped by no saved region",
                            img->strings + img->files[exe].path);
}

int crac__img_check_layout(const struct crac_img *img, crac_error **err)
{
    if (check_vdso(img, err) || check_mm_kernel(img, err) || check_mm_regions(img, err) ||
        check_auxv(img, err) || check_exe(img, err))
        return -1;
    return 0;
}
