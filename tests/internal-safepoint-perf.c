/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How long parking every thread takes (crac__safepoint_enter(), the ptrace
 * helper included; no image): N more threads, the first C of them
 * computing, the others in usleep(); R rounds of enter + leave; prints
 * the median and the range.  From make test with 8 threads, 2 computing
 * (the bench's mix), failing only if a round takes over a second: the
 * numbers are for docs/benchmarks.md ("Safepoint").
 *
 *   internal-safepoint-perf [N [C [R]]]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "testutil.h"
#include "core/core.h"
#include "native/threads.h"

static atomic_int stop;

static void *idle(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        usleep(100000);
    return NULL;
}

static void *compute(void *arg)
{
    volatile unsigned long x = 0;
    (void)arg;
    while (!atomic_load(&stop))
        x++;
    return NULL;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 8, busy = argc > 2 ? atoi(argv[2]) : 2;
    int rounds = argc > 3 ? atoi(argv[3]) : 11;
    static pthread_t th[CRAC_MAX_THREADS];
    static double took[1000];
    struct crac__parker *pk = calloc(1, sizeof(*pk));
    CHECK(pk && n >= 0 && n < CRAC_MAX_THREADS - 1 && rounds > 0 && rounds <= 1000, "arguments");
    for (int i = 0; i < n; i++)
        CHECK(pthread_create(&th[i], NULL, i < busy ? compute : idle, NULL) == 0, "thread %d", i);
    usleep(100000);
    for (int r = 0; r < rounds; r++) {
        crac_error *err = NULL;
        double t0 = now_ms();
        CHECK(crac__safepoint_enter(5000, pk, &err) == 0, "round %d: %s", r,
              err ? crac_error_format(err) : "?");
        took[r] = now_ms() - t0;
        crac__safepoint_leave();
        CHECK(took[r] < 1000, "round %d took %.1f ms", r, took[r]);
        usleep(20000);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    qsort(took, (size_t)rounds, sizeof(took[0]), by_value);
    printf("safepoint, %d threads (%d computing): median %.3f ms (%.3f-%.3f) over %d rounds\n", n,
           busy < n ? busy : n, took[rounds / 2], took[0], took[rounds - 1], rounds);
    return 0;
}
