/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy `close`: the descriptors a rule names are closed before the
 * checkpoint (after every application resource ran), never reopened, and
 * the checkpoint goes through; each closing prints one line on stderr
 * unless the rule says warn=false.  Rules match by type, path glob and fd
 * number, first match wins.
 */
#include <errno.h>
#include <sys/stat.h>

#include "checkutil.h"

static int seen_open = -1;
static int fd_a;

/* An application resource still finds its descriptor open: the FD tier
 * acts after every application resource. */
static crac_error *app_before(crac_resource *r, crac_context *ctx)
{
    (void)r, (void)ctx;
    seen_open = fcntl(fd_a, F_GETFD) >= 0;
    return NULL;
}

int main(void)
{
    char a[4200], b[4200], c[4200];
    const char *tmp = test_tmp();
    setenv("CRAC_ENGINE", "sim", 1);
    snprintf(a, sizeof(a), "%s/a.log", tmp);
    snprintf(b, sizeof(b), "%s/sub/b.log", tmp);
    snprintf(c, sizeof(c), "%s/c.dat", tmp);
    snprintf(b, sizeof(b), "%s/sub", tmp);
    CHECK(mkdir(b, 0700) == 0, "mkdir");
    snprintf(b, sizeof(b), "%s/sub/b.log", tmp);
    fd_a = open(a, O_WRONLY | O_CREAT, 0600);
    int fd_b = open(b, O_WRONLY | O_CREAT, 0600);
    int fd_c = open(c, O_RDONLY | O_CREAT, 0600);
    int p[2];
    CHECK(fd_a >= 0 && fd_b >= 0 && fd_c >= 0 && pipe(p) == 0, "setup");

    /* c.dat: named by no rule, so refused first; then allowed by its number */
    const char *pol = write_policies("policies",
        "# logs are reopened by nobody: close them\n"
        "\n"
        "file close path=%s/*.log\n"
        "file close path=%s/**.log warn=false   # quiet for the deeper ones\n"
        "pipe close\n", tmp, tmp);
    CHECK(crac_set_option("policies", pol) == 0, "set policies");
    static crac_resource app = {.name = "app", .before_checkpoint = app_before};
    CHECK(crac_context_register(crac_global_context(), &app) == 0, "register");

    crac_error *err = NULL;
    CHECK(crac_checkpoint_restore(&err) < 0, "c.dat is open: must be refused");
    free(show(err));
    EXPECT_FD(err, fd_c, "regular file");
    CHECK(crac_error_cause_count(err) == 1, "only c.dat is a problem");
    crac_error_free(err);
    /* the refused checkpoint closed what the rules say, and did not reopen */
    CHECK(fcntl(fd_a, F_GETFD) < 0 && errno == EBADF, "a.log must be closed");
    CHECK(seen_open == 1, "the application resource must have seen a.log open");

    fd_a = open(a, O_WRONLY);
    fd_b = open(b, O_WRONLY);
    CHECK(pipe(p) == 0, "pipe");
    pol = write_policies("policies2",
        "fd close fd=%d\n"
        "file close path=%s/*.log\n"
        "file close path=%s/**.log warn=false\n"
        "pipe close\n", fd_c, tmp, tmp);
    CHECK(crac_set_option("policies", pol) == 0, "set policies");
    capture_stderr();
    int rc = crac_checkpoint_restore(&err);
    const char *out = stderr_text();
    if (rc < 0)
        free(show(err));
    CHECK(rc == 0 && crac_restore_count() == 1, "the checkpoint must go through");
    int fds[] = {fd_a, fd_b, fd_c, p[0], p[1]};
    for (int i = 0; i < 5; i++)
        CHECK(fcntl(fds[i], F_GETFD) < 0 && errno == EBADF, "fd %d must stay closed", fds[i]);
    char line[4400];
    snprintf(line, sizeof(line), "crac: fd %d closed before the checkpoint (policy %s:2): "
             "regular file %s (O_WRONLY, offset 0 of 0 bytes)\n", fd_a, pol, a);
    CHECK(strstr(out, line), "no warning line '%s'", line);
    snprintf(line, sizeof(line), "crac: fd %d closed before the checkpoint (policy %s:1): "
             "regular file %s ", fd_c, pol, c);
    CHECK(strstr(out, line), "no warning for c.dat");
    snprintf(line, sizeof(line), "crac: fd %d closed before the checkpoint (policy %s:4): pipe ",
             p[0], pol);
    CHECK(strstr(out, line), "no warning for the pipe");
    snprintf(line, sizeof(line), "crac: fd %d ", fd_b);
    CHECK(!strstr(out, line), "warn=false must keep b.log quiet");
    CHECK(!strstr(out, "reopened"), "nothing is reopened");
    printf("policy-close: ok\n");
    return 0;
}
