/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rules given with `crac restore --policies FILE` decide about the saved
 * descriptors too, before anything is made: `close` (or `ignore`) keeps
 * one closed, `error` refuses the restore naming the rule, `reopen` opens
 * a file by its path whatever the path holds now (no check that it is the
 * file that was saved).  They match as at a checkpoint: on the kind, the
 * number, the path or the socket's addresses, as saved.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "image/sock.h"
#include "policy/policy.h"
#include "restore/fds.h"

static const enum crac__fd_kind kinds[CRAC_FDK_MAX + 1] = {
    [CRAC_FDK_FILE] = CRAC__FD_FILE,       [CRAC_FDK_DIR] = CRAC__FD_DIR,
    [CRAC_FDK_DEVICE] = CRAC__FD_DEVICE,   [CRAC_FDK_PIPE] = CRAC__FD_PIPE,
    [CRAC_FDK_SOCKETPAIR] = CRAC__FD_SOCKET, [CRAC_FDK_SOCKET] = CRAC__FD_SOCKET,
    [CRAC_FDK_EVENTFD] = CRAC__FD_EVENTFD, [CRAC_FDK_TIMERFD] = CRAC__FD_TIMERFD,
    [CRAC_FDK_SIGNALFD] = CRAC__FD_SIGNALFD, [CRAC_FDK_EPOLL] = CRAC__FD_EPOLL,
    [CRAC_FDK_GONE] = CRAC__FD_SOCKET,
};

static const char *const links[CRAC_FDK_MAX + 1] = {
    [CRAC_FDK_PIPE] = "pipe:[]",
    [CRAC_FDK_EVENTFD] = "anon_inode:[eventfd]",
    [CRAC_FDK_TIMERFD] = "anon_inode:[timerfd]",
    [CRAC_FDK_SIGNALFD] = "anon_inode:[signalfd]",
    [CRAC_FDK_EPOLL] = "anon_inode:[eventpoll]",
};

/* What a rule matches on, as the checker would have seen it. */
static void as_seen(const struct crac_img *img, const struct crac_img_fd *f,
                    struct crac__fd_info *fi)
{
    const struct crac_img_fd *o = crac__img_fd_object(img, f);
    memset(fi, 0, sizeof(*fi));
    fi->fd = f->fd;
    fi->kind = kinds[o->kind];
    fi->flags = (int)o->flags;
    fi->cloexec = f->cloexec;
    fi->pos = -1;
    if (o->path)
        snprintf(fi->path, sizeof(fi->path), "%s", crac__img_str(img, o->path));
    else if (links[o->kind])
        snprintf(fi->path, sizeof(fi->path), "%s", links[o->kind]);
    if (o->kind == CRAC_FDK_SOCKET || o->kind == CRAC_FDK_SOCKETPAIR) {
        const struct crac_img_sock *s = crac__img_fd_sock(img, o);
        fi->st.st_mode = S_IFSOCK;
        fi->sock.family = s->family;
        fi->sock.type = s->type;
        fi->sock.protocol = s->protocol;
        fi->sock.listening = s->flags & CRAC_SOCK_LISTENING;
        fi->sock.connected = o->kind == CRAC_FDK_SOCKETPAIR;
        fi->sock.local_len = s->addr_len;
        memcpy(&fi->sock.local, s->addr, s->addr_len);
        if (s->family == AF_UNIX)
            crac__unix_name(&fi->sock.local, fi->sock.local_len, fi->path, sizeof(fi->path));
    }
}

int crac__fdplan_rules(struct crac__fdplan *p, const char *policies, crac_error **err)
{
    struct crac__fd_info *fi;
    if (!policies || !*policies)
        return 0;
    if (crac__policies_load_restore(policies, err) < 0 || !(fi = malloc(sizeof(*fi))))
        return -1;
    for (size_t i = 0; i < p->img->nfds && !*err; i++) {
        struct crac__policy_hit hit;
        as_seen(p->img, &p->img->fds[i], fi);
        crac__policy_match_fd(fi, &hit);
        if (!hit.matched)
            continue;
        p->skip[i] = hit.action == CRAC__ACT_CLOSE || hit.action == CRAC__ACT_IGNORE;
        p->any_file[i] = hit.action == CRAC__ACT_REOPEN;
        if (hit.action == CRAC__ACT_ERROR)
            *err = crac__error_src("restore", "fd %d: policy %s given at restore says error",
                                   fi->fd, hit.where);
        else if (p->skip[i] && hit.warn)
            fprintf(stderr, "crac restore: fd %d stays closed (policy %s: %s)\n", fi->fd,
                    hit.where, crac__action_name(hit.action));
    }
    free(fi);
    return *err ? -1 : 0;
}
