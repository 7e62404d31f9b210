/* SPDX-License-Identifier: Apache-2.0 */
/* A checkpoint asked from inside a notification fails at once with
 * "recursive checkpoint is not allowed" (a checkpoint error); the outer
 * cycle goes on and succeeds. */
#include "coordutil.h"

static int inner_rc[2];
static char inner_msg[2][128];
static int inner_restore[2] = { -1, -1 };

static void recurse(struct rec *self, int before)
{
    (void)self;
    crac_error *e = NULL;
    inner_rc[before] = crac_checkpoint_restore(&e);
    if (e) {
        snprintf(inner_msg[before], sizeof(inner_msg[before]), "%s",
                 crac_error_message(e));
        inner_restore[before] = crac_error_is_restore(e);
    }
    crac_error_free(e);
}

int main(void)
{
    use_sim();
    static struct rec a = REC("a"), r = REC("r"), b = REC("b");
    r.hook = recurse;
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
    CHECK(crac_context_register(crac_global_context(), &r.res) == 0, "r");
    CHECK(crac_context_register(crac_global_context(), &b.res) == 0, "b");
    crac_error *err;
    CHECK(cycle(&err) == 0, "outer cycle must succeed");
    CHECK_TRACE("B:b B:r B:a A:a A:r A:b");
    for (int i = 0; i < 2; i++) {
        const char *when = i ? "before-checkpoint" : "after-restore";
        CHECK(inner_rc[i] == -1, "inner call from %s must fail", when);
        CHECK(strcmp(inner_msg[i], "recursive checkpoint is not allowed") == 0,
              "inner message from %s: '%s'", when, inner_msg[i]);
        CHECK(inner_restore[i] == 0, "a checkpoint error");
    }
    CHECK(crac_restore_count() == 1, "one restore, from the outer cycle only");
    printf("recursive: ok\n");
    return 0;
}
