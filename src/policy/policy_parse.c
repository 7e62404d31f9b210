/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a policies file (docs/policies.md): one rule a line,
 *
 *     TYPE ACTION [KEY=VALUE]...      # comment
 *
 * Every mistake is an error naming the file and the line: a rule that is
 * silently skipped would let a checkpoint be refused (or worse, a
 * descriptor be closed) for reasons nobody can see.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/core.h"
#include "policy/rules.h"

static const char *const ptype_names[CRAC__PT_COUNT] = {
    [CRAC__PT_FD] = "fd",           [CRAC__PT_FILE] = "file",     [CRAC__PT_DIR] = "dir",
    [CRAC__PT_PIPE] = "pipe",       [CRAC__PT_SOCKET] = "socket", [CRAC__PT_DEVICE] = "device",
    [CRAC__PT_EVENTFD] = "eventfd", [CRAC__PT_EPOLL] = "epoll",   [CRAC__PT_TIMERFD] = "timerfd",
    [CRAC__PT_SIGNALFD] = "signalfd", [CRAC__PT_INOTIFY] = "inotify", [CRAC__PT_MEMFD] = "memfd",
    [CRAC__PT_IO_URING] = "io_uring", [CRAC__PT_PIDFD] = "pidfd", [CRAC__PT_ANON] = "anon",
    [CRAC__PT_CHILD] = "child",     [CRAC__PT_TIMER] = "timer",   [CRAC__PT_MAPPING] = "mapping",
};

static const char *ptype_name(enum crac__ptype t)
{
    return (unsigned)t < CRAC__PT_COUNT ? ptype_names[t] : "?";
}

static bool is_fd_type(enum crac__ptype t)
{
    return t <= CRAC__PT_ANON;
}

/* The line being read, for error messages. */
struct ctx {
    const char *file;
    int line;
    crac_error **err;
};

static int bad(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct ctx *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    *c->err = crac__error_src("crac", "policies %s:%d: %s", c->file, c->line, msg);
    return -1;
}

/* Splits a line into words in place: blanks separate, "..." quotes (with
 * \" and \\), # starts a comment.  The number of words, or -1. */
static int split(struct ctx *c, char *s, char **words, int max)
{
    int n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (!*s || *s == '#')
            break;
        if (n == max)
            return bad(c, "too many words (at most %d)", max);
        char *out = s;
        words[n++] = out;
        bool quoted = false;
        for (; *s && (quoted || (*s != ' ' && *s != '\t' && *s != '\r')); s++) {
            if (*s == '"')
                quoted = !quoted;
            else if (quoted && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
                *out++ = *++s;
            else
                *out++ = *s;
        }
        if (quoted)
            return bad(c, "a quote is not closed");
        if (*s)
            s++;
        *out = '\0';
    }
    return n;
}

/* "N" or "N-M" within [0, max]. */
static int parse_range(struct ctx *c, const char *key, const char *v, long max, int *lo, int *hi)
{
    char *end;
    long a = strtol(v, &end, 10), b = a;
    if (end == v)
        goto fail;
    if (*end == '-') {
        const char *v2 = end + 1;
        b = strtol(v2, &end, 10);
        if (end == v2)
            goto fail;
    }
    if (*end || a < 0 || b < a || b > max)
        goto fail;
    *lo = (int)a;
    *hi = (int)b;
    return 0;
fail:
    return bad(c, "%s wants a number or a range N-M within 0-%ld, got '%s'", key, max, v);
}

static int parse_addr(struct ctx *c, const char *key, const char *v, struct crac__addr_match *m)
{
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(v, '/');
    size_t len = slash ? (size_t)(slash - v) : strlen(v);
    if (len >= 2 && v[0] == '[' && v[len - 1] == ']') {
        v++;
        len -= 2;
    }
    if (len >= sizeof(buf))
        return bad(c, "%s: '%s' is not an IPv4 or IPv6 address", key, v);
    memcpy(buf, v, len);
    buf[len] = '\0';
    memset(m, 0, sizeof(*m));
    if (inet_pton(AF_INET, buf, m->addr) == 1)
        m->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, m->addr) == 1)
        m->family = AF_INET6;
    else
        return bad(c, "%s: '%s' is not an IPv4 or IPv6 address", key, buf);
    int bits = m->family == AF_INET ? 32 : 128;
    m->prefix = bits;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || p < 0 || p > bits)
            return bad(c, "%s: prefix length '%s' is not within 0-%d", key, slash + 1, bits);
        m->prefix = (int)p;
    }
    m->set = true;
    return 0;
}

