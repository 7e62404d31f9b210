/* SPDX-License-Identifier: Apache-2.0 */
/* A resource registered while a cycle runs (here: from a callback, into the
 * global context, into a nested context of the snapshot, and a new context
 * holding one) is not notified in that cycle, neither before nor after; it
 * is from the next cycle on. */
#include "coordutil.h"

static struct rec late1 = REC("late1"), late2 = REC("late2"),
                  late3 = REC("late3"), late4 = REC("late4");
static crac_context *nested, *fresh;

static void register_late(struct rec *self, int before)
{
    (void)self;
    if (before) {
        CHECK(crac_context_register(crac_global_context(), &late1.res) == 0, "late1");
        CHECK(crac_context_register(nested, &late2.res) == 0, "late2");
        fresh = crac_context_new("fresh");
        CHECK(crac_context_register(fresh, &late3.res) == 0, "late3");
        CHECK(crac_context_register(crac_global_context(),
                                    crac_context_as_resource(fresh)) == 0, "fresh");
    } else {
        CHECK(crac_context_register(crac_global_context(), &late4.res) == 0, "late4");
    }
}

int main(void)
{
    use_sim();
    static struct rec a = REC("a"), n = REC("n");
    a.hook = register_late;
    nested = crac_context_new("nested");
    CHECK(crac_context_register(nested, &n.res) == 0, "n");
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
    CHECK(crac_context_register(crac_global_context(),
                                crac_context_as_resource(nested)) == 0, "nested");
    crac_error *err;
    CHECK(cycle(&err) == 0, "first cycle");
    CHECK_TRACE("B:n B:a A:a A:n");
    CHECK(late1.nbefore + late2.nbefore + late3.nbefore + late4.nbefore == 0,
          "late resources notified before checkpoint");
    CHECK(late1.nafter + late2.nafter + late3.nafter + late4.nafter == 0,
          "late resources notified after restore");

    a.hook = NULL;
    CHECK(cycle(&err) == 0, "second cycle");
    CHECK_TRACE("B:late4 B:late3 B:late1 B:late2 B:n B:a "
                "A:a A:n A:late2 A:late1 A:late3 A:late4");
    printf("register-during-cycle: ok\n");
    return 0;
}
