/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sockets: family, type, addresses, TCP state, listening backlog, peers.
 *
 * Everything comes from the descriptor itself (getsockname, getpeername,
 * getsockopt, TCP_INFO), which is cheaper and more exact than matching
 * /proc/net/{tcp,udp,unix} lines by inode.  Unix sockets need sock_diag
 * for what no socket option tells: the peer's inode (so that the other end
 * of a socketpair can be named as "fd 7 of this process") and a listening
 * socket's backlog.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <unistd.h>

#include "checker/checker.h"

/* ---- sock_diag for unix sockets ---- */
struct unix_diag {
    unsigned long peer_ino; /* 0: none */
    long rqueue, wqueue;    /* listening: pending and max backlog; -1 unknown */
};

static void diag_attrs(const struct nlmsghdr *h, struct unix_diag *out)
{
    const struct unix_diag_msg *m = NLMSG_DATA(h);
    size_t left = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
    const struct nlattr *a = (const void *)(m + 1);
    while (left >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
        const void *data = (const char *)a + NLA_HDRLEN;
        if (a->nla_type == UNIX_DIAG_PEER && a->nla_len >= NLA_HDRLEN + 4)
            out->peer_ino = *(const unsigned *)data;
        if (a->nla_type == UNIX_DIAG_RQLEN && a->nla_len >= NLA_HDRLEN + sizeof(struct unix_diag_rqlen)) {
            const struct unix_diag_rqlen *q = data;
            out->rqueue = q->udiag_rqueue;
            out->wqueue = q->udiag_wqueue;
        }
        size_t step = NLA_ALIGN(a->nla_len);
        if (step > left)
            break;
        left -= step;
        a = (const void *)((const char *)a + step);
    }
}

/* One exact request by inode.  0 or -errno. */
static int unix_diag(unsigned long ino, struct unix_diag *out)
{
    out->peer_ino = 0;
    out->rqueue = out->wqueue = -1;
    int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (s < 0)
        return -errno;
    struct {
        struct nlmsghdr h;
        struct unix_diag_req r;
    } req = {
        .h = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
              .nlmsg_flags = NLM_F_REQUEST},
        .r = {.sdiag_family = AF_UNIX, .udiag_ino = (unsigned)ino,
              .udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN,
              /* no cookie: look the socket up by inode alone */
              .udiag_cookie = {~0U, ~0U}},
    };
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    long buf[1024];
    int rc = -EIO;
    if (sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
        rc = -errno;
    } else {
        ssize_t n = recv(s, buf, sizeof(buf), 0);
        const struct nlmsghdr *h = (const void *)buf;
        if (n > 0 && NLMSG_OK(h, (size_t)n) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            diag_attrs(h, out);
            rc = 0;
        }
    }
    close(s);
    return rc;
}

/* ---- inspecting ---- */

static int opt_int(int fd, int level, int name, int def)
{
    int v;
    socklen_t len = sizeof(v);
    return getsockopt(fd, level, name, &v, &len) == 0 ? v : def;
}

static void unix_name(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t size)
{
    const struct sockaddr_un *un = (const void *)ss;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (len <= off) {
        snprintf(buf, size, "%s", "");
    } else if (un->sun_path[0] == '\0') {
        /* abstract: "@" and the name, NULs shown as '@' as ss(8) does */
        size_t n = len - off - 1, i;
        if (n + 2 > size)
            n = size - 2;
        buf[0] = '@';
        for (i = 0; i < n; i++)
            buf[i + 1] = un->sun_path[i + 1] ? un->sun_path[i + 1] : '@';
        buf[i + 1] = '\0';
    } else {
        snprintf(buf, size, "%.*s", (int)strnlen(un->sun_path, len - off), un->sun_path);
    }
}

