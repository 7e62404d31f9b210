/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The safepoint.  Every thread but the checkpointing one gets
 * CRAC_SAFEPOINT_SIGNAL, sent by the ptrace helper of parker.c after it
 * stopped the thread, made an interrupted system call start again exactly
 * and unblocked the signal (or, where ptrace is not allowed, sent alone).
 * The handler records the thread's kernel state, saves a resume context
 * with crac__ctx_save() and parks on a futex.  The interrupted state (all
 * registers, FPU/AVX, signal mask, the system call to start again) stays
 * in the signal frame on the thread's stack.
 *
 * After a restore, the restorer recreates each thread and jumps to its
 * saved context: crac__ctx_save() "returns" again inside the handler, the
 * thread re-establishes its own kernel state, waits for the checkpointing
 * thread's go, and returns from the handler: rt_sigreturn resumes it
 * where it was interrupted.
 *
 * Rounds are numbered so that a thread that arrives after a round was
 * given up (timeout) goes straight back to work.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/rseq.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "native/dump.h"
#include "native/threads.h"
#include "image/maps.h"
#include "core/core.h"

char crac__thread_room[sizeof(struct crac__thread_table) + CRAC_PAGE - 1];
/* What threads.h promises: the small fields, the flags and 6 records fit
 * in the table's first page. */
_Static_assert(offsetof(struct crac__thread_table, threads) + 6 * sizeof(struct crac_img_thread) <=
               CRAC_PAGE, "a checkpoint of up to 6 threads dirties one page of the thread table");

/* The safepoint's parts of the thread table (threads.h). */
#define sp (&crac__thread_table()->sp)
#define hows (crac__thread_table()->how)
#define BIT(sig) (1ULL << ((sig)-1))
#define parked (crac__thread_table()->parked)

