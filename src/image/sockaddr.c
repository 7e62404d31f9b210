/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What only sock_diag tells about a unix socket (its peer, a listener's
 * backlog, shutdown), and socket addresses as text.  The checker names
 * sockets with these; the dumper finds the other end of a socket pair
 * with them, with the other threads parked (system calls only).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "image/sock.h"

static void diag_attrs(const struct nlmsghdr *h, struct crac__unix_diag *out)
{
    const struct unix_diag_msg *m = NLMSG_DATA(h);
    size_t left = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
    const struct nlattr *a = (const void *)(m + 1);
    while (left >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
        const void *data = (const char *)a + NLA_HDRLEN;
        if (a->nla_type == UNIX_DIAG_PEER && a->nla_len >= NLA_HDRLEN + 4)
            out->peer_ino = *(const unsigned *)data;
        if (a->nla_type == UNIX_DIAG_SHUTDOWN && a->nla_len >= NLA_HDRLEN + 1)
            out->shutdown = *(const unsigned char *)data & 3;
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

int crac__unix_diag(unsigned long ino, struct crac__unix_diag *out)
{
    out->peer_ino = 0;
    out->rqueue = out->wqueue = -1;
    out->shutdown = -1;
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

void crac__unix_name(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t size)
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

void crac__sockaddr_text(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t size)
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
        crac__unix_name(ss, len, buf, size);
        if (!*buf)
            snprintf(buf, size, "(unnamed)");
    } else if (ss->ss_family == AF_NETLINK) {
        const struct sockaddr_nl *nl = (const void *)ss;
        snprintf(buf, size, "port id %u, groups 0x%x", nl->nl_pid, nl->nl_groups);
    } else {
        snprintf(buf, size, "(address of family %d)", ss->ss_family);
    }
}
