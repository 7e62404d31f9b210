/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The settings of one checkpoint asked over the control socket: its
 * destination (`crac checkpoint --to DIR`), keep-running, and a policies
 * file (`--policies FILE`, for a dry run too).  They go through
 * crac_set_option() for the cycle and are put back after it.  The restored
 * process runs the "put back" too (it resumes inside the same call), so it
 * keeps the destination it was started with.
 *
 * Known gap: between setting and the cycle, or the cycle and putting back,
 * a checkpoint asked by another thread of the application would see these
 * settings.  A per-cycle request argument in checkpoint.c would close it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "control/control.h"
#include "core/core.h"

static crac_error *set_error(const char *what, int r)
{
    if (r == -EBUSY)
        return crac__error_src("crac", "a checkpoint is already under way in "
                               "this process");
    return crac__error_src("crac", "cannot set %s: %s", what, strerror(-r));
}

static const char *option_default(const struct crac__engine *e, const char *key)
{
    for (const struct crac__engine_option *o = e->options; o && o->key; o++)
        if (strcmp(o->key, key) == 0)
            return o->def ? o->def : "";
    return NULL;
}

static char *dup_option(const char *key, bool *oom)
{
    const char *v = crac_get_option(key);
    char *copy = v ? strdup(v) : NULL;
    if (v && !copy)
        *oom = true;
    return copy;
}

/* One option set for the cycle, its value kept to put back.  0 or -errno. */
static int override(const char *key, const char *value, char **old, bool *set)
{
    bool oom = false;
    *old = dup_option(key, &oom);
    int r = oom ? -ENOMEM : crac_set_option(key, value);
    if (r < 0) {
        free(*old);
        *old = NULL;
        return r;
    }
    *set = true;
    return 0;
}

crac_error *crac__ctl_overrides_apply(struct crac__ctl_overrides *ov,
                                      const struct crac__ctl_settings *want)
{
    bool oom = false, keep_running = want->keep_running;
    int r;
    memset(ov, 0, sizeof(*ov));
    if (want->to && (r = override("checkpoint_to", want->to, &ov->old_to, &ov->to_set)) < 0)
        return set_error("the destination", r);
    /* The file is read when the cycle begins: a mistake in it is reported
     * then, naming its line, like any policies file. */
    if (want->policies &&
        (r = override("policies", want->policies, &ov->old_pol, &ov->pol_set)) < 0) {
        crac__ctl_overrides_undo(ov);
        return set_error("the policies file", r);
    }
    /* Only engines that would otherwise stop the process have the option;
     * the others (sim, pause) keep running anyway. */
    const struct crac__engine *e = keep_running ? crac__config_engine(NULL) : NULL;
    const char *def = e ? option_default(e, "keep_running") : NULL;
    if (def) {
        ov->old_opts = dup_option("engine_options", &oom);
        r = oom ? -ENOMEM : crac_set_option("engine_options", "keep_running=true");
        if (r < 0) {
            free(ov->old_opts);
            ov->old_opts = NULL;
            crac__ctl_overrides_undo(ov);
            return set_error("keep_running", r);
        }
        snprintf(ov->kr_default, sizeof(ov->kr_default), "%s", def);
        ov->kr_set = true;
    }
    return NULL;
}

static void put_back(const char *key, const char *value)
{
    int r = crac_set_option(key, value);
    if (r < 0)
        crac__log("control socket: could not put %s back (%s)", key,
                  strerror(-r));
}

void crac__ctl_overrides_undo(struct crac__ctl_overrides *ov)
{
    if (ov->kr_set) {
        /* The engine keeps option values of its own: the default first,
         * then the text it had (which may name keep_running itself). */
        char text[40];
        snprintf(text, sizeof(text), "keep_running=%s", ov->kr_default);
        put_back("engine_options", text);
        put_back("engine_options", ov->old_opts);
    }
    if (ov->to_set)
        put_back("checkpoint_to", ov->old_to);
    if (ov->pol_set)
        put_back("policies", ov->old_pol);
    free(ov->old_opts);
    free(ov->old_to);
    free(ov->old_pol);
    memset(ov, 0, sizeof(*ov));
}

char *crac__ctl_destination_lines(void)
{
    const struct crac__engine *e = crac__config_engine(NULL);
    const char *dest = crac_get_option("checkpoint_to");
    char cwd[PATH_MAX], *abs = NULL, *out = NULL;
    struct stat st;
    if (!e || !e->writes_image || !dest || !*dest)
        return NULL;
    if (dest[0] == '/')
        abs = strdup(dest);
    else if (getcwd(cwd, sizeof(cwd)) && asprintf(&abs, "%s/%s", cwd, dest) < 0)
        abs = NULL;
    if (!abs)
        return NULL;
    int n = stat(abs, &st) == 0
                ? asprintf(&out, "previous-image %llu:%llu\ncheckpointing %s\n",
                           (unsigned long long)st.st_dev,
                           (unsigned long long)st.st_ino, abs)
                : asprintf(&out, "previous-image none\ncheckpointing %s\n", abs);
    free(abs);
    return n < 0 ? NULL : out;
}
