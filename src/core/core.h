/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The core (src/core/): what every layer of libcrac may use (errors, the
 * library's own descriptors, logging, the priority tiers, the options) and
 * the cycle's state.  Not exported; naming and error conventions are in
 * docs/architecture.md.
 */
#ifndef CRAC_CORE_H
#define CRAC_CORE_H

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

/* ---- the cycle (cycle.c) ---- */
/* The cycle under way.  cycle.c owns it; the layers it calls get a const
 * pointer and read it, none keeps a copy. */
struct crac__cycle {
    bool running;   /* between the lock and its release */
    const struct crac__engine *engine;
    bool dry_run;   /* check only: nothing is closed, nothing written */
    bool restored;  /* set when the engine reports a restore, before the
                       after-restore callbacks run */
    bool renewed;   /* the restored instance has its own identity */
};
/* crac_checkpoint_restore() with a dry run: every step runs, but the engine
 * is asked only to report what would block it (req->dry_run) and no
 * destination is required.  For `crac check`. */
int crac__checkpoint_restore_opts(bool dry_run, crac_error **err);

#endif
