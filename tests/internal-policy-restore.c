/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policies given at restore (crac__policies_load_restore, behind
 * `crac restore --policies`) come before those of the checkpoint: a
 * descriptor closed with `reopen` stays closed when a new rule says close,
 * and fails the restore when it says error; the new rules also come first
 * in later checkpoints.  A reopen that cannot be done (its number taken) is
 * a restore error naming the descriptor and path.
 * White-box: a resource registered in the FD tier before the policy handler
 * plays the restore path, which loads the rules before after-restore runs.
 */
#include <errno.h>

#include "checkutil.h"
#include "core/core.h"
#include "policy/policy.h"

static const char *restore_rules; /* loaded by at_restore */
static int take_fd = -1;          /* at_restore puts /dev/null there */

static crac_error *at_restore(crac_resource *r, crac_context *ctx)
{
    (void)r, (void)ctx;
    crac_error *err = NULL;
    if (crac__policies_load_restore(restore_rules, &err) < 0)
        return err;
    if (take_fd >= 0) {
        int n = open("/dev/null", O_RDONLY);
        dup2(n, take_fd);
        close(n);
    }
    return NULL;
}

int main(void)
{
    char a[4200], b[4200], c[4200];
    setenv("CRAC_ENGINE", "sim", 1);
    snprintf(a, sizeof(a), "%s/a", test_tmp());
    snprintf(b, sizeof(b), "%s/b", test_tmp());
    snprintf(c, sizeof(c), "%s/c", test_tmp());
    static crac_resource first = {.name = "restore-path", .after_restore = at_restore};
    CHECK(crac__register_tier(CRAC__TIER_FD, &first) == 0, "register");
    int fa = open(a, O_RDWR | O_CREAT, 0600), fb = open(b, O_RDWR | O_CREAT, 0600),
        fc = open(c, O_RDWR | O_CREAT, 0600);
    char pol[4200]; /* write_policies() returns the same buffer each time */
    snprintf(pol, sizeof(pol), "%s", write_policies("policies", "file reopen path=%s/*\n", test_tmp()));
    CHECK(crac_set_option("policies", pol) == 0, "set policies");
    char rpath[4200];
    snprintf(rpath, sizeof(rpath), "%s", write_policies("at-restore", "file close path=**/a\n"
                                                        "file error path=**/b\n"));
    restore_rules = rpath;

    capture_stderr();
    crac_error *err = NULL;
    CHECK(crac_checkpoint_restore(&err) < 0, "b's rule says error: the restore must fail");
    const char *out = stderr_text();
    free(show(err));
    CHECK(crac_error_is_restore(err) == 1, "a restore error");
    char want[10000];
    snprintf(want, sizeof(want), "fd %d: policy %s:2 given at restore says error, so it stays "
             "closed: regular file %s (O_RDWR, offset 0 of 0 bytes)", fb, rpath, b);
    CHECK(find_cause(err, want, NULL), "want %s", want);
    CHECK(!strcmp(crac_error_source(crac_error_cause(err, 0)), "fd-policy"), "source");
    crac_error_free(err);
    snprintf(want, sizeof(want), "crac: fd %d stays closed after the restore (policy %s:1: close): "
             "regular file %s", fa, rpath, a);
    CHECK(strstr(out, want), "want '%s'", want);
    CHECK(fcntl(fa, F_GETFD) < 0 && fcntl(fb, F_GETFD) < 0, "a and b stay closed");
    CHECK(fcntl(fc, F_GETFD) >= 0, "c is reopened");
    /* what the handler did, for `crac image info` */
    char *sum = crac__fd_handler_summary();
    snprintf(want, sizeof(want), "fd %d reopen: regular file %s (O_RDWR, offset 0 of 0 bytes) "
             "(policy %s:1)\n", fc, c, pol);
    CHECK(sum && strstr(sum, want), "summary:\n%s\nwant %s", sum, want);
    free(sum);

    /* The restore rules stay first: a is now closed, not reopened.  And c's
     * number is taken before the handler gets to it. */
    fa = open(a, O_RDWR);
    restore_rules = NULL;
    take_fd = fc;
    capture_stderr();
    CHECK(crac_checkpoint_restore(&err) < 0, "c's number is taken: the restore must fail");
    out = stderr_text();
    free(show(err));
    CHECK(crac_error_is_restore(err) == 1, "a restore error");
    snprintf(want, sizeof(want), "fd %d: cannot reopen regular file %s (O_RDWR, offset 0 of 0 "
             "bytes): the number is taken by /dev/null", fc, c);
    CHECK(find_cause(err, want, NULL), "want %s", want);
    crac_error_free(err);
    snprintf(want, sizeof(want), "crac: fd %d closed before the checkpoint (policy %s:1): regular "
             "file %s", fa, rpath, a);
    CHECK(strstr(out, want), "the restore rule must come first at the checkpoint too");
    printf("policy-restore: ok\n");
    return 0;
}
