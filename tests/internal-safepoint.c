/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The safepoint on its own, white-box (libcrac.a: crac__safepoint_enter()
 * and leave(), no image):
 *  - a signal of the program's own that arrives while the threads are
 *    parked interrupts their calls as the kernel would have: nanosleep
 *    fails with EINTR after the handler ran, a read() whose handler has
 *    SA_RESTART goes on; a thread no signal reached goes on sleeping;
 *  - a thread that blocks every signal and cannot be stopped with ptrace
 *    (another process traces it already) fails the safepoint within its
 *    timeout, named with what it is doing and why; the check says so up
 *    front; the other threads go on.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include "testutil.h"
#include "core/core.h"
#include "native/threads.h"

enum { SLEEPER, READER, QUIET, STUCK, NT };
static pthread_t th[NT];
static _Atomic pid_t tids[NT];
static atomic_int handled[NT], result[NT], errs[NT], done[NT];
static int pfd[2];
static uint32_t word;

static int my_index(void)
{
    for (int i = 0; i < NT; i++)
        if (atomic_load(&tids[i]) == (pid_t)syscall(SYS_gettid))
            return i;
    return -1;
}

static void on_signal(int sig)
{
    int i = my_index();
    (void)sig;
    if (i >= 0)
        atomic_fetch_add(&handled[i], 1);
}

static void *thread_main(void *arg)
{
    int i = (int)(intptr_t)arg, sig = i == READER ? SIGUSR2 : SIGUSR1;
    sigset_t m;
    struct timespec ts = {3, 0};
    char c;
    long rc = 0;
    sigfillset(&m);
    if (i != STUCK)
        sigdelset(&m, sig); /* the one signal it takes */
    pthread_sigmask(SIG_SETMASK, &m, NULL);
    atomic_store(&tids[i], (pid_t)syscall(SYS_gettid));
    if (i == SLEEPER || i == QUIET)
        rc = nanosleep(&ts, NULL);
    else if (i == READER)
        rc = read(pfd[0], &c, 1);
    else
        rc = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    atomic_store(&errs[i], rc < 0 ? errno : 0);
    atomic_store(&result[i], (int)rc);
    atomic_store(&done[i], 1);
    return NULL;
}

static void handle(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static struct crac__parker *parker(void)
{
    static struct crac__parker *pk;
    if (!pk)
        pk = calloc(1, sizeof(*pk));
    return pk;
}

/* Signals arriving while parked: see the comment at the top. */
static void while_parked(void)
{
    crac_error *err = NULL;
    CHECK(crac__safepoint_enter(5000, parker(), &err) == 0, "enter: %s",
          err ? crac_error_message(err) : "?");
    syscall(SYS_tgkill, getpid(), tids[SLEEPER], SIGUSR1);
    syscall(SYS_tgkill, getpid(), tids[READER], SIGUSR2);
    usleep(20000);
    CHECK(!atomic_load(&handled[SLEEPER]) && !atomic_load(&handled[READER]),
          "a handler ran while parked");
    crac__safepoint_leave();
    for (int t = 0; t < 200 && !atomic_load(&done[SLEEPER]); t++)
        usleep(5000);
    CHECK(atomic_load(&done[SLEEPER]) && errs[SLEEPER] == EINTR && handled[SLEEPER] == 1,
          "nanosleep: done %d errno %d handled %d", done[SLEEPER], errs[SLEEPER],
          handled[SLEEPER]);
    usleep(20000);
    CHECK(handled[READER] == 1 && !atomic_load(&done[READER]), "read() did not go on");
    CHECK(write(pfd[1], "x", 1) == 1, "write");
    pthread_join(th[READER], NULL);
    CHECK(result[READER] == 1, "read() returned %d (errno %d)", result[READER], errs[READER]);
    CHECK(!atomic_load(&done[QUIET]), "the quiet sleeper was woken");
    printf("signals while parked: ok\n");
}

/* Another process seizes thread STUCK, so our helper cannot. */
static pid_t trace_stuck(void)
{
    pid_t tracer = fork();
    if (tracer == 0) {
        if (ptrace(PTRACE_SEIZE, tids[STUCK], 0, 0) < 0)
            _exit(1);
        pause();
        _exit(0);
    }
    usleep(50000);
    return tracer;
}

static void cannot_stop(void)
{
    crac_error *err = NULL, *problems = crac__error_src("crac", "problems");
    pid_t tracer = trace_stuck();
    char want[64], *text;
    long t0 = crac__now_ms(), took;
    int rc = crac__safepoint_enter(300, parker(), &err);
    took = crac__now_ms() - t0;
    CHECK(rc < 0 && err, "the safepoint did not fail");
    text = crac_error_format(err);
    snprintf(want, sizeof(want), "'stuck' (tid %d) did not stop", tids[STUCK]);
    CHECK(strstr(text, want) && strstr(text, "within 300 ms: in system call futex") &&
              strstr(text, "it is traced by process") && strstr(text, "blocks signal 62"),
          "message: %s", text);
    CHECK(took < 1000, "took %ld ms", took);
    printf("stuck thread named in %ld ms: %s", took, text);
    free(text);
    crac_error_free(err);
    crac__safepoint_check(problems);
    text = crac_error_format(problems);
    CHECK(strstr(text, "thread 'stuck'") && strstr(text, "cannot be stopped with ptrace either"),
          "check: %s", text);
    free(text);
    crac_error_free(problems);
    kill(tracer, SIGKILL);
    waitpid(tracer, NULL, 0);
}

int main(void)
{
    const char *names[NT] = {"sleeper", "reader", "quiet", "stuck"};
    CHECK(pipe(pfd) == 0, "pipe");
    handle(SIGUSR1, 0);
    handle(SIGUSR2, SA_RESTART);
    for (int i = 0; i < NT; i++) {
        pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i);
        pthread_setname_np(th[i], names[i]);
    }
    for (int i = 0; i < NT; i++)
        while (!atomic_load(&tids[i]))
            usleep(1000);
    usleep(50000); /* every thread in its call */
    while_parked();
    cannot_stop();
    CHECK(!atomic_load(&done[QUIET]), "the quiet sleeper was woken");
    atomic_store(&word, 1);
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(th[STUCK], NULL);
    pthread_join(th[QUIET], NULL);
    CHECK(result[STUCK] == 0 && result[QUIET] == 0, "stuck %d/%d, quiet %d/%d", result[STUCK],
          errs[STUCK], result[QUIET], errs[QUIET]);
    printf("safepoint: ok\n");
    return 0;
}
