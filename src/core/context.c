/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Contexts: ordered lists of resources, themselves resources so they nest.
 *
 * The global context is the "normal" tier of a hidden root context whose
 * items are the tiers, registered in the order fd, library, normal.  Since a
 * context notifies in reverse registration order at checkpoint and in
 * registration order at restore, the tier order of the contract (normal,
 * library, fd at checkpoint; exactly reversed after restore) falls out of the
 * same rule that orders resources inside one context.
 *
 * Locking: `reg_lock` guards every list and is held only briefly, never
 * while a callback runs, so a callback may register resources.  At the start
 * of a cycle every context reachable from the root copies its list (the
 * snapshot); the cycle notifies the snapshot, so a resource registered during
 * the cycle is notified from the next cycle on.  Unregistering changes what
 * after-restore must see, so it waits for the cycle to end (or fails with
 * -EDEADLK on the cycle's own thread, where waiting could never end).
 *
 * A resource's internal[] holds the library's bookkeeping:
 *   internal[0]  the context it is registered in (NULL: none)
 *   internal[1]  &reg_magic while registered, so that a resource that was not
 *                zero-initialised is unlikely to look registered.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/coord.h"
#include "core/core.h"

struct crac_context {
    crac_resource self;       /* what a parent context holds */
    char *name;               /* owned, except for the static contexts */
    crac_resource **items;    /* registration order */
    size_t n, cap;
    crac_resource **snap;     /* the running cycle's copy of items */
    size_t nsnap;
    bool is_static;           /* root and tiers: never freed */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cycle_done = PTHREAD_COND_INITIALIZER;
/* A cycle holds a snapshot (under reg_lock); unregister waits for it. */
static bool snapshot_taken;
/* On the thread that took it: a call from a callback must not wait. */
static __thread bool tl_snapshot_owner;
static char reg_magic;

static crac_error *context_before(crac_resource *self, crac_context *parent);
static crac_error *context_after(crac_resource *self, crac_context *parent);

static crac_context root;
#define STATIC_CONTEXT(var, label, parent)                                     \
    static crac_context var = {                                                \
        .self = { .name = label,                                               \
                  .before_checkpoint = context_before,                         \
                  .after_restore = context_after,                              \
                  .internal = { parent, &reg_magic } },                        \
        .name = (char *)label,                                                 \
        .is_static = true,                                                     \
    }
STATIC_CONTEXT(tier_normal, "global", &root);
STATIC_CONTEXT(tier_library, "global:library", &root);
STATIC_CONTEXT(tier_fd, "global:fd", &root);

/* Registration order = after-restore order; checkpoint runs it backwards. */
static crac_resource *root_items[] = { &tier_fd.self, &tier_library.self,
                                       &tier_normal.self };
static crac_context root = {
    .self = { .name = "crac", .before_checkpoint = context_before,
              .after_restore = context_after },
    .name = (char *)"crac",
    .items = root_items,
    .n = 3,
    .cap = 3,
    .is_static = true,
};

static bool is_context(const crac_resource *r)
{
    return r->before_checkpoint == context_before;
}

static crac_context *as_context(crac_resource *r)
{
    return (crac_context *)((char *)r - offsetof(crac_context, self));
}

static bool is_registered(const crac_resource *r)
{
    return r->internal[0] && r->internal[1] == &reg_magic;
}

static crac_context *tier_context(enum crac__tier tier)
{
    switch (tier) {
    case CRAC__TIER_NORMAL: return &tier_normal;
    case CRAC__TIER_LIBRARY: return &tier_library;
    case CRAC__TIER_FD: return &tier_fd;
    }
    return NULL;
}

crac_context *crac_global_context(void)
{
    return &tier_normal;
}

crac_context *crac_context_new(const char *name)
{
    crac_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    ctx->name = strdup(name ? name : "context");
    if (!ctx->name) {
        free(ctx);
        return NULL;
    }
    ctx->self.name = ctx->name;
    ctx->self.before_checkpoint = context_before;
    ctx->self.after_restore = context_after;
    return ctx;
}

crac_resource *crac_context_as_resource(crac_context *ctx)
{
    return ctx ? &ctx->self : NULL;
}

/* True when `ctx` is `c` or lies somewhere inside it: registering c in ctx
 * would then make a loop. */
static bool is_inside(const crac_context *ctx, const crac_context *c)
{
    for (const crac_context *p = ctx; p; p = p->self.internal[0])
        if (p == c)
            return true;
    return false;
}

int crac_context_register(crac_context *ctx, crac_resource *r)
{
    if (!ctx || !r || ctx == &root)
        return -EINVAL;
    int ret = 0;
    pthread_mutex_lock(&reg_lock);
    if (is_registered(r)) {
        ret = -EEXIST;
    } else if (is_context(r) && is_inside(ctx, as_context(r))) {
        ret = -EINVAL;
    } else if (ctx->n == ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap * 2 : 8;
        crac_resource **items = realloc(ctx->items, cap * sizeof(*items));
        if (!items)
            ret = -ENOMEM;
        else {
            ctx->items = items;
            ctx->cap = cap;
        }
    }
    if (ret == 0) {
        ctx->items[ctx->n++] = r;
        r->internal[0] = ctx;
        r->internal[1] = &reg_magic;
    }
    pthread_mutex_unlock(&reg_lock);
    return ret;
}

int crac__register_tier(enum crac__tier tier, crac_resource *r)
{
    crac_context *ctx = tier_context(tier);
    return ctx ? crac_context_register(ctx, r) : -EINVAL;
}

/* The global context owns its tiers: unregistering from it finds the
 * resource in whichever tier it was registered. */
static bool owned_by(const crac_context *ctx, const crac_context *owner)
{
    if (owner == ctx)
        return true;
    return ctx == &tier_normal &&
           (owner == &tier_library || owner == &tier_fd);
}

int crac_context_unregister(crac_context *ctx, crac_resource *r)
{
    if (!ctx || !r)
        return -EINVAL;
    if (tl_snapshot_owner)
        return -EDEADLK; /* the cycle waits for us: waiting for it never ends */
    int ret = -ENOENT;
    pthread_mutex_lock(&reg_lock);
    while (snapshot_taken)
        pthread_cond_wait(&cycle_done, &reg_lock);
    crac_context *owner = r->internal[0];
    if (is_registered(r) && owned_by(ctx, owner)) {
        for (size_t i = 0; i < owner->n; i++) {
            if (owner->items[i] != r)
                continue;
            memmove(&owner->items[i], &owner->items[i + 1],
                    (owner->n - i - 1) * sizeof(*owner->items));
            owner->n--;
            r->internal[0] = NULL;
            r->internal[1] = NULL;
            ret = 0;
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return ret;
}

void crac_context_free(crac_context *ctx)
{
    if (!ctx || ctx->is_static)
        return;
    pthread_mutex_lock(&reg_lock);
    bool busy = is_registered(&ctx->self) || ctx->n > 0;
    if (!busy) {
        free(ctx->items);
        free(ctx->name);
        free(ctx);
    }
    pthread_mutex_unlock(&reg_lock);
    if (busy)
        crac__log("a context was not freed: still registered or not empty");
}

/* ---- the cycle ---- */

/* Copies ctx's list and, recursively, those of the contexts in it.  On
 * failure what was copied stays for release_snapshot() to free. */
static int take_snapshot(crac_context *ctx)
{
    ctx->nsnap = 0;
    ctx->snap = NULL;
    if (ctx->n == 0)
        return 0;
    ctx->snap = malloc(ctx->n * sizeof(*ctx->snap));
    if (!ctx->snap)
        return -ENOMEM;
    memcpy(ctx->snap, ctx->items, ctx->n * sizeof(*ctx->snap));
    ctx->nsnap = ctx->n;
    for (size_t i = 0; i < ctx->nsnap; i++)
        if (is_context(ctx->snap[i]) && take_snapshot(as_context(ctx->snap[i])))
            return -ENOMEM;
    return 0;
}

/* Walks the snapshot, not the live lists: they may have grown meanwhile. */
static void release_snapshot(crac_context *ctx)
{
    for (size_t i = 0; i < ctx->nsnap; i++)
        if (is_context(ctx->snap[i]))
            release_snapshot(as_context(ctx->snap[i]));
    free(ctx->snap);
    ctx->snap = NULL;
    ctx->nsnap = 0;
}

/* Appends "resource=NAME" strings (NUL-terminated, one per resource of the
 * snapshot, in checkpoint order: the reverse of registration) to buf. */
static size_t snapshot_names(const crac_context *ctx, char *buf, size_t len, size_t cap)
{
    for (size_t i = ctx->nsnap; i-- > 0;) {
        crac_resource *r = ctx->snap[i];
        if (is_context(r)) {
            len = snapshot_names(as_context(r), buf, len, cap);
            continue;
        }
        int n = snprintf(buf + len, cap - len, "resource=%s", r->name ? r->name : "(unnamed)");
        if (n < 0 || (size_t)n + 1 > cap - len)
            break;
        len += (size_t)n + 1;
    }
    return len;
}

size_t crac__snapshot_names(char *buf, size_t cap)
{
    pthread_mutex_lock(&reg_lock);
    size_t len = snapshot_taken ? snapshot_names(&root, buf, 0, cap) : 0;
    pthread_mutex_unlock(&reg_lock);
    return len;
}

int crac__snapshot_take(void)
{
    pthread_mutex_lock(&reg_lock);
    snapshot_taken = true;
    tl_snapshot_owner = true;
    int ret = take_snapshot(&root);
    pthread_mutex_unlock(&reg_lock);
    if (ret)
        crac__snapshot_release();
    return ret;
}

void crac__snapshot_release(void)
{
    pthread_mutex_lock(&reg_lock);
    release_snapshot(&root);
    snapshot_taken = false;
    tl_snapshot_owner = false;
    pthread_cond_broadcast(&cycle_done);
    pthread_mutex_unlock(&reg_lock);
}

static void notify_one(crac_context *ctx, crac_resource *r, bool before,
                       crac_error *acc)
{
    crac_error *(*cb)(crac_resource *, crac_context *) =
        before ? r->before_checkpoint : r->after_restore;
    if (!cb)
        return;
    if (!is_context(r))
        crac__log("%s: %s", before ? "before-checkpoint" : "after-restore",
                  r->name ? r->name : "(unnamed)");
    crac__error_adopt(acc, cb(r, ctx), r->name ? r->name : "(unnamed)");
}

/* A context as a resource: notifies its snapshot and returns the failures
 * as a group, which the parent flattens into its own causes.  Outside a
 * cycle (or for a context registered during it) the snapshot is empty. */
static crac_error *context_before(crac_resource *self, crac_context *parent)
{
    (void)parent;
    crac_context *ctx = as_context(self);
    crac_error *acc = crac__error_group();
    for (size_t i = ctx->nsnap; i-- > 0;)
        notify_one(ctx, ctx->snap[i], true, acc);
    return crac__error_group_finish(acc);
}

static crac_error *context_after(crac_resource *self, crac_context *parent)
{
    (void)parent;
    crac_context *ctx = as_context(self);
    crac_error *acc = crac__error_group();
    for (size_t i = 0; i < ctx->nsnap; i++)
        notify_one(ctx, ctx->snap[i], false, acc);
    return crac__error_group_finish(acc);
}

void crac__snapshot_notify(bool before, crac_error *acc)
{
    crac_error *e = before ? context_before(&root.self, NULL)
                           : context_after(&root.self, NULL);
    crac__error_adopt(acc, e, NULL);
}
