/* SPDX-License-Identifier: Apache-2.0 */
/* Every field of every on-disk struct of the image format (format.h), so
 * that mutations change whole fields: the fuzzer's notion of structure. */
#include <stddef.h>
#include "fuzz/mutate.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
/* a scalar field */
#define F(T, m) {#m, offsetof(T, m), MEMBER_SIZE(T, m), 1, 0}
/* an array of `n` elements, `stride` bytes apart, starting with member m */
#define A(T, name, m, n, stride) {name, offsetof(T, m), MEMBER_SIZE(T, m), n, stride}

const char *const fz_section_names[CRAC_SEC_MAX + 1] = {
    "header", "proc", "regions", "runs", "files", "strings",
    "labels", "threads", "notes", "fds", "fddata",
};

typedef struct crac_img_header H;
static const struct fz_field header[] = {
    F(H, version), F(H, header_size), F(H, nsections), F(H, flags), F(H, meta_size),
    F(H, pages_size), F(H, created_ns),
    A(H, "sections.type", sections[0].type, CRAC_SEC_MAX, sizeof(struct crac_img_section)),
    A(H, "sections.entsize", sections[0].entsize, CRAC_SEC_MAX, sizeof(struct crac_img_section)),
    A(H, "sections.offset", sections[0].offset, CRAC_SEC_MAX, sizeof(struct crac_img_section)),
    A(H, "sections.size", sections[0].size, CRAC_SEC_MAX, sizeof(struct crac_img_section)),
};

typedef struct crac_img_proc P;
static const struct fz_field proc[] = {
    F(P, start_code), F(P, end_code), F(P, start_data), F(P, end_data), F(P, start_brk),
    F(P, brk), F(P, start_stack), F(P, arg_start), F(P, arg_end), F(P, env_start),
    F(P, env_end),
    A(P, "auxv", auxv[0], CRAC_AUXV_WORDS, 8),
    F(P, auxv_words), F(P, exe_file),
    A(P, "sigaction.handler", sigaction[0].handler, CRAC_NSIG, sizeof(struct crac_ksigaction)),
    A(P, "sigaction.flags", sigaction[0].flags, CRAC_NSIG, sizeof(struct crac_ksigaction)),
    A(P, "sigaction.restorer", sigaction[0].restorer, CRAC_NSIG, sizeof(struct crac_ksigaction)),
    A(P, "sigaction.mask", sigaction[0].mask, CRAC_NSIG, sizeof(struct crac_ksigaction)),
    F(P, sigmask),
    A(P, "rlimit", rlimit[0][0], 2 * CRAC_NRLIMIT, 8),
    F(P, umask), F(P, personality), F(P, no_new_privs), F(P, monotonic_ns), F(P, boottime_ns),
    F(P, cwd),
    A(P, "comm", comm[0], 16, 1),
    A(P, "kernel_release", kernel_release[0], 65, 1),
    A(P, "itimer", itimer[0][0], 12, 8),
    F(P, rseq_offset), F(P, rseq_size), F(P, nthreads), F(P, pid),
    F(P, cpu.leaf1_ecx), F(P, cpu.leaf7_ebx), F(P, cpu.ext1_ecx), F(P, cpu.xcr0),
    F(P, vdso.vvar_start), F(P, vdso.vvar_end), F(P, vdso.vclock_start), F(P, vdso.vclock_end),
    F(P, vdso.vdso_start), F(P, vdso.vdso_end), F(P, vdso.vdso_hash),
    F(P, pages_total),
};

typedef struct crac_img_region R;
static const struct fz_field region[] = {
    F(R, start), F(R, end), F(R, prot), F(R, kind), F(R, flags), F(R, file), F(R, name),
    F(R, file_offset), F(R, runs_first), F(R, runs_count), F(R, pages_saved),
};

typedef struct crac_img_run U;
static const struct fz_field run[] = {F(U, addr), F(U, npages), F(U, file_off), F(U, hash)};

