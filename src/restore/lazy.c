/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lazy restore, the restored process's half (the pager is the other,
 * pager*.c; docs/native-engine.md has the design and its measurements).
 *
 * Large anonymous regions are staged empty.  The blob registers them with
 * a userfaultfd (MISSING mode) at their final addresses; the parent process
 * (crac restore waiting for its child, or the pid namespace's init) holds
 * the other end and fills them, checked run by run, while the program
 * already runs.  Time to the first instruction then no longer grows with
 * the image.  With anonymous memory underneath, MADV_DONTNEED, MADV_FREE,
 * mremap, munmap and fork behave exactly as on eagerly restored memory
 * (the kernel reports each to the pager), whoever makes the call.
 *
 * The process keeps a copy of the userfaultfd: were the pager to die, the
 * kernel would otherwise release the registration and the process would
 * read zeros where its data was; with the copy it blocks in the fault and
 * its parent-death signal ends it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include "restore/lazy.h"

/* Below this much saved data a region is read at once: serving it would
 * cost a fault round trip (50 to 100 us here) where reading takes less. */
#define LAZY_MIN_BYTES (1UL << 20)

bool crac__lazy_region(const struct crac_img *img, size_t i)
{
    const struct crac_img_region *r = &img->regions[i];
    /* Private file mappings cannot be registered; stacks are touched at
     * once; memory the program cannot read could not be brought in before
     * a later checkpoint (MADV_POPULATE_READ). */
    return (r->kind == CRAC_RGN_ANON || r->kind == CRAC_RGN_HEAP) && r->runs_count &&
           (r->prot & PROT_READ) && !(r->flags & CRAC_RGN_F_WIPEONFORK) &&
           r->pages_saved * CRAC_PAGE >= LAZY_MIN_BYTES;
}

/* Where each thread resumes: its stack around the saved stack pointer
 * (the frames it returns through, the calls it makes next) and its TLS
 * around the thread pointer (the TCB above it, TLS variables below: the
 * stack protector's canary is read at once).  Faulting on these costs a
 * round trip per page before the first instruction gets anywhere, so the
 * runs they touch are read before the jump. */
#define HOT_BELOW (64UL << 10)
#define HOT_ABOVE (64UL << 10)

static void mark_hot(const struct crac_img *img, uint64_t at, bool *hot)
{
    uint64_t s = at > HOT_BELOW ? at - HOT_BELOW : 0, e = at + HOT_ABOVE;
    size_t lo = 0, hi = img->nruns;
    while (lo < hi) { /* the first run ending above s */
        size_t mid = (lo + hi) / 2;
        if (img->runs[mid].addr + img->runs[mid].npages * CRAC_PAGE <= s)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k < img->nruns && img->runs[k].addr < e; k++)
        hot[k] = true;
}

bool *crac__lazy_hot_runs(const struct crac_img *img)
{
    bool *hot = calloc(img->nruns + 1, sizeof(*hot));
    for (size_t t = 0; hot && t < img->nthreads; t++) {
        mark_hot(img, img->threads[t].ctx.rsp, hot);
        mark_hot(img, img->threads[t].ctx.fsbase, hot);
    }
    return hot;
}

bool crac__lazy_any(const struct crac_img *img)
{
    for (size_t i = 0; i < img->nregions; i++)
        if (crac__lazy_region(img, i))
            return true;
    return false;
}

int crac__lazy_prepare(struct crac__lazy *lz)
{
    lz->uffd = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, lz->sock) < 0) {
        lz->sock[0] = lz->sock[1] = -1;
        lz->why_not = "no socket pair for the pager";
        return -1;
    }
    lz->on = true;
    return 0;
}

void crac__lazy_drop(struct crac__lazy *lz)
{
    for (int i = 0; i < 2; i++)
        if (lz->sock[i] >= 0) {
            close(lz->sock[i]);
            lz->sock[i] = -1;
        }
    if (lz->uffd >= 0)
        close(lz->uffd);
    lz->uffd = -1;
    lz->on = false;
}

/* What the pager needs: faults, and every change to registered memory
 * (fork, mremap, MADV_DONTNEED/FREE/REMOVE, munmap).  EVENT_FORK needs
 * CAP_SYS_PTRACE, kernel-mode faults (read(2) into unserved memory) need
 * it too: without it the restore is eager.  POISON (6.6+) lets a run that
 * fails its checksum raise SIGBUS instead of being served. */
static int make_uffd(struct crac__lazy *lz)
{
    uint64_t need = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
                    UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP;
    struct uffdio_api api = {.api = UFFD_API, .features = need | CRAC__UFFD_FEATURE_POISON};
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        lz->why_not = errno == EPERM ? "userfaultfd needs CAP_SYS_PTRACE here"
                                     : "userfaultfd is not available";
        return -1;
    }
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        /* Without POISON (before 6.6) a bad run stops the process instead. */
        close(fd);
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
        api = (struct uffdio_api){.api = UFFD_API, .features = need};
        if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0) {
            lz->why_not = errno == EPERM ? "userfaultfd's fork events need CAP_SYS_PTRACE"
                                         : "this kernel's userfaultfd lacks a needed feature";
            if (fd >= 0)
                close(fd);
            return -1;
        }
    }
    if (!(api.ioctls & (1ULL << _UFFDIO_REGISTER))) {
        close(fd);
        lz->why_not = "userfaultfd cannot register memory";
        return -1;
    }
    lz->uffd = fd;
    return 0;
}

/* One message: a byte saying what it is ('U': here is the userfaultfd,
 * 'E': eager after all), with the descriptor attached to 'U'. */
static int send_uffd(int sock, int fd)
{
    char tag = fd >= 0 ? 'U' : 'E';
    struct iovec iov = {&tag, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } c;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    memset(&c, 0, sizeof(c));
    if (fd >= 0) {
        struct cmsghdr *cm;
        mh.msg_control = c.buf;
        mh.msg_controllen = sizeof(c.buf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
    }
    return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int crac__lazy_start(struct crac__lazy *lz)
{
    if (!lz->on)
        return -1;
    close(lz->sock[0]);
    lz->sock[0] = -1;
    if (make_uffd(lz) == 0 && send_uffd(lz->sock[1], lz->uffd) == 0)
        return 0;
    if (!lz->why_not)
        lz->why_not = "cannot hand the userfaultfd to the pager";
    (void)send_uffd(lz->sock[1], -1);
    crac__lazy_drop(lz);
    return -1;
}
