/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FD-tier resource that carries out the `close` and `reopen` policies.
 * Being in the FD tier, it acts after every application and library
 * resource before a checkpoint (they may still use their descriptors), and
 * first after a restore (the descriptors are back before anyone else's
 * after-restore runs).
 *
 * Before the checkpoint it closes what the rules say (keeping what a reopen
 * needs); the checker then runs and sees the descriptors gone.  After the
 * restore (or after a checkpoint that failed: after-restore always runs) it
 * reopens them on their numbers.  Rules given at restore come first then: a
 * rule there may keep a descriptor closed instead.  In a dry run it does
 * nothing: `crac check` must leave the process as it was.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "image/maps.h"
#include "policy/policy.h"
#include "policy/reopen.h"

struct entry {
    struct crac__fd_info *fi;   /* as it was at the checkpoint */
    enum crac__action action;   /* CLOSE or REOPEN */
    bool warn;
    char where[192];            /* the rule */
    char *desc;                 /* "regular file /x (O_RDWR, ...)" */
    struct crac__reopen ro;     /* REOPEN only */
    bool deferred;              /* the engine closes it with the threads parked */
    bool closed;                /* it was closed (by before() or the engine) */
    char *closed_line;          /* deferred: what to say once it is (no stdio then) */
    bool early;                 /* reopened by crac__fd_policy_reopen_early() */
    int early_rc;               /* its result: 0 or -errno, */
    const char *early_step;     /* and the step that failed */
};

static struct entry *entries;
static size_t n_entries, cap_entries;
static char *summary;           /* the last cycle's actions, for crac__fd_handler_summary */
static pthread_mutex_t summary_lock = PTHREAD_MUTEX_INITIALIZER; /* read outside cycles */
static bool registered;
static int *drops;              /* descriptors a `drop` rule names (this cycle) */
static size_t ndrops, cap_drops;
static const struct crac__cycle *cycle; /* the cycle under way, NULL outside */

static void warn_line(const struct entry *e, const char *what)
{
    if (e->warn)
        fprintf(stderr, "crac: fd %d %s (policy %s): %s\n", e->fi->fd, what, e->where, e->desc);
}

static const char *closed_what(const struct entry *e)
{
    return e->action == CRAC__ACT_CLOSE ? "closed before the checkpoint"
                                        : "closed before the checkpoint, to be reopened after";
}

static void clear(void)
{
    for (size_t i = 0; i < n_entries; i++) {
        free(entries[i].fi);
        free(entries[i].desc);
        free(entries[i].closed_line);
        crac__reopen_free(&entries[i].ro);
    }
    n_entries = 0;
    ndrops = 0;
}

/* Records what to do with one descriptor.  0, or -1 with *err. */
static int add_entry(const struct crac__fd_info *fi, const struct crac__decision *d,
                     const struct crac__fd_table *t, crac_error **err)
{
    if (n_entries == cap_entries) {
        size_t cap = cap_entries ? cap_entries * 2 : 8;
        struct entry *n = realloc(entries, cap * sizeof(*n));
        if (!n)
            goto oom;
        entries = n;
        cap_entries = cap;
    }
    struct entry *e = &entries[n_entries];
    struct crac__sb sb = {0};
    memset(e, 0, sizeof(*e));
    e->action = d->action;
    e->warn = d->hit.warn;
    snprintf(e->where, sizeof(e->where), "%s", d->hit.where);
    crac__fd_describe(fi, t, &sb);
    e->desc = crac__sb_take(&sb);
    e->fi = malloc(sizeof(*fi));
    if (!e->desc || !e->fi) {
        free(e->desc);
        free(e->fi);
        goto oom;
    }
    *e->fi = *fi;
    if (d->action == CRAC__ACT_REOPEN && crac__reopen_capture(fi, &e->ro, err)) {
        free(e->desc);
        free(e->fi);
        return -1;
    }
    n_entries++;
    return 0;
oom:
    *err = crac__error_src("crac", "out of memory");
    return -1;
}

/* For each epoll set that stays open, the reopened descriptors it watched
 * (fdinfo: "tfd: N events: X data: D"), so that they can be added back. */
