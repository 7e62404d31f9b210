/* SPDX-License-Identifier: Apache-2.0 */
/* Policy rules as parsed (policy_parse.c) and matched (policy.c).  The
 * format is described in docs/policies.md. */
#ifndef CRAC_RULES_H
#define CRAC_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/* What a rule's first word names. */
enum crac__ptype {
    CRAC__PT_FD,   /* any descriptor */
    CRAC__PT_FILE, CRAC__PT_DIR, CRAC__PT_PIPE, CRAC__PT_SOCKET, CRAC__PT_DEVICE,
    CRAC__PT_EVENTFD, CRAC__PT_EPOLL, CRAC__PT_TIMERFD, CRAC__PT_SIGNALFD,
    CRAC__PT_INOTIFY, CRAC__PT_MEMFD, CRAC__PT_IO_URING, CRAC__PT_PIDFD, CRAC__PT_ANON,
    /* not descriptors */
    CRAC__PT_CHILD, CRAC__PT_TIMER, CRAC__PT_MAPPING,
    CRAC__PT_COUNT
};

/* family=inet: either of AF_INET and AF_INET6. */
#define CRAC__FAMILY_INET (-2)

struct crac__addr_match {
    bool set;
    int family;                /* AF_INET or AF_INET6 (v4-mapped v6 compare as v4) */
    unsigned char addr[16];
    int prefix;                /* bits that must be equal */
};

struct crac__rule {
    enum crac__ptype type;
    enum crac__action action;
    bool warn;
    char *glob;                /* path=, NULL: any */
    int fd_lo, fd_hi;          /* fd=, -1: any */
    int family;                /* family=, 0: any */
    int socktype;              /* socktype=, 0: any */
    int proto;                 /* proto= (IPPROTO_TCP/UDP), -1: any */
    int listening;             /* listening=, -1: any */
    struct crac__addr_match laddr, raddr;
    int lport_lo, lport_hi, rport_lo, rport_hi; /* -1: any */
    int line;
};

struct crac__ruleset {
    char *file;                /* where the rules came from */
    struct crac__rule *rules;
    size_t n;
};

/* Parses a policies file.  0, or -1 with *err ("policies FILE:LINE: ...",
 * source "crac"); *out is left empty on failure. */
int crac__policy_parse(const char *path, struct crac__ruleset *out, crac_error **err);
void crac__ruleset_free(struct crac__ruleset *rs);

#endif
