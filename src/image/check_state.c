/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rest of the process section, which the restored process applies to
 * itself (src/native/procstate.c): signal handlers that run saved code,
 * limits the kernel takes, timers, the working directory, names.  A value
 * the kernel would refuse there only costs a warning, but one it takes
 * (a handler pointing nowhere, a limit above its maximum) would make the
 * restored process other than the one saved.
 */
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include "image/check.h"

/* The flags the kernel keeps (it clears others when a handler is set). */
#define SA_KNOWN                                                                  \
    (SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | \
     SA_RESETHAND | 0x04000000u /* SA_RESTORER */ | 0x800u /* SA_EXPOSE_TAGBITS */)
#define SA_RESTORER_FLAG 0x04000000u
/* The personality flags of <sys/personality.h>; the kinds x86_64 runs. */
#define PER_FLAGS                                                                       \
    (UNAME26 | ADDR_NO_RANDOMIZE | FDPIC_FUNCPTRS | MMAP_PAGE_ZERO | ADDR_COMPAT_LAYOUT | \
     READ_IMPLIES_EXEC | ADDR_LIMIT_32BIT | SHORT_INODE | WHOLE_SECONDS | STICKY_TIMEOUTS | \
     ADDR_LIMIT_3GB)
#define PID_MAX_LIMIT (4 * 1024 * 1024) /* the kernel's, on 64-bit machines */
#define TIME_MAX (1ULL << 62)

/* A handler is SIG_DFL, SIG_IGN or saved code, and returns through a
 * restorer (x86_64 delivers no signal to a handler without one). */
static int check_sigaction(const struct crac_img *img, int sig, crac_error **err)
{
    const struct crac_ksigaction *a = &img->proc->sigaction[sig - 1];
    bool fn = a->handler > 1;
    const char *what = NULL;
    if (a->flags & ~(uint64_t)SA_KNOWN)
        what = "unknown flags";
    else if ((sig == SIGKILL || sig == SIGSTOP) && (a->handler || a->flags))
        what = "a handler for a signal that cannot have one";
    else if (fn && !crac__img_mem_has(img, a->handler, 1, PROT_EXEC))
        what = "a handler outside executable saved memory";
    else if (fn && (!(a->flags & SA_RESTORER_FLAG) ||
                    !crac__img_mem_has(img, a->restorer, 1, PROT_EXEC)))
        what = "a handler without a restorer in executable saved memory";
    if (what)
        return crac__img_refuse(img, err, "process: signal %d: %s (handler %#" PRIx64 ", flags %#"
                                PRIx64 ", restorer %#" PRIx64 ")", sig, what, a->handler,
                                a->flags, a->restorer);
    return 0;
}

static int check_signals(const struct crac_img *img, crac_error **err)
{
    uint64_t never = (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1));
    for (int sig = 1; sig <= CRAC_NSIG; sig++)
        if (check_sigaction(img, sig, err))
            return -1;
    if (img->proc->sigmask & never)
        return crac__img_refuse(img, err, "process: signal mask %#" PRIx64 " blocks SIGKILL or "
                                "SIGSTOP", img->proc->sigmask);
    return 0;
}

static int check_limits(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_proc *p = img->proc;
    for (int i = 0; i < CRAC_NRLIMIT; i++)
        if (p->rlimit[i][0] > p->rlimit[i][1])
            return crac__img_refuse(img, err, "process: rlimit %d: soft limit %" PRIu64 " above "
                                    "the hard limit %" PRIu64, i, p->rlimit[i][0],
                                    p->rlimit[i][1]);
    for (int i = 0; i < 3; i++)
        if (p->itimer[i][0] >= TIME_MAX || p->itimer[i][2] >= TIME_MAX ||
            p->itimer[i][1] >= 1000000 || p->itimer[i][3] >= 1000000)
            return crac__img_refuse(img, err, "process: interval timer %d is not a time "
                                    "(%" PRIu64 ".%06" PRIu64 " s every %" PRIu64 ".%06" PRIu64
                                    " s)", i, p->itimer[i][2], p->itimer[i][3], p->itimer[i][0],
                                    p->itimer[i][1]);
    if (p->monotonic_ns >= TIME_MAX || p->boottime_ns >= TIME_MAX ||
        p->monotonic_ns > p->boottime_ns)
        return crac__img_refuse(img, err, "process: clocks at the checkpoint out of order "
                                "(monotonic %" PRIu64 " ns, boot time %" PRIu64 " ns)",
                                p->monotonic_ns, p->boottime_ns);
    return 0;
}

static int check_misc(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_proc *p = img->proc;
    uint32_t per = p->personality & PER_MASK;
    if (p->umask & ~0777u)
        return crac__img_refuse(img, err, "process: umask %#o", p->umask);
    if ((per != PER_LINUX && per != PER_LINUX32) || (p->personality & ~(PER_MASK | PER_FLAGS)))
        return crac__img_refuse(img, err, "process: personality %#x", p->personality);
    if (p->no_new_privs > 1)
        return crac__img_refuse(img, err, "process: no_new_privs %u", p->no_new_privs);
    if (p->pid <= 0 || p->pid > PID_MAX_LIMIT)
        return crac__img_refuse(img, err, "process: pid %d", p->pid);
    /* glibc registers 20 bytes (the original struct rseq) or more */
    if (p->rseq_size && (p->rseq_size < 20 || p->rseq_size > 1024))
        return crac__img_refuse(img, err, "process: rseq area of %u bytes", p->rseq_size);
    return 0;
}

/* Names and the working directory: terminated inside their fields. */
static int check_text(const struct crac_img *img, crac_error **err)
{
    const struct crac_img_proc *p = img->proc;
    const char *cwd = crac__img_str_ok(img, p->cwd) ? img->strings + p->cwd : NULL;
    if (!memchr(p->comm, 0, sizeof(p->comm)) ||
        !memchr(p->kernel_release, 0, sizeof(p->kernel_release)))
        return crac__img_refuse(img, err, "process: command name or kernel release not "
                                "terminated");
    /* the restorer hands it over in a 4096-byte field (restore_info.h) */
    if (!cwd || (*cwd && (*cwd != '/' || strlen(cwd) >= 4096)))
        return crac__img_refuse(img, err, "process: working directory (string offset %u) is not "
                                "an absolute path", p->cwd);
    return 0;
}

int crac__img_check_state(const struct crac_img *img, crac_error **err)
{
    if (check_signals(img, err) || check_limits(img, err) || check_misc(img, err) ||
        check_text(img, err))
        return -1;
    return 0;
}
