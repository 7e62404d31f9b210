/* SPDX-License-Identifier: Apache-2.0 */
/* crac_error_format(): the whole tree as text, one line per error,
 * "[source] message", two spaces of indent per level; no brackets when there
 * is no source; a multi-line message keeps its lines under its indent. */
#include "coordutil.h"
#include <stdlib.h>

static void expect(const crac_error *e, const char *want)
{
    char *got = crac_error_format(e);
    CHECK(got, "format returned NULL");
    CHECK(strcmp(got, want) == 0, "format\n--- got:\n%s--- want:\n%s---", got, want);
    free(got);
}

int main(void)
{
    crac_error *e = crac_error_new("top");
    expect(e, "top\n");
    crac_error *c = crac_error_new("child");
    crac_error_add_cause(c, crac_error_new("grandchild"));
    crac_error_add_cause(e, c);
    crac_error_add_cause(e, crac_error_new("line one\nline two"));
    expect(e, "top\n"
              "  child\n"
              "    grandchild\n"
              "  line one\n"
              "    line two\n");
    crac_error_free(e);

    use_sim();
    static struct rec a = REC("a"), b = REC("b");
    b.fail_before = "b is busy";
    a.fail_after = "a lost its socket";
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
    CHECK(crac_context_register(crac_global_context(), &b.res) == 0, "b");
    crac_error *err;
    CHECK(cycle(&err) < 0, "must fail");
    expect(err, "[crac] checkpoint failed: 1 problem, then 1 after-restore failure\n"
                "  [b] b is busy\n"
                "  [a] a lost its socket\n");
    crac_error_free(err);

    b.fail_before = NULL;
    CHECK(cycle(&err) < 0, "must fail");
    expect(err, "[crac] restore failed: 1 after-restore failure\n"
                "  [a] a lost its socket\n");
    crac_error_free(err);
    printf("error-format: ok\n");
    return 0;
}
