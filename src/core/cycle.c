/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crac_checkpoint_restore(): one cycle of the coordination contract
 * (docs/api.md, "One checkpoint, step by step"), and the restore
 * bookkeeping behind crac_restore_count() and friends.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <stdlib.h>
#include <string.h>

#include "checker/checker.h"
#include "clone/clone.h"
#include "core/coord.h"
#include "core/core.h"
#include "engine/engine.h"
#include "image/maps.h"
#include "policy/policy.h"

#ifndef CRAC_VERSION_STRING
#define CRAC__STR2(x) #x
#define CRAC__STR(x) CRAC__STR2(x)
#define CRAC_VERSION_STRING                                                    \
    CRAC__STR(CRAC_VERSION_MAJOR) "." CRAC__STR(CRAC_VERSION_MINOR) "."        \
        CRAC__STR(CRAC_VERSION_PATCH)
#endif

/* The one owner of the cycle's state: the lock that makes cycles one at a
 * time in the whole process, and what the layers the cycle calls read
 * (engine, dry run, whether it restored) through a const pointer. */
static struct {
    pthread_mutex_t lock;
    struct crac__cycle now;
} cycle = {.lock = PTHREAD_MUTEX_INITIALIZER};
/* Set on the thread that holds the lock: callbacks run on that thread, so
 * this is how a call made from inside a notification is recognised. */
static __thread bool tl_in_cycle;

/* A restored instance gets its own identity before its code runs again:
 * engines that park the other threads call this with them parked; for the
 * others the cycle does it as soon as the engine returns. */
static void hook_restored(void)
{
    crac__identity_renew();
    cycle.now.renewed = true;
}

/* The library's side of the engine hooks (engine.h). */
static const struct crac__cp_hooks hooks = {
    .threads_parked = crac__fd_policy_close_parked,
    .restored = hook_restored,
    .before_release = crac__fd_policy_reopen_early,
};

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* What must be right before anyone is notified: a known engine with its
 * options, and a destination if the engine writes an image.  Checked first
 * so that a configuration mistake does not make every resource close and
 * reopen what it holds for nothing. */
static crac_error *prepare(struct crac__cp_request *req)
{
    crac_error *e = NULL;
    const struct crac__engine *engine = crac__config_engine(&e);
    if (!engine)
        return e ? e : crac__error_src("crac", "no checkpoint engine");
    cycle.now.engine = engine;
    req->dest = crac_get_option("checkpoint_to");
    if (req->dest && !*req->dest)
        req->dest = NULL;
    req->labels = crac_get_option("labels");
    if (engine->writes_image && !req->dest && !req->dry_run)
        return crac__error_src("crac",
            "no checkpoint destination configured: engine '%s' writes an "
            "image; set CRAC_CHECKPOINT_TO=DIR or "
            "crac_set_option(\"checkpoint_to\", DIR)", engine->name);
    /* The policies file is configuration too: a mistake in it is reported
     * before anyone is notified. */
    if (crac__policy_cycle_begin(&cycle.now, &e) < 0)
        return e;
    int rc = crac__reseed_arm();
    if (rc < 0)
        return crac__error_src("crac", "cannot register the reseeding resource: %s", strerror(-rc));
    return NULL;
}

/* The image's notes: who was notified and what the policies did (after the
 * FD tier ran).  NULL when out of memory: the notes are left out. */
static char *make_notes(size_t *len)
{
    enum { NOTES_MAX = 256 << 10 };
    char *buf = malloc(NOTES_MAX), *summary = crac__fd_handler_summary();
    *len = 0;
    if (buf) {
        *len = crac__snapshot_names(buf, NOTES_MAX);
        for (const char *s = summary; s && *s;) {
            size_t n = strcspn(s, "\n");
            if (n && *len + 7 + n + 1 <= NOTES_MAX) {
                memcpy(buf + *len, "policy=", 7);
                memcpy(buf + *len + 7, s, n);
                buf[*len + 7 + n] = 0;
                *len += 7 + n + 1;
            }
            s += n + (s[n] == '\n');
        }
    }
    free(summary);
    /* Down to what it holds before the image is taken: a buffer this size
     * is a mapping of its own, saved with the process, and unmapped after
     * a restore, where memory still served lazily makes the unmapping wait
     * for the pager. */
    char *fit = buf ? realloc(buf, *len + 1) : NULL;
    return fit ? fit : buf;
}

/* Hands over to the engine; its failure becomes one cause of `cp`. */
static int run_engine(struct crac__cp_request *req, crac_error *cp)
{
    const struct crac__engine *engine = cycle.now.engine;
    crac_error *e = NULL;
    char *notes = req->dry_run ? NULL : make_notes(&req->notes_len);
    req->notes = notes;
    req->ndropped = crac__fd_policy_dropped(&req->dropped);
    crac__log("engine %s: checkpoint%s", engine->name,
              req->dry_run ? " (dry run)" : "");
    int r = engine->checkpoint(req, &e);
    free(notes);
    if (r == CRAC__CP_RESTORED || r == CRAC__CP_CONTINUED) {
        crac_error_free(e); /* success: nothing to report */
        return r;
    }
    if (!e)
        e = crac__error_src("engine", "engine '%s' failed without saying why",
                            engine->name);
    if (!crac_error_source(e))
        crac__error_set_source(e, "engine");
    crac_error_add_cause(cp, e);
    return CRAC__CP_FAILED;
}

