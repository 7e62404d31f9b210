/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The coordination layer's private interface: shared by error.c, context.c,
 * cycle.c and config.c only.  What other layers need is in internal.h.
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

/* ---- the snapshot of the registered resources (context.c) ----
 * The cycle (cycle.c) takes one before notifying and releases it at the
 * end; the registry owns it.  While it is taken, unregister waits (or
 * returns -EDEADLK on the thread that took it: a callback). */
/* Snapshots every context reachable from the global context.  0 or -ENOMEM. */
int crac__snapshot_take(void);
/* Drops the snapshots and wakes the threads waiting in unregister. */
void crac__snapshot_release(void);
/* Runs before-checkpoint (before=true) or after-restore over the snapshot,
 * in tier and registration order; every failure is added under `acc`. */
void crac__snapshot_notify(bool before, crac_error *acc);
/* "resource=NAME\0" for each resource of the snapshot, in checkpoint
 * order, into buf (at most cap bytes; cut at a whole name).  Returns the
 * bytes used (0 when no snapshot is taken).  For the image's notes. */
size_t crac__snapshot_names(char *buf, size_t cap);

/* ---- options while a cycle runs (config.c) ----
 * The cycle reads the options; crac_set_option() returns -EBUSY while they
 * are held, from any thread (a callback included). */
void crac__config_hold(bool hold);

#endif