static void note_epoll_watches(const struct crac__fd_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        char path[64], *text;
        size_t len;
        bool closing = false;
        for (size_t k = 0; k < n_entries; k++)
            closing |= entries[k].fi->fd == t->fds[i];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fds[i]);
        char link[32];
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        link[n > 0 ? n : 0] = '\0';
        if (closing || strcmp(link, "anon_inode:[eventpoll]"))
            continue;
        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", t->fds[i]);
        if (!(text = crac__read_file_alloc(path, &len)))
            continue;
        for (const char *p = text; (p = strstr(p, "tfd:")); p++) {
            int tfd;
            unsigned ev;
            unsigned long long data;
            if (sscanf(p, "tfd: %d events: %x data: %llx", &tfd, &ev, &data) != 3)
                continue;
            for (size_t k = 0; k < n_entries; k++) {
                struct crac__reopen *r = &entries[k].ro;
                if (entries[k].action == CRAC__ACT_REOPEN && r->fd == tfd &&
                    r->nwatches < CRAC__REOPEN_MAX_EPOLL)
                    r->watches[r->nwatches++] = (struct crac__epoll_watch){t->fds[i], ev, data};
            }
        }
        free(text);
    }
}

static void make_summary(void)
{
    struct crac__sb sb = {0};
    for (size_t i = 0; i < n_entries; i++)
        crac__sb_printf(&sb, "fd %d %s: %s (policy %s)\n", entries[i].fi->fd,
                        crac__action_name(entries[i].action), entries[i].desc, entries[i].where);
    char *text = crac__sb_take(&sb);
    pthread_mutex_lock(&summary_lock);
    free(summary);
    summary = text;
    pthread_mutex_unlock(&summary_lock);
}

static crac_error *add_drop(int fd)
{
    if (ndrops == cap_drops) {
        size_t cap = cap_drops ? cap_drops * 2 : 16;
        int *n = realloc(drops, cap * sizeof(*n));
        if (!n)
            return crac__error_src("crac", "out of memory");
        drops = n;
        cap_drops = cap;
    }
    drops[ndrops++] = fd;
    return NULL;
}

size_t crac__fd_policy_dropped(const int **fds)
{
    *fds = drops;
    return ndrops;
}

/* Decides for every descriptor; closes nothing until all were looked at,
 * so a failure leaves every descriptor open. */
static crac_error *collect(const struct crac__engine *engine, struct crac__fd_table *t)
{
    struct crac__fd_info *fi = malloc(sizeof(*fi));
    crac_error *err = NULL;
    if (!fi)
        return crac__error_src("crac", "out of memory");
    for (size_t i = 0; i < t->n && !err; i++) {
        struct crac__decision d;
        if (crac__fd_inspect(t->fds[i], fi) < 0)
            continue;
        crac__decide(fi, engine, &d);
        if (d.action == CRAC__ACT_CLOSE || d.action == CRAC__ACT_REOPEN)
            add_entry(fi, &d, t, &err);
        else if (d.action == CRAC__ACT_DROP)
            err = add_drop(fi->fd);
    }
    free(fi);
    return err;
}

static crac_error *before(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    const struct crac__engine *engine = cycle ? cycle->engine : NULL;
    struct crac__fd_table t;
    clear();
    if (!engine || cycle->dry_run)
        return NULL; /* a dry run changes nothing, the last summary included */
    make_summary();
    if (crac__policy_count() == 0)
        return NULL;
    int rc = crac__fd_table_read(&t);
    if (rc < 0)
        return crac__error_src("crac", "cannot list the open descriptors: %s", strerror(-rc));
    crac_error *err = collect(engine, &t);
    if (!err)
        note_epoll_watches(&t);
    crac__fd_table_free(&t);
    if (err) {
        clear();
        return err;
    }
    make_summary();
    for (size_t i = 0; i < n_entries; i++) {
        struct entry *e = &entries[i];
        /* An engine that parks the other threads closes it then: closed
         * here, a thread of the program could still be using it, or open
         * something else on its number.  It is said when it happens (a
         * checkpoint refused before that closes nothing), with write():
         * stdio may be locked by a parked thread then. */
        if (engine->parks_threads) {
            e->deferred = true;
            if (e->warn && asprintf(&e->closed_line, "crac: fd %d %s (policy %s): %s\n", e->fi->fd,
                                    closed_what(e), e->where, e->desc) < 0)
                e->closed_line = NULL;
        } else {
            close(e->fi->fd);
            e->closed = true;
            warn_line(e, closed_what(e));
        }
    }
    return NULL;
}

