/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crac: Coordinated Restore at Checkpoint for native Linux programs.
 *
 * Register resources that are told before a checkpoint and after a restore,
 * then call crac_checkpoint_restore().  The contract (order, errors, locking)
 * is described in docs/api.md; every function below says what it returns.
 */
#ifndef CRAC_H
#define CRAC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is exported; the library builds with hidden
 * visibility so that its internal crac__* names stay private. */
#pragma GCC visibility push(default)

#define CRAC_VERSION_MAJOR 0
#define CRAC_VERSION_MINOR 1
#define CRAC_VERSION_PATCH 0

/* ---- errors: a tree of messages, each with its source ---- */
typedef struct crac_error crac_error;

/* A new error with a printf-style message and no source.  Never returns NULL
 * (on allocation failure a static "out of memory" error is returned, which
 * crac_error_free() accepts and ignores). */
crac_error *crac_error_new(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Appends `cause` under `e`; `e` takes ownership.  NULL arguments are ignored. */
void crac_error_add_cause(crac_error *e, crac_error *cause);
/* The message; never NULL for a non-NULL error. */
const char *crac_error_message(const crac_error *e);
/* Who raised it: a resource's name, "checker", "engine", "crac", ...
 * NULL when no source was set. */
const char *crac_error_source(const crac_error *e);
/* Number of direct causes. */
size_t crac_error_cause_count(const crac_error *e);
/* The i-th direct cause, or NULL when i is out of range. */
const crac_error *crac_error_cause(const crac_error *e, size_t i);
/* The whole tree as indented text, one line per error ("[source] message").
 * The caller frees it with free().  NULL only when out of memory. */
char *crac_error_format(const crac_error *e);
/* Frees the error and all its causes.  NULL is ignored. */
void crac_error_free(crac_error *e);

/* ---- resources: embed one in your own struct ---- */
typedef struct crac_context crac_context;
typedef struct crac_resource crac_resource;
struct crac_resource {
    const char *name; /* shown in errors and in `crac check` */
    /* Return NULL on success, or an error (crac_error_new) to fail the
     * checkpoint/restore.  The library adopts the error and sets its source
     * to `name`.  Either callback may be NULL (nothing to do). */
    crac_error *(*before_checkpoint)(crac_resource *self, crac_context *ctx);
    crac_error *(*after_restore)(crac_resource *self, crac_context *ctx);
    void *internal[4]; /* the library's; zero-initialise */
};

/* ---- contexts ---- */
/* The process-wide context applications register in.  Never NULL. */
crac_context *crac_global_context(void);
/* A new ordered context (before-checkpoint in reverse registration order,
 * after-restore in registration order).  NULL when out of memory. */
crac_context *crac_context_new(const char *name);
/* The resource that represents `ctx`, to register it inside another context. */
crac_resource *crac_context_as_resource(crac_context *ctx);
/* 0, or -EINVAL (NULL argument, or a context registered inside itself or
 * one of its descendants), -EEXIST (already registered somewhere), -ENOMEM.
 * A failed registration never calls the resource.  Registering while a
 * checkpoint is under way is allowed; the resource is notified from the next
 * cycle on. */
int crac_context_register(crac_context *ctx, crac_resource *r);
/* 0, or -EINVAL, -ENOENT (not registered in ctx), -EDEADLK (called from a
 * notification of the running cycle).  Called from another thread during a
 * cycle, it waits until the cycle has ended.  The global context also
 * removes resources that the library registered in its internal tiers. */
int crac_context_unregister(crac_context *ctx, crac_resource *r);
/* Frees a context created by crac_context_new().  It must not be registered
 * anywhere and holds no resources any more; otherwise nothing is freed. */
void crac_context_free(crac_context *ctx);

/* ---- checkpoint ---- */
/* Runs the whole cycle (docs/api.md).  Returns 0 after a successful restore
 * (or, with keep-running, after a successful checkpoint), and -1 with *err set
 * otherwise (err may be NULL to ignore the details).  *err is a checkpoint
 * error or a restore error: see crac_error_is_restore(). */
int crac_checkpoint_restore(crac_error **err);
/* 1: the error happened after a real restore (after-restore failed); 0 otherwise. */
int crac_error_is_restore(const crac_error *e);

/* ---- configuration (environment variables give the defaults) ---- */
/* keys: "checkpoint_to" (CRAC_CHECKPOINT_TO), "engine" (CRAC_ENGINE:
 * native|pause|sim), "engine_options" (CRAC_ENGINE_OPTIONS: k=v,...),
 * "policies" (CRAC_POLICIES: a file), "labels" (CRAC_LABELS: key=value,...
 * tags written into the image; `crac restore --require-label` checks them).
 * Returns 0, -EINVAL (unknown key, unknown engine, bad engine option),
 * -EBUSY (a checkpoint is under way), -ENOMEM.  An engine_options value of
 * "help" prints the engine's options to stderr and returns 0. */
int crac_set_option(const char *key, const char *value);
/* The current value of an option (NULL when unset).  The pointer stays
 * valid until the option is set again. */
const char *crac_get_option(const char *key);

/* ---- after restore ---- */
/* How many times this process was restored (0 before the first restore). */
unsigned crac_restore_count(void);
/* Wall-clock time (ms since the epoch) of the last restore, -1 if never. */
long long crac_restore_time_ms(void);
/* Milliseconds since the last restore, -1 if never restored. */
long long crac_uptime_since_restore_ms(void);
/* "MAJOR.MINOR.PATCH". */
const char *crac_version(void);

/* ---- instance identity (docs/uniqueness.md) ---- */
#define CRAC_INSTANCE_ID_SIZE 16
/* Copies this instance's identity into id: 16 random bytes from the
 * kernel, drawn when the library is loaded and again at every restore,
 * before the restored process runs any code of its own.  Instances
 * restored from one image all differ; the id stays the same between two
 * restores.  Never fails, never blocks; any thread. */
void crac_instance_id(unsigned char id[CRAC_INSTANCE_ID_SIZE]);
/* 0 in a process never restored; one more at every restore, counted like
 * crac_restore_count() but read with one atomic load: lock-free and safe in
 * a signal handler, for code that keeps its own random generator and
 * checks, before each use, whether it must reseed. */
unsigned long long crac_generation(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* CRAC_H */
