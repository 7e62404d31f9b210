/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sim engine: no snapshot at all.  The cycle runs and "restore" follows
 * at once (the restore count goes up), so application code can test its
 * resources without a real checkpoint.  Its options let a test take the
 * paths a real engine would: a checker problem, a failed checkpoint, or an
 * image written with the process kept running.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "core/core.h"

enum sim_result { SIM_RESTORED, SIM_CONTINUED, SIM_FAILED };

static enum sim_result result = SIM_RESTORED;
static char *check_problem; /* reported by check() when set */

static const struct crac__engine_option sim_options[] = {
    { "result", "restored",
      "what the checkpoint reports: restored, continued (kept running, no "
      "restore) or failed" },
    { "check_problem", NULL,
      "a problem for the checker stage to report (empty: none)" },
    { NULL, NULL, NULL },
};

static int sim_configure(const char *key, const char *value, crac_error **err)
{
    if (strcmp(key, "result") == 0) {
        if (strcmp(value, "restored") == 0)
            result = SIM_RESTORED;
        else if (strcmp(value, "continued") == 0)
            result = SIM_CONTINUED;
        else if (strcmp(value, "failed") == 0)
            result = SIM_FAILED;
        else
            goto bad;
        return 0;
    }
    if (strcmp(key, "check_problem") == 0) {
        char *copy = *value ? strdup(value) : NULL;
        if (*value && !copy) {
            *err = crac__error_src("engine", "out of memory");
            return -ENOMEM;
        }
        free(check_problem);
        check_problem = copy;
        return 0;
    }
bad:
    *err = crac__error_src("engine", "sim: bad value '%s' for '%s'", value, key);
    return -EINVAL;
}

static void sim_check(crac_error *problems)
{
    if (check_problem)
        crac_error_add_cause(problems,
                             crac__error_src("checker", "%s", check_problem));
}

static int sim_checkpoint(const struct crac__cp_request *req, crac_error **err)
{
    if (result == SIM_FAILED) {
        *err = crac__error_src("engine", "sim: checkpoint failed (result=failed)");
        return CRAC__CP_FAILED;
    }
    if (req->dry_run || result == SIM_CONTINUED)
        return CRAC__CP_CONTINUED;
    return CRAC__CP_RESTORED;
}

const struct crac__engine crac__engine_sim = {
    .abi = CRAC__ENGINE_ABI,
    .name = "sim",
    .description = "notifications only, no snapshot: restore follows at once "
                   "(for testing application code)",
    .writes_image = false,
    .options = sim_options,
    .configure = sim_configure,
    .check = sim_check,
    .checkpoint = sim_checkpoint,
};
