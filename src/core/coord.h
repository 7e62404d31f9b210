/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The coordination layer's private interface: shared by error.c, context.c,
 * checkpoint.c and config.c only.  What other layers need is in internal.h.
 */
#ifndef CRAC_COORD_H
#define CRAC_COORD_H

#include <stdbool.h>
#include "crac.h"

/* ---- error groups (error.c) ----
 * A group is a bag of causes with no meaning of its own: when it is adopted
 * into another error its causes move there (this is how nested contexts
 * flatten their failures into the parent). */
crac_error *crac__error_group(void);
/* Adds `e` (may be NULL) under `acc`.  A group gives up its causes; any other
 * error gets `source` (when non-NULL) and becomes one cause. */
void crac__error_adopt(crac_error *acc, crac_error *e, const char *source);
/* Frees an empty group and returns NULL; returns a non-empty one as is. */
crac_error *crac__error_group_finish(crac_error *group);

/* ---- the cycle (context.c) ---- */
/* Snapshots every context reachable from the global context and marks the
 * cycle as running (unregister then waits).  0 or -ENOMEM. */
int crac__cycle_begin(void);
/* Drops the snapshots and wakes the threads waiting in unregister. */
void crac__cycle_end(void);
/* Runs before-checkpoint (before=true) or after-restore over the snapshot,
 * in tier and registration order; every failure is added under `acc`. */
void crac__cycle_notify(bool before, crac_error *acc);

/* ---- the cycle lock (checkpoint.c) ---- */
/* True on the thread that runs the current cycle (notifications included). */
bool crac__in_cycle(void);
/* Takes the cycle lock if free (no checkpoint under way); false otherwise. */
bool crac__cycle_trylock(void);
void crac__cycle_unlock(void);

#endif
