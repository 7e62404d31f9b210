/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy `ignore`: accepted by engines that keep the process as it is
 * (pause, sim): the descriptor, child or mapping stays and is not reported.
 * Refused with the native engine, which cannot carry a descriptor into an
 * image: the problem names the rule and says why.  Dry runs (what
 * `crac check` does), so pause does not wait.
 * White-box: links libcrac.a for crac__checkpoint_restore_opts().
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "checkutil.h"
#include "core/core.h"
#include "policy/policy.h"

int main(void)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/kept", test_tmp());
    int f = open(path, O_RDWR | O_CREAT, 0600);
    CHECK(f >= 0, "open");
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) != MAP_FAILED,
          "mmap");
    const char *pol = write_policies("policies", "file ignore path=%s\nchild ignore\n"
                                     "mapping ignore path=/dev/zero\n", path);
    crac_error *err = NULL;

    /* pause: all three are kept, nothing is reported */
    CHECK(crac_set_option("engine", "pause") == 0 && crac_set_option("policies", pol) == 0, "opts");
    int rc = crac__checkpoint_restore_opts(true, &err);
    if (rc < 0)
        free(show(err));
    CHECK(rc == 0, "pause: ignore must be accepted");
    CHECK(fcntl(f, F_GETFD) >= 0, "the ignored fd stays open");

    /* without the rules, the same state is refused */
    CHECK(crac_set_option("policies", NULL) == 0, "no policies");
    CHECK(crac__checkpoint_restore_opts(true, &err) < 0, "pause without rules must refuse");
    CHECK(crac_error_cause_count(err) == 3, "fd, child, mapping: %zu problems",
          crac_error_cause_count(err));
    crac_error_free(err);

    /* native: ignore is refused, clearly */
    CHECK(crac_set_option("engine", "native") == 0 && crac_set_option("policies", pol) == 0, "opts");
    CHECK(crac__checkpoint_restore_opts(true, &err) < 0, "native: ignore must be refused");
    free(show(err));
    char want[4400];
    snprintf(want, sizeof(want), "regular file %s (O_RDWR, offset 0 of 0 bytes) [policy %s:1: "
             "ignore is not possible with engine 'native': it does not keep descriptors across "
             "a checkpoint (use close or reopen)]", path, pol);
    EXPECT_FD(err, f, want);
    snprintf(want, sizeof(want), "[policy %s:2: ignore is not possible with engine 'native'", pol);
    CHECK(find_cause(err, "child process ", want), "child: %s", want);
    snprintf(want, sizeof(want), "[policy %s:3: ignore is not possible with engine 'native'", pol);
    CHECK(find_cause(err, "shared writable mapping ", want), "mapping: %s", want);
    crac_error_free(err);
    CHECK(fcntl(f, F_GETFD) >= 0, "a dry run closes nothing");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("policy-ignore: ok\n");
    return 0;
}
