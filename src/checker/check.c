/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checker: after every before-checkpoint callback, find what cannot be
 * checkpointed and name each piece precisely enough to fix it (fd number,
 * kind, path or addresses, and with CRAC_FD_TRACE=1 where it was opened).
 *
 * It runs for every engine.  Policies decide per descriptor: error (the
 * default: reported), close and reopen (done by the FD-tier handler before
 * the checker runs, src/handlers/), ignore (left open: only for engines
 * that keep descriptors).  The handler and the checker take the same
 * decision through crac__decide(), so a dry run reports exactly what a real
 * checkpoint would refuse, without closing anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "checker/checker.h"
#include "image/maps.h"
#include "core/core.h"

/* The cycle under way (set and cleared under the cycle lock). */
static const struct crac__engine *cur_engine;
static bool cur_dry_run;

bool crac__engine_keeps_fds(const struct crac__engine *engine)
{
    /* An engine that writes no image (sim, pause) leaves the process as it
     * is: what it keeps open is still open when it goes on. */
    return engine && !engine->writes_image;
}

const struct crac__engine *crac__checker_engine(bool *dry_run)
{
    if (dry_run)
        *dry_run = cur_dry_run;
    return cur_engine;
}

int crac__checker_prepare(const struct crac__engine *engine, bool dry_run, crac_error **err)
{
    if (crac__policies_load(crac_get_option("policies"), err) < 0)
        return -1;
    cur_engine = engine;
    cur_dry_run = dry_run;
    if (crac__policy_count() > 0) {
        int rc = crac__fd_handler_register();
        if (rc < 0) {
            *err = crac__error_src("crac", "cannot register the descriptor policy handler: %s",
                                   strerror(-rc));
            return -1;
        }
    }
    return 0;
}

void crac__checker_finish(void)
{
    cur_engine = NULL;
    cur_dry_run = false;
}

/* ---- decisions ---- */

static bool reopenable(const struct crac__fd_info *fi, char *why, size_t size)
{
    const struct crac__sock_info *s = &fi->sock;
    switch (fi->kind) {
    case CRAC__FD_FILE:
    case CRAC__FD_DIR:
        if (!fi->deleted)
            return true;
        snprintf(why, size, "it was deleted, so it cannot be opened again by its path");
        return false;
    case CRAC__FD_SOCKET:
        if ((s->family == AF_INET || s->family == AF_INET6) &&
            ((s->listening && s->type == SOCK_STREAM) || (s->type == SOCK_DGRAM && !s->connected)))
            return true;
        if (s->family == AF_UNIX && s->listening && fi->path[0])
            return true;
        snprintf(why, size, "only listening sockets (TCP or named unix) and unconnected UDP "
                            "sockets can be reopened; a connection cannot");
        return false;
    default:
        snprintf(why, size, "a %s cannot be reopened: only files, directories and listening "
                            "sockets can", crac__fd_kind_name(fi->kind));
        return false;
    }
}

void crac__decide(const struct crac__fd_info *fi, const struct crac__engine *engine,
                  struct crac__decision *d)
{
    crac__policy_match_fd(fi, &d->hit);
    d->action = d->hit.action;
    d->why[0] = '\0';
    if (d->action == CRAC__ACT_IGNORE && !crac__engine_keeps_fds(engine)) {
        snprintf(d->why, sizeof(d->why), "ignore is not possible with engine '%s': it does not "
                 "keep descriptors across a checkpoint (use close or reopen)",
                 engine ? engine->name : "?");
        d->action = CRAC__ACT_ERROR;
    } else if (d->action == CRAC__ACT_REOPEN && !reopenable(fi, d->why, sizeof(d->why))) {
        d->action = CRAC__ACT_ERROR;
    }
}

void crac__decide_other(enum crac__subject s, const char *path,
                        const struct crac__engine *engine, struct crac__decision *d)
{
    crac__policy_match_other(s, path, &d->hit);
    d->action = d->hit.action;
    d->why[0] = '\0';
    if (d->action == CRAC__ACT_IGNORE && !crac__engine_keeps_fds(engine)) {
        snprintf(d->why, sizeof(d->why), "ignore is not possible with engine '%s': it cannot "
                 "save this", engine ? engine->name : "?");
        d->action = CRAC__ACT_ERROR;
    }
}

void crac__decision_text(const struct crac__decision *d, struct crac__sb *sb)
{
    if (!d->hit.matched)
        return;
    if (d->why[0])
        crac__sb_printf(sb, " [policy %s: %s]", d->hit.where, d->why);
    else
        crac__sb_printf(sb, " [policy %s: error]", d->hit.where);
}

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

static void check_fds(const struct crac__engine *engine, crac_error *problems)
{
    struct crac__fd_table t;
    int rc = crac__fd_table_read(&t);
    struct crac__fd_info *fi = malloc(sizeof(*fi));
    if (rc < 0 || !fi) {
        crac_error_add_cause(problems, crac__error_src("checker",
            "cannot list the open descriptors: %s", strerror(rc < 0 ? -rc : ENOMEM)));
        free(fi);
        crac__fd_table_free(&t);
        return;
    }
    for (size_t i = 0; i < t.n; i++) {
        struct crac__decision d;
        rc = crac__fd_inspect(t.fds[i], fi);
        if (rc == -EBADF || rc == -ENOENT)
            continue; /* closed meanwhile, by another thread */
        if (rc < 0) {
            crac_error_add_cause(problems, crac__error_src("checker",
                "fd %d: cannot inspect it: %s", t.fds[i], strerror(-rc)));
            continue;
        }
        crac__decide(fi, engine, &d);
        if (d.action == CRAC__ACT_ERROR)
            report_fd(fi, &d, &t, problems);
    }
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
