/* SPDX-License-Identifier: Apache-2.0 */
/* After-restore failures: after a real restore they make a restore error
 * (crac_error_is_restore), every after-restore still runs; after a failed
 * checkpoint they are attached to the checkpoint error; with keep-running
 * (nothing restored) they are not a restore error. */
#include "coordutil.h"

int main(void)
{
    use_sim();
    crac_context *g = crac_global_context();
    static struct rec a = REC("a"), b = REC("b"), c = REC("c");
    CHECK(crac_context_register(g, &a.res) == 0, "a");
    CHECK(crac_context_register(g, &b.res) == 0, "b");
    CHECK(crac_context_register(g, &c.res) == 0, "c");

    /* 1. After a restore. */
    a.fail_after = "a cannot reconnect";
    c.fail_after = "c cannot reopen";
    crac_error *err;
    CHECK(cycle(&err) < 0, "must fail");
    CHECK_TRACE("B:c B:b B:a A:a A:b A:c");
    CHECK(crac_error_is_restore(err) == 1, "a restore error");
    CHECK(crac_restore_count() == 1, "the restore happened");
    CHECK(strcmp(causes_str(err), "[a] a cannot reconnect; [c] c cannot reopen") == 0,
          "causes %s", causes_str(err));
    CHECK(strncmp(crac_error_message(err), "restore failed", 14) == 0, "top: %s",
          crac_error_message(err));
    crac_error_free(err);

    /* 2. Before-checkpoint failed too: a checkpoint error, after-restore
     * failures attached after the checkpoint problems. */
    b.fail_before = "b busy";
    CHECK(cycle(&err) < 0, "must fail");
    CHECK_TRACE("B:c B:b B:a A:a A:b A:c");
    CHECK(crac_error_is_restore(err) == 0, "a checkpoint error");
    CHECK(crac_restore_count() == 1, "no restore");
    CHECK(strcmp(causes_str(err),
                 "[b] b busy; [a] a cannot reconnect; [c] c cannot reopen") == 0,
          "causes %s", causes_str(err));
    crac_error_free(err);
    b.fail_before = NULL;

    /* 3. Keep running (image written, no restore): not a restore error. */
    CHECK(crac_set_option("engine_options", "result=continued") == 0, "continued");
    CHECK(cycle(&err) < 0, "must fail");
    CHECK_TRACE("B:c B:b B:a A:a A:b A:c");
    CHECK(crac_error_is_restore(err) == 0, "nothing was restored");
    CHECK(crac_restore_count() == 1, "no restore counted");
    CHECK(crac_error_cause_count(err) == 2, "two causes: %s", causes_str(err));
    crac_error_free(err);

    /* 4. err may be NULL. */
    CHECK(crac_checkpoint_restore(NULL) == -1, "NULL err");
    a.fail_after = c.fail_after = NULL;
    CHECK(crac_checkpoint_restore(NULL) == 0, "clean cycle");
    printf("after-fail: ok\n");
    return 0;
}
