/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to src/restore: making the saved descriptors in the restoring
 * process, which becomes the restored one (fds.c drives, fds_make.c and
 * fds_pair.c make each kind, fds_epoll.c fills the interest lists,
 * fds_rules.c applies the rules given with `crac restore --policies`,
 * fdplan.c has what they share).
 */
#ifndef CRAC_RESTORE_FDS_H
#define CRAC_RESTORE_FDS_H

#include <stdbool.h>
#include "crac.h"
#include "image/image.h"

struct crac__fdplan {
    const struct crac_img *img;
    int top;           /* above every saved number: the restorer's own go here */
    bool *skip;        /* per record: a rule given at restore keeps it closed */
    bool *any_file;    /* per record: a `reopen` rule given at restore: whatever the path holds */
    bool *made;        /* per record: it is on its number */
    const char *step;  /* what failed (a call, followed by its error) */
    const char *why;   /* or why, in words (then no error follows) */
    int failed;        /* the record that failed, -1 */
};

/* Where each record goes: its number, with its close-on-exec flag; `got`
 * (ours, O_CLOEXEC) is closed unless it is that number.  0 or -errno. */
int crac__fdplan_place(struct crac__fdplan *p, int got, size_t i);
/* Index of the record of fd, or -1. */
int crac__fdplan_index(const struct crac__fdplan *p, int fd);
/* Whether the object of record i is wanted (some descriptor of it is not
 * kept closed by a rule). */
bool crac__fdplan_wanted(const struct crac__fdplan *p, size_t i);

/* Each kind: the object of record i (and, for a pipe or a socket pair,
 * its other ends) made and placed.  0 or -errno with p->step set. */
int crac__fdmake(struct crac__fdplan *p, size_t i);
/* Pipes and socket pairs: every end of record i's, with the bytes that
 * were waiting (fds_pair.c). */
int crac__fdmake_pipe(struct crac__fdplan *p, size_t i);
int crac__fdmake_pair(struct crac__fdplan *p, size_t i);
/* The epolls, after everything they may watch.  0 or -errno. */
int crac__fdmake_epolls(struct crac__fdplan *p);
/* Rules given at restore: p->skip and p->any_file.  0 or -1 with *err. */
int crac__fdplan_rules(struct crac__fdplan *p, const char *policies, crac_error **err);

#endif
