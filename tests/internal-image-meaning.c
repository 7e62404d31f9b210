/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reader checks meaning, not only checksums: crafted images (one field
 * changed, every checksum made right again) that the fuzzer's first runs
 * or the kernel's rules showed to be fatal past the point of no return are
 * refused, each with a message naming the field.  Checks of the image
 * alone through crac__img_open(); those against this machine and its
 * files through `crac image verify` (crac__restore_validate()).  The seed
 * is tests/helpers/fuzz-seed's image: three threads, every descriptor kind.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "image/hash.h"
#include "image/image.h"
#include "testutil.h"

static char *seed;
static size_t seed_len;
static char dir[4096], meta_path[4200];

#define SEC(m, t) (&((struct crac_img_header *)(m))->sections[(t) - 1])
#define AT(m, t, type) ((type *)((m) + SEC(m, t)->offset))
#define COUNT(m, t, type) (SEC(m, t)->size / sizeof(type))

/* Every checksum of m made right again, m written as the image's meta. */
static void seal(char *m, size_t len)
{
    struct crac_img_header *h = (void *)m;
    for (int i = 0; i < CRAC_SEC_MAX; i++)
        h->sections[i].hash = crac__hash(m + h->sections[i].offset, h->sections[i].size);
    h->header_hash = 0;
    h->header_hash = crac__hash(h, sizeof(*h));
    int fd = open(meta_path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, m, len) == (ssize_t)len, "write %s", meta_path);
    close(fd);
}

static const char *str(char *m, uint32_t off)
{
    return AT(m, CRAC_SEC_STRINGS, char) + off;
}

/* A region of m: a file mapping of a path containing `name` with exactly
 * `prot`, and no saved pages when `clean`. */
static struct crac_img_region *region(char *m, const char *name, uint32_t prot, int clean)
{
    struct crac_img_region *r = AT(m, CRAC_SEC_REGIONS, struct crac_img_region);
    for (size_t i = 0; i < COUNT(m, CRAC_SEC_REGIONS, struct crac_img_region); i++)
        if (r[i].file >= 0 && strstr(str(m, r[i].name), name) && r[i].prot == prot &&
            (!clean || !r[i].runs_count))
            return &r[i];
    CHECK(0, "no region of %s with protection %u", name, prot);
    return NULL;
}

#define P(m) AT(m, CRAC_SEC_PROC, struct crac_img_proc)
#define T(m, i) (&AT(m, CRAC_SEC_THREADS, struct crac_img_thread)[i])
#define F(m, r) (&AT(m, CRAC_SEC_FILES, struct crac_img_file)[(r)->file])

typedef size_t edit_fn(char *m, size_t len);
#define EDIT(name, body)                                                       \
    static size_t name(char *m, size_t len)                                    \
    {                                                                          \
        body;                                                                  \
        return len;                                                            \
    }
EDIT(past_eof, struct crac_img_region *r = region(m, "libc.so", PROT_READ, 1);
     r->file_offset = (F(m, r)->size + 4095) & ~4095UL)
EDIT(overlap, AT(m, CRAC_SEC_REGIONS, struct crac_img_region)[1].start -= 4096)
EDIT(above_task, struct crac_img_region *r = AT(m, CRAC_SEC_REGIONS, struct crac_img_region);
     r[COUNT(m, CRAC_SEC_REGIONS, struct crac_img_region) - 1].end = 1ULL << 47)
EDIT(exe_negative, P(m)->exe_file = -1)
EDIT(brk_in_libc, P(m)->brk = region(m, "libc.so", PROT_READ | PROT_EXEC, 0)->start + 16)
EDIT(stack_start, P(m)->start_stack = P(m)->start_code)
EDIT(code_order, P(m)->end_code = P(m)->start_code)
/* the whole trio moved onto libc */
static size_t vdso_on_region(char *m, size_t len)
{
    struct crac_img_vdso *v = &P(m)->vdso;
    uint64_t d = region(m, "libc.so", PROT_READ, 0)->start - v->vvar_start;
    v->vvar_start += d, v->vvar_end += d, v->vdso_start += d, v->vdso_end += d;
    if (v->vclock_start)
        v->vclock_start += d, v->vclock_end += d;
    return len;
}
EDIT(auxv_vdso, for (uint32_t i = 0; i + 1 < P(m)->auxv_words; i += 2) if (P(m)->auxv[i] ==
     AT_SYSINFO_EHDR) P(m)->auxv[i + 1] += 4096)