static void futex_wait(atomic_uint *w, unsigned val)
{
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static struct crac_img_thread *record_of(pid_t tid)
{
    for (uint32_t i = 0; i < crac__nthreads; i++)
        if (crac__threads[i].tid == tid)
            return &crac__threads[i];
    return NULL;
}

/* The parker set the interrupted call to start again when the handler
 * returns.  A signal of the program's own that arrived since (while the
 * thread was parked, say) would have interrupted that call, as the kernel
 * decides for the first one it delivers: give the call the kernel's answer
 * back then (EINTR, unless a restart was due anyway).  Signals without a
 * handler run none, and the kernel then restarts every kind of call.
 * Not inlined: its locals would widen the handler's frame, which is saved
 * with the parked thread's stack. */
static __attribute__((noinline)) void settle_restart(ucontext_t *uc, unsigned kind)
{
    uint64_t pending = 0, mask;
    memcpy(&mask, &uc->uc_sigmask, sizeof(mask));
    if (syscall(SYS_rt_sigpending, &pending, sizeof(pending)) < 0)
        return;
    pending &= ~mask & ~BIT(CRAC_SAFEPOINT_SIGNAL);
    for (int sig = 1; sig <= CRAC_NSIG; sig++) {
        struct crac_ksigaction ka;
        if (!(pending & BIT(sig)) ||
            syscall(SYS_rt_sigaction, sig, NULL, &ka, sizeof(uint64_t)) < 0 ||
            ka.handler == (uint64_t)SIG_DFL || ka.handler == (uint64_t)SIG_IGN)
            continue;
        if (kind == CRAC__RESTART_NOINTR || (kind == CRAC__RESTART_SYS && (ka.flags & SA_RESTART)))
            return;
        uc->uc_mcontext.gregs[REG_RAX] = -EINTR;
        uc->uc_mcontext.gregs[REG_RIP] += 2;
        return;
    }
}

/* Parks the thread of record t until the round is released; in a restored
 * process, "returns" again here and waits for the go. */
static void park(struct crac_img_thread *t, unsigned round)
{
    uint64_t info;
    crac__thread_capture(t);
    info = crac__ctx_save(&t->ctx);
    if (!info) {
        atomic_store(&parked[t - crac__threads], 1);
        atomic_fetch_add(&sp->arrived, 1);
        futex_wake(&sp->arrived);
        while (atomic_load(&sp->released) != round)
            futex_wait(&sp->released, atomic_load(&sp->released));
        return;
    }
    /* A recreated thread, on its saved stack: the process-wide state is
     * being re-established by the checkpointing thread meanwhile. */
    crac__thread_apply(t, (int32_t)__rseq_offset, __rseq_size);
    atomic_fetch_add(&sp->checked_in, 1);
    futex_wake(&sp->checked_in);
    while (atomic_load(&sp->resumed) != round)
        futex_wait(&sp->resumed, atomic_load(&sp->resumed));
}

static void on_safepoint(int sig, siginfo_t *si, void *ctx)
{
    int saved_errno = errno;
    unsigned round = atomic_load(&sp->round), done = 0;
    ucontext_t *uc = ctx;
    struct crac_img_thread *t = record_of((pid_t)syscall(SYS_gettid));
    (void)sig, (void)si;
    /* Records stay until the next round starts: a thread the parker sent
     * just as its round was given up still finds what was done to it. */
    if (t)
        done = atomic_exchange(&hows[t - crac__threads], 0);
    if (done & CRAC__HOW_REBLOCK) {
        /* In the frame, before it is saved: the thread, here and in every
         * restored process, returns to the mask it had. */
        uint64_t mask;
        memcpy(&mask, &uc->uc_sigmask, sizeof(mask));
        mask |= BIT(CRAC_SAFEPOINT_SIGNAL);
        memcpy(&uc->uc_sigmask, &mask, sizeof(mask));
    }
    /* Unless this is a round given up, or a thread born after the list
     * was made. */
    if (round && t)
        park(t, round);
    if (done >> CRAC__HOW_RESTART_SHIFT)
        settle_restart(uc, done >> CRAC__HOW_RESTART_SHIFT);
    errno = saved_errno;
}

static int add_record(pid_t tid)
{
    struct crac_img_thread *t;
    if (crac__nthreads == CRAC_MAX_THREADS)
        return -E2BIG;
    t = &crac__threads[crac__nthreads];
    memset(t, 0, sizeof(*t));
    t->tid = tid;
    atomic_store(&hows[crac__nthreads], 0);
    atomic_store(&parked[crac__nthreads], 0);
    crac__nthreads++;
    return 0;
}

/* Lists the threads not yet known; 0 or -errno. */
static int list_new(void)
{
    pid_t ids[CRAC_MAX_THREADS];
    int n = crac__task_ids(ids, CRAC_MAX_THREADS), rc = 0;
    for (int i = 0; i < n && !rc; i++)
        if (!record_of(ids[i]))
            rc = add_record(ids[i]);
    return n < 0 ? n : rc;
}

/* Sends records [first, end) to the safepoint: through the ptrace helper,
 * or, when none can be started, with the signal alone (err says why). */
static void send_batch(struct crac__parker *pk, uint32_t first, uint32_t end)
{
    int rc;
    pk->pid = getpid();
    pk->probe = 0;
    pk->how = hows;
    pk->helper = 0;
    for (uint32_t i = first; i < end; i++)
        pk->tid[i] = i == sp->self ? 0 : crac__threads[i].tid;
    if (end - first == (sp->self >= first && sp->self < end)) /* nobody but us */
        return;
    if ((rc = crac__parker_start(pk, first, end)) == 0)
        return;
    for (uint32_t i = first; i < end; i++) {
        pk->err[i] = -rc;
        if (pk->tid[i])
            syscall(SYS_tgkill, pk->pid, pk->tid[i], CRAC_SAFEPOINT_SIGNAL);
    }
}

/* A listed thread that ended before it handled the signal (it was already
 * on its way out, with every signal blocked) will never park.  Records
 * never move (parked threads point at theirs): it stays as a gap the
 * dumper leaves out. */
static void forget_ended(void)
{
    pid_t pid = getpid();
    for (uint32_t i = 0; i < crac__nthreads; i++)
        if (!atomic_load(&parked[i]) && crac__threads[i].tid &&
            syscall(SYS_tgkill, pid, crac__threads[i].tid, 0) < 0 && errno == ESRCH) {
            crac__threads[i].tid = 0;
            atomic_store(&parked[i], 1);
            sp->gone++;
        }
}

/* Waits until every listed thread parked or ended; 0, or -ETIMEDOUT. */
static int wait_parked(long deadline)
{
    unsigned have;
    while ((have = atomic_load(&sp->arrived)) < crac__nthreads - 1 - sp->gone) {
        long left = deadline - crac__now_ms();
        struct timespec ts = {0, 10000000L}; /* look for ended threads every 10 ms */
        if (left <= 0)
            return -ETIMEDOUT;
        if (syscall(SYS_futex, &sp->arrived, FUTEX_WAIT_PRIVATE, have, &ts, NULL, 0) < 0 &&
            errno == ETIMEDOUT)
            forget_ended();
    }
    return 0;
}

static void install_handler(void)
{
    struct sigaction sa, prev;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_safepoint;
    /* Nothing else may run on a parked thread while memory is saved. */
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(CRAC_SAFEPOINT_SIGNAL, &sa, &prev);
    if (prev.sa_sigaction != on_safepoint) /* still ours after a round that failed */
        sp->old_action = prev;
}

static crac_error *not_arrived(const struct crac__parker *pk, long timeout_ms)
{
    crac_error *e = crac__error_src("engine", "threads did not reach the safepoint in time");
    for (uint32_t i = 0; i < crac__nthreads; i++) {
        char what[512];
        if (i == sp->self || atomic_load(&parked[i]) || !crac__threads[i].tid)
            continue;
        crac__describe_stuck(crac__threads[i].tid, pk->err[i], timeout_ms, what, sizeof(what));
        crac_error_add_cause(e, crac__error_src("checker", "thread %s", what));
    }
    return e;
}

/* Lists and sends threads until every listed one parked and no new one
 * appeared (threads may start threads meanwhile); 0 or -errno. */
static int send_all(struct crac__parker *pk, long deadline)
{
    uint32_t sent = 0;
    int rc;
    while ((rc = list_new()) == 0 && sent < crac__nthreads) {
        uint32_t end = crac__nthreads;
        send_batch(pk, sent, end);
        sent = end;
        /* The helper first: waiting for arrivals meanwhile, we would wake
         * at each one and take the CPU the helper runs on. */
        crac__parker_finish(pk, deadline);
        if ((rc = wait_parked(deadline)) != 0)
            break;
    }
    return rc;
}

int crac__safepoint_enter(long timeout_ms, struct crac__parker *pk, crac_error **err)
{
    unsigned round = ++sp->rounds;
    int rc;
    struct crac_img_thread *self;

    /* The leader is record 0: the restorer resumes it on the restoring
     * process's own thread, so that it keeps pid == tid.  Records never
     * move once listed: a parked thread keeps a pointer to its own. */
    crac__nthreads = 0;
    sp->gone = 0;
    add_record(getpid());
    if (gettid() != getpid())
        add_record(gettid());
    sp->self = crac__nthreads - 1;
    self = &crac__threads[sp->self];
    crac__thread_capture(self);
    self->flags |= CRAC_THR_CHECKPOINTER;
    atomic_store(&parked[sp->self], 1);
    atomic_store(&sp->arrived, 0);
    atomic_store(&sp->checked_in, 0);
    install_handler();
    atomic_store(&sp->round, round);
    rc = send_all(pk, crac__now_ms() + timeout_ms);
    if (rc) {
        crac__safepoint_leave();
        *err = rc == -ETIMEDOUT ? not_arrived(pk, timeout_ms)
                                : crac__error_src("engine", "cannot stop the other threads: %s",
                                                  strerror(-rc));
        return -1;
    }
    return 0;
}

void crac__safepoint_leave(void)
{
    unsigned round = atomic_load(&sp->round);
    atomic_store(&sp->round, 0);
    atomic_store(&sp->released, round);
    futex_wake(&sp->released);
    /* A thread that did not park may still get the signal (it blocks it,
     * or it was on its way): under the program's action, the default one
     * ends the process.  Ours then returns at once. */
    if (atomic_load(&sp->arrived) == crac__nthreads - 1 - sp->gone)
        sigaction(CRAC_SAFEPOINT_SIGNAL, &sp->old_action, NULL);
}

void crac__safepoint_resume_restored(void)
{
    unsigned want = crac__nthreads - 1 - sp->gone, have;
    while ((have = atomic_load(&sp->checked_in)) < want)
        futex_wait(&sp->checked_in, have);
    atomic_store(&sp->resumed, atomic_load(&sp->round));
    atomic_store(&sp->round, 0);
    futex_wake(&sp->resumed);
}

struct crac_img_thread *crac__thread_self_record(void)
{
    return &crac__threads[sp->self];
}
