/* SPDX-License-Identifier: Apache-2.0 */
/* An engine that writes an image (native, the default) with no checkpoint
 * destination: the checkpoint fails with an error that says so, instead of
 * doing nothing quietly.  The configuration is checked before anyone is
 * notified, so no resource is disturbed.  sim and pause need none. */
#include "coordutil.h"
#include <stdlib.h>

int main(void)
{
    unsetenv("CRAC_CHECKPOINT_TO");
    unsetenv("CRAC_ENGINE");
    unsetenv("CRAC_ENGINE_OPTIONS");
    CHECK(strcmp(crac_get_option("engine"), "native") == 0, "default engine: %s",
          crac_get_option("engine"));
    CHECK(crac_get_option("checkpoint_to") == NULL, "no destination");

    static struct rec a = REC("a");
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
    crac_error *err;
    for (int i = 0; i < 2; i++) {
        if (i == 1) /* an empty destination is no destination */
            CHECK(crac_set_option("checkpoint_to", "") == 0, "empty");
        CHECK(cycle(&err) < 0, "must fail without a destination");
        char *text = crac_error_format(err);
        CHECK(strstr(text, "no checkpoint destination") &&
              strstr(text, "CRAC_CHECKPOINT_TO") && strstr(text, "native"),
              "the error must say what is missing:\n%s", text);
        free(text);
        CHECK(!crac_error_is_restore(err), "a checkpoint error");
        CHECK(a.nbefore == 0 && a.nafter == 0, "nobody is notified");
        CHECK(crac_restore_count() == 0, "no restore");
        crac_error_free(err);
    }

    /* Engines that write no image need no destination. */
    CHECK(crac_set_option("checkpoint_to", NULL) == 0, "unset");
    static const char *const no_image[] = { "sim", "pause" };
    for (int i = 0; i < 2; i++) {
        CHECK(crac_set_option("engine", no_image[i]) == 0, "engine %s", no_image[i]);
        /* pause: a timeout so that the test does not wait for a resume */
        if (i == 1)
            CHECK(crac_set_option("engine_options", "timeout_ms=1") == 0, "t");
        int r = cycle(&err);
        if (i == 0)
            CHECK(r == 0, "sim needs no destination");
        else {
            char *text = crac_error_format(err);
            CHECK(r < 0 && !strstr(text, "destination"),
                  "pause must time out, not ask for a destination:\n%s", text);
            free(text);
            crac_error_free(err);
        }
    }
    printf("no-destination: ok\n");
    return 0;
}
