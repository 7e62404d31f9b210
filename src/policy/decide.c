/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The decision for one descriptor (or child, timer, mapping): what the
 * first matching rule says, corrected where it cannot apply; with no rule,
 * what the engine says (the native engine brings most descriptors back
 * itself).  The checker reports what is left as an error; the FD-tier
 * handler carries out close and reopen.  Both call this, so a dry run
 * reports exactly what a real checkpoint would refuse.
 */
#include <stdio.h>

#include "engine/engine.h"
#include "policy/policy.h"

/* Whether engine keeps descriptors open across its checkpoint (so that
 * `ignore` makes sense). */
static bool engine_keeps_fds(const struct crac__engine *engine)
{
    /* An engine that writes no image (sim, pause) leaves the process as it
     * is: what it keeps open is still open when it goes on. */
    return engine && !engine->writes_image;
}

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
    if (d->action == CRAC__ACT_IGNORE && !engine_keeps_fds(engine)) {
        snprintf(d->why, sizeof(d->why), "ignore is not possible with engine '%s': it does not "
                 "keep descriptors across a checkpoint (use close or reopen)",
                 engine ? engine->name : "?");
        d->action = CRAC__ACT_ERROR;
    } else if (d->action == CRAC__ACT_REOPEN && !reopenable(fi, d->why, sizeof(d->why))) {
        d->action = CRAC__ACT_ERROR;
    } else if (d->action == CRAC__ACT_DROP && fi->kind != CRAC__FD_SOCKET) {
        snprintf(d->why, sizeof(d->why), "drop applies to sockets (a connection the process keeps "
                 "and an instance gets back closed by its peer), not to a %s",
                 crac__fd_kind_name(fi->kind));
        d->action = CRAC__ACT_ERROR;
    } else if (d->action == CRAC__ACT_DROP && engine_keeps_fds(engine)) {
        d->action = CRAC__ACT_IGNORE; /* the process keeps it, and there is no instance */
    }
}

void crac__decide_default(struct crac__decision *d, const struct crac__fd_verdict *v)
{
    if (d->hit.matched || !v)
        return;
    d->action = v->saved ? CRAC__ACT_SAVE : CRAC__ACT_ERROR;
    snprintf(d->why, sizeof(d->why), "%s", v->saved ? "" : v->why);
}

void crac__decide_other(enum crac__subject s, const char *path,
                        const struct crac__engine *engine, struct crac__decision *d)
{
    crac__policy_match_other(s, path, &d->hit);
    d->action = d->hit.action;
    d->why[0] = '\0';
    if (d->action == CRAC__ACT_IGNORE && !engine_keeps_fds(engine)) {
        snprintf(d->why, sizeof(d->why), "ignore is not possible with engine '%s': it cannot "
                 "save this", engine ? engine->name : "?");
        d->action = CRAC__ACT_ERROR;
    }
}

void crac__decision_text(const struct crac__decision *d, struct crac__sb *sb)
{
    if (!d->hit.matched) {
        if (d->why[0]) /* the engine's own reason (crac__decide_default) */
            crac__sb_printf(sb, " [not restored: %s]", d->why);
        return;
    }
    if (d->why[0])
        crac__sb_printf(sb, " [policy %s: %s]", d->hit.where, d->why);
    else
        crac__sb_printf(sb, " [policy %s: error]", d->hit.where);
}
