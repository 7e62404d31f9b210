/* SPDX-License-Identifier: Apache-2.0 */
/* What every maker of saved descriptors uses (restore/fds.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "restore/fds.h"

int crac__fdplan_index(const struct crac__fdplan *p, int fd)
{
    const struct crac_img_fd *f = crac__img_fd(p->img, fd);
    return f ? (int)(f - p->img->fds) : -1;
}

bool crac__fdplan_wanted(const struct crac__fdplan *p, size_t i)
{
    int first = p->img->fds[i].same_as >= 0 ? crac__fdplan_index(p, p->img->fds[i].same_as)
                                             : (int)i;
    for (size_t j = (size_t)first; j < p->img->nfds; j++)
        if ((j == (size_t)first || p->img->fds[j].same_as == p->img->fds[first].fd) && !p->skip[j])
            return true;
    return false;
}

int crac__fdplan_place(struct crac__fdplan *p, int got, size_t i)
{
    const struct crac_img_fd *f = &p->img->fds[i];
    if (got == f->fd) {
        if (!f->cloexec && fcntl(got, F_SETFD, 0) < 0)
            return -errno;
    } else {
        int rc = dup3(got, f->fd, f->cloexec ? O_CLOEXEC : 0) < 0 ? -errno : 0;
        close(got);
        if (rc)
            return rc;
    }
    p->made[i] = true;
    return 0;
}