/* A rule given at restore may say otherwise than the one that closed it. */
static bool still_reopen(struct entry *e, crac_error **err)
{
    struct crac__policy_hit hit;
    if (!crac__policy_have_restore_rules())
        return true;
    crac__policy_match_fd(e->fi, &hit);
    if (!hit.matched || hit.action == CRAC__ACT_REOPEN)
        return true;
    if (hit.action == CRAC__ACT_ERROR) {
        *err = crac__error_src("crac", "fd %d: policy %s given at restore says error, so it "
                               "stays closed: %s", e->fi->fd, hit.where, e->desc);
    } else if (hit.warn) {
        fprintf(stderr, "crac: fd %d stays closed after the restore (policy %s: %s): %s\n",
                e->fi->fd, hit.where, crac__action_name(hit.action), e->desc);
    }
    return false;
}

/* `crac restore --env CRAC_RESTORE_POLICIES=FILE` (what --policies can
 * be): read in the restored process, before anything is reopened.  Only
 * after a real restore: after-restore also runs when a checkpoint failed. */
static crac_error *restore_policies(void)
{
    const char *path = secure_getenv("CRAC_RESTORE_POLICIES");
    crac_error *err = NULL;
    if (!cycle || !cycle->restored || !path || !*path)
        return NULL;
    crac__policies_load_restore(path, &err);
    return err;
}

void crac__fd_policy_close_parked(void)
{
    for (size_t i = 0; i < n_entries; i++)
        if (entries[i].deferred && !entries[i].closed) {
            close(entries[i].fi->fd);
            entries[i].closed = true;
            if (entries[i].closed_line)
                (void)!write(2, entries[i].closed_line, strlen(entries[i].closed_line));
        }
}

void crac__fd_policy_reopen_early(bool rules_at_restore)
{
    /* Rules given at restore decide what is reopened; reading them needs
     * the heap, so then the after-restore callback does it all. */
    if (rules_at_restore)
        return;
    for (size_t i = 0; i < n_entries; i++) {
        struct entry *e = &entries[i];
        if (e->action != CRAC__ACT_REOPEN || !e->closed)
            continue;
        e->early_rc = crac__reopen_raw(&e->ro, &e->early_step);
        e->early = true;
    }
}

static crac_error *after(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    crac_error *errs[16];
    size_t nerr = 0, failed = 0;
    if ((errs[0] = restore_policies()))
        nerr = failed = 1; /* the rules of the checkpoint still apply */
    for (size_t i = 0; i < n_entries; i++) {
        struct entry *e = &entries[i];
        crac_error *err = NULL;
        /* Still open: the checkpoint failed before the engine closed it. */
        if (e->action != CRAC__ACT_REOPEN || !e->closed)
            continue;
        if (e->early) {
            if (e->early_rc == 0)
                warn_line(e, "reopened after the restore");
            else
                err = crac__reopen_error(&e->ro, e->desc, e->early_rc, e->early_step);
        } else if (still_reopen(e, &err) && crac__reopen_apply(&e->ro, e->desc, &err) == 0) {
            warn_line(e, "reopened after the restore");
        }
        if (err) {
            failed++;
            if (nerr < sizeof(errs) / sizeof(errs[0]))
                errs[nerr++] = err;
            else
                crac_error_free(err);
        }
    }
    clear();
    if (nerr == 0)
        return NULL;
    if (failed == 1)
        return errs[0];
    crac_error *top = crac__error_src("crac", "%zu descriptor policy failures after the restore",
                                      failed);
    for (size_t i = 0; i < nerr; i++)
        crac_error_add_cause(top, errs[i]);
    return top;
}

static crac_resource handler = {
    .name = "fd-policy",
    .before_checkpoint = before,
    .after_restore = after,
};

int crac__policy_cycle_begin(const struct crac__cycle *c, crac_error **err)
{
    if (crac__policies_load(crac_get_option("policies"), err) < 0)
        return -1;
    cycle = c;
    if (registered || crac__policy_count() == 0)
        return 0;
    /* Registered once, the first time there are rules: a resource of the
     * FD tier, so it runs last before the checkpoint and first after. */
    int rc = crac__register_tier(CRAC__TIER_FD, &handler);
    if (rc < 0 && rc != -EEXIST) {
        *err = crac__error_src("crac", "cannot register the descriptor policy handler: %s",
                               strerror(-rc));
        return -1;
    }
    registered = true;
    return 0;
}

void crac__policy_cycle_end(void)
{
    cycle = NULL;
}

char *crac__fd_handler_summary(void)
{
    pthread_mutex_lock(&summary_lock);
    char *s = strdup(summary ? summary : "");
    pthread_mutex_unlock(&summary_lock);
    return s;
}
