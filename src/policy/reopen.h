/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The descriptor handlers: what the `close` and `reopen` policies do.
 * fd_policy.c is the FD-tier resource (acts last before a checkpoint,
 * first after a restore); reopen.c knows how to take a file or a listening
 * socket apart and build it again on the same descriptor number.
 */
#ifndef CRAC_HANDLERS_H
#define CRAC_HANDLERS_H

#include <stdbool.h>

#include "checker/checker.h"
#include "image/format.h"

#define CRAC__REOPEN_MAX_EPOLL 8

/* An epoll instance that watched the descriptor: it is added back there. */
struct crac__epoll_watch {
    int epfd;
    unsigned events;
    unsigned long long data;
};

/* Everything needed to open the same thing again. */
struct crac__reopen {
    int fd;
    enum crac__fd_kind kind;
    bool cloexec;
    int flags;                  /* F_GETFL: access mode and status flags */
    char *path;                 /* files and directories */
    long long pos;              /* file offset, -1: none */
    struct crac_img_sock sock;  /* sockets: as the native engine saves them (src/image/sock.c) */
    struct crac__epoll_watch watches[CRAC__REOPEN_MAX_EPOLL];
    int nwatches;
};

/* Reads what reopening fi->fd needs.  0, or -1 with *err. */
int crac__reopen_capture(const struct crac__fd_info *fi, struct crac__reopen *r, crac_error **err);
/* Opens it again on r->fd (which must be free).  0, or -1 with *err naming
 * the descriptor and path. */
int crac__reopen_apply(const struct crac__reopen *r, const char *desc, crac_error **err);
/* The same with system calls only (other threads may be parked holding the
 * allocator's or stdio's locks): 0, or -errno with *step naming what failed
 * (-EBUSY: the number is taken).  crac__reopen_error() words the failure. */
int crac__reopen_raw(const struct crac__reopen *r, const char **step);
crac_error *crac__reopen_error(const struct crac__reopen *r, const char *desc, int rc,
                               const char *step);
void crac__reopen_free(struct crac__reopen *r);

#endif
