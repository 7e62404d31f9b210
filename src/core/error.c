/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The error tree: a message, the source that raised it and its causes.
 *
 * Allocation failure never loses the fact that something failed: when an
 * error cannot be allocated, crac_error_new() returns one static "out of
 * memory" error that every function accepts and that crac_error_free()
 * ignores, so callers never test for NULL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/coord.h"
#include "core/core.h"

struct crac_error {
    char *message;
    char *source;          /* NULL: no source */
    crac_error **causes;
    size_t ncauses, cap;
    bool restore;          /* failed after a real restore */
    bool group;            /* a bag of causes, flattened when adopted */
    bool is_static;        /* the out-of-memory error: never modified or freed */
};

static crac_error oom_error = {
    .message = (char *)"out of memory",
    .source = (char *)"crac",
    .is_static = true,
};

crac_error *crac__error_vsrc(const char *source, const char *fmt, va_list ap)
{
    crac_error *e = calloc(1, sizeof(*e));
    if (!e)
        return &oom_error;
    if (vasprintf(&e->message, fmt ? fmt : "", ap) < 0) {
        free(e);
        return &oom_error;
    }
    if (source && !(e->source = strdup(source))) {
        free(e->message);
        free(e);
        return &oom_error;
    }
    return e;
}

crac_error *crac__error_src(const char *source, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    crac_error *e = crac__error_vsrc(source, fmt, ap);
    va_end(ap);
    return e;
}

crac_error *crac_error_new(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    crac_error *e = crac__error_vsrc(NULL, fmt, ap);
    va_end(ap);
    return e;
}

void crac_error_add_cause(crac_error *e, crac_error *cause)
{
    if (!cause)
        return;
    if (!e || e->is_static || cause == e) {
        /* Ownership was handed over: there is nowhere to keep it. */
        if (cause != e)
            crac_error_free(cause);
        return;
    }
    if (e->ncauses == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        crac_error **c = realloc(e->causes, cap * sizeof(*c));
        if (!c) {
            crac_error_free(cause);
            return;
        }
        e->causes = c;
        e->cap = cap;
    }
    e->causes[e->ncauses++] = cause;
}

const char *crac_error_message(const crac_error *e)
{
    return e ? e->message : NULL;
}

const char *crac_error_source(const crac_error *e)
{
    return e ? e->source : NULL;
}

size_t crac_error_cause_count(const crac_error *e)
{
    return e ? e->ncauses : 0;
}

const crac_error *crac_error_cause(const crac_error *e, size_t i)
{
    return e && i < e->ncauses ? e->causes[i] : NULL;
}

void crac_error_free(crac_error *e)
{
    if (!e || e->is_static)
        return;
    for (size_t i = 0; i < e->ncauses; i++)
        crac_error_free(e->causes[i]);
    free(e->causes);
    free(e->message);
    free(e->source);
    free(e);
}

void crac__error_set_source(crac_error *e, const char *source)
{
    if (!e || e->is_static)
        return;
    char *s = NULL;
    if (source && !(s = strdup(source)))
        return; /* keep the old source rather than none */
    free(e->source);
    e->source = s;
}

void crac__error_set_restore(crac_error *e, bool restore)
{
    if (e && !e->is_static)
        e->restore = restore;
}

int crac_error_is_restore(const crac_error *e)
{
    return e && e->restore;
}

/* ---- groups: how nested contexts flatten their causes into the parent ---- */

crac_error *crac__error_group(void)
{
    crac_error *e = crac__error_src(NULL, "%s", "group");
    if (!e->is_static)
        e->group = true;
    return e;
}

void crac__error_adopt(crac_error *acc, crac_error *e, const char *source)
{
    if (!e)
        return;
    if (!e->group) {
        if (source)
            crac__error_set_source(e, source);
        crac_error_add_cause(acc, e);
        return;
    }
    for (size_t i = 0; i < e->ncauses; i++)
        crac_error_add_cause(acc, e->causes[i]);
    e->ncauses = 0; /* now owned by acc */
    crac_error_free(e);
}

crac_error *crac__error_group_finish(crac_error *group)
{
    if (group && !group->is_static && group->ncauses == 0) {
        crac_error_free(group);
        return NULL;
    }
    return group;
}

/* ---- formatting ---- */

struct buf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* One line per error, two spaces of indent per level.  A message that
 * itself spans lines keeps its continuation lines under the same indent so
 * the tree stays readable. */
static void format_one(struct buf *b, const crac_error *e, unsigned depth)
{
    for (unsigned i = 0; i < depth; i++)
        buf_str(b, "  ");
    if (e->source) {
        buf_str(b, "[");
        buf_str(b, e->source);
        buf_str(b, "] ");
    }
    for (const char *m = e->message; *m;) {
        const char *nl = strchr(m, '\n');
        size_t n = nl ? (size_t)(nl - m) : strlen(m);
        buf_add(b, m, n);
        m += n;
        if (*m == '\n' && *++m) {
            buf_str(b, "\n");
            for (unsigned i = 0; i <= depth; i++)
                buf_str(b, "  ");
        }
    }
    buf_str(b, "\n");
    for (size_t i = 0; i < e->ncauses; i++)
        format_one(b, e->causes[i], depth + 1);
}

char *crac_error_format(const crac_error *e)
{
    struct buf b = { 0 };
    if (e)
        format_one(&b, e, 0);
    else
        buf_str(&b, "");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
