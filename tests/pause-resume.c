/* SPDX-License-Identifier: Apache-2.0 */
/* The pause engine end to end: a child coordinates, writes its ready-file
 * ("PID\n", mode 0600) and waits; `crac resume PID` makes it run
 * after-restore and go on, with one restore counted and the ready-file
 * gone.  A second thread in the child takes no part (a signal may land on
 * any thread).  Then timeout_ms: no resume means a checkpoint error. */
#include "coordutil.h"
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char ready[4096];
static pid_t child = -1;

static void die(const char *why)
{
    if (child > 0)
        kill(child, SIGKILL); /* only the process this test started */
    fprintf(stderr, "FAIL: %s\n", why);
    exit(1);
}

static void *bystander(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static int child_main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, bystander, NULL);
    char opts[4200];
    snprintf(opts, sizeof(opts), "ready_file=%s", ready);
    CHECK(crac_set_option("engine", "pause") == 0, "engine");
    CHECK(crac_set_option("engine_options", opts) == 0, "options");
    static struct rec a = REC("a");
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
    crac_error *err;
    char name[16];
    prctl(PR_SET_NAME, "pause-child");
    if (cycle(&err) != 0) {
        char *text = crac_error_format(err);
        fprintf(stderr, "child: checkpoint failed:\n%s", text);
        return 1;
    }
    CHECK_TRACE("B:a A:a");
    CHECK(crac_restore_count() == 1, "count %u", crac_restore_count());
    CHECK(access(ready, F_OK) != 0, "ready-file must be gone after resume");
    /* named crac-paused only while it waited (how crac resume knows it) */
    CHECK(prctl(PR_GET_NAME, name) == 0 && !strcmp(name, "pause-child"), "thread name %s", name);
    return 0;
}

/* Waits up to 10 s for the ready-file; checks what it holds. */
static void wait_ready(void)
{
    for (int i = 0; i < 1000; i++) {
        int st;
        if (waitpid(child, &st, WNOHANG) == child) {
            child = -1;
            die("child ended before writing its ready-file");
        }
        int fd = open(ready, O_RDONLY);
        if (fd >= 0) {
            char buf[64] = { 0 }, want[64];
            struct stat sb;
            ssize_t n = read(fd, buf, sizeof(buf) - 1);
            fstat(fd, &sb);
            close(fd);
            snprintf(want, sizeof(want), "%d\n", (int)child);
            if (n <= 0 || strcmp(buf, want) != 0)
                die("ready-file does not hold \"PID\\n\"");
            if ((sb.st_mode & 07777) != 0600)
                die("ready-file mode is not 0600");
            return;
        }
        nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
    }
    die("no ready-file within 10 s");
}

static void run_resume(void)
{
    char pidtext[32];
    snprintf(pidtext, sizeof(pidtext), "%d", (int)child);
    pid_t p = fork();
    if (p < 0)
        die("fork");
    if (p == 0) {
        execl(test_crac_bin(), "crac", "resume", pidtext, (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("crac resume PID failed");
}

static void wait_child(void)
{
    for (int i = 0; i < 1000; i++) {
        int st;
        if (waitpid(child, &st, WNOHANG) == child) {
            child = -1;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                die("child failed after resume");
            return;
        }
        nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
    }
    die("child did not go on within 10 s of crac resume");
}

int main(void)
{
    if (access(test_crac_bin(), X_OK) != 0)
        SKIP("no crac command at %s", test_crac_bin());
    snprintf(ready, sizeof(ready), "%s/ready", test_tmp());
    child = fork();
    CHECK(child >= 0, "fork");
    if (child == 0)
        exit(child_main());
    wait_ready();
    run_resume();
    wait_child();

    /* timeout_ms: nobody resumes, the checkpoint fails, after-restore runs. */
    CHECK(crac_set_option("engine", "pause") == 0, "engine");
    char opts[4200];
    snprintf(opts, sizeof(opts), "ready_file=%s,timeout_ms=100", ready);
    CHECK(crac_set_option("engine_options", opts) == 0, "options");
    static struct rec b = REC("b");
    CHECK(crac_context_register(crac_global_context(), &b.res) == 0, "b");
    crac_error *err;
    CHECK(cycle(&err) < 0, "must time out");
    CHECK_TRACE("B:b A:b");
    char *text = crac_error_format(err);
    CHECK(strstr(text, "not resumed within 100 ms"), "error:\n%s", text);
    CHECK(!crac_error_is_restore(err) && crac_restore_count() == 0, "no restore");
    CHECK(access(ready, F_OK) != 0, "ready-file removed after a timeout");
    free(text);
    crac_error_free(err);
    printf("pause-resume: ok\n");
    return 0;
}
