/* SPDX-License-Identifier: Apache-2.0 */
/* engine_options=help prints the engine's options to stderr (and changes
 * nothing), through crac_set_option() and through CRAC_ENGINE_OPTIONS. */
#include "coordutil.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>

static char out[8192];

/* Runs fn with stderr going to a file; leaves what it printed in out[]. */
static void capture(void (*fn)(void))
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/stderr.txt", test_tmp());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0, "open %s", path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
}

static void pause_help(void)
{
    CHECK(crac_set_option("engine", "pause") == 0, "pause");
    CHECK(crac_set_option("engine_options", "help") == 0, "help returns 0");
}

static void sim_help(void)
{
    CHECK(crac_set_option("engine", "sim") == 0, "sim");
    CHECK(crac_set_option("engine_options", "help") == 0, "help returns 0");
}

static void env_help(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        setenv("CRAC_ENGINE", "pause", 1);
        setenv("CRAC_ENGINE_OPTIONS", "help", 1);
        crac_get_option("engine"); /* first use reads the environment */
        exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "child failed");
}

int main(void)
{
    /* First, while this process has not read its environment: the child
     * must do that itself. */
    capture(env_help);
    CHECK(strstr(out, "ready_file"), "CRAC_ENGINE_OPTIONS=help:\n%s", out);

    capture(pause_help);
    CHECK(strstr(out, "pause") && strstr(out, "ready_file") && strstr(out, "timeout_ms"),
          "pause help:\n%s", out);
    CHECK(crac_get_option("engine_options") == NULL, "help is not stored");

    capture(sim_help);
    CHECK(strstr(out, "sim") && strstr(out, "result") && strstr(out, "check_problem"),
          "sim help:\n%s", out);

    printf("engine-options-help: ok\n");
    return 0;
}
