/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image format v2 (docs/image-format.md).  An image is a directory:
 *   meta   header + sections (process state, regions, runs, files, strings,
 *          labels, threads, notes, descriptors and their data)
 *   pages  page data, each run of saved pages at a page-aligned offset
 * Every section and every run of page data carries an XXH3-64 checksum, and
 * the header carries its own, so a flipped bit anywhere is found before a
 * restore touches anything.  All integers are little-endian (x86_64 only).
 */
#ifndef CRAC_IMAGE_FORMAT_H
#define CRAC_IMAGE_FORMAT_H

#include <stdint.h>

#define CRAC_IMG_MAGIC "CRACIMG\0"
/* 2: descriptors (CRAC_SEC_FDS, CRAC_SEC_FDDATA).  A v1 image is refused
 * by number: images are bound to one kernel build anyway (the vDSO hash),
 * so none outlives an upgrade of crac for long. */
#define CRAC_IMG_VERSION 2
#define CRAC_IMG_META "meta"
#define CRAC_IMG_PAGES "pages"
#define CRAC_PAGE 4096UL
/* The user address space of x86_64 with 4-level page tables (the kernel's
 * TASK_SIZE): every saved address lies below it. */
#define CRAC_TASK_SIZE ((1ULL << 47) - CRAC_PAGE)

enum crac_img_section_type {
    CRAC_SEC_PROC = 1,    /* struct crac_img_proc, one */
    CRAC_SEC_REGIONS = 2, /* struct crac_img_region[] in address order */
    CRAC_SEC_RUNS = 3,    /* struct crac_img_run[] */
    CRAC_SEC_FILES = 4,   /* struct crac_img_file[] */
    CRAC_SEC_STRINGS = 5, /* NUL-terminated strings, referenced by offset */
    CRAC_SEC_LABELS = 6,  /* "key=value\0" ... */
    CRAC_SEC_THREADS = 7, /* struct crac_img_thread[]; [0] is the thread group leader */
    CRAC_SEC_NOTES = 8,   /* "resource=NAME\0", "policy=...\0": what the checkpoint did */
    CRAC_SEC_FDS = 9,     /* struct crac_img_fd[], ascending fd numbers */
    CRAC_SEC_FDDATA = 10, /* bytes the descriptors refer to (data_off, data_len) */
    CRAC_SEC_MAX = 10,
};

struct crac_img_section {
    uint32_t type;
    uint32_t entsize; /* size of one entry (0 for byte sections) */
    uint64_t offset;  /* in the meta file */
    uint64_t size;    /* bytes */
    uint64_t hash;    /* XXH3-64 of the bytes */
};

struct crac_img_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size; /* sizeof(struct crac_img_header) */
    uint32_t nsections;
    uint32_t flags;
    uint64_t meta_size;  /* whole meta file */
    uint64_t pages_size; /* whole pages file */
    uint64_t created_ns; /* CLOCK_REALTIME at checkpoint */
    uint64_t header_hash; /* XXH3-64 of this header with header_hash = 0 */
    struct crac_img_section sections[CRAC_SEC_MAX];
};

enum crac_region_kind {
    CRAC_RGN_ANON = 1,  /* private anonymous memory: saved as data */
    CRAC_RGN_FILE = 2,  /* private file mapping: the file + dirty pages */
    CRAC_RGN_HEAP = 3,  /* [heap]: anonymous, brk area */
    CRAC_RGN_STACK = 4, /* [stack]: anonymous, grows down */
    CRAC_RGN_SHARED_FILE = 5, /* read-only shared file mapping: the file only */
};

/* Region flags. */
#define CRAC_RGN_F_WIPEONFORK 1u /* MADV_WIPEONFORK: no page saved, zero in
                                    every instance, marked again at restore */
#define CRAC_RGN_F_KNOWN CRAC_RGN_F_WIPEONFORK

struct crac_img_region {
    uint64_t start, end;
    uint32_t prot;  /* PROT_* */
    uint16_t kind;  /* enum crac_region_kind */
    uint16_t flags; /* CRAC_RGN_F_* (0 in images of earlier versions) */
    int32_t file;   /* index in CRAC_SEC_FILES, -1 for none */
    uint32_t name;  /* offset in strings: path or "[heap]", "[stack]", "" */
    uint64_t file_offset;
    uint64_t runs_first, runs_count; /* slice of CRAC_SEC_RUNS */
    uint64_t pages_saved;
};

/* A run of consecutive saved pages of one region, at most
 * CRAC_RUN_MAX_PAGES long, with its own checksum: runs are read and checked
 * in parallel at restore, and a flipped bit is located to 2 MiB. */
#define CRAC_RUN_MAX_PAGES 512
struct crac_img_run {
    uint64_t addr;     /* first page */
    uint64_t npages;
    uint64_t file_off; /* in the pages file; page aligned */
    uint64_t hash;     /* XXH3-64 of the run's bytes */
};

