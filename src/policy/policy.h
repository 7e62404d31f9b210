/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy layer (src/policy/): the rules of the policies file
 * (docs/policies.md), the decision they give for each descriptor or other
 * thing that blocks a checkpoint, and the FD-tier handler that closes and
 * reopens descriptors (fd_policy.c, reopen.c).  The checker reports what
 * the decisions leave as errors; the cycle arms the handler.
 */
#ifndef CRAC_POLICY_H
#define CRAC_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "checker/checker.h"
#include "core/core.h"

/* ---- policies (policy.c, policy_parse.c) ---- */
enum crac__action {
    CRAC__ACT_ERROR,  /* report it: the checkpoint is refused (default) */
    CRAC__ACT_CLOSE,  /* close before the checkpoint, never reopen */
    CRAC__ACT_REOPEN, /* close before, open the same thing again after */
    CRAC__ACT_IGNORE, /* leave it open: only for engines that keep descriptors */
    CRAC__ACT_SAVE,   /* no rule, and the engine brings it back itself (native);
                         not a rule's action */
    CRAC__ACT_DROP,   /* a connection: left open in the process that goes on;
                         an instance gets a socket whose peer has closed */
};
const char *crac__action_name(enum crac__action a);

/* What the first matching rule says about one thing. */
struct crac__policy_hit {
    bool matched;             /* false: no rule, the action is error */
    enum crac__action action;
    bool warn;                /* print a line when closing/reopening */
    char where[192];          /* "FILE:LINE" of the rule, "" when none */
};

/* Things that are not descriptors, for rules of type child, timer, mapping. */
enum crac__subject { CRAC__SUBJ_CHILD, CRAC__SUBJ_TIMER, CRAC__SUBJ_MAPPING };

void crac__policy_match_fd(const struct crac__fd_info *fi, struct crac__policy_hit *hit);
void crac__policy_match_other(enum crac__subject s, const char *path,
                              struct crac__policy_hit *hit);
/* Replaces the rules read from the policies file (NULL or "": none).  0, or
 * -1 with *err naming the file and line; the old rules stay then. */
int crac__policies_load(const char *path, crac_error **err);
/* How many rules there are (restore rules included). */
size_t crac__policy_count(void);
/* True when rules given at restore exist (crac__policies_load_restore). */
bool crac__policy_have_restore_rules(void);

/* ---- the decision the checker and the handler share (decide.c) ---- */
struct crac__decision {
    struct crac__policy_hit hit;
    enum crac__action action;  /* what to do: CLOSE/REOPEN (the handler acts),
                                  IGNORE (nothing), ERROR (reported) */
    char why[256];             /* ERROR despite a rule: why it cannot apply ("" else) */
};
void crac__decide(const struct crac__fd_info *fi, const struct crac__engine *engine,
                  struct crac__decision *d);
/* With no rule for it, a descriptor is the engine's to bring back, if it
 * can (engine->fds_check): its verdict turns the default error into SAVE,
 * or says why not.  Rules come first: a decision a rule made stays. */
struct crac__fd_verdict;
void crac__decide_default(struct crac__decision *d, const struct crac__fd_verdict *v);
/* The same for a child, timer or mapping: only error and ignore apply. */
void crac__decide_other(enum crac__subject s, const char *path,
                        const struct crac__engine *engine, struct crac__decision *d);
/* Appends " [policy WHERE: ...]" for a reported problem that a rule named. */
void crac__decision_text(const struct crac__decision *d, struct crac__sb *sb);

/* ---- the handler, for the cycle (fd_policy.c) ---- */
/* Called by the cycle before any resource is notified: reads the policies
 * file (option "policies" / CRAC_POLICIES) and, when there are rules,
 * registers the FD-tier handler.  The handler reads `cycle` (engine, dry
 * run, whether the process was restored) until crac__policy_cycle_end();
 * in a dry run it closes nothing.  0, or -1 with *err (source "crac",
 * "policies FILE:LINE: ..."). */
int crac__policy_cycle_begin(const struct crac__cycle *cycle, crac_error **err);
void crac__policy_cycle_end(void);
/* What the policies did in the last checkpoint, one line per descriptor:
 * "fd 5 reopen: regular file /x (O_RDWR, offset 10 of 20 bytes) (policy
 * FILE:LINE)\n"; "" when nothing, NULL when out of memory.  Caller frees.
 * For the image's notes (`crac image info`). */
char *crac__fd_handler_summary(void);
/* The descriptors a `drop` rule named in this cycle (the FD tier found
 * them before the checkpoint); for the engine request.  How many. */
size_t crac__fd_policy_dropped(const int **fds);
/* For engines that park the other threads (engine->parks_threads), through
 * the request's hooks: with the other threads parked, closes what the
 * policies said to close or reopen (the FD tier only prepared it). */
void crac__fd_policy_close_parked(void);
/* After a real restore (or an image written by a process that goes on),
 * before the other threads run again: reopens what was closed with
 * `reopen`, with system calls only, so a thread resumes in a call on that
 * descriptor as if it had never been closed.  The FD tier's after-restore
 * then only reports.  With rules given at restore (true), nothing is done
 * here (they need the heap to be read). */
void crac__fd_policy_reopen_early(bool rules_at_restore);
/* Policies given anew at restore (`crac restore --policies FILE`): rules
 * that come before those of the checkpoint.  They decide whether a
 * descriptor closed with `reopen` is reopened (reopen), stays closed
 * (close, ignore), or makes the restore fail (error); and they stay first
 * for later checkpoints.  A NULL or empty path removes rules given
 * earlier.  0, or -1 with *err naming the file and line.  The restored
 * process gets them through `crac restore --env CRAC_RESTORE_POLICIES=FILE`:
 * the FD-tier handler loads that file after a real restore, before it
 * reopens anything; a mistake in it is a restore error. */
int crac__policies_load_restore(const char *path, crac_error **err);

#endif
