/* SPDX-License-Identifier: Apache-2.0 */
/* The stages after before-checkpoint (sim engine options drive them):
 * the checker runs only when every before-checkpoint succeeded, and its
 * problems stop the checkpoint; an engine failure is a checkpoint error
 * with source "engine"; after-restore runs in every case. */
#include "coordutil.h"

int main(void)
{
    use_sim();
    static struct rec a = REC("a"), b = REC("b");
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
    CHECK(crac_context_register(crac_global_context(), &b.res) == 0, "b");
    crac_error *err;

    /* Checker problem: no checkpoint, after-restore at once. */
    CHECK(crac_set_option("engine_options", "check_problem=fd 7 (pipe) is open") == 0,
          "check_problem");
    CHECK(cycle(&err) < 0, "checker problem must fail the checkpoint");
    CHECK_TRACE("B:b B:a A:a A:b");
    CHECK(strcmp(causes_str(err), "[checker] fd 7 (pipe) is open") == 0,
          "causes %s", causes_str(err));
    CHECK(!crac_error_is_restore(err) && crac_restore_count() == 0, "no restore");
    crac_error_free(err);

    /* With a before-checkpoint failure the checker is not consulted. */
    b.fail_before = "b busy";
    CHECK(cycle(&err) < 0, "must fail");
    CHECK_TRACE("B:b B:a A:a A:b");
    CHECK(strcmp(causes_str(err), "[b] b busy") == 0, "causes %s", causes_str(err));
    crac_error_free(err);
    b.fail_before = NULL;

    /* Engine failure. */
    CHECK(crac_set_option("engine_options", "check_problem=,result=failed") == 0,
          "result=failed");
    CHECK(cycle(&err) < 0, "engine failure must fail the checkpoint");
    CHECK_TRACE("B:b B:a A:a A:b");
    CHECK(crac_error_cause_count(err) == 1 &&
          strcmp(crac_error_source(crac_error_cause(err, 0)), "engine") == 0,
          "causes %s", causes_str(err));
    CHECK(!crac_error_is_restore(err) && crac_restore_count() == 0, "no restore");
    crac_error_free(err);

    CHECK(crac_set_option("engine_options", "result=restored") == 0, "restored");
    CHECK(cycle(&err) == 0, "clean cycle");
    CHECK(crac_restore_count() == 1, "one restore");
    printf("engine-stages: ok\n");
    return 0;
}