typedef struct crac_img_file I;
static const struct fz_field file[] = {
    F(I, dev), F(I, ino), F(I, size), F(I, mtime_sec), F(I, mtime_nsec), F(I, mode), F(I, path),
    F(I, build_id_len), A(I, "build_id", build_id[0], CRAC_BUILD_ID_MAX, 1),
};

typedef struct crac_img_thread T;
static const struct fz_field thread[] = {
    F(T, ctx.rbx), F(T, ctx.rbp), F(T, ctx.r12), F(T, ctx.r15), F(T, ctx.rsp), F(T, ctx.rip),
    F(T, ctx.mxcsr), F(T, ctx.fpucw), F(T, ctx.fsbase), F(T, tid), F(T, flags),
    F(T, tid_address), F(T, robust_list), F(T, robust_len), F(T, altstack_sp),
    F(T, altstack_size), F(T, altstack_flags), F(T, affinity_valid),
    A(T, "affinity", affinity[0], CRAC_AFFINITY_WORDS, 8), A(T, "comm", comm[0], 16, 1),
};

typedef struct crac_img_fd D;
static const struct fz_field fd[] = {
    F(D, fd), F(D, kind), F(D, same_as), F(D, flags), F(D, cloexec), F(D, path), F(D, data_off),
    F(D, data_len), A(D, "u.raw", u.raw[0], 7, 8), A(D, "u.word", u.pipe.group, 14, 4),
};

/* Descriptor data, from the start of a record's slice: a socket
 * description, or epoll entries (their fields, by position), or a
 * datagram's length. */
typedef struct crac_img_sock S;
static const struct fz_field data[] = {
    F(S, family), F(S, type), F(S, protocol), F(S, flags), F(S, backlog), F(S, addr_len),
    A(S, "addr", addr[0], 16, 1), A(S, "bind_dev", bind_dev[0], 16, 1), F(S, nopts),
    A(S, "opts.level", opts[0].level, CRAC_SOCK_MAX_OPTS, sizeof(struct crac_img_sockopt)),
    A(S, "opts.name", opts[0].name, CRAC_SOCK_MAX_OPTS, sizeof(struct crac_img_sockopt)),
    A(S, "opts.value", opts[0].value, CRAC_SOCK_MAX_OPTS, sizeof(struct crac_img_sockopt)),
    {"word", 0, 4, 16, 4},
    {"epoll.tfd", 0, 4, 8, sizeof(struct crac_img_epoll_entry)},
    {"epoll.file_fd", offsetof(struct crac_img_epoll_entry, file_fd), 4, 8,
     sizeof(struct crac_img_epoll_entry)},
};

const struct fz_field *fz_fields(unsigned t, size_t *n)
{
    static const struct {
        const struct fz_field *f;
        size_t n;
    } tab[CRAC_SEC_MAX + 1] = {
        [0] = {header, N(header)},
        [CRAC_SEC_PROC] = {proc, N(proc)},
        [CRAC_SEC_REGIONS] = {region, N(region)},
        [CRAC_SEC_RUNS] = {run, N(run)},
        [CRAC_SEC_FILES] = {file, N(file)},
        [CRAC_SEC_THREADS] = {thread, N(thread)},
        [CRAC_SEC_FDS] = {fd, N(fd)},
    };
    *n = t <= CRAC_SEC_MAX ? tab[t].n : 0;
    return t <= CRAC_SEC_MAX ? tab[t].f : NULL;
}

size_t fz_entsize(unsigned t)
{
    switch (t) {
    case CRAC_SEC_PROC: return sizeof(struct crac_img_proc);
    case CRAC_SEC_REGIONS: return sizeof(struct crac_img_region);
    case CRAC_SEC_RUNS: return sizeof(struct crac_img_run);
    case CRAC_SEC_FILES: return sizeof(struct crac_img_file);
    case CRAC_SEC_THREADS: return sizeof(struct crac_img_thread);
    case CRAC_SEC_FDS: return sizeof(struct crac_img_fd);
    }
    return 0;
}

const struct fz_field *fz_data_fields(size_t *n)
{
    *n = N(data);
    return data;
}
