/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sockets: family, type, addresses, TCP state, listening backlog, peers.
 *
 * Everything comes from the descriptor itself (getsockname, getpeername,
 * getsockopt, TCP_INFO), which is cheaper and more exact than matching
 * /proc/net/{tcp,udp,unix} lines by inode.  Unix sockets need sock_diag
 * (src/image/sockaddr.c) for what no socket option tells: the peer's inode
 * (so that the other end of a socketpair can be named as "fd 7 of this
 * process") and a listening socket's backlog.
 */
#include <errno.h>
#include <linux/netlink.h>
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
#include "image/sock.h"

/* ---- inspecting ---- */

static int opt_int(int fd, int level, int name, int def)
{
    int v;
    socklen_t len = sizeof(v);
    return getsockopt(fd, level, name, &v, &len) == 0 ? v : def;
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
        crac__unix_name(&si->local, si->local_len, name, name_size);
        if (si->listening) {
            struct stat st;
            struct crac__unix_diag d;
            if (fstat(fd, &st) == 0 && crac__unix_diag(st.st_ino, &d) == 0) {
                si->backlog = (int)d.wqueue;
                si->pending = (int)d.rqueue;
            }
        }
    }
}

/* ---- naming ---- */

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
    crac__sockaddr_text(&si->local, si->local_len, local, sizeof(local));
    crac__sockaddr_text(&si->remote, si->remote_len, remote, sizeof(remote));
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
    struct crac__unix_diag d;
    if (crac__unix_diag(fi->st.st_ino, &d) == 0 && d.peer_ino) {
        for (size_t i = 0; t && i < t->n; i++)
            if (t->fds[i] != fi->fd && (unsigned long)t->st[i].st_ino == d.peer_ino &&
                S_ISSOCK(t->st[i].st_mode)) {
                crac__sb_printf(sb, ", connected to fd %d of this process", t->fds[i]);
                return;
            }
    }
    char name[110];
    crac__sockaddr_text(&si->remote, si->remote_len, name, sizeof(name));
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
        crac__sockaddr_text(&si->local, si->local_len, local, sizeof(local));
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