#define CRAC_BUILD_ID_MAX 32
struct crac_img_file {
    uint64_t dev, ino, size;
    int64_t mtime_sec, mtime_nsec;
    uint32_t mode;
    uint32_t path; /* offset in strings */
    uint32_t build_id_len; /* 0: not an ELF file with a build-id */
    uint8_t build_id[CRAC_BUILD_ID_MAX];
    uint32_t pad;
    /* The inode's change time: any write to the file changes it, and only
     * root can set it back.  Same device, inode and ctime at restore: the
     * file is the one that was mapped, untouched; else its content is
     * compared with content_hash. */
    int64_t ctime_sec, ctime_nsec;
    uint32_t uid;          /* owner at the checkpoint */
    uint32_t hashed;       /* 1: content_hash holds the XXH3-64 of the whole
                              file (files someone else than root may write) */
    uint64_t content_hash;
};

/* The checkpointing thread's resume point (see src/dump/ctx.S). */
struct crac_cpu_ctx {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
    uint32_t mxcsr, fpucw;
    uint64_t fsbase;
};

/* What the kernel calls struct sigaction (rt_sigaction's layout). */
struct crac_ksigaction {
    uint64_t handler, flags, restorer, mask;
};

#define CRAC_NSIG 64
#define CRAC_NRLIMIT 16
#define CRAC_AUXV_WORDS 128

struct crac_img_cpu {
    uint32_t leaf1_ecx, leaf1_edx;
    uint32_t leaf7_ebx, leaf7_ecx, leaf7_edx;
    uint32_t ext1_ecx, ext1_edx;
    uint32_t pad;
    uint64_t xcr0;
};

struct crac_img_vdso {
    /* [vvar], [vvar_vclock] (0 when the kernel has none), [vdso] */
    uint64_t vvar_start, vvar_end;
    uint64_t vclock_start, vclock_end;
    uint64_t vdso_start, vdso_end;
    uint64_t vdso_hash; /* XXH3-64 of the vDSO bytes: same kernel build */
};

/* One thread.  Each resumes in library code: the thread that called the
 * checkpoint where it saved its context, the others inside the safepoint
 * signal handler, whose frame on their stack holds the interrupted state. */
#define CRAC_THR_CHECKPOINTER 1u
#define CRAC_THR_NO_RSEQ 2u /* no rseq area registered (a thread not yet through
                               glibc's start): none is registered at restore */
#define CRAC_AFFINITY_WORDS 16 /* 1024 CPUs */
struct crac_img_thread {
    struct crac_cpu_ctx ctx;
    int32_t tid;
    uint32_t flags; /* CRAC_THR_* */
    uint64_t tid_address; /* clear-child-tid: glibc's cached tid lives here */
    uint64_t robust_list, robust_len;
    uint64_t altstack_sp, altstack_size;
    int32_t altstack_flags;
    uint32_t affinity_valid;
    uint64_t affinity[CRAC_AFFINITY_WORDS];
    char comm[16];
};

struct crac_img_proc {
    /* mm layout, as PR_SET_MM_MAP wants it */
    uint64_t start_code, end_code, start_data, end_data;
    uint64_t start_brk, brk, start_stack;
    uint64_t arg_start, arg_end, env_start, env_end;
    uint64_t auxv[CRAC_AUXV_WORDS];
    uint32_t auxv_words;
    int32_t exe_file; /* index in CRAC_SEC_FILES */
    /* per-process state */
    struct crac_ksigaction sigaction[CRAC_NSIG]; /* index = signal - 1 */
    uint64_t sigmask;
    uint64_t rlimit[CRAC_NRLIMIT][2]; /* cur, max */
    uint32_t umask;
    uint32_t personality;
    uint32_t no_new_privs; /* PR_SET_NO_NEW_PRIVS: set again (it can only be set) */
    uint32_t pad2;
    /* CLOCK_MONOTONIC and CLOCK_BOOTTIME when memory was saved: a restore
     * keeps the restored process's clocks from going back before these */
    uint64_t monotonic_ns, boottime_ns;
    uint32_t cwd; /* offset in strings */
    char comm[16];
    char kernel_release[65];
    char pad0[7];
    uint64_t itimer[3][4]; /* ITIMER_REAL/VIRTUAL/PROF: interval sec/usec, value sec/usec */
    int32_t rseq_offset; /* glibc's __rseq_offset */
    uint32_t rseq_size;  /* 0 when rseq is not used */
    uint32_t nthreads;   /* entries in CRAC_SEC_THREADS */
    int32_t pid;
    uint32_t pad1;
    struct crac_img_cpu cpu;
    struct crac_img_vdso vdso;
    uint64_t pages_total;  /* saved pages in the image */
};