void crac__sock_inspect(int fd, struct crac__sock_info *si, char *name, size_t name_size)
{
    memset(si, 0, sizeof(*si));
    si->backlog = si->pending = -1;
    si->family = opt_int(fd, SOL_SOCKET, SO_DOMAIN, -1);
    si->type = opt_int(fd, SOL_SOCKET, SO_TYPE, -1);
    si->protocol = opt_int(fd, SOL_SOCKET, SO_PROTOCOL, -1);
    si->listening = opt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, 0) == 1;
    si->local_len = sizeof(si->local);
    if (getsockname(fd, (struct sockaddr *)&si->local, &si->local_len) < 0)
        si->local_len = 0;
    si->remote_len = sizeof(si->remote);
    si->connected = getpeername(fd, (struct sockaddr *)&si->remote, &si->remote_len) == 0;
    if (!si->connected)
        si->remote_len = 0;
    if ((si->family == AF_INET || si->family == AF_INET6) && si->protocol == IPPROTO_TCP) {
        struct tcp_info ti;
        socklen_t len = sizeof(ti);
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
            si->tcp_state = ti.tcpi_state;
            if (si->listening) {
                /* for a listening socket the kernel reports the accept
                 * queue here: sacked = max backlog, unacked = queued */
                si->backlog = (int)ti.tcpi_sacked;
                si->pending = (int)ti.tcpi_unacked;
            }
        }
    }
    if (si->family == AF_UNIX) {
        unix_name(&si->local, si->local_len, name, name_size);
        if (si->listening) {
            struct stat st;
            struct unix_diag d;
            if (fstat(fd, &st) == 0 && unix_diag(st.st_ino, &d) == 0) {
                si->backlog = (int)d.wqueue;
                si->pending = (int)d.rqueue;
            }
        }
    }
}

/* ---- naming ---- */

static void sockaddr_text(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN];
    if (len == 0) {
        snprintf(buf, size, "(none)");
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)ss;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
        snprintf(buf, size, "%s:%u", a, ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
        if (in6->sin6_scope_id)
            snprintf(buf, size, "[%s%%%u]:%u", a, in6->sin6_scope_id, ntohs(in6->sin6_port));
        else
            snprintf(buf, size, "[%s]:%u", a, ntohs(in6->sin6_port));
    } else if (ss->ss_family == AF_UNIX) {
        unix_name(ss, len, buf, size);
        if (!*buf)
            snprintf(buf, size, "(unnamed)");
    } else if (ss->ss_family == AF_NETLINK) {
        const struct sockaddr_nl *nl = (const void *)ss;
        snprintf(buf, size, "port id %u, groups 0x%x", nl->nl_pid, nl->nl_groups);
    } else {
        snprintf(buf, size, "(address of family %d)", ss->ss_family);
    }
}

static const char *tcp_state_name(int s)
{
    static const char *const names[] = {
        "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
        "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV",
    };
    return s > 0 && s < (int)(sizeof(names) / sizeof(names[0])) ? names[s] : "state unknown";
}

static const char *type_name(int type)
{
    switch (type) {
    case SOCK_STREAM: return "stream";
    case SOCK_DGRAM: return "datagram";
    case SOCK_SEQPACKET: return "seqpacket";
    case SOCK_RAW: return "raw";
    default: return "other";
    }
}

static const char *netlink_name(int proto)
{
    switch (proto) {
    case NETLINK_ROUTE: return "NETLINK_ROUTE";
    case NETLINK_SOCK_DIAG: return "NETLINK_SOCK_DIAG";
    case NETLINK_AUDIT: return "NETLINK_AUDIT";
    case NETLINK_KOBJECT_UEVENT: return "NETLINK_KOBJECT_UEVENT";
    case NETLINK_GENERIC: return "NETLINK_GENERIC";
    case NETLINK_NETFILTER: return "NETLINK_NETFILTER";
    case NETLINK_XFRM: return "NETLINK_XFRM";
    case NETLINK_CONNECTOR: return "NETLINK_CONNECTOR";
    default: return "protocol";
    }
}

static void waiting(int fd, struct crac__sb *sb)
{
    int n;
    if (ioctl(fd, FIONREAD, &n) == 0 && n > 0)
        crac__sb_printf(sb, ", %d byte%s waiting to be read", n, n == 1 ? "" : "s");
}

static void listening_text(const struct crac__sock_info *si, struct crac__sb *sb)
{
    if (si->backlog >= 0)
        crac__sb_printf(sb, " (backlog %d, %d connection%s waiting to be accepted)", si->backlog,
                        si->pending, si->pending == 1 ? "" : "s");
}

