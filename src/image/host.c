/* SPDX-License-Identifier: Apache-2.0 */
/* What an image needs from the host: CPU features, the same kernel (vDSO),
 * and unchanged files.  Each check adds one cause per problem so a user sees
 * everything that blocks a restore at once. */
#include <cpuid.h>
#include <sys/platform/x86.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "image/hash.h"
#include "image/image.h"
#include "image/maps.h"
#include "core/core.h"

/* glibc read these at start-up (every cpuid is a VM exit here, ~8 us) and
 * chose its optimized routines from them: they are both the cheapest
 * source and, in a process restored on another machine, the features its
 * code in memory relies on. */
void crac__cpu_features(struct crac_img_cpu *c)
{
    const unsigned *l1 = __x86_get_cpuid_feature_leaf(CPUID_INDEX_1)->cpuid_array;
    const unsigned *l7 = __x86_get_cpuid_feature_leaf(CPUID_INDEX_7)->cpuid_array;
    const unsigned *e1 = __x86_get_cpuid_feature_leaf(CPUID_INDEX_80000001)->cpuid_array;
    memset(c, 0, sizeof(*c));
    /* Bit 27 of leaf 1 ecx (OSXSAVE) and the like say nothing about what
     * code may run: feature_mask() leaves them out of the comparison. */
    c->leaf1_ecx = l1[2];
    c->leaf1_edx = l1[3];
    c->leaf7_ebx = l7[1];
    c->leaf7_ecx = l7[2];
    c->leaf7_edx = l7[3];
    c->ext1_ecx = e1[2];
    c->ext1_edx = e1[3];
    if (c->leaf1_ecx & bit_OSXSAVE) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        c->xcr0 = (uint64_t)hi << 32 | lo;
    }
}

int crac__vdso_layout_in(const char *maps, size_t len, struct crac_img_vdso *v)
{
    const char *cur = maps;
    struct crac_map m;
    memset(v, 0, sizeof(*v));
    while (crac__maps_next(&cur, maps + len, &m) == 1) {
        if (crac__map_is(&m, "[vvar]")) {
            v->vvar_start = m.start;
            v->vvar_end = m.end;
        } else if (crac__map_is(&m, "[vvar_vclock]")) {
            v->vclock_start = m.start;
            v->vclock_end = m.end;
        } else if (crac__map_is(&m, "[vdso]")) {
            v->vdso_start = m.start;
            v->vdso_end = m.end;
        }
    }
    if (!v->vdso_start)
        return -ENOENT;
    v->vdso_hash = crac__hash((const void *)v->vdso_start, v->vdso_end - v->vdso_start);
    return 0;
}

int crac__vdso_layout(struct crac_img_vdso *v)
{
    size_t len;
    char *buf = crac__read_file_alloc("/proc/self/maps", &len);
    int rc;
    if (!buf)
        return -errno;
    rc = crac__vdso_layout_in(buf, len, v);
    free(buf);
    return rc;
}

static const struct {
    int word; /* 0: leaf1 ecx, 1: leaf1 edx, 2: leaf7 ebx, 3: leaf7 ecx, 4: leaf7 edx, 5: ext ecx, 6: ext edx */
    int bit;
    const char *name;
} feature_names[] = {
    {0, 0, "sse3"}, {0, 9, "ssse3"}, {0, 12, "fma"}, {0, 19, "sse4.1"}, {0, 20, "sse4.2"},
    {0, 22, "movbe"}, {0, 23, "popcnt"}, {0, 25, "aes"}, {0, 28, "avx"}, {0, 29, "f16c"},
    {0, 30, "rdrand"}, {2, 3, "bmi1"}, {2, 5, "avx2"}, {2, 8, "bmi2"}, {2, 9, "erms"},
    {2, 16, "avx512f"}, {2, 17, "avx512dq"}, {2, 19, "adx"}, {2, 29, "sha"},
    {2, 30, "avx512bw"}, {2, 31, "avx512vl"}, {3, 1, "avx512vbmi"}, {3, 9, "vaes"},
    {3, 10, "vpclmulqdq"}, {4, 4, "fsrm"}, {5, 5, "lzcnt"},
};

/* Bits that describe the machine, not what code may use. */
static uint32_t feature_mask(int word)
{
    if (word == 0) /* leaf 1 ecx: drop OSXSAVE (27), hypervisor (31), tsc-deadline (24) */
        return ~((1U << 27) | (1U << 31) | (1U << 24));
    return ~0U;
}

