/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRAC_FD_TRACE=1: remember where each descriptor was opened, so that the
 * checker can say which code holds the one that blocks a checkpoint (the
 * reference's users' first complaint: fds opened by code they do not
 * control).
 *
 * How: at start-up, when the variable is set, the library redirects the
 * calls that create descriptors (open, socket, pipe, eventfd, dup, accept,
 * ...; fdtrace_hooks.c) in every loaded object's GOT to its own wrappers,
 * which call the real function and record a backtrace for the new number.
 * Patching the GOT, rather than exporting `open` and friends from libcrac:
 * libcrac exports crac_* only (its version script), so a program linked with
 * it binds open() to libc as always and pays nothing when tracing is off;
 * and the calls of every other library are caught too, not only the
 * program's own.  Objects loaded later by dlopen() are patched when that
 * returns (dlopen itself is redirected).  Descriptors that libc opens
 * internally (fopen calls its own open directly) are caught through fopen
 * and friends.
 *
 * The variable is read once, by a constructor: zero cost when unset.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checker/checker.h"
#include "checker/fdtrace.h"
#include "core/core.h"

#define FRAMES 16          /* recorded per descriptor */
#define CHUNK 1024         /* records per chunk, allocated on first use */
#define MAX_CHUNKS 1024    /* up to fd 1M; higher numbers are not recorded */

struct record {
    const char *func;      /* the call that made it: "open", ...; NULL: none */
    dev_t dev;             /* identity at that time: a descriptor number */
    ino_t ino;             /* reused by an untraced call is not misnamed */
    int nframes;
    void *frames[FRAMES];
};

static bool enabled;
/* libcrac's own code: the innermost frames (wrapper, recorder) are left out */
static uintptr_t self_lo, self_hi;
static _Atomic(struct record *) chunks[MAX_CHUNKS];
static pthread_mutex_t chunk_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread bool in_record;

static struct record *slot(int fd, bool create)
{
    if (fd < 0 || fd / CHUNK >= MAX_CHUNKS)
        return NULL;
    struct record *c = atomic_load_explicit(&chunks[fd / CHUNK], memory_order_acquire);
    if (!c && create) {
        pthread_mutex_lock(&chunk_lock);
        c = atomic_load_explicit(&chunks[fd / CHUNK], memory_order_relaxed);
        if (!c && (c = calloc(CHUNK, sizeof(*c))))
            atomic_store_explicit(&chunks[fd / CHUNK], c, memory_order_release);
        pthread_mutex_unlock(&chunk_lock);
    }
    return c ? &c[fd % CHUNK] : NULL;
}

static bool ours(const void *pc)
{
    return (uintptr_t)pc >= self_lo && (uintptr_t)pc < self_hi;
}

/* The first frame of the caller: past the recorder and the wrapper (how
 * many frames they take depends on inlining: look, do not count), and past
 * an interceptor of backtrace() itself before them (a sanitizer's). */
static int innermost_caller(void *const *frames, int n)
{
    int i = 0;
    while (i < n && i < 3 && !ours(frames[i]))
        i++;
    if (i == n || !ours(frames[i]))
        return 0; /* not as expected: keep everything */
    while (i < n && ours(frames[i]))
        i++;
    return i;
}

void crac__fdtrace_record(int fd, const char *func)
{
    if (fd < 0 || in_record)
        return;
    int saved = errno;
    in_record = true;
    struct record *r = slot(fd, true);
    if (r) {
        void *frames[FRAMES + 4];
        struct stat st;
        int n = backtrace(frames, FRAMES + 4);
        int skip = innermost_caller(frames, n);
        r->func = NULL;
        r->nframes = n - skip > FRAMES ? FRAMES : n - skip;
        memcpy(r->frames, frames + skip, (size_t)r->nframes * sizeof(void *));
        if (fstat(fd, &st) == 0) {
            r->dev = st.st_dev;
            r->ino = st.st_ino;
            r->func = func;
        }
    }
    in_record = false;
    errno = saved;
}

void crac__fdtrace_forget(int fd)
{
    struct record *r = slot(fd, false);
    if (r)
        r->func = NULL;
}

void crac__fdtrace_describe(int fd, const struct stat *st, struct crac__sb *sb, const char *indent)
{
    if (!enabled)
        return;
    struct record *r = slot(fd, false);
    if (!r || !r->func || r->dev != st->st_dev || r->ino != st->st_ino) {
        crac__sb_printf(sb, "\n%sopened where no trace was recorded (before the library was "
                        "loaded, or by a call that is not traced)", indent);
        return;
    }
    crac__sb_printf(sb, "\n%sopened by %s() at:", indent, r->func);
    for (int i = 0; i < r->nframes; i++) {
        char sym[512];
        crac__symbolize(r->frames[i], sym, sizeof(sym));
        crac__sb_printf(sb, "\n%s  %s", indent, sym);
    }
}

/* ---- redirecting the GOT ---- */

struct dyn_tables {
    const ElfW(Sym) *symtab;
    const char *strtab;
    const ElfW(Rela) *rela, *jmprel;
    size_t relasz, jmprelsz;
};