/* ---- descriptors (CRAC_SEC_FDS, CRAC_SEC_FDDATA) ----
 * Every descriptor of the process but 0-2 and the library's own, as the
 * native engine brings it back: on its number, with its flags.  Descriptors
 * that share one open file description (dup) point at the lowest of them,
 * which alone carries the object. */
enum crac_img_fd_kind {
    CRAC_FDK_FILE = 1,       /* regular file opened read-only or O_APPEND, by path */
    CRAC_FDK_DIR = 2,        /* directory, by path */
    CRAC_FDK_DEVICE = 3,     /* /dev/null, zero, full, random, urandom */
    CRAC_FDK_PIPE = 4,       /* one end of a pipe whose ends are all saved */
    CRAC_FDK_SOCKETPAIR = 5, /* unix socket connected to another saved one */
    CRAC_FDK_SOCKET = 6,     /* listening, bound or never-used socket: rebuilt */
    CRAC_FDK_EVENTFD = 7,
    CRAC_FDK_TIMERFD = 8,
    CRAC_FDK_SIGNALFD = 9,
    CRAC_FDK_EPOLL = 10,
    CRAC_FDK_GONE = 11,      /* a connection a `drop` rule named: made again as a
                                unix stream socket whose peer has closed */
    CRAC_FDK_MAX = 11,
};

/* Descriptor numbers a saved process may use (RLIMIT_NOFILE's usual hard
 * limit is 1 << 20). */
#define CRAC_IMG_FD_LIMIT (1 << 20)

struct crac_img_fd {
    int32_t fd;
    uint32_t kind;     /* enum crac_img_fd_kind */
    int32_t same_as;   /* -1, or the lower saved fd whose open file description this is */
    uint32_t flags;    /* F_GETFL: access mode and status flags */
    uint32_t cloexec;  /* 1: FD_CLOEXEC */
    uint32_t path;     /* offset in strings: files, directories, devices ("" else) */
    uint64_t data_off, data_len; /* slice of CRAC_SEC_FDDATA (0, 0: none) */
    union {
        struct { /* FILE, DIR, DEVICE */
            int64_t pos;
            uint64_t dev, ino, size;
            int64_t mtime_sec, mtime_nsec;
            uint64_t rdev;
        } file;
        struct { /* PIPE: data (group leader only) = the bytes waiting */
            int32_t group; /* the lowest saved fd on this pipe: every end names it */
            uint32_t size; /* F_GETPIPE_SZ */
        } pipe;
        struct { /* SOCKETPAIR: data = struct crac_img_sock, then its receive queue */
            int32_t peer;      /* the saved fd of the other end */
            uint32_t shutdown; /* bit 0: receiving shut down, bit 1: sending */
        } pair;
        struct { /* EVENTFD */
            uint64_t count;
            uint32_t semaphore;
            uint32_t pad;
        } eventfd;
        struct { /* TIMERFD: value_ns is what was left; now_ns the clock then */
            int32_t clockid;
            uint32_t settime_flags; /* TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET */
            uint64_t value_ns, interval_ns, ticks, now_ns;
        } timerfd;
        struct { /* SIGNALFD */
            uint64_t mask;
        } signalfd;
        uint64_t raw[7];
    } u;
};

/* A socket rebuilt from its description (CRAC_FDK_SOCKET, and the first
 * part of a CRAC_FDK_SOCKETPAIR's data): family, type, the options the
 * program changed, the bound address and whether it listens. */
#define CRAC_SOCK_MAX_OPTS 24
#define CRAC_SOCK_LISTENING 1u
#define CRAC_SOCK_BOUND 2u
struct crac_img_sockopt {
    int32_t level, name, value;
};
struct crac_img_sock {
    int32_t family, type, protocol;
    uint32_t flags;   /* CRAC_SOCK_* */
    int32_t backlog;  /* listening only */
    uint32_t addr_len;
    uint8_t addr[128]; /* struct sockaddr_storage, as getsockname() gave it */
    char bind_dev[16]; /* SO_BINDTODEVICE, "" for none */
    uint32_t nopts;
    uint32_t pad;
    struct crac_img_sockopt opts[CRAC_SOCK_MAX_OPTS];
};

/* CRAC_FDK_SOCKETPAIR of a datagram or seqpacket type: the queue after the
 * struct crac_img_sock is a list of datagrams, each a uint32_t length and
 * its bytes; of a stream type, just the bytes. */

/* CRAC_FDK_EPOLL: data = struct crac_img_epoll_entry[], one per entry of
 * the interest list, as /proc/self/fdinfo lists it. */
struct crac_img_epoll_entry {
    int32_t tfd;      /* the number it was added under (the key, with the file) */
    uint32_t events;  /* EPOLLIN..., EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE */
    uint64_t data;
    int32_t file_fd;  /* a saved fd holding the watched file: tfd, unless the
                         program closed or reused that number since */
    uint32_t pad;
};

#endif
