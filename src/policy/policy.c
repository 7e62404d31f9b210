/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policies: which rule applies to a descriptor (or a child, timer or
 * mapping), first match wins.  Two sets of rules: those given at restore
 * (crac__policies_load_restore) come first, then the file named by the
 * "policies" option (CRAC_POLICIES), read again at every checkpoint so that
 * an edit takes effect without restarting the program.
 */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "policy/rules.h"

static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct crac__ruleset file_rules, restore_rules;

const char *crac__action_name(enum crac__action a)
{
    static const char *const names[] = {"error", "close", "reopen", "ignore", "save", "drop"};
    return (unsigned)a < 6 ? names[a] : "?";
}

/* The type a descriptor kind matches (besides `fd`). */
static enum crac__ptype ptype_of_kind(enum crac__fd_kind k)
{
    static const enum crac__ptype map[CRAC__FD_KIND_COUNT] = {
        [CRAC__FD_FILE] = CRAC__PT_FILE,         [CRAC__FD_DIR] = CRAC__PT_DIR,
        [CRAC__FD_PIPE] = CRAC__PT_PIPE,         [CRAC__FD_FIFO] = CRAC__PT_PIPE,
        [CRAC__FD_SOCKET] = CRAC__PT_SOCKET,     [CRAC__FD_DEVICE] = CRAC__PT_DEVICE,
        [CRAC__FD_EVENTFD] = CRAC__PT_EVENTFD,   [CRAC__FD_EPOLL] = CRAC__PT_EPOLL,
        [CRAC__FD_TIMERFD] = CRAC__PT_TIMERFD,   [CRAC__FD_SIGNALFD] = CRAC__PT_SIGNALFD,
        [CRAC__FD_INOTIFY] = CRAC__PT_INOTIFY,   [CRAC__FD_MEMFD] = CRAC__PT_MEMFD,
        [CRAC__FD_IO_URING] = CRAC__PT_IO_URING, [CRAC__FD_PIDFD] = CRAC__PT_PIDFD,
        [CRAC__FD_ANON] = CRAC__PT_ANON,         [CRAC__FD_OTHER] = CRAC__PT_ANON,
    };
    return (unsigned)k < CRAC__FD_KIND_COUNT ? map[k] : CRAC__PT_ANON;
}

/* ---- loading ---- */

/* Replaces one set of rules by those of `path` (none for NULL or ""). */
static int load_into(struct crac__ruleset *dst, const char *path, crac_error **err)
{
    struct crac__ruleset rs = {0};
    if (path && *path && crac__policy_parse(path, &rs, err))
        return -1;
    pthread_mutex_lock(&policy_lock);
    crac__ruleset_free(dst);
    *dst = rs;
    pthread_mutex_unlock(&policy_lock);
    return 0;
}

int crac__policies_load(const char *path, crac_error **err)
{
    return load_into(&file_rules, path, err);
}

int crac__policies_load_restore(const char *path, crac_error **err)
{
    if (load_into(&restore_rules, path, err))
        return -1;
    if (path && *path)
        crac__log("policies given at restore: %s (%zu rules, before those of the checkpoint)",
                  path, crac__policy_count());
    return 0;
}

size_t crac__policy_count(void)
{
    pthread_mutex_lock(&policy_lock);
    size_t n = file_rules.n + restore_rules.n;
    pthread_mutex_unlock(&policy_lock);
    return n;
}

bool crac__policy_have_restore_rules(void)
{
    pthread_mutex_lock(&policy_lock);
    bool r = restore_rules.n > 0;
    pthread_mutex_unlock(&policy_lock);
    return r;
}

/* ---- matching ---- */

/* An address as compared: v4-mapped IPv6 addresses (::ffff:a.b.c.d, what a
 * dual-stack socket shows) compare as the IPv4 address they carry. */
static bool addr_of(const struct sockaddr_storage *ss, socklen_t len, int *family,
                    const unsigned char **bytes, int *port)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (len == 0)
        return false;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)ss;
        *family = AF_INET;
        *bytes = (const unsigned char *)&in->sin_addr;
        *port = ntohs(in->sin_port);
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)ss;
        const unsigned char *b = in6->sin6_addr.s6_addr;
        *port = ntohs(in6->sin6_port);
        if (!memcmp(b, mapped, 12)) {
            *family = AF_INET;
            *bytes = b + 12;
        } else {
            *family = AF_INET6;
            *bytes = b;
        }
        return true;
    }
    return false;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole))
        return false;
    if (!rest)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

static bool endpoint_match(const struct crac__addr_match *am, int port_lo, int port_hi,
                           const struct sockaddr_storage *ss, socklen_t len)
{
    if (!am->set && port_lo < 0)
        return true;
    int family, port;
    const unsigned char *bytes;
    if (!addr_of(ss, len, &family, &bytes, &port))
        return false;
    if (port_lo >= 0 && (port < port_lo || port > port_hi))
        return false;
    if (am->set) {
        /* a rule written as ::ffff:1.2.3.4 compares as 1.2.3.4 too */
        int rfam = am->family;
        const unsigned char *rb = am->addr;
        int bits = am->prefix;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (rfam == AF_INET6 && bits >= 96 && !memcmp(rb, mapped, 12)) {
            rfam = AF_INET;
            rb += 12;
            bits -= 96;
        }
        if (rfam != family || !prefix_equal(bytes, rb, bits))
            return false;
    }
    return true;
}

