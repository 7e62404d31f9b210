/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/native: the descriptor scan shared by the checker's
 * question (which descriptors would the native engine bring back?) and the
 * checkpoint (save them), so both give the same answer.  fds.c drives it,
 * fds_kinds.c and fds_sock.c know each kind, fds_epoll.c the interest lists.
 *
 * A capture runs with the other threads parked: system calls only, no
 * heap, no stdio; everything lives in the scan's own area (a part of the
 * dumper's scratch mapping, which the image leaves out).
 */
#ifndef CRAC_NATIVE_FDS_H
#define CRAC_NATIVE_FDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "image/format.h"

struct crac__dump;
struct crac__fd_verdict;

/* engine->fds_check of the native engine (heap allowed, nothing changed). */
void crac__fds_check(const int *fds, const uint8_t *fate, size_t n, struct crac__fd_verdict *out);
/* At the checkpoint, the other threads parked: every descriptor but 0-2,
 * the library's and the dumper's, into d->fdscan's records and data.  0,
 * or -errno with d->err_what set (-ECANCELED: one cannot be restored; it
 * was opened or changed after the checks, d->err_what names it). */
int crac__fds_capture(struct crac__dump *d);

/* One open descriptor. */
struct crac__fdent {
    int fd;
    int flags;          /* F_GETFL */
    bool cloexec;
    bool gone;          /* check only: the policies close it before the checkpoint */
    bool dropped;       /* a `drop` rule: saved as a socket whose peer has closed */
    int same;           /* index of the first descriptor of its open file description */
    struct stat st;
    const char *why;    /* NULL: brought back; else why not, "%d" standing for why_fd */
    int why_fd;
    int peer;           /* socket pair: index of the other end; pipe: of the group leader */
    uint64_t peer_ino;  /* socket pair: the other end's inode (sock_diag) */
    struct crac_img_fd rec; /* what the image will hold (data_off into the scan's data) */
};

#define CRAC__FDSCAN_MAX 65536      /* descriptors */
#define CRAC__FDSCAN_DATA (64UL << 20) /* bytes waiting in pipes and sockets, interest lists */
#define CRAC__FDSCAN_TEXT (4UL << 20)  /* one fdinfo file */

struct crac__fdscan {
    bool capture;        /* false: only say what would happen; change nothing */
    struct crac__dump *d; /* capture: file paths go into its string table */
    struct crac__fdent *ents;
    size_t n;
    uint8_t *data;
    size_t data_len;
    char *text;          /* the fdinfo file read last */
    size_t text_len;
    int scratch_pipe[2]; /* capture: tee() target for pipe contents, -1 until needed */
    struct crac_img_fd *out; /* capture: the records, ascending */
    size_t nout;
};

/* Bytes the scan's area needs, and the scan laid out in it. */
size_t crac__fdscan_size(void);
struct crac__fdscan *crac__fdscan_init(void *area);

/* Every pass over s->ents (s->n of them, fd and gone set, ascending):
 * each ends up brought back (why NULL) or refused.  0, or -errno when the
 * scan itself failed. */
int crac__fdscan_run(struct crac__fdscan *s);

/* ---- per kind (fds_kinds.c, fds_sock.c, fds_epoll.c) ----
 * Each fills e->rec (and data) or sets e->why.  0, or -errno when the
 * scan itself failed (out of room, a system call that should not fail). */
int crac__fdscan_file(struct crac__fdscan *s, struct crac__fdent *e, const char *path);
int crac__fdscan_anon(struct crac__fdscan *s, struct crac__fdent *e);
int crac__fdscan_pipe(struct crac__fdscan *s, struct crac__fdent *e);
int crac__fdscan_socket(struct crac__fdscan *s, struct crac__fdent *e);
/* After every descriptor was looked at: pipe ends and socket pairs find
 * their other ends, or are refused. */
void crac__fdscan_pipe_groups(struct crac__fdscan *s);
void crac__fdscan_pairs(struct crac__fdscan *s);
/* Interest lists: read (once every kind is known), then judged by what
 * they watch, until nothing changes (an epoll may watch another). */
int crac__fdscan_epoll(struct crac__fdscan *s, struct crac__fdent *e);
bool crac__fdscan_epoll_judge(struct crac__fdscan *s, struct crac__fdent *e);

/* ---- shared helpers (fdscan.c) ---- */
/* DIR + the number ("/proc/self/fd/" 5), without stdio, into buf (40 bytes). */
const char *crac__fdscan_path(char *buf, const char *dir, int fd);
/* Reads /proc/self/fdinfo/FD into s->text.  0 or -errno. */
int crac__fdscan_fdinfo(struct crac__fdscan *s, int fd);
/* The text after "key" on its line of s->text, or NULL. */
const char *crac__fdscan_field(const struct crac__fdscan *s, const char *key);
/* Numbers as fdinfo prints them. */
uint64_t crac__fdscan_num(const char *p, int base);
/* Room for n bytes in the data area, 8-aligned: its offset, or -ENOSPC. */
long crac__fdscan_reserve(struct crac__fdscan *s, size_t n);
/* Index of the descriptor fd in the scan, or -1. */
int crac__fdscan_find(const struct crac__fdscan *s, int fd);
/* Refuses e: why (a "%d" in it stands for n). */
void crac__fdscan_refuse(struct crac__fdent *e, const char *why, int n);
/* Whether e's descriptor is refused (or, for a duplicate, its description's first). */
bool crac__fdscan_refused(const struct crac__fdscan *s, const struct crac__fdent *e);

#endif
