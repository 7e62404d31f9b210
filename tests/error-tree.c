/* SPDX-License-Identifier: Apache-2.0 */
/* The error tree API: messages, sources, causes, NULL handling; and the
 * tree a failed cycle returns: top error from "crac", one cause per
 * failure with the resource's name as source (the library sets it, even
 * over a callback's own choice of words). */
#include "coordutil.h"
#include <stdlib.h>

int main(void)
{
    crac_error *e = crac_error_new("disk %s at %d%%", "full", 99);
    CHECK(e, "never NULL");
    CHECK(strcmp(crac_error_message(e), "disk full at 99%") == 0, "printf-style");
    CHECK(crac_error_source(e) == NULL, "no source yet");
    CHECK(crac_error_cause_count(e) == 0, "no causes");
    CHECK(crac_error_cause(e, 0) == NULL, "out of range");
    CHECK(crac_error_is_restore(e) == 0, "not a restore error");

    crac_error *c1 = crac_error_new("one"), *c2 = crac_error_new("two");
    crac_error_add_cause(c1, crac_error_new("one.a"));
    crac_error_add_cause(e, c1);
    crac_error_add_cause(e, c2);
    crac_error_add_cause(e, NULL); /* ignored */
    CHECK(crac_error_cause_count(e) == 2, "two causes");
    CHECK(crac_error_cause(e, 0) == c1 && crac_error_cause(e, 1) == c2, "order");
    CHECK(crac_error_cause(e, 2) == NULL, "out of range");
    CHECK(strcmp(crac_error_message(crac_error_cause(c1, 0)), "one.a") == 0, "deep");

    /* Many causes: the array grows. */
    for (int i = 0; i < 100; i++)
        crac_error_add_cause(c2, crac_error_new("n%d", i));
    CHECK(crac_error_cause_count(c2) == 100, "100 causes");
    CHECK(strcmp(crac_error_message(crac_error_cause(c2, 99)), "n99") == 0, "n99");
    crac_error_free(e);

    /* NULL is accepted everywhere. */
    CHECK(crac_error_message(NULL) == NULL && crac_error_source(NULL) == NULL, "NULL");
    CHECK(crac_error_cause_count(NULL) == 0 && crac_error_cause(NULL, 0) == NULL, "NULL");
    CHECK(crac_error_is_restore(NULL) == 0, "NULL");
    crac_error_free(NULL);

    /* A failed cycle's tree. */
    use_sim();
    static struct rec a = REC("database-pool"), b = REC("cache");
    a.fail_before = "3 connections still open";
    b.fail_before = "dirty entries";
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
    CHECK(crac_context_register(crac_global_context(), &b.res) == 0, "b");
    crac_error *err;
    CHECK(cycle(&err) < 0, "must fail");
    CHECK(strcmp(crac_error_source(err), "crac") == 0, "top source: %s",
          crac_error_source(err));
    CHECK(strcmp(crac_error_message(err), "checkpoint failed: 2 problems") == 0,
          "top message: %s", crac_error_message(err));
    CHECK(crac_error_cause_count(err) == 2, "two causes");
    const crac_error *x = crac_error_cause(err, 0), *y = crac_error_cause(err, 1);
    CHECK(strcmp(crac_error_source(x), "cache") == 0 &&
          strcmp(crac_error_message(x), "dirty entries") == 0, "first cause");
    CHECK(strcmp(crac_error_source(y), "database-pool") == 0 &&
          strcmp(crac_error_message(y), "3 connections still open") == 0,
          "second cause");
    crac_error_free(err);
    printf("error-tree: ok\n");
    return 0;
}
