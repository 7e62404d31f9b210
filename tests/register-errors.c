/* SPDX-License-Identifier: Apache-2.0 */
/* Registration errors: -EINVAL for NULL, -EEXIST for a resource already
 * registered (in this or any other context), and a failed registration
 * never calls the resource. */
#include "coordutil.h"

int main(void)
{
    use_sim();
    crac_context *g = crac_global_context();
    static struct rec a = REC("a"), stray = REC("stray");
    CHECK(crac_context_register(NULL, &a.res) == -EINVAL, "NULL ctx");
    CHECK(crac_context_register(g, NULL) == -EINVAL, "NULL resource");
    CHECK(crac_context_as_resource(NULL) == NULL, "as_resource(NULL)");

    CHECK(crac_context_register(g, &a.res) == 0, "a");
    CHECK(crac_context_register(g, &a.res) == -EEXIST, "a twice");
    crac_context *other = crac_context_new("other"); /* never notified */
    CHECK(other, "crac_context_new");
    CHECK(crac_context_register(other, &a.res) == -EEXIST, "a elsewhere");

    /* stray lives in a context nobody notifies; registering it in the
     * global context fails, and so it must never be called. */
    CHECK(crac_context_register(other, &stray.res) == 0, "stray");
    CHECK(crac_context_register(g, &stray.res) == -EEXIST, "stray in global");
    CHECK(crac_context_register(g, crac_context_as_resource(g)) == -EEXIST,
          "the global context is part of the library's tree");
    crac_error *err;
    CHECK(cycle(&err) == 0, "cycle");
    CHECK_TRACE("B:a A:a");
    CHECK(stray.nbefore == 0 && stray.nafter == 0, "stray was called");

    /* The library's own contexts are never freed. */
    crac_context_free(g);
    crac_context_free(NULL);
    CHECK(cycle(&err) == 0, "cycle after freeing the global context (ignored)");
    CHECK_TRACE("B:a A:a");
    CHECK(crac_context_unregister(other, &stray.res) == 0, "unregister stray");
    crac_context_free(other);
    printf("register-errors: ok\n");
    return 0;
}
