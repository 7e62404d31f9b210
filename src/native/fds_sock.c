/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sockets, as the native engine saves them: a listening, bound or never
 * used socket is described (src/image/sock.c) and rebuilt at restore; a
 * unix socket connected to another socket of this process (a socket pair)
 * is saved with the bytes or datagrams waiting in it, read with MSG_PEEK
 * at a moving SO_PEEK_OFF so that nothing is taken and datagram
 * boundaries are kept.  Connections to anything else are refused.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "image/sock.h"
#include "native/fds.h"

/* The receive queue of a socket pair's end, appended to the data after
 * its description: all bytes of a stream, each datagram with its length. */
static int peek_queue(struct crac__fdscan *s, struct crac__fdent *e, int type)
{
    int old = -1, zero = 0, rc = 0, waiting = 0;
    socklen_t len = sizeof(old);
    if (getsockopt(e->fd, SOL_SOCKET, SO_PEEK_OFF, &old, &len) < 0 ||
        setsockopt(e->fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0)
        return -errno;
    if (type == SOCK_STREAM && ioctl(e->fd, FIONREAD, &waiting) < 0)
        rc = -errno;
    for (;;) {
        size_t room = CRAC__FDSCAN_DATA - s->data_len, hdr = type == SOCK_STREAM ? 0 : 4;
        struct iovec iov = {s->data + s->data_len + hdr, room > hdr ? room - hdr : 0};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        if (rc || (type == SOCK_STREAM && waiting <= 0))
            break;
        ssize_t n = recvmsg(e->fd, &m, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0) {
            rc = errno == EAGAIN ? 0 : -errno;
            break;
        }
        if ((m.msg_flags & MSG_TRUNC) || (type == SOCK_STREAM && n == 0)) {
            rc = (m.msg_flags & MSG_TRUNC) ? -ENOSPC : -EIO;
            break;
        }
        uint32_t n32 = (uint32_t)n;
        if (hdr)
            memcpy(s->data + s->data_len, &n32, sizeof(n32));
        s->data_len += hdr + (size_t)n;
        e->rec.data_len += hdr + (uint64_t)n;
        waiting -= (int)n;
    }
    if (setsockopt(e->fd, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old)) < 0 && !rc)
        rc = -errno;
    return rc;
}

/* A unix socket connected to another: saved as a socket pair when the
 * other end is ours (fds_pairs() checks that), refused otherwise. */
static int unix_connected(struct crac__fdscan *s, struct crac__fdent *e,
                          const struct crac_img_sock *k)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    struct crac__unix_diag d;
    const char *scm;
    int rc;
    if (getpeername(e->fd, (struct sockaddr *)&peer, &len) < 0)
        len = 0;
    if ((k->flags & CRAC_SOCK_BOUND) || len > sizeof(sa_family_t)) {
        crac__fdscan_refuse(e, "a unix socket connected to a named socket is not restored "
                               "(only unnamed socket pairs are)", -1);
        return 0;
    }
    if ((rc = crac__unix_diag((unsigned long)e->st.st_ino, &d)) < 0 ||
        (rc = crac__fdscan_fdinfo(s, e->fd)) < 0)
        return rc;
    e->rec.kind = CRAC_FDK_SOCKETPAIR;
    e->peer_ino = d.peer_ino;
    e->rec.u.pair.shutdown = d.shutdown < 0 ? 0 : (uint32_t)d.shutdown;
    if ((scm = crac__fdscan_field(s, "scm_fds:")) && crac__fdscan_num(scm, 10))
        crac__fdscan_refuse(e, "descriptors sent through it (SCM_RIGHTS) are waiting in it", -1);
    else if (k->type == SOCK_SEQPACKET && (e->rec.u.pair.shutdown & 1))
        crac__fdscan_refuse(e, "a seqpacket socket pair shut down for reading is not restored", -1);
    else if (s->capture)
        return peek_queue(s, e, k->type);
    return 0;
}

static int tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 ? ti.tcpi_state : -1;
}

static bool connected(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof(a);
    return getpeername(fd, (struct sockaddr *)&a, &len) == 0;
}

/* Why an IPv4/IPv6 socket is not restored, NULL when it is. */
static const char *inet_refusal(int fd, const struct crac_img_sock *k)
{
    enum { TCP_CLOSE_STATE = 7 };
    if (k->type == SOCK_STREAM && k->protocol == IPPROTO_TCP) {
        if (k->flags & CRAC_SOCK_LISTENING)
            return NULL;
        if (connected(fd) || tcp_state(fd) != TCP_CLOSE_STATE)
            return "a TCP connection cannot be restored (close it before the checkpoint, or "
                   "a `close` rule)";
        return NULL;
    }
    if (k->type == SOCK_DGRAM && k->protocol == IPPROTO_UDP)
        return connected(fd) ? "a connected UDP socket is not restored" : NULL;
    return "a raw or other IP socket is not restored";
}

int crac__fdscan_socket(struct crac__fdscan *s, struct crac__fdent *e)
{
    long off = crac__fdscan_reserve(s, sizeof(struct crac_img_sock));
    struct crac_img_sock *k;
    const char *why = NULL;
    int rc;
    if (off < 0)
        return (int)off;
    k = (void *)(s->data + off);
    /* The options first: SO_PEEK_OFF is one, and reading the queue moves it. */
    if ((rc = crac__sock_capture(e->fd, k)) < 0)
        return rc;
    e->rec.data_off = (uint64_t)off;
    e->rec.data_len = sizeof(*k);
    if (k->family == AF_INET || k->family == AF_INET6)
        why = inet_refusal(e->fd, k);
    else if (k->family != AF_UNIX)
        why = "a socket of this family (netlink, packet, ...) is not restored";
    else if (!(k->flags & CRAC_SOCK_LISTENING) && connected(e->fd))
        return unix_connected(s, e, k);
    if (why)
        crac__fdscan_refuse(e, why, -1);
    return 0;
}

/* Each end of a socket pair finds the other among our descriptors. */
void crac__fdscan_pairs(struct crac__fdscan *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct crac__fdent *e = &s->ents[i], *p = NULL;
        if (e->rec.kind != CRAC_FDK_SOCKETPAIR || e->same != (int)i || e->gone)
            continue;
        for (size_t j = 0; j < s->n && e->peer_ino && !p; j++)
            if (j != i && s->ents[j].same == (int)j && s->ents[j].st.st_ino == e->peer_ino &&
                S_ISSOCK(s->ents[j].st.st_mode))
                p = &s->ents[j];
        if (!p)
            crac__fdscan_refuse(e, e->peer_ino ? "its other end is held by another process"
                                               : "its other end was closed", -1);
        else if (p->gone)
            crac__fdscan_refuse(e, "its other end, fd %d, is closed by a policy", p->fd);
        else if (p->rec.kind != CRAC_FDK_SOCKETPAIR || p->peer_ino != e->st.st_ino)
            crac__fdscan_refuse(e, "its other end, fd %d, is connected elsewhere", p->fd);
        else if (crac__fdscan_refused(s, p))
            crac__fdscan_refuse(e, "its other end, fd %d, cannot be restored", p->fd);
        else
            e->rec.u.pair.peer = p->fd;
    }
}
