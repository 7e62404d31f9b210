/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interfaces of libcrac shared between its layers (not exported). */
#ifndef CRAC_INTERNAL_H
#define CRAC_INTERNAL_H

#include <stdbool.h>
#include <stdarg.h>
#include "crac.h"

/* ---- errors (error.c) ---- */
/* A new error whose source is `source` (copied; may be NULL). Never NULL. */
crac_error *crac__error_src(const char *source, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
crac_error *crac__error_vsrc(const char *source, const char *fmt, va_list ap);
/* Replaces the source (copied). */
void crac__error_set_source(crac_error *e, const char *source);
/* Marks a top-level error as a restore error (crac_error_is_restore() == 1). */
void crac__error_set_restore(crac_error *e, bool restore);

/* ---- file descriptors the library owns (never reported by the checker) ---- */
void crac__fd_claim(int fd);
void crac__fd_release(int fd);
bool crac__fd_is_library(int fd);

/* ---- restore bookkeeping (checkpoint.c) ---- */
/* Called by the coordination layer when an engine reports CRAC__CP_RESTORED. */
void crac__note_restored(void);

/* ---- logging: CRAC_LOG=1 (or "debug") prints the library's steps to stderr ---- */
void crac__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- priority tiers of the global context (context.c) ----
 * At checkpoint the tiers are notified in this order (application resources
 * first, the file-descriptor tier last); after restore in exactly the reverse
 * order.  Inside a tier: before-checkpoint in reverse registration order,
 * after-restore in registration order.  crac_context_unregister(
 * crac_global_context(), r) removes a resource from whichever tier holds it. */
enum crac__tier {
    CRAC__TIER_NORMAL,  /* what crac_global_context() registers into */
    CRAC__TIER_LIBRARY, /* event loops, random seeders, ... */
    CRAC__TIER_FD,      /* file-descriptor handlers: closed last, reopened first */
};
/* crac_context_register() into a tier of the global context: 0, -EINVAL,
 * -EEXIST, -ENOMEM. */
int crac__register_tier(enum crac__tier tier, crac_resource *r);

/* ---- configuration (config.c) ---- */
struct crac__engine;
/* The engine chosen by the "engine" option (CRAC_ENGINE, default "native"),
 * with CRAC_ENGINE_OPTIONS applied.  NULL with *err set when the environment
 * named an unknown engine or a bad engine option. */
const struct crac__engine *crac__config_engine(crac_error **err);

/* ---- the cycle (checkpoint.c) ---- */
/* crac_checkpoint_restore() with a dry run: every step runs, but the engine
 * is asked only to report what would block it (req->dry_run) and no
 * destination is required.  For `crac check`. */
int crac__checkpoint_restore_opts(bool dry_run, crac_error **err);

/* ---- the checker and policies (check*.c, policy*.c, src/handlers/) ----
 * docs/policies.md describes the policies file; docs/architecture.md,
 * "Checker", how the pieces fit. */
/* Called by the cycle before any resource is notified: reads the policies
 * file (option "policies" / CRAC_POLICIES) and, when there are rules,
 * registers the FD-tier handler that closes and reopens descriptors.  0, or
 * -1 with *err (source "crac", "policies FILE:LINE: ...").  `dry_run`: the
 * handler then closes nothing. */
int crac__checker_prepare(const struct crac__engine *engine, bool dry_run, crac_error **err);
/* Called when the cycle is over. */
void crac__checker_finish(void);
/* Adds one cause (source "checker") to `problems` for each thing that
 * blocks a checkpoint with `engine`: descriptors the policies do not allow
 * (each named with fd number, kind and details, and with CRAC_FD_TRACE=1
 * where it was opened), child processes, POSIX timers, SysV shm, shared
 * writable mappings.  Every engine; engine->check() adds its own after. */
void crac__check_run(const struct crac__engine *engine, crac_error *problems);
/* The checker alone, no resource notified, nothing closed, for the
 * configured engine (for status requests; `crac check` should rather run
 * crac__checkpoint_restore_opts(true, ...), which also asks the resources).
 * Returns the number of problems, *problems = "[checker] a checkpoint with
 * engine 'E' would be refused for:" with one cause each (NULL when none);
 * -1 with *problems set when the configuration or the policies file is bad.
 * Do not call it from inside a checkpoint's callbacks. */
int crac__check_report(crac_error **problems);
/* Policies given anew at restore (`crac restore --policies FILE`): call it
 * in the restored process before the after-restore callbacks run (e.g. in
 * the restore path, or from the engine's restored()).  Its rules come
 * before those of the checkpoint: they decide whether a descriptor closed
 * with `reopen` is reopened (reopen), stays closed (close, ignore), or makes
 * the restore fail (error); and they stay first for later checkpoints.  A
 * NULL or empty path removes rules given earlier.  0, or -1 with *err
 * naming the file and line.  The simplest wiring needs no call at all:
 * `crac restore --env CRAC_RESTORE_POLICIES=FILE` (the FD-tier handler
 * loads that file after a real restore, before it reopens anything; a
 * mistake in it is a restore error). */
int crac__policies_load_restore(const char *path, crac_error **err);
/* What the policies did in the last checkpoint, one line per descriptor:
 * "fd 5 reopen: regular file /x (O_RDWR, offset 10 of 20 bytes) (policy
 * FILE:LINE)\n"; "" when nothing, NULL when out of memory.  Caller frees.
 * For `crac image info`. */
char *crac__fd_handler_summary(void);

/* ---- control socket (control.c, docs/control.md) ----
 * Starts the control thread and its socket, once; later calls do nothing.
 * Registers a resource in the library tier that closes the socket before a
 * checkpoint and reopens it (under the new pid) after. */
void crac__control_start(void);

/* ---- for the image's notes (context.c) ----
 * During a cycle: "resource=NAME\0" for each resource being notified, in
 * checkpoint order, into buf (at most cap bytes; cut at a whole name).
 * Returns the bytes used (0 outside a cycle). */
size_t crac__cycle_resource_names(char *buf, size_t cap);

/* ---- for engines that restore with the other threads parked (fd_policy.c) ----
 * After a real restore, before the other threads run again: reopens what
 * the policies closed with `reopen`, with system calls only, so a thread
 * resumes in a call on that descriptor as if it had never been closed.
 * The FD tier's after-restore then only reports.  With rules given at
 * restore (true), nothing is done here (they need the heap to be read). */
void crac__fd_policy_reopen_early(bool rules_at_restore);
/* For such an engine, with the other threads parked: closes what the
 * policies said to close or reopen (the FD tier only prepared it). */
void crac__fd_policy_close_parked(void);

#endif