static int parse_bool(struct ctx *c, const char *key, const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
        *out = 0;
    else
        return bad(c, "%s wants true or false, got '%s'", key, v);
    return 0;
}

static int parse_word(struct ctx *c, const char *key, const char *v, const char *const *names,
                      const int *values, int *out)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i])) {
            *out = values[i];
            return 0;
        }
    char list[160] = "";
    for (int i = 0; names[i]; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", names[i]);
    return bad(c, "%s: unknown value '%s' (one of: %s)", key, v, list);
}

/* The socket keys: valid for types socket and fd only. */
static int socket_key(struct ctx *c, struct crac__rule *r, const char *k, const char *v)
{
    static const char *const fam_names[] = {"unix", "ipv4", "ipv6", "inet", "netlink", "packet", NULL};
    static const int fam_values[] = {AF_UNIX, AF_INET, AF_INET6, CRAC__FAMILY_INET, AF_NETLINK, AF_PACKET};
    static const char *const type_names[] = {"stream", "dgram", "seqpacket", "raw", NULL};
    static const int type_values[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW};
    static const char *const proto_names[] = {"tcp", "udp", NULL};
    static const int proto_values[] = {IPPROTO_TCP, IPPROTO_UDP};
    if (r->type != CRAC__PT_SOCKET && r->type != CRAC__PT_FD)
        return bad(c, "%s applies to sockets (types socket and fd), not to %s", k,
                   ptype_name(r->type));
    if (!strcmp(k, "family"))
        return parse_word(c, k, v, fam_names, fam_values, &r->family);
    if (!strcmp(k, "socktype"))
        return parse_word(c, k, v, type_names, type_values, &r->socktype);
    if (!strcmp(k, "proto"))
        return parse_word(c, k, v, proto_names, proto_values, &r->proto);
    if (!strcmp(k, "listening"))
        return parse_bool(c, k, v, &r->listening);
    if (!strcmp(k, "local-addr"))
        return parse_addr(c, k, v, &r->laddr);
    if (!strcmp(k, "remote-addr"))
        return parse_addr(c, k, v, &r->raddr);
    if (!strcmp(k, "local-port"))
        return parse_range(c, k, v, 65535, &r->lport_lo, &r->lport_hi);
    return parse_range(c, k, v, 65535, &r->rport_lo, &r->rport_hi);
}

static int parse_key(struct ctx *c, struct crac__rule *r, const char *word, unsigned *seen)
{
    static const char *const keys[] = {"path", "fd", "warn", "family", "socktype", "proto",
                                       "listening", "local-addr", "local-port", "remote-addr",
                                       "remote-port", NULL};
    const char *eq = strchr(word, '=');
    char k[16];
    if (!eq || eq == word || (size_t)(eq - word) >= sizeof(k))
        return bad(c, "'%s' is not KEY=VALUE", word);
    memcpy(k, word, (size_t)(eq - word));
    k[eq - word] = '\0';
    const char *v = eq + 1;
    int i = 0;
    while (keys[i] && strcmp(keys[i], k))
        i++;
    if (!keys[i])
        return bad(c, "unknown key '%s' (keys: path, fd, family, socktype, proto, listening, "
                      "local-addr, local-port, remote-addr, remote-port, warn)", k);
    if (*seen & (1u << i))
        return bad(c, "%s is given twice", k);
    *seen |= 1u << i;
    if (!*v)
        return bad(c, "%s has no value", k);
    if (!strcmp(k, "path")) {
        if (r->type == CRAC__PT_TIMER)
            return bad(c, "path does not apply to timers");
        return (r->glob = strdup(v)) ? 0 : bad(c, "out of memory");
    }
    if (!strcmp(k, "fd")) {
        if (!is_fd_type(r->type))
            return bad(c, "fd applies to descriptors, not to %s", ptype_name(r->type));
        return parse_range(c, k, v, 1 << 30, &r->fd_lo, &r->fd_hi);
    }
    if (!strcmp(k, "warn")) {
        int w;
        if (parse_bool(c, k, v, &w))
            return -1;
        r->warn = w;
        return 0;
    }
    return socket_key(c, r, k, v);
}

