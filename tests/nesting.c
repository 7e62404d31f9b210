/* SPDX-License-Identifier: Apache-2.0 */
/* Contexts inside contexts: each orders its own resources, a nested context
 * is notified where it was registered, and its failures are flattened into
 * the parent's causes, each with the failing resource's name as source. */
#include "coordutil.h"

int main(void)
{
    use_sim();
    crac_context *g = crac_global_context();
    crac_context *c1 = crac_context_new("c1"), *c2 = crac_context_new("c2");
    CHECK(c1 && c2, "crac_context_new");
    static struct rec a = REC("a"), b = REC("b"), p = REC("p"), r = REC("r"),
                      q1 = REC("q1"), q2 = REC("q2");
    CHECK(crac_context_register(g, &a.res) == 0, "a");
    CHECK(crac_context_register(g, crac_context_as_resource(c1)) == 0, "c1");
    CHECK(crac_context_register(g, &b.res) == 0, "b");
    CHECK(crac_context_register(c1, &p.res) == 0, "p");
    CHECK(crac_context_register(c1, crac_context_as_resource(c2)) == 0, "c2");
    CHECK(crac_context_register(c1, &r.res) == 0, "r");
    CHECK(crac_context_register(c2, &q1.res) == 0, "q1");
    CHECK(crac_context_register(c2, &q2.res) == 0, "q2");

    /* No loops: a context cannot go inside itself or inside its own child. */
    CHECK(crac_context_register(c2, crac_context_as_resource(c2)) == -EEXIST,
          "c2 is already registered");
    crac_context *c3 = crac_context_new("c3");
    CHECK(crac_context_register(c3, crac_context_as_resource(c3)) == -EINVAL,
          "a context inside itself");
    CHECK(crac_context_register(c3, crac_context_as_resource(c1)) == -EEXIST,
          "c1 is registered in the global context");
    crac_context *c4 = crac_context_new("c4");
    CHECK(crac_context_register(c3, crac_context_as_resource(c4)) == 0, "c4 in c3");
    CHECK(crac_context_register(c4, crac_context_as_resource(c3)) == -EINVAL,
          "c3 inside its own child c4");

    crac_error *err;
    CHECK(cycle(&err) == 0, "cycle failed");
    CHECK_TRACE("B:b B:r B:q2 B:q1 B:p B:a A:a A:p A:q1 A:q2 A:r A:b");
    CHECK(q1.seen_ctx == c2 && p.seen_ctx == c1 && a.seen_ctx == g,
          "each resource gets the context that holds it");

    q1.fail_before = "q1 cannot close";
    p.fail_before = "p cannot flush";
    q2.fail_after = "q2 cannot reopen";
    CHECK(cycle(&err) < 0, "the cycle must fail");
    CHECK_TRACE("B:b B:r B:q2 B:q1 B:p B:a A:a A:p A:q1 A:q2 A:r A:b");
    const char *want = "[q1] q1 cannot close; [p] p cannot flush; "
                       "[q2] q2 cannot reopen";
    CHECK(strcmp(causes_str(err), want) == 0, "causes\n  got:  %s\n  want: %s",
          causes_str(err), want);
    for (size_t i = 0; i < crac_error_cause_count(err); i++)
        CHECK(crac_error_cause_count(crac_error_cause(err, i)) == 0,
              "flattened: no nested causes");
    CHECK(!crac_error_is_restore(err), "a checkpoint error");
    crac_error_free(err);

    /* A registered context is not freed; an empty unregistered one is. */
    crac_context_free(c2);
    q1.fail_before = p.fail_before = q2.fail_after = NULL;
    CHECK(cycle(&err) == 0, "c2 must still work after a refused free");
    CHECK_TRACE("B:b B:r B:q2 B:q1 B:p B:a A:a A:p A:q1 A:q2 A:r A:b");
    CHECK(crac_context_unregister(c1, crac_context_as_resource(c2)) == 0, "unreg");
    CHECK(crac_context_unregister(c2, &q1.res) == 0, "unreg q1");
    CHECK(crac_context_unregister(c2, &q2.res) == 0, "unreg q2");
    crac_context_free(c2);
    CHECK(crac_context_unregister(c3, crac_context_as_resource(c4)) == 0, "unreg c4");
    crac_context_free(c4);
    crac_context_free(c3);
    printf("nesting: ok\n");
    return 0;
}