/* Step 8: the result.  `cp` holds the checkpoint problems (steps 3-6),
 * `after` the after-restore failures (step 7); both are groups. */
static crac_error *conclude(int result, crac_error *cp, crac_error *after)
{
    size_t ncp = crac_error_cause_count(cp);
    size_t nafter = crac_error_cause_count(after);
    crac_error *top = NULL;
    if (ncp > 0) {
        if (nafter > 0)
            top = crac__error_src("crac",
                "checkpoint failed: %zu problem%s, then %zu after-restore "
                "failure%s", ncp, plural(ncp), nafter, plural(nafter));
        else
            top = crac__error_src("crac", "checkpoint failed: %zu problem%s",
                                  ncp, plural(ncp));
    } else if (nafter > 0 && result == CRAC__CP_RESTORED) {
        top = crac__error_src("crac",
            "restore failed: %zu after-restore failure%s", nafter,
            plural(nafter));
        crac__error_set_restore(top, true);
    } else if (nafter > 0) {
        /* Kept running after writing the image: nothing was restored. */
        top = crac__error_src("crac",
            "after-restore failed after the checkpoint: %zu failure%s",
            nafter, plural(nafter));
    }
    if (top) {
        /* Flat, as in the reference: checkpoint problems first. */
        crac__error_adopt(top, cp, NULL);
        crac__error_adopt(top, after, NULL);
    } else {
        crac_error_free(cp);
        crac_error_free(after);
    }
    return top;
}

/* ---- after restore ---- */

static pthread_mutex_t stat_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned restore_count;
static long long restore_wall_ms = -1;
static struct timespec restore_mono;

static long long ts_ms(const struct timespec *ts)
{
    return (long long)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

static void note_restored(void)
{
    struct timespec wall, mono;
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    pthread_mutex_lock(&stat_lock);
    restore_count++;
    restore_wall_ms = ts_ms(&wall);
    restore_mono = mono;
    pthread_mutex_unlock(&stat_lock);
}

/* Steps 2-8 (step 1, the lock, is the caller's). */
static crac_error *run_cycle(void)
{
    struct crac__cp_request req = {.dry_run = cycle.now.dry_run, .hooks = &hooks};
    crac_error *cp = crac__error_group();
    crac__error_adopt(cp, prepare(&req), NULL);
    if (crac_error_cause_count(cp) > 0) {
        crac__policy_cycle_end();
        return conclude(CRAC__CP_FAILED, cp, NULL);
    }
    if (crac__snapshot_take() < 0) {
        crac__policy_cycle_end();
        crac_error_add_cause(cp, crac__error_src("crac", "out of memory"));
        return conclude(CRAC__CP_FAILED, cp, NULL);
    }

    crac__snapshot_notify(true, cp);            /* step 3 */
    if (crac_error_cause_count(cp) == 0) {      /* step 4 */
        /* what no engine can save, then what this one cannot */
        crac__check_run(cycle.now.engine, cp);
        if (cycle.now.engine->check)
            cycle.now.engine->check(cp);
        crac__maps_snapshot_drop(); /* before the heap is saved */
    }
    int result = CRAC__CP_FAILED;
    if (crac_error_cause_count(cp) == 0)
        result = run_engine(&req, cp);          /* step 6 */
    if (result == CRAC__CP_RESTORED) {
        if (!cycle.now.renewed)
            hook_restored();
        cycle.now.restored = true;
        note_restored();
    }

    crac_error *after = crac__error_group();
    crac__snapshot_notify(false, after);        /* step 7 */
    crac__snapshot_release();
    crac__policy_cycle_end();
    return conclude(result, cp, after);
}

int crac__checkpoint_restore_opts(bool dry_run, crac_error **err)
{
    if (err)
        *err = NULL;
    crac_error *e;
    if (tl_in_cycle) {
        e = crac__error_src("crac", "recursive checkpoint is not allowed");
    } else {
        pthread_mutex_lock(&cycle.lock);
        tl_in_cycle = true;
        crac__config_hold(true);
        cycle.now = (struct crac__cycle){.running = true, .dry_run = dry_run};
        e = run_cycle();
        cycle.now = (struct crac__cycle){0};
        crac__config_hold(false);
        tl_in_cycle = false;
        pthread_mutex_unlock(&cycle.lock);
    }
    if (!e)
        return 0;
    if (err)
        *err = e;
    else
        crac_error_free(e);
    return -1;
}

int crac_checkpoint_restore(crac_error **err)
{
    return crac__checkpoint_restore_opts(false, err);
}

unsigned crac_restore_count(void)
{
    pthread_mutex_lock(&stat_lock);
    unsigned n = restore_count;
    pthread_mutex_unlock(&stat_lock);
    return n;
}

long long crac_restore_time_ms(void)
{
    pthread_mutex_lock(&stat_lock);
    long long t = restore_wall_ms;
    pthread_mutex_unlock(&stat_lock);
    return t;
}

/* Measured on the monotonic clock, so setting the wall clock does not change
 * it; the native engine keeps that clock from going backwards across a
 * restore, and a negative difference is clamped anyway. */
long long crac_uptime_since_restore_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long up = -1;
    pthread_mutex_lock(&stat_lock);
    if (restore_count) {
        up = ts_ms(&now) - ts_ms(&restore_mono);
        if (up < 0)
            up = 0;
    }
    pthread_mutex_unlock(&stat_lock);
    return up;
}

const char *crac_version(void)
{
    return CRAC_VERSION_STRING;
}
