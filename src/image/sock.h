/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sockets as the image holds them (struct crac_img_sock): taken apart
 * from a descriptor and built again.  Shared by the native engine's
 * dumper (which saves listening and bound sockets), `crac restore` (which
 * rebuilds them) and the `reopen` policy (which closes and reopens one in
 * the same process), so that all three carry over the same options the
 * same way.  Also what only sock_diag tells about a unix socket, and
 * socket addresses as text, for the checker and `crac image info`.
 *
 * Capturing uses system calls only and no heap: the dumper calls it with
 * the other threads parked.
 */
#ifndef CRAC_IMAGE_SOCK_H
#define CRAC_IMAGE_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include "image/format.h"

/* Family, type, protocol, bound address, listening and backlog, the
 * options worth carrying over, SO_BINDTODEVICE.  0 or -errno. */
int crac__sock_capture(int fd, struct crac_img_sock *s);
/* What makes s something the dumper never writes (an unknown family or
 * option, a listening datagram socket, an address of another family...),
 * or NULL. */
const char *crac__sock_problem(const struct crac_img_sock *s);
/* A new socket like s (bound, listening, options set; O_CLOEXEC, plus
 * O_NONBLOCK when nonblock): its descriptor, or -errno with *step naming
 * the call that failed ("bind": the address is taken).  A unix socket's
 * file left behind by a socket nobody listens on any more is removed
 * first; one somebody listens on is an address in use (-EADDRINUSE). */
int crac__sock_rebuild(const struct crac_img_sock *s, bool nonblock, const char **step);
/* Sets on fd the options of s that differ from what it has.  0 or -errno
 * with *step naming the option. */
int crac__sock_set_opts(int fd, const struct crac_img_sock *s, const char **step);

/* What sock_diag tells about a unix socket (by inode). */
struct crac__unix_diag {
    unsigned long peer_ino; /* 0: none */
    long rqueue, wqueue;    /* listening: pending and max backlog; -1 unknown */
    int shutdown;           /* -1 unknown, else bit 0 receive, bit 1 send */
};
/* One exact request by inode.  0 or -errno.  System calls only. */
int crac__unix_diag(unsigned long ino, struct crac__unix_diag *out);

/* "1.2.3.4:80", "[::1]:80", "/run/x.sock", "@abstract", "(unnamed)", ... */
void crac__sockaddr_text(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t size);
/* A unix socket's name: its path, "@name" when abstract, "" unnamed. */
void crac__unix_name(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t size);

#endif