/* glibc relocates these d_ptr values in place, other loaders may not. */
static const void *dyn_ptr(ElfW(Addr) base, ElfW(Addr) v)
{
    return (const void *)(v < base ? v + base : v);
}

static bool read_dynamic(const struct dl_phdr_info *info, struct dyn_tables *t)
{
    const ElfW(Dyn) *dyn = NULL;
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn)
        return false;
    ElfW(Addr) b = info->dlpi_addr;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: t->symtab = dyn_ptr(b, dyn->d_un.d_ptr); break;
        case DT_STRTAB: t->strtab = dyn_ptr(b, dyn->d_un.d_ptr); break;
        case DT_RELA: t->rela = dyn_ptr(b, dyn->d_un.d_ptr); break;
        case DT_RELASZ: t->relasz = dyn->d_un.d_val; break;
        case DT_JMPREL: t->jmprel = dyn_ptr(b, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: t->jmprelsz = dyn->d_un.d_val; break;
        case DT_PLTREL:
            if (dyn->d_un.d_val != DT_RELA)
                return false; /* REL-only architectures are not handled */
            break;
        }
    }
    return t->symtab && t->strtab;
}

#if defined(__x86_64__)
#define R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define R_GLOB_DAT R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
#define R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define R_GLOB_DAT R_AARCH64_GLOB_DAT
#else
#define R_JUMP_SLOT (-1)
#define R_GLOB_DAT (-1)
#endif

/* Whether a GOT slot lies in the part of PT_GNU_RELRO that the loader made
 * read-only: it protects whole pages only, rounding the end down, so the
 * last partial page stays writable and must stay so. */
static bool in_relro(const struct dl_phdr_info *info, const void *where, uintptr_t page)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
        uintptr_t e = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(page - 1);
        if (ph->p_type == PT_GNU_RELRO && (uintptr_t)where >= s && (uintptr_t)where < e)
            return true;
    }
    return false;
}

static void write_slot(const struct dl_phdr_info *info, void **where, void *value)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    void *p = (void *)((uintptr_t)where & ~(page - 1));
    bool relro = in_relro(info, where, page);
    if (relro && mprotect(p, page, PROT_READ | PROT_WRITE) < 0)
        return;
    __atomic_store_n(where, value, __ATOMIC_RELEASE);
    if (relro)
        mprotect(p, page, PROT_READ);
}

static void patch_relocs(const struct dl_phdr_info *info, const struct dyn_tables *t,
                         const ElfW(Rela) *rel, size_t size)
{
    for (size_t i = 0; rel && i < size / sizeof(*rel); i++) {
        long type = (long)ELF64_R_TYPE(rel[i].r_info);
        if (type != R_JUMP_SLOT && type != R_GLOB_DAT)
            continue;
        const ElfW(Sym) *sym = &t->symtab[ELF64_R_SYM(rel[i].r_info)];
        if (sym->st_shndx != SHN_UNDEF || !sym->st_name)
            continue;
        void *hook = crac__fdtrace_hook_for(t->strtab + sym->st_name);
        void **where = (void **)(info->dlpi_addr + rel[i].r_offset);
        if (!hook || *where == hook)
            continue;
        write_slot(info, where, hook);
    }
}

static bool holds(const struct dl_phdr_info *info, const void *addr)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (uintptr_t)addr >= s && (uintptr_t)addr < s + ph->p_memsz)
            return true;
    }
    return false;
}

static int patch_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    struct dyn_tables t;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    /* not ourselves (our own descriptors are claimed), not the dynamic
     * linker, not the vDSO */
    if (holds(info, (const void *)patch_object) || strstr(name, "linux-vdso") ||
        strstr(name, "/ld-linux") || !read_dynamic(info, &t))
        return 0;
    patch_relocs(info, &t, t.jmprel, t.jmprelsz);
    patch_relocs(info, &t, t.rela, t.relasz);
    return 0;
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    if (!holds(info, (const void *)find_self))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        if (!self_lo || s < self_lo)
            self_lo = s;
        if (s + ph->p_memsz > self_hi)
            self_hi = s + ph->p_memsz;
    }
    return 1;
}

void crac__fdtrace_patch_all(void)
{
    static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&patch_lock);
    dl_iterate_phdr(patch_object, NULL);
    pthread_mutex_unlock(&patch_lock);
}

__attribute__((constructor)) static void fdtrace_init(void)
{
    const char *v = secure_getenv("CRAC_FD_TRACE");
    if (!v || !*v || !strcmp(v, "0"))
        return;
    if (R_JUMP_SLOT < 0 || crac__fdtrace_resolve() < 0) {
        fprintf(stderr, "crac: CRAC_FD_TRACE is not supported here; descriptors are not traced\n");
        return;
    }
    /* The first backtrace() loads libgcc_s (it opens files, and allocates):
     * done now rather than inside the first traced open(). */
    void *warm[2];
    backtrace(warm, 2);
    dl_iterate_phdr(find_self, NULL);
    enabled = true;
    crac__fdtrace_patch_all();
    crac__log("CRAC_FD_TRACE: recording where descriptors are opened");
}
