/* SPDX-License-Identifier: Apache-2.0 */
/* Order in one context: before-checkpoint in reverse registration order,
 * after-restore in registration order; every callback gets the context that
 * notifies it; a resource without callbacks is fine. */
#include "coordutil.h"

int main(void)
{
    use_sim();
    crac_context *g = crac_global_context();
    CHECK(g && g == crac_global_context(), "global context");
    static struct rec a = REC("a"), b = REC("b"), c = REC("c");
    static crac_resource quiet = { .name = "quiet" };
    CHECK(crac_context_register(g, &a.res) == 0, "register a");
    CHECK(crac_context_register(g, &quiet) == 0, "register quiet");
    CHECK(crac_context_register(g, &b.res) == 0, "register b");
    CHECK(crac_context_register(g, &c.res) == 0, "register c");

    crac_error *err;
    for (int round = 1; round <= 2; round++) {
        CHECK(cycle(&err) == 0, "cycle %d failed", round);
        CHECK_TRACE("B:c B:b B:a A:a A:b A:c");
        CHECK(crac_restore_count() == (unsigned)round, "restore count %u",
              crac_restore_count());
    }
    CHECK(a.seen_ctx == g && b.seen_ctx == g && c.seen_ctx == g,
          "callbacks must get the global context");

    /* The same rule in a context of one's own, registered in the global one. */
    crac_context *mine = crac_context_new("mine");
    CHECK(mine, "crac_context_new");
    static struct rec x = REC("x"), y = REC("y");
    CHECK(crac_context_register(mine, &x.res) == 0, "register x");
    CHECK(crac_context_register(mine, &y.res) == 0, "register y");
    CHECK(crac_context_register(g, crac_context_as_resource(mine)) == 0,
          "register mine");
    CHECK(cycle(&err) == 0, "cycle with mine failed");
    CHECK_TRACE("B:y B:x B:c B:b B:a A:a A:b A:c A:x A:y");
    CHECK(x.seen_ctx == mine && y.seen_ctx == mine,
          "resources of 'mine' must get 'mine'");
    printf("order: ok\n");
    return 0;
}