static void describe_inet(const struct crac__fd_info *fi, struct crac__sb *sb)
{
    const struct crac__sock_info *si = &fi->sock;
    const char *fam = si->family == AF_INET ? "IPv4" : "IPv6";
    char local[96], remote[96];
    sockaddr_text(&si->local, si->local_len, local, sizeof(local));
    sockaddr_text(&si->remote, si->remote_len, remote, sizeof(remote));
    if (si->protocol == IPPROTO_TCP) {
        crac__sb_printf(sb, "TCP/%s socket, ", fam);
        if (si->listening) {
            crac__sb_printf(sb, "listening on %s", local);
            listening_text(si, sb);
            return;
        }
        crac__sb_printf(sb, "%s, local %s", tcp_state_name(si->tcp_state), local);
        if (si->connected)
            crac__sb_printf(sb, ", remote %s", remote);
    } else {
        if (si->protocol == IPPROTO_UDP)
            crac__sb_printf(sb, "UDP/%s socket", fam);
        else
            crac__sb_printf(sb, "%s %s socket, protocol %d", type_name(si->type), fam, si->protocol);
        crac__sb_printf(sb, ", local %s", local);
        if (si->connected)
            crac__sb_printf(sb, ", connected to %s", remote);
        else
            crac__sb_printf(sb, ", not connected");
    }
    waiting(fi->fd, sb);
}

/* Names the peer of a connected unix socket: a descriptor of this process
 * when we hold it (a socketpair), else its name and the peer's pid. */
static void unix_peer(const struct crac__fd_info *fi, const struct crac__fd_table *t,
                      struct crac__sb *sb)
{
    const struct crac__sock_info *si = &fi->sock;
    struct unix_diag d;
    if (unix_diag(fi->st.st_ino, &d) == 0 && d.peer_ino) {
        for (size_t i = 0; t && i < t->n; i++)
            if (t->fds[i] != fi->fd && (unsigned long)t->st[i].st_ino == d.peer_ino &&
                S_ISSOCK(t->st[i].st_mode)) {
                crac__sb_printf(sb, ", connected to fd %d of this process", t->fds[i]);
                return;
            }
    }
    char name[110];
    sockaddr_text(&si->remote, si->remote_len, name, sizeof(name));
    crac__sb_printf(sb, ", connected to %s", name);
    if (d.peer_ino)
        crac__sb_printf(sb, " (socket inode %lu)", d.peer_ino);
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fi->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0)
        crac__sb_printf(sb, " of process %d", (int)cred.pid);
}

static void describe_unix(const struct crac__fd_info *fi, const struct crac__fd_table *t,
                          struct crac__sb *sb)
{
    const struct crac__sock_info *si = &fi->sock;
    crac__sb_printf(sb, "unix %s socket %s", type_name(si->type), *fi->path ? fi->path : "(unnamed)");
    if (si->listening) {
        crac__sb_printf(sb, ", listening");
        listening_text(si, sb);
        return;
    }
    if (si->connected)
        unix_peer(fi, t, sb);
    else
        crac__sb_printf(sb, ", not connected");
    waiting(fi->fd, sb);
}

void crac__sock_describe(const struct crac__fd_info *fi, const struct crac__fd_table *t,
                         struct crac__sb *sb)
{
    const struct crac__sock_info *si = &fi->sock;
    char local[96];
    switch (si->family) {
    case AF_INET:
    case AF_INET6:
        describe_inet(fi, sb);
        break;
    case AF_UNIX:
        describe_unix(fi, t, sb);
        break;
    case AF_NETLINK:
        sockaddr_text(&si->local, si->local_len, local, sizeof(local));
        crac__sb_printf(sb, "netlink socket, %s (%d), %s", netlink_name(si->protocol), si->protocol,
                        local);
        break;
    case AF_PACKET:
        crac__sb_printf(sb, "packet socket (%s)", type_name(si->type));
        break;
    default:
        crac__sb_printf(sb, "%s socket of family %d (%s)", type_name(si->type), si->family,
                        fi->path);
        break;
    }
}
