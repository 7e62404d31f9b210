/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the benchmark programs in bench/. */
#ifndef CRAC_BENCH_H
#define CRAC_BENCH_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on clock c.  CLOCK_MONOTONIC for durations inside one
 * process; CLOCK_REALTIME where two processes compare their readings. */
static inline uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
