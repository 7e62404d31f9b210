/* SPDX-License-Identifier: Apache-2.0 */
/* Priority tiers inside the global context: at checkpoint the application
 * ("normal") tier first, then the library tier, the file-descriptor tier
 * last; after restore exactly the reverse.  Inside a tier the usual order.
 * White-box: links libcrac.a to reach crac__register_tier(). */
#include "coordutil.h"
#include "core/core.h"

int main(void)
{
    use_sim();
    crac_context *g = crac_global_context();
    static struct rec n1 = REC("n1"), n2 = REC("n2"), l1 = REC("l1"),
                      l2 = REC("l2"), f1 = REC("f1"), f2 = REC("f2");
    /* Interleaved on purpose: the tier decides, not the time of registration. */
    CHECK(crac__register_tier(CRAC__TIER_FD, &f1.res) == 0, "f1");
    CHECK(crac_context_register(g, &n1.res) == 0, "n1");
    CHECK(crac__register_tier(CRAC__TIER_LIBRARY, &l1.res) == 0, "l1");
    CHECK(crac__register_tier(CRAC__TIER_FD, &f2.res) == 0, "f2");
    CHECK(crac__register_tier(CRAC__TIER_NORMAL, &n2.res) == 0, "n2");
    CHECK(crac__register_tier(CRAC__TIER_LIBRARY, &l2.res) == 0, "l2");

    CHECK(crac__register_tier(CRAC__TIER_LIBRARY, &l2.res) == -EEXIST, "twice");
    CHECK(crac_context_register(g, &f1.res) == -EEXIST, "in two tiers");
    CHECK(crac__register_tier((enum crac__tier)42, &n1.res) == -EINVAL, "bad tier");
    CHECK(crac__register_tier(CRAC__TIER_FD, NULL) == -EINVAL, "NULL");

    crac_error *err;
    CHECK(cycle(&err) == 0, "cycle failed");
    CHECK_TRACE("B:n2 B:n1 B:l2 B:l1 B:f2 B:f1 A:f1 A:f2 A:l1 A:l2 A:n1 A:n2");

    /* Failures from every tier are collected, in notification order. */
    l1.fail_before = "l1 busy";
    f2.fail_after = "f2 gone";
    n1.fail_before = "n1 busy";
    CHECK(cycle(&err) < 0, "must fail");
    CHECK_TRACE("B:n2 B:n1 B:l2 B:l1 B:f2 B:f1 A:f1 A:f2 A:l1 A:l2 A:n1 A:n2");
    const char *want = "[n1] n1 busy; [l1] l1 busy; [f2] f2 gone";
    CHECK(strcmp(causes_str(err), want) == 0, "causes %s", causes_str(err));
    crac_error_free(err);
    l1.fail_before = f2.fail_after = n1.fail_before = NULL;

    /* The global context unregisters from whichever tier holds a resource. */
    CHECK(crac_context_unregister(g, &l1.res) == 0, "unregister l1");
    CHECK(crac_context_unregister(g, &f2.res) == 0, "unregister f2");
    CHECK(crac_context_unregister(g, &l1.res) == -ENOENT, "l1 again");
    crac_context *other = crac_context_new("other");
    CHECK(crac_context_unregister(other, &f1.res) == -ENOENT, "wrong context");
    crac_context_free(other);
    CHECK(cycle(&err) == 0, "cycle failed");
    CHECK_TRACE("B:n2 B:n1 B:l2 B:f1 A:f1 A:l2 A:n1 A:n2");
    printf("tiers: ok\n");
    return 0;
}