static int check_action(struct ctx *c, const struct crac__rule *r)
{
    const char *t = ptype_name(r->type);
    if (r->action == CRAC__ACT_CLOSE && !is_fd_type(r->type))
        return bad(c, "close applies to descriptors; a %s can only be error or ignore", t);
    if (r->action == CRAC__ACT_REOPEN && r->type != CRAC__PT_FILE && r->type != CRAC__PT_DIR &&
        r->type != CRAC__PT_SOCKET && r->type != CRAC__PT_FD)
        return bad(c, "reopen applies to files, directories and listening sockets, not to %s", t);
    if (r->action == CRAC__ACT_DROP && r->type != CRAC__PT_SOCKET && r->type != CRAC__PT_FD)
        return bad(c, "drop applies to sockets, not to %s", t);
    return 0;
}

static int parse_rule(struct ctx *c, char **w, int n, struct crac__rule *r)
{
    static const char *const actions[] = {"error", "close", "reopen", "ignore", "drop", NULL};
    static const enum crac__action act[] = {CRAC__ACT_ERROR, CRAC__ACT_CLOSE, CRAC__ACT_REOPEN,
                                            CRAC__ACT_IGNORE, CRAC__ACT_DROP};
    *r = (struct crac__rule){.warn = true, .fd_lo = -1, .fd_hi = -1, .proto = -1,
                             .listening = -1, .lport_lo = -1, .lport_hi = -1,
                             .rport_lo = -1, .rport_hi = -1, .line = c->line};
    int t = 0;
    while (t < CRAC__PT_COUNT && strcmp(ptype_names[t], w[0]))
        t++;
    if (t == CRAC__PT_COUNT)
        return bad(c, "unknown type '%s' (types: fd, file, dir, pipe, socket, device, eventfd, "
                      "epoll, timerfd, signalfd, inotify, memfd, io_uring, pidfd, anon, child, "
                      "timer, mapping)", w[0]);
    r->type = (enum crac__ptype)t;
    if (n < 2)
        return bad(c, "'%s' has no action (error, close, reopen, ignore or drop)", w[0]);
    int a = 0;
    while (actions[a] && strcmp(actions[a], w[1]))
        a++;
    if (!actions[a])
        return bad(c, "unknown action '%s' (error, close, reopen, ignore or drop)", w[1]);
    r->action = act[a];
    if (check_action(c, r))
        return -1;
    unsigned seen = 0;
    for (int i = 2; i < n; i++)
        if (parse_key(c, r, w[i], &seen)) {
            free(r->glob);
            r->glob = NULL;
            return -1;
        }
    return 0;
}

void crac__ruleset_free(struct crac__ruleset *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->rules[i].glob);
    free(rs->rules);
    free(rs->file);
    *rs = (struct crac__ruleset){0};
}

static int add_line(struct ctx *c, char *line, struct crac__ruleset *rs, size_t *cap)
{
    char *w[24];
    int n = split(c, line, w, 24);
    if (n <= 0)
        return n;
    if (rs->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct crac__rule *r = realloc(rs->rules, ncap * sizeof(*r));
        if (!r)
            return bad(c, "out of memory");
        rs->rules = r;
        *cap = ncap;
    }
    if (parse_rule(c, w, n, &rs->rules[rs->n]))
        return -1;
    rs->n++;
    return 0;
}

int crac__policy_parse(const char *path, struct crac__ruleset *out, crac_error **err)
{
    *out = (struct crac__ruleset){0};
    FILE *f = fopen(path, "re");
    if (!f) {
        *err = crac__error_src("crac", "policies %s: cannot read it: %s", path, strerror(errno));
        return -1;
    }
    struct ctx c = {.file = path, .line = 0, .err = err};
    char *line = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    out->file = strdup(path);
    if (!out->file)
        rc = bad(&c, "out of memory");
    while (rc == 0 && getline(&line, &len, f) >= 0) {
        c.line++;
        line[strcspn(line, "\n")] = '\0';
        rc = add_line(&c, line, out, &cap);
    }
    if (rc == 0 && ferror(f))
        rc = bad(&c, "read error");
    free(line);
    fclose(f);
    if (rc)
        crac__ruleset_free(out);
    return rc;
}