static int check_cpu(const struct crac_img_cpu *want, crac_error *top)
{
    struct crac_img_cpu have;
    uint32_t w[7], h[7];
    int bad = 0;
    crac__cpu_features(&have);
    w[0] = want->leaf1_ecx, w[1] = want->leaf1_edx, w[2] = want->leaf7_ebx;
    w[3] = want->leaf7_ecx, w[4] = want->leaf7_edx, w[5] = want->ext1_ecx, w[6] = want->ext1_edx;
    h[0] = have.leaf1_ecx, h[1] = have.leaf1_edx, h[2] = have.leaf7_ebx;
    h[3] = have.leaf7_ecx, h[4] = have.leaf7_edx, h[5] = have.ext1_ecx, h[6] = have.ext1_edx;
    for (int i = 0; i < 7; i++) {
        uint32_t missing = w[i] & ~h[i] & feature_mask(i);
        if (!missing)
            continue;
        bad = 1;
        for (size_t k = 0; k < sizeof(feature_names) / sizeof(feature_names[0]); k++)
            if (feature_names[k].word == i && (missing & (1U << feature_names[k].bit))) {
                missing &= ~(1U << feature_names[k].bit);
                crac_error_add_cause(top, crac__error_src("host", "CPU feature '%s' used by the "
                                     "image is missing on this CPU", feature_names[k].name));
            }
        if (missing)
            crac_error_add_cause(top, crac__error_src("host", "CPU feature bits 0x%x of cpuid "
                                 "word %d used by the image are missing on this CPU", missing, i));
    }
    if (want->xcr0 & ~have.xcr0) {
        bad = 1;
        crac_error_add_cause(top, crac__error_src("host", "the image saved register state 0x%llx "
                             "(XCR0) that this CPU does not enable (0x%llx)",
                             (unsigned long long)want->xcr0, (unsigned long long)have.xcr0));
    }
    return bad;
}

static int check_vdso(const struct crac_img_vdso *want, const char *release, crac_error *top)
{
    struct crac_img_vdso have;
    if (crac__vdso_layout(&have) < 0) {
        crac_error_add_cause(top, crac__error_src("host", "cannot find this process's vDSO"));
        return 1;
    }
    if (have.vvar_end - have.vvar_start != want->vvar_end - want->vvar_start ||
        have.vclock_end - have.vclock_start != want->vclock_end - want->vclock_start ||
        have.vdso_end - have.vdso_start != want->vdso_end - want->vdso_start ||
        have.vdso_hash != want->vdso_hash) {
        crac_error_add_cause(top, crac__error_src("host", "the kernel differs from the one the "
                             "image was taken on (%s): its vDSO is not the same", release));
        return 1;
    }
    return 0;
}

int crac__img_check_host(const struct crac_img *img, crac_error **err)
{
    crac_error *top = crac__error_src("host", "this machine cannot run the image %s", img->dir);
    int bad = check_cpu(&img->proc->cpu, top);
    bad |= check_vdso(&img->proc->vdso, img->proc->kernel_release, top);
    if (!bad) {
        crac_error_free(top);
        return 0;
    }
    *err = top;
    return -1;
}

/* The GNU build-id note in notes[0..len), or 0. */
static uint32_t find_build_id(const char *notes, size_t len, uint8_t *out, uint32_t max)
{
    size_t pos = 0;
    while (pos + sizeof(Elf64_Nhdr) <= len) {
        Elf64_Nhdr nh;
        size_t name_at, desc_at;
        memcpy(&nh, notes + pos, sizeof(nh));
        name_at = pos + sizeof(nh);
        desc_at = name_at + ((nh.n_namesz + 3) & ~3U);
        if (desc_at + nh.n_descsz > len)
            break;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
            memcmp(notes + name_at, "GNU", 4) == 0 && nh.n_descsz <= max) {
            memcpy(out, notes + desc_at, nh.n_descsz);
            return nh.n_descsz;
        }
        pos = desc_at + ((nh.n_descsz + 3) & ~3U);
    }
    return 0;
}

/* Reads [off, off+len) from the file's first bytes in head when they are
 * there (the ELF header, program headers and notes nearly always are: one
 * read instead of one per header), else from the file. */
