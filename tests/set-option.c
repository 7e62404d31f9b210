/* SPDX-License-Identifier: Apache-2.0 */
/* Options: the environment gives the defaults (read at first use); set
 * and get; -EINVAL for an unknown key, engine or engine option; -EBUSY while
 * a checkpoint is under way; a bad CRAC_ENGINE is reported by the next
 * checkpoint, before anyone is notified. */
#include "coordutil.h"
#include <stdlib.h>
#include <sys/wait.h>

static int busy_rc = 1;

static void set_inside(struct rec *self, int before)
{
    (void)self;
    if (before)
        busy_rc = crac_set_option("checkpoint_to", "/tmp/x");
}

#define GET_IS(key, want)                                                      \
    CHECK(crac_get_option(key) && strcmp(crac_get_option(key), want) == 0,     \
          "%s: got '%s', want '%s'", key, crac_get_option(key), want)

/* In a child: a process reads the environment once. */
static void bad_env_engine(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        setenv("CRAC_ENGINE", "bogus", 1);
        static struct rec a = REC("a");
        CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
        crac_error *err;
        CHECK(cycle(&err) < 0, "unknown engine must fail the checkpoint");
        char *text = crac_error_format(err);
        CHECK(strstr(text, "unknown engine 'bogus'"), "message:\n%s", text);
        CHECK(a.nbefore == 0, "nobody notified");
        free(text);
        crac_error_free(err);
        CHECK(crac_set_option("engine", "sim") == 0, "a good engine fixes it");
        CHECK(cycle(&err) == 0, "then checkpoints work");
        exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "child with CRAC_ENGINE=bogus failed");
}

int main(void)
{
    bad_env_engine();

    /* policies files must exist: the checker reads them at each checkpoint */
    char pol[4096], pol2[4096];
    snprintf(pol, sizeof(pol), "%s/policies", test_tmp());
    snprintf(pol2, sizeof(pol2), "%s/p", test_tmp());
    CHECK(fclose(fopen(pol, "w")) == 0 && fclose(fopen(pol2, "w")) == 0, "policies files");
    setenv("CRAC_ENGINE", "sim", 1);
    setenv("CRAC_CHECKPOINT_TO", "/var/tmp/img", 1);
    setenv("CRAC_POLICIES", pol, 1);
    setenv("CRAC_ENGINE_OPTIONS", "result=continued", 1);
    GET_IS("engine", "sim");
    GET_IS("checkpoint_to", "/var/tmp/img");
    GET_IS("policies", pol);
    GET_IS("engine_options", "result=continued");
    crac_error *err;
    CHECK(cycle(&err) == 0 && crac_restore_count() == 0,
          "CRAC_ENGINE_OPTIONS must have been applied (result=continued)");
    setenv("CRAC_ENGINE", "pause", 1); /* read once: no effect now */
    GET_IS("engine", "sim");

    CHECK(crac_set_option("no_such_key", "x") == -EINVAL, "unknown key");
    CHECK(crac_set_option(NULL, "x") == -EINVAL, "NULL key");
    CHECK(crac_get_option("no_such_key") == NULL, "unknown key");
    CHECK(crac_set_option("engine", "bogus") == -EINVAL, "unknown engine");
    GET_IS("engine", "sim");
    CHECK(crac_set_option("engine_options", "nonsense") == -EINVAL, "not k=v");
    CHECK(crac_set_option("engine_options", "=x") == -EINVAL, "empty key");
    CHECK(crac_set_option("engine_options", "no_such=1") == -EINVAL, "unknown option");
    CHECK(crac_set_option("engine_options", "result=maybe") == -EINVAL, "bad value");
    GET_IS("engine_options", "result=continued");
    CHECK(crac_set_option("engine_options", "result=restored") == 0, "good");
    GET_IS("engine_options", "result=restored");

    CHECK(crac_set_option("checkpoint_to", "/somewhere") == 0, "checkpoint_to");
    GET_IS("checkpoint_to", "/somewhere");
    CHECK(crac_set_option("checkpoint_to", NULL) == 0, "unset");
    CHECK(crac_get_option("checkpoint_to") == NULL, "unset");
    CHECK(crac_set_option("policies", pol2) == 0, "policies");
    GET_IS("policies", pol2);

    /* Another engine: the old engine's options go with it. */
    CHECK(crac_set_option("engine", "pause") == 0, "pause");
    GET_IS("engine", "pause");
    CHECK(crac_get_option("engine_options") == NULL, "options cleared");
    CHECK(crac_set_option("engine_options", "result=restored") == -EINVAL,
          "sim's option is not pause's");
    CHECK(crac_set_option("engine_options", "timeout_ms=abc") == -EINVAL, "bad ms");
    CHECK(crac_set_option("engine_options", "timeout_ms=5") == 0, "timeout_ms");
    CHECK(crac_set_option("engine", NULL) == 0, "default engine");
    GET_IS("engine", "native");

    /* While a cycle runs. */
    use_sim();
    static struct rec a = REC("a");
    a.hook = set_inside;
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
    CHECK(cycle(&err) == 0, "cycle");
    CHECK(busy_rc == -EBUSY, "set_option during a cycle: %d, want -EBUSY", busy_rc);
    CHECK(crac_get_option("checkpoint_to") == NULL, "must not have changed");
    printf("set-option: ok\n");
    return 0;
}