static bool socket_match(const struct crac__rule *r, const struct crac__fd_info *fi)
{
    bool needs_socket = r->family || r->socktype || r->proto >= 0 || r->listening >= 0 ||
                        r->laddr.set || r->raddr.set || r->lport_lo >= 0 || r->rport_lo >= 0;
    if (!needs_socket)
        return true;
    if (fi->kind != CRAC__FD_SOCKET)
        return false;
    const struct crac__sock_info *s = &fi->sock;
    if (r->family == CRAC__FAMILY_INET) {
        if (s->family != AF_INET && s->family != AF_INET6)
            return false;
    } else if (r->family && r->family != s->family) {
        return false;
    }
    if (r->socktype && r->socktype != s->type)
        return false;
    if (r->proto >= 0 && ((s->family != AF_INET && s->family != AF_INET6) || s->protocol != r->proto))
        return false;
    if (r->listening >= 0 && r->listening != (int)s->listening)
        return false;
    return endpoint_match(&r->laddr, r->lport_lo, r->lport_hi, &s->local, s->local_len) &&
           endpoint_match(&r->raddr, r->rport_lo, r->rport_hi, &s->remote, s->remote_len);
}

/* A glob as in the reference (and most tools): `*` and `?` stay within one
 * path component, `**` crosses `/`, `[...]` is a class, `\` quotes.
 * fnmatch(FNM_PATHNAME) has no `**`, so no rule could name every .log
 * file under a tree; hence this small matcher (classes still go to
 * fnmatch, one character at a time). */
static bool glob_match(const char *p, const char *s)
{
    for (;;) {
        if (p[0] == '*') {
            bool cross = p[1] == '*';
            p += cross ? 2 : 1;
            for (const char *t = s;; t++) {
                if (glob_match(p, t))
                    return true;
                if (!*t || (!cross && *t == '/'))
                    return false;
            }
        }
        if (!*p)
            return !*s;
        if (!*s)
            return false;
        if (*p == '[') {
            const char *end = strchr(p + (p[1] == '!' || p[1] == '^' ? 3 : 2), ']');
            char cls[128], one[2] = {*s, 0};
            if (end && (size_t)(end - p) < sizeof(cls) - 1 && *s != '/') {
                memcpy(cls, p, (size_t)(end - p + 1));
                cls[end - p + 1] = '\0';
                if (fnmatch(cls, one, 0) != 0)
                    return false;
                p = end + 1;
                s++;
                continue;
            }
        }
        if (*p == '?' && *s != '/') {
            p++;
            s++;
            continue;
        }
        if (*p == '\\' && p[1])
            p++;
        if (*p != *s)
            return false;
        p++;
        s++;
    }
}

static bool fd_rule_match(const struct crac__rule *r, const struct crac__fd_info *fi)
{
    if (r->type >= CRAC__PT_CHILD)
        return false;
    if (r->type != CRAC__PT_FD && r->type != ptype_of_kind(fi->kind))
        return false;
    if (r->fd_lo >= 0 && (fi->fd < r->fd_lo || fi->fd > r->fd_hi))
        return false;
    if (r->glob && !glob_match(r->glob, fi->path))
        return false;
    return socket_match(r, fi);
}

static void hit_from(const struct crac__ruleset *rs, const struct crac__rule *r,
                     struct crac__policy_hit *hit)
{
    hit->matched = true;
    hit->action = r->action;
    hit->warn = r->warn;
    snprintf(hit->where, sizeof(hit->where), "%s:%d", rs->file, r->line);
}

static void no_hit(struct crac__policy_hit *hit)
{
    hit->matched = false;
    hit->action = CRAC__ACT_ERROR;
    hit->warn = true;
    hit->where[0] = '\0';
}

void crac__policy_match_fd(const struct crac__fd_info *fi, struct crac__policy_hit *hit)
{
    const struct crac__ruleset *sets[2] = {&restore_rules, &file_rules};
    no_hit(hit);
    pthread_mutex_lock(&policy_lock);
    for (int s = 0; s < 2 && !hit->matched; s++)
        for (size_t i = 0; i < sets[s]->n; i++)
            if (fd_rule_match(&sets[s]->rules[i], fi)) {
                hit_from(sets[s], &sets[s]->rules[i], hit);
                break;
            }
    pthread_mutex_unlock(&policy_lock);
}

void crac__policy_match_other(enum crac__subject subj, const char *path,
                              struct crac__policy_hit *hit)
{
    static const enum crac__ptype types[] = {
        [CRAC__SUBJ_CHILD] = CRAC__PT_CHILD, [CRAC__SUBJ_TIMER] = CRAC__PT_TIMER,
        [CRAC__SUBJ_MAPPING] = CRAC__PT_MAPPING,
    };
    const struct crac__ruleset *sets[2] = {&restore_rules, &file_rules};
    no_hit(hit);
    pthread_mutex_lock(&policy_lock);
    for (int s = 0; s < 2 && !hit->matched; s++)
        for (size_t i = 0; i < sets[s]->n; i++) {
            const struct crac__rule *r = &sets[s]->rules[i];
            if (r->type != types[subj] || (r->glob && !glob_match(r->glob, path ? path : "")))
                continue;
            hit_from(sets[s], r, hit);
            break;
        }
    pthread_mutex_unlock(&policy_lock);
}