static int read_at(int fd, const char *head, size_t head_len, void *dst, size_t len, uint64_t off)
{
    if (off <= head_len && len <= head_len - off) {
        memcpy(dst, head + off, len);
        return 0;
    }
    return pread(fd, dst, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

uint32_t crac__elf_build_id(int fd, uint8_t *out, uint32_t max)
{
    char head[4096], notes[1024];
    ssize_t got = pread(fd, head, sizeof(head), 0);
    size_t hl = got > 0 ? (size_t)got : 0;
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    if (read_at(fd, head, hl, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(ph) || eh.e_phnum > 256)
        return 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        size_t len;
        uint32_t n;
        if (read_at(fd, head, hl, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)))
            return 0;
        if (ph.p_type != PT_NOTE)
            continue;
        len = ph.p_filesz < sizeof(notes) ? ph.p_filesz : sizeof(notes);
        if (read_at(fd, head, hl, notes, len, ph.p_offset))
            return 0;
        if ((n = find_build_id(notes, len, out, max)))
            return n;
    }
    return 0;
}

static void hex_id(const uint8_t *id, uint32_t len, char *out)
{
    for (uint32_t i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", id[i]);
    out[2 * len] = 0;
}

int crac__file_hash(int fd, uint64_t size, uint64_t *hash)
{
    if (size == 0) {
        *hash = crac__hash("", 0);
        return 0;
    }
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *hash = crac__hash(p, size);
    munmap(p, size);
    return 0;
}

/* The file is the very one that was mapped, untouched since: same device,
 * inode and change time (any write changes it; only root can set it). */
static bool same_inode(const struct stat *st, const struct crac_img_file *f)
{
    return (uint64_t)st->st_dev == f->dev && (uint64_t)st->st_ino == f->ino &&
           st->st_ctim.tv_sec == f->ctime_sec && st->st_ctim.tv_nsec == f->ctime_nsec;
}

/* Otherwise (another machine with the same files, a file copied back, or
 * patched in place with its size, mtime and build-id kept) its content
 * must be what was mapped: 1 when it is, 0 when not (named in top).  A
 * file of root's that only root may write has no recorded content: the
 * same inode with another change time is refused (changed in place);
 * another inode (another machine) is taken on size, mtime and build-id. */
static int same_content(int fd, const char *path, const struct stat *st,
                        const struct crac_img_file *f, crac_error *top)
{
    uint64_t h;
    if (!f->hashed) {
        if ((uint64_t)st->st_dev != f->dev || (uint64_t)st->st_ino != f->ino)
            return 1;
        crac_error_add_cause(top, crac__error_src("file", "%s changed since the checkpoint (the "
                             "same file, changed in place: its inode change time moved)", path));
        return 0;
    }
    int rc = crac__file_hash(fd, f->size, &h);
    if (rc == 0 && h == f->content_hash)
        return 1;
    crac_error_add_cause(top, rc ? crac__error_src("file", "%s: cannot read it to compare it: %s",
                                                   path, strerror(-rc))
                                 : crac__error_src("file", "%s changed since the checkpoint (same "
                                                   "size, mtime and build-id, other content)", path));
    return 0;
}

/* One file: the identity the dumper recorded against what is on disk now.
 * The inode and device need not be the same: an image may be restored on
 * another machine with the same files; then the content is compared. */
static void check_file(const struct crac_img *img, const struct crac_img_file *f, crac_error *top,
                       int *bad)
{
    const char *path = crac__img_str(img, f->path);
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        crac_error_add_cause(top, crac__error_src("file", "%s: %s", path, strerror(errno)));
        *bad = 1;
        if (fd >= 0)
            close(fd);
        return;
    }
    if ((uint64_t)st.st_size != f->size || st.st_mtim.tv_sec != f->mtime_sec ||
        st.st_mtim.tv_nsec != f->mtime_nsec) {
        crac_error_add_cause(top, crac__error_src("file", "%s changed since the checkpoint "
                             "(size %llu, was %llu; modified %lld, was %lld)", path,
                             (unsigned long long)st.st_size, (unsigned long long)f->size,
                             (long long)st.st_mtim.tv_sec, (long long)f->mtime_sec));
        *bad = 1;
    } else if (f->build_id_len) {
        uint8_t id[CRAC_BUILD_ID_MAX];
        uint32_t n = crac__elf_build_id(fd, id, sizeof(id));
        if (n != f->build_id_len || memcmp(id, f->build_id, n)) {
            char want[2 * CRAC_BUILD_ID_MAX + 1], have[2 * CRAC_BUILD_ID_MAX + 1];
            hex_id(f->build_id, f->build_id_len, want);
            hex_id(id, n, have);
            crac_error_add_cause(top, crac__error_src("file", "%s changed since the checkpoint "
                                 "(build-id %s, was %s)", path, have, want));
            *bad = 1;
        }
    }
    if (!*bad && !same_inode(&st, f) && !same_content(fd, path, &st, f, top))
        *bad = 1;
    close(fd);
}

int crac__img_check_files(const struct crac_img *img, crac_error **err)
{
    crac_error *top = crac__error_src("file", "files the image maps have changed");
    int bad = 0;
    for (size_t i = 0; i < img->nfiles; i++)
        check_file(img, &img->files[i], top, &bad);
    if (!bad) {
        crac_error_free(top);
        return 0;
    }
    *err = top;
    return -1;
}
