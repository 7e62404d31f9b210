/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A socket taken apart into a struct crac_img_sock and built again: the
 * same family, type, protocol and bound address, the options the program
 * changed, the listening backlog.  The dumper, `crac restore` and the
 * `reopen` policy share this, so a socket comes back the same way whoever
 * rebuilds it.
 *
 * Options are copied by comparing with a fresh socket: only those the
 * program changed are set, so options that need a privilege (SO_MARK) are
 * only set when the program had set them itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "image/sock.h"

/* Options worth carrying over.  SO_RCVBUF/SO_SNDBUF read back doubled. */
static const struct {
    int level, name;
    const char *text;
    unsigned char tcp_only;
    int family; /* 0: any */
} opt_table[] = {
    {SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 0, 0},
    {SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 0, 0},
    {SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 0, 0},
    {SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 0, 0},
    {SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 0, 0},
    {SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", 0, 0},
    {SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 0, 0},
    {SOL_SOCKET, SO_MARK, "SO_MARK", 0, 0},
    {SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", 0, 0},
    {SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 0, 0},
    {SOL_SOCKET, SO_PASSCRED, "SO_PASSCRED", 0, AF_UNIX},
    {SOL_SOCKET, SO_PEEK_OFF, "SO_PEEK_OFF", 0, AF_UNIX},
    {IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1, 0},
    {IPPROTO_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT", 1, 0},
    {IPPROTO_TCP, TCP_FASTOPEN, "TCP_FASTOPEN", 1, 0},
    {IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 1, 0},
    {IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 1, 0},
    {IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 1, 0},
    {IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", 1, 0},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT", 1, 0},
    {IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", 0, AF_INET6},
    {IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", 0, AF_INET},
    {IPPROTO_IP, IP_TTL, "IP_TTL", 0, AF_INET},
};
#define N_OPTS (int)(sizeof(opt_table) / sizeof(opt_table[0]))

static bool opt_applies(int i, const struct crac_img_sock *s)
{
    if (opt_table[i].tcp_only && (s->type != SOCK_STREAM || s->family == AF_UNIX))
        return false;
    return !opt_table[i].family || opt_table[i].family == s->family;
}

static const char *opt_name(int level, int name)
{
    for (int i = 0; i < N_OPTS; i++)
        if (opt_table[i].level == level && opt_table[i].name == name)
            return opt_table[i].text;
    return "a socket option";
}

/* The protocols SO_PROTOCOL reports for a socket of this family and type. */
static bool protocol_ok(const struct crac_img_sock *s)
{
    if (s->family == AF_UNIX)
        return s->protocol == 0;
    if (s->type == SOCK_STREAM)
        return s->protocol == IPPROTO_TCP || s->protocol == IPPROTO_MPTCP ||
               s->protocol == IPPROTO_SCTP;
    if (s->type == SOCK_DGRAM)
        return s->protocol == IPPROTO_UDP || s->protocol == IPPROTO_UDPLITE ||
               s->protocol == IPPROTO_ICMP || s->protocol == IPPROTO_ICMPV6;
    return s->protocol == IPPROTO_SCTP;
}

const char *crac__sock_problem(const struct crac_img_sock *s)
{
    sa_family_t af;
    memcpy(&af, s->addr, sizeof(af));
    if ((s->family != AF_INET && s->family != AF_INET6 && s->family != AF_UNIX) ||
        (s->type != SOCK_STREAM && s->type != SOCK_DGRAM && s->type != SOCK_SEQPACKET) ||
        !protocol_ok(s))
        return "socket family, type or protocol unknown";
    if ((s->flags & ~(CRAC_SOCK_LISTENING | CRAC_SOCK_BOUND)) ||
        ((s->flags & CRAC_SOCK_LISTENING) && (s->type == SOCK_DGRAM || s->backlog < 0)))
        return "socket flags unknown, or listening with a datagram socket";
    if (s->addr_len > sizeof(s->addr) || (s->addr_len >= sizeof(af) && af != s->family) ||
        ((s->flags & CRAC_SOCK_BOUND) && s->addr_len <= sizeof(af)))
        return "socket address of another family, too long, or missing";
    if (s->nopts > CRAC_SOCK_MAX_OPTS || !memchr(s->bind_dev, 0, sizeof(s->bind_dev)))
        return "socket options or device out of range";
    for (uint32_t i = 0; i < s->nopts; i++) {
        int k = 0;
        while (k < N_OPTS && (opt_table[k].level != s->opts[i].level ||
                              opt_table[k].name != s->opts[i].name || !opt_applies(k, s)))
            k++;
        if (k == N_OPTS)
            return "a socket option crac does not carry over, or not for this socket";
    }
    return NULL;
}

static int opt_int(int fd, int level, int name, int def)
{
    int v;
    socklen_t len = sizeof(v);
    return getsockopt(fd, level, name, &v, &len) == 0 ? v : def;
}

static bool is_bound(const struct sockaddr_storage *a, socklen_t len)
{
    if (a->ss_family == AF_INET)
        return len >= sizeof(struct sockaddr_in) && ((const struct sockaddr_in *)a)->sin_port;
    if (a->ss_family == AF_INET6)
        return len >= sizeof(struct sockaddr_in6) && ((const struct sockaddr_in6 *)a)->sin6_port;
    return a->ss_family == AF_UNIX && len > sizeof(sa_family_t);
}

/* For a listener, the accept queue's maximum: TCP_INFO's sacked for TCP,
 * sock_diag's write queue for unix. */
static int backlog_of(int fd, const struct crac_img_sock *s)
{
    if (s->family == AF_UNIX) {
        struct stat st;
        struct crac__unix_diag d;
        if (fstat(fd, &st) == 0 && crac__unix_diag(st.st_ino, &d) == 0 && d.wqueue >= 0)
            return (int)d.wqueue;
    } else if (s->protocol == IPPROTO_TCP) {
        struct tcp_info ti;
        socklen_t len = sizeof(ti);
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
            return (int)ti.tcpi_sacked;
    }
    return SOMAXCONN; /* unknown: the usual maximum */
}

int crac__sock_capture(int fd, struct crac_img_sock *s)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof(a);
    memset(s, 0, sizeof(*s));
    s->family = opt_int(fd, SOL_SOCKET, SO_DOMAIN, -1);
    s->type = opt_int(fd, SOL_SOCKET, SO_TYPE, -1);
    s->protocol = opt_int(fd, SOL_SOCKET, SO_PROTOCOL, -1);
    if (s->family < 0 || s->type < 0)
        return -ENOTSOCK;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        len = 0;
    if (len > sizeof(s->addr))
        len = sizeof(s->addr);
    memcpy(s->addr, &a, len);
    s->addr_len = len;
    if (len && is_bound(&a, len))
        s->flags |= CRAC_SOCK_BOUND;
    if (opt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, 0) == 1) {
        s->flags |= CRAC_SOCK_LISTENING;
        s->backlog = backlog_of(fd, s);
    }
    for (int i = 0; i < N_OPTS && s->nopts < CRAC_SOCK_MAX_OPTS; i++) {
        int v;
        socklen_t vl = sizeof(v);
        if (!opt_applies(i, s) || getsockopt(fd, opt_table[i].level, opt_table[i].name, &v, &vl))
            continue;
        s->opts[s->nopts++] = (struct crac_img_sockopt){opt_table[i].level, opt_table[i].name, v};
    }
    len = sizeof(s->bind_dev);
    if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->bind_dev, &len) < 0 || len == 0)
        s->bind_dev[0] = '\0';
    s->bind_dev[sizeof(s->bind_dev) - 1] = '\0';
    return 0;
}

/* ---- building again ---- */

/* The kernel doubles a buffer size it is given, and caps it at
 * net.core.[rw]mem_max unless forced (CAP_NET_ADMIN): a value the program
 * had forced is forced again when we may. */
static int set_buffer(int fd, int name, int value)
{
    int half = value / 2;
    if (setsockopt(fd, SOL_SOCKET, name, &half, sizeof(half)) < 0)
        return -errno;
    if (opt_int(fd, SOL_SOCKET, name, value) != value) {
        int force = name == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
        (void)!setsockopt(fd, SOL_SOCKET, force, &half, sizeof(half));
    }
    return 0;
}

int crac__sock_set_opts(int fd, const struct crac_img_sock *s, const char **step)
{
    for (uint32_t i = 0; i < s->nopts && i < CRAC_SOCK_MAX_OPTS; i++) {
        const struct crac_img_sockopt *o = &s->opts[i];
        int v = o->value, rc = 0;
        if (opt_int(fd, o->level, o->name, ~v) == v)
            continue;
        if (o->level == SOL_SOCKET && (o->name == SO_RCVBUF || o->name == SO_SNDBUF))
            rc = set_buffer(fd, o->name, v);
        else if (setsockopt(fd, o->level, o->name, &v, sizeof(v)) < 0)
            rc = -errno;
        if (rc) {
            *step = opt_name(o->level, o->name);
            return rc;
        }
    }
    if (s->bind_dev[0] &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->bind_dev,
                   (socklen_t)strnlen(s->bind_dev, sizeof(s->bind_dev))) < 0) {
        *step = "SO_BINDTODEVICE";
        return -errno;
    }
    return 0;
}

