/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checker on 1,000 descriptors (files, pipes, sockets): every one is
 * reported, and it takes well under half a second (a generous bound for a
 * loaded test machine; the figure on a quiet machine is in
 * docs/benchmarks.md, "Checker").  Prints the time of the checker alone
 * (crac__check_report) and of a whole dry run.
 *   build/tests/internal-check-perf [N [socketpairs]]
 *     N descriptors (default 1000): half files, a third pipes, the rest
 *     unconnected sockets; or all connected unix socket pairs.
 */
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "checkutil.h"
#include "checker/checker.h"
#include "core/core.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)n + 16)
            SKIP("RLIMIT_NOFILE is %llu: cannot open %d descriptors", (unsigned long long)rl.rlim_cur, n);
    }
    setenv("CRAC_ENGINE", "sim", 1);
    char path[4200];
    snprintf(path, sizeof(path), "%s/f", test_tmp());
    int made = 0;
    if (argc > 2 && !strcmp(argv[2], "socketpairs")) /* the slowest kind: one sock_diag each */
        for (int sp[2]; made + 2 <= n; made += 2)
            CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0, "socketpair");
    for (; made < n / 2; made++)
        CHECK(open(path, O_RDWR | O_CREAT, 0600) >= 0, "open");
    for (int p[2]; made + 2 <= n * 8 / 10; made += 2)
        CHECK(pipe(p) == 0, "pipe");
    for (; made < n; made++) {
        int s = socket(made % 2 ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
        CHECK(s >= 0, "socket");
    }
    crac_error *err = NULL;
    double t0 = now_ms();
    int found = crac__check_report(&err);
    double t1 = now_ms();
    CHECK(found == n, "%d problems, want %d", found, n);
    crac_error_free(err);
    double t2 = now_ms();
    CHECK(crac__checkpoint_restore_opts(true, &err) < 0, "dry run refused");
    double t3 = now_ms();
    CHECK(crac_error_cause_count(err) == (size_t)n, "dry run: %zu problems", crac_error_cause_count(err));
    double t4 = now_ms();
    char *text = crac_error_format(err);
    double t5 = now_ms();
    free(text);
    crac_error_free(err);
    printf("checker: %d descriptors checked and named in %.1f ms (dry run %.1f ms, error text "
           "%.1f ms)\n", n, t1 - t0, t3 - t2, t5 - t4);
    CHECK(t1 - t0 < 500 && t3 - t2 < 500, "far too slow");
    return 0;
}