EDIT(handler, P(m)->sigaction[SIGUSR1 - 1].handler = P(m)->start_stack)
EDIT(no_restorer, P(m)->sigaction[SIGUSR1 - 1].flags &= ~0x04000000ULL)
EDIT(rlimit, P(m)->rlimit[RLIMIT_NOFILE][0] = P(m)->rlimit[RLIMIT_NOFILE][1] + 1)
EDIT(cwd_relative, P(m)->cwd = P(m)->cwd + 1)
EDIT(rip_data, T(m, 1)->ctx.rip = T(m, 1)->ctx.rsp)
EDIT(rsp_unaligned, T(m, 0)->ctx.rsp += 4)
EDIT(rsp_down, T(m, 0)->ctx.rsp -= 16 * 4096)
EDIT(fs_shared, T(m, 2)->ctx.fsbase = T(m, 1)->ctx.fsbase)
EDIT(mxcsr, T(m, 1)->ctx.mxcsr |= 1u << 20)
EDIT(tid_twice, T(m, 2)->tid = T(m, 1)->tid)
EDIT(tid_address, T(m, 1)->tid_address = region(m, "libc.so", PROT_READ, 0)->start)
EDIT(two_checkpointers, T(m, 1)->flags = T(m, 0)->flags = CRAC_THR_CHECKPOINTER)
EDIT(label, AT(m, CRAC_SEC_LABELS, char)[4] = '.')
/* the listening TCP socket turned into a listening UDP one */
static size_t udp_listening(char *m, size_t len)
{
    struct crac_img_fd *f = AT(m, CRAC_SEC_FDS, struct crac_img_fd);
    for (size_t i = 0; i < COUNT(m, CRAC_SEC_FDS, struct crac_img_fd); i++) {
        struct crac_img_sock *s = (void *)(AT(m, CRAC_SEC_FDDATA, char) + f[i].data_off);
        if (f[i].kind == CRAC_FDK_SOCKET && (s->flags & CRAC_SOCK_LISTENING))
            s->type = SOCK_DGRAM, s->protocol = IPPROTO_UDP;
    }
    return len;
}
/* against the files and this machine */
EDIT(code_moved, region(m, "libc.so", PROT_READ | PROT_EXEC, 0)->file_offset += 4096)
EDIT(code_writable, region(m, "ld-linux", PROT_READ | PROT_EXEC, 0)->prot = PROT_READ | PROT_WRITE)
EDIT(rip_off_call, T(m, 1)->ctx.rip += 1)
EDIT(fs_not_tls, T(m, 1)->ctx.fsbase += 64)
EDIT(tid_not_cached, T(m, 2)->tid_address += 64)