/* A unix socket bound to a path leaves its file behind when closed, and
 * binding again needs it gone.  Only a socket file that nobody listens on
 * is removed: one that answers is an address in use (the process it was
 * saved from may still run). */
static int clear_unix_path(const struct crac_img_sock *s)
{
    const struct sockaddr_un *un = (const void *)s->addr;
    struct stat st;
    if (s->family != AF_UNIX || s->addr_len <= sizeof(sa_family_t) || !un->sun_path[0])
        return 0;
    char path[sizeof(un->sun_path) + 1];
    memcpy(path, un->sun_path, sizeof(un->sun_path));
    path[sizeof(un->sun_path)] = '\0';
    if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return 0;
    int c = socket(AF_UNIX, s->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc = 0;
    if (c < 0)
        return -errno;
    if (connect(c, (const struct sockaddr *)s->addr, s->addr_len) == 0 || errno == EAGAIN)
        rc = -EADDRINUSE;
    else if (errno == ECONNREFUSED)
        unlink(path);
    close(c);
    return rc;
}

int crac__sock_rebuild(const struct crac_img_sock *s, bool nonblock, const char **step)
{
    int fd = socket(s->family, s->type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
                    s->protocol);
    int rc = 0;
    if (fd < 0) {
        *step = "socket";
        return -errno;
    }
    rc = crac__sock_set_opts(fd, s, step);
    if (rc == 0 && (s->flags & CRAC_SOCK_BOUND)) {
        *step = "bind";
        rc = clear_unix_path(s);
        if (rc == 0 && bind(fd, (const struct sockaddr *)s->addr, s->addr_len) < 0)
            rc = -errno;
    }
    if (rc == 0 && (s->flags & CRAC_SOCK_LISTENING) && listen(fd, s->backlog) < 0) {
        *step = "listen";
        rc = -errno;
    }
    if (rc) {
        close(fd);
        return rc;
    }
    return fd;
}
