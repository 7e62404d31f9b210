/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checker: after every before-checkpoint callback, find what cannot be
 * checkpointed and name each piece precisely enough to fix it (fd number,
 * kind, path or addresses, and with CRAC_FD_TRACE=1 where it was opened).
 *
 * It runs for every engine.  Policies decide per descriptor: error (the
 * default: reported), close and reopen (done by the FD-tier handler before
 * the checker runs, src/policy/), ignore (left open: only for engines
 * that keep descriptors).  With no rule, an engine that brings descriptors
 * back itself (native) says which it can; the rest are reported with its
 * reason.  The handler and the checker take the same
 * decision through crac__decide() (src/policy/decide.c), so a dry run
 * reports exactly what a real checkpoint would refuse, without closing
 * anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker/checker.h"
#include "core/core.h"
#include "engine/engine.h"
#include "image/maps.h"
#include "policy/policy.h"

/* ---- descriptors ---- */

static void report_fd(const struct crac__fd_info *fi, const struct crac__decision *d,
                      const struct crac__fd_table *t, crac_error *problems)
{
    struct crac__sb sb = {0};
    crac__sb_printf(&sb, "fd %d: ", fi->fd);
    crac__fd_describe(fi, t, &sb);
    crac__decision_text(d, &sb);
    crac__fdtrace_describe(fi->fd, &fi->st, &sb, "");
    char *msg = crac__sb_take(&sb);
    crac_error_add_cause(problems, crac__error_src("checker", "%s", msg ? msg : "out of memory"));
    free(msg);
}

/* The rules' decision for every descriptor, and what they make of it for
 * the engine (enum crac__fd_fate). */
static void decide_all(const struct crac__engine *engine, const struct crac__fd_table *t,
                       struct crac__fd_info *fi, struct crac__decision *d, uint8_t *fate,
                       crac_error *problems)
{
    for (size_t i = 0; i < t->n; i++) {
        int rc = crac__fd_inspect(t->fds[i], fi);
        memset(&d[i], 0, sizeof(d[i])); /* closed meanwhile, by another thread: not reported */
        fate[i] = CRAC__FATE_ENGINE;
        if (rc == -EBADF || rc == -ENOENT)
            continue;
        if (rc < 0) {
            crac_error_add_cause(problems, crac__error_src("checker",
                "fd %d: cannot inspect it: %s", t->fds[i], strerror(-rc)));
            continue;
        }
        crac__decide(fi, engine, &d[i]);
        if (d[i].action == CRAC__ACT_CLOSE || d[i].action == CRAC__ACT_REOPEN)
            fate[i] = CRAC__FATE_CLOSED;
        else if (d[i].action == CRAC__ACT_DROP)
            fate[i] = CRAC__FATE_DROPPED;
    }
}

/* With no rule, an engine that brings descriptors back says which (the
 * native engine); what it cannot is an error, saying why. */
static void engine_verdicts(const struct crac__engine *engine, const struct crac__fd_table *t,
                            struct crac__decision *d, const uint8_t *fate)
{
    struct crac__fd_verdict *v;
    if (!engine || !engine->fds_check || !t->n)
        return;
    if (!(v = calloc(t->n, sizeof(*v)))) {
        for (size_t i = 0; i < t->n; i++) /* the default stays: error */
            snprintf(d[i].why, sizeof(d[i].why), "out of memory");
        return;
    }
    engine->fds_check(t->fds, fate, t->n, v);
    for (size_t i = 0; i < t->n; i++)
        crac__decide_default(&d[i], &v[i]);
    free(v);
}

static void check_fds(const struct crac__engine *engine, crac_error *problems)
{
    struct crac__fd_table t;
    int rc = crac__fd_table_read(&t);
    struct crac__fd_info *fi = malloc(sizeof(*fi));
    struct crac__decision *d = rc == 0 ? calloc(t.n + 1, sizeof(*d)) : NULL;
    uint8_t *fate = rc == 0 ? calloc(t.n + 1, sizeof(*fate)) : NULL;
    if (rc < 0 || !fi || !d || !fate) {
        crac_error_add_cause(problems, crac__error_src("checker",
            "cannot list the open descriptors: %s", strerror(rc < 0 ? -rc : ENOMEM)));
    } else {
        decide_all(engine, &t, fi, d, fate, problems);
        engine_verdicts(engine, &t, d, fate);
        for (size_t i = 0; i < t.n; i++)
            if (d[i].action == CRAC__ACT_ERROR && crac__fd_inspect(t.fds[i], fi) == 0)
                report_fd(fi, &d[i], &t, problems);
    }
    free(fate);
    free(d);
    free(fi);
    crac__fd_table_free(&t);
}

void crac__check_run(const struct crac__engine *engine, crac_error *problems)
{
    crac__log("checker: engine %s", engine ? engine->name : "?");
    check_fds(engine, problems);
    crac__check_process(engine, problems);
}

int crac__check_report(crac_error **problems)
{
    crac_error *err = NULL;
    *problems = NULL;
    const struct crac__engine *engine = crac__config_engine(&err);
    if (!engine) {
        *problems = err ? err : crac__error_src("crac", "no checkpoint engine");
        return -1;
    }
    /* The file may have changed since the last checkpoint: read it now. */
    if (crac__policies_load(crac_get_option("policies"), &err) < 0) {
        *problems = err;
        return -1;
    }
    crac_error *top = crac__error_src("checker", "a checkpoint with engine '%s' would be "
                                      "refused for:", engine->name);
    crac__check_run(engine, top);
    crac__maps_snapshot_drop();
    int n = (int)crac_error_cause_count(top);
    if (n == 0)
        crac_error_free(top);
    else
        *problems = top;
    return n;
}
