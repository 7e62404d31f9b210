/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A lazily restored process (src/restore/lazy.c): while `crac restore`, its
 * parent, still fills its memory, it holds a copy of the userfaultfd that
 * memory is registered with.  The copy is the library's (claimed: the
 * checker and the engine's descriptor scan skip it).  A checkpoint taken
 * before the pager is done must not read the memory as it is: pages not
 * yet served are absent, and the walk would save them as never touched.
 * So it brings them in first (the pager serves those faults), then gives
 * the memory back to the kernel and closes the copy.
 */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/core.h"
#include "native/dump.h"

static int lazy_fd = -1;
static pid_t lazy_pid; /* whose memory it is: a forked child's is not ours */

void crac__lazy_uffd_set(int fd)
{
    if (lazy_fd >= 0 && lazy_fd != fd) {
        crac__fd_release(lazy_fd);
        close(lazy_fd);
    }
    lazy_fd = fd;
    lazy_pid = fd >= 0 ? getpid() : 0;
    crac__fd_claim(fd);
}

/* One mapping still registered: every page in (absent ones are served,
 * removed ones come back as the zero page, which the walk skips), then
 * plain memory again. */
static int settle_one(void *arg, uint64_t start, uint64_t end)
{
    struct uffdio_range r = {start, end - start};
    (void)arg;
    if (madvise((void *)start, end - start, MADV_POPULATE_READ) < 0)
        return -errno;
    /* A forked child's copy acts on the parent's memory: never from there.
     * Its own registration goes when the pager is done with it. */
    if (getpid() == lazy_pid && ioctl(lazy_fd, UFFDIO_UNREGISTER, &r) < 0)
        return -errno;
    return 0;
}

int crac__lazy_settle(void)
{
    int rc;
    if (lazy_fd < 0)
        return 0;
    if ((rc = crac__smaps_flagged("um", settle_one, NULL)) < 0)
        return rc;
    crac__lazy_uffd_set(-1);
    return 0;
}
