/* SPDX-License-Identifier: Apache-2.0 */
/* A before-checkpoint failure at each position (first, middle, last, all):
 * every resource is still notified, the failures are all collected with
 * their resource's name, no checkpoint is taken (no restore counted), and
 * after-restore runs for every resource, the failed ones included. */
#include "coordutil.h"

#define N 4
static struct rec rs[N] = { REC("r0"), REC("r1"), REC("r2"), REC("r3") };

static void run(const int *fail, const char *want_causes)
{
    static const char *msgs[N] = { "r0 failed", "r1 failed", "r2 failed",
                                   "r3 failed" };
    for (int i = 0; i < N; i++) {
        rs[i].fail_before = fail[i] ? msgs[i] : NULL;
        rs[i].nbefore = rs[i].nafter = 0;
    }
    unsigned count = crac_restore_count();
    crac_error *err;
    CHECK(cycle(&err) < 0, "the cycle must fail (%s)", want_causes);
    CHECK_TRACE("B:r3 B:r2 B:r1 B:r0 A:r0 A:r1 A:r2 A:r3");
    CHECK(!crac_error_is_restore(err), "a checkpoint error");
    CHECK(strcmp(crac_error_source(err), "crac") == 0, "top source");
    CHECK(strncmp(crac_error_message(err), "checkpoint failed", 17) == 0,
          "top message: %s", crac_error_message(err));
    CHECK(strcmp(causes_str(err), want_causes) == 0,
          "causes\n  got:  %s\n  want: %s", causes_str(err), want_causes);
    CHECK(crac_restore_count() == count, "no restore may be counted");
    crac_error_free(err);
}

int main(void)
{
    use_sim();
    for (int i = 0; i < N; i++)
        CHECK(crac_context_register(crac_global_context(), &rs[i].res) == 0, "reg");

    run((int[N]){ 1, 0, 0, 0 }, "[r0] r0 failed");                 /* last notified */
    run((int[N]){ 0, 0, 0, 1 }, "[r3] r3 failed");                 /* first notified */
    run((int[N]){ 0, 1, 0, 0 }, "[r1] r1 failed");                 /* middle */
    run((int[N]){ 0, 1, 1, 0 }, "[r2] r2 failed; [r1] r1 failed");
    run((int[N]){ 1, 1, 1, 1 },
        "[r3] r3 failed; [r2] r2 failed; [r1] r1 failed; [r0] r0 failed");

    /* And the next cycle is clean again. */
    for (int i = 0; i < N; i++)
        rs[i].fail_before = NULL;
    crac_error *err;
    CHECK(cycle(&err) == 0, "clean cycle");
    CHECK(crac_restore_count() == 1, "one restore");
    printf("before-fail: ok\n");
    return 0;
}
