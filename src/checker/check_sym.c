/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Naming a code address for CRAC_FD_TRACE reports: "main+0x2c (prog)".
 *
 * dladdr() (what backtrace_symbols() uses) knows only the dynamic symbols,
 * and a program's own functions are not among them unless it was linked
 * with -rdynamic: the frame that matters most would read "prog(+0x1189)".
 * So when dladdr has no name, the object's own symbol table (.symtab) is
 * read from its file, if it was not stripped.  One file stays mapped
 * between calls, since a report looks up many frames of the same objects.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checker/checker.h"

static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *file;
    const unsigned char *map;
    size_t len;
} cache;

static const unsigned char *map_file(const char *file, size_t *len)
{
    if (cache.file && !strcmp(cache.file, file)) {
        *len = cache.len;
        return cache.map;
    }
    if (cache.map)
        munmap((void *)cache.map, cache.len);
    free(cache.file);
    cache.file = NULL;
    cache.map = NULL;
    /* dladdr names the main program by argv[0], which may be relative to a
     * directory we are no longer in */
    const char *path = !strcmp(file, program_invocation_name) ? "/proc/self/exe" : file;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return NULL;
    void *m = fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(ElfW(Ehdr))
                  ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                  : MAP_FAILED;
    close(fd);
    if (m == MAP_FAILED)
        return NULL;
    cache.file = strdup(file);
    cache.map = m;
    cache.len = (size_t)st.st_size;
    *len = cache.len;
    return m;
}

/* The function around `off` (an address relative to the load bias) in the
 * file's .symtab.  The name, with *start; NULL when none. */
static const char *symtab_lookup(const unsigned char *f, size_t len, uintptr_t off, uintptr_t *start)
{
    const ElfW(Ehdr) *eh = (const void *)f;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > len)
        return NULL;
    const ElfW(Shdr) *sh = (const void *)(f + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const ElfW(Shdr) *strs = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > len || strs->sh_offset + strs->sh_size > len)
            return NULL;
        const ElfW(Sym) *syms = (const void *)(f + sh[i].sh_offset);
        size_t n = sh[i].sh_size / sizeof(ElfW(Sym));
        for (size_t k = 0; k < n; k++) {
            if (ELF64_ST_TYPE(syms[k].st_info) != STT_FUNC || syms[k].st_shndx == SHN_UNDEF)
                continue;
            if (off >= syms[k].st_value && off < syms[k].st_value + syms[k].st_size &&
                syms[k].st_name < strs->sh_size) {
                *start = syms[k].st_value;
                return (const char *)f + strs->sh_offset + syms[k].st_name;
            }
        }
    }
    return NULL;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

void crac__symbolize(void *addr, char *buf, size_t size)
{
    Dl_info info;
    struct link_map *lm = NULL;
    /* a return address: the call is just before it */
    void *look = (char *)addr - 1;
    if (!dladdr1(look, &info, (void **)&lm, RTLD_DL_LINKMAP) || !info.dli_fname) {
        snprintf(buf, size, "%p", addr);
        return;
    }
    const char *obj = base_name(info.dli_fname);
    if (info.dli_sname && info.dli_saddr) {
        snprintf(buf, size, "%s+0x%lx (%s)", info.dli_sname,
                 (unsigned long)((char *)addr - (char *)info.dli_saddr), obj);
        return;
    }
    pthread_mutex_lock(&sym_lock);
    size_t len = 0;
    uintptr_t bias = lm ? (uintptr_t)lm->l_addr : (uintptr_t)info.dli_fbase, start = 0;
    const unsigned char *f = map_file(info.dli_fname, &len);
    const char *name = f ? symtab_lookup(f, len, (uintptr_t)look - bias, &start) : NULL;
    if (name)
        snprintf(buf, size, "%s+0x%lx (%s)", name, (unsigned long)((uintptr_t)addr - bias - start), obj);
    else
        snprintf(buf, size, "%s+0x%lx", obj, (unsigned long)((uintptr_t)addr - (uintptr_t)info.dli_fbase));
    pthread_mutex_unlock(&sym_lock);
}
