/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the coordination tests: a resource that records its
 * notifications in one trace string ("B:name" before checkpoint, "A:name"
 * after restore) and fails on demand, and the sim engine set up fresh.
 */
#ifndef CRAC_COORDUTIL_H
#define CRAC_COORDUTIL_H
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crac.h"
#include "testutil.h"

struct rec {
    crac_resource res;       /* first, so a crac_resource * is a struct rec * */
    const char *fail_before; /* message to fail before-checkpoint with, or NULL */
    const char *fail_after;  /* message to fail after-restore with, or NULL */
    crac_context *seen_ctx;  /* the context of the last notification */
    int nbefore, nafter;
    void (*hook)(struct rec *self, int before); /* runs inside the callback */
};

static char trace[8192];

static inline void trace_add(const char *what, const char *name)
{
    size_t n = strlen(trace);
    snprintf(trace + n, sizeof(trace) - n, "%s%s:%s", n ? " " : "", what, name);
}

static inline void trace_reset(void)
{
    trace[0] = '\0';
}

/* One notification: before != 0 for before-checkpoint. */
static inline crac_error *rec_note(crac_resource *self, crac_context *ctx,
                                   int before)
{
    struct rec *r = (struct rec *)self;
    if (before)
        r->nbefore++;
    else
        r->nafter++;
    r->seen_ctx = ctx;
    trace_add(before ? "B" : "A", self->name);
    if (r->hook)
        r->hook(r, before);
    const char *fail = before ? r->fail_before : r->fail_after;
    return fail ? crac_error_new("%s", fail) : NULL;
}

static inline crac_error *rec_before(crac_resource *self, crac_context *ctx)
{
    return rec_note(self, ctx, 1);
}

static inline crac_error *rec_after(crac_resource *self, crac_context *ctx)
{
    return rec_note(self, ctx, 0);
}

#define REC(nm) { .res = { .name = nm, .before_checkpoint = rec_before, \
                           .after_restore = rec_after } }

/* The sim engine, restoring at once, with no checker problem. */
static inline void use_sim(void)
{
    CHECK(crac_set_option("engine", "sim") == 0, "engine=sim");
    CHECK(crac_set_option("engine_options", "result=restored,check_problem=") == 0,
          "sim options");
}

#define CHECK_TRACE(want)                                                      \
    CHECK(strcmp(trace, want) == 0, "trace\n  got:  %s\n  want: %s", trace, want)

/* "[src] msg; [src] msg" for the direct causes of e. */
static inline const char *causes_str(const crac_error *e)
{
    static char buf[4096];
    buf[0] = '\0';
    for (size_t i = 0; i < crac_error_cause_count(e); i++) {
        const crac_error *c = crac_error_cause(e, i);
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof(buf) - n, "%s[%s] %s", n ? "; " : "",
                 crac_error_source(c) ? crac_error_source(c) : "(none)",
                 crac_error_message(c));
    }
    return buf;
}

/* Runs one cycle; returns its result and keeps the error in *err. */
static inline int cycle(crac_error **err)
{
    trace_reset();
    *err = NULL;
    int r = crac_checkpoint_restore(err);
    CHECK((r == 0) == (*err == NULL), "result %d but error %p", r, (void *)*err);
    return r;
}
#endif