static const struct {
    const char *what;
    edit_fn *edit;
    const char *expect;
    int machine; /* 1: refused by `crac image verify`, not by the reader */
} cases[] = {
    {"a file mapping past its file's end", past_eof, "past the end of", 0},
    {"overlapping regions", overlap, "not a page-aligned range after the previous", 0},
    {"a region above the address space", above_task, "below 0x7ffffffff000", 0},
    {"no executable", exe_negative, "executable is file -1", 0},
    {"the break inside libc", brk_in_libc, "break", 0},
    {"start_stack outside the stack", stack_start, "start_stack", 0},
    {"code bounds out of order", code_order, "out of order", 0},
    {"the vDSO over a region", vdso_on_region, "overlaps a saved region", 0},
    {"AT_SYSINFO_EHDR elsewhere", auxv_vdso, "auxiliary vector entry", 0},
    {"a handler on the stack", handler, "handler outside executable", 0},
    {"a handler without restorer", no_restorer, "without a restorer", 0},
    {"a soft limit above the hard", rlimit, "above the hard limit", 0},
    {"a relative cwd", cwd_relative, "working directory", 0},
    {"rip on the stack", rip_data, "instruction pointer outside executable", 0},
    {"rsp unaligned", rsp_unaligned, "stack pointer not aligned", 0},
    {"rsp moved down", rsp_down, "stack page its stack pointer is in is not saved", 0},
    {"one TLS for two threads", fs_shared, "thread pointer 0x", 0},
    {"MXCSR reserved bits", mxcsr, "MXCSR", 0},
    {"a thread id twice", tid_twice, "thread id", 0},
    {"tid address read-only", tid_address, "clear-child-tid", 0},
    {"two checkpointing threads", two_checkpointers, "marked as the one", 0},
    {"a label without '='", label, "labels: item", 0},
    {"a listening UDP socket", udp_listening, "listening with a datagram socket", 0},
    {"code moved in its file", code_moved, "at another offset than its ELF segment", 1},
    {"code made writable", code_writable, "with another protection than its ELF segment", 1},
    {"rip off its call", rip_off_call, "does not follow a call", 1},
    {"fs not a TLS block", fs_not_tls, "first word is not itself", 1},
    {"tid address elsewhere", tid_not_cached, "clear-child-tid address does not hold", 1},
};

/* The message a refusal gave: from the reader, or from `crac image verify`. */
static char *refusal(int machine)
{
    static char out[8192];
    struct crac_img img;
    crac_error *err = NULL;
    if (!machine) {
        if (crac__img_open(dir, &img, &err) == 0) {
            crac__img_close(&img);
            return NULL;
        }
        snprintf(out, sizeof(out), "%s", crac_error_message(err));
        crac_error_free(err);
        return out;
    }
    char cmd[8400];
    snprintf(cmd, sizeof(cmd), "'%s' image verify '%s' 2>&1", test_crac_bin(), dir);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
    out[n] = 0;
    return p && pclose(p) != 0 ? out : NULL;
}

int main(void)
{
    char helper[4200], cmd[8800];
    if (test_sanitized())
        SKIP("an ASan-built process cannot be checkpointed by the native engine");
    snprintf(dir, sizeof(dir), "%s/img", test_tmp());
    snprintf(meta_path, sizeof(meta_path), "%s/meta", dir);
    snprintf(helper, sizeof(helper), "%s/tests/helpers/fuzz-seed",
             getenv("CRAC_BUILD") ? getenv("CRAC_BUILD") : "build");
    snprintf(cmd, sizeof(cmd), "'%s' '%s'", helper, dir);
    CHECK(system(cmd) == 0, "the seed checkpoint (%s) failed", cmd);
    CHECK(refusal(0) == NULL && refusal(1) == NULL, "the seed image is refused: %s",
          refusal(1) ? refusal(1) : refusal(0));
    struct stat st;
    int fd = open(meta_path, O_RDONLY);
    CHECK(fd >= 0 && fstat(fd, &st) == 0, "open %s", meta_path);
    seed_len = (size_t)st.st_size;
    seed = malloc(seed_len);
    CHECK(seed && read(fd, seed, seed_len) == (ssize_t)seed_len, "read %s", meta_path);
    close(fd);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *m = malloc(seed_len);
        memcpy(m, seed, seed_len);
        seal(m, cases[i].edit(m, seed_len));
        const char *why = refusal(cases[i].machine);
        CHECK(why, "accepted an image with %s", cases[i].what);
        CHECK(strstr(why, cases[i].expect) && strstr(why, dir), "%s: '%s' wanted, got: %s",
              cases[i].what, cases[i].expect, why);
        printf("refused %s: %s", cases[i].what, strstr(why, dir) + strlen(dir) + 2);
        if (!cases[i].machine)
            putchar('\n');
        free(m);
    }
    printf("%zu crafted images refused, each naming its field\n", sizeof(cases) / sizeof(cases[0]));
    free(seed);
    return 0;
}
