/* SPDX-License-Identifier: Apache-2.0 */
/* crac_restore_count(), crac_restore_time_ms(), crac_uptime_since_restore_ms()
 * and crac_version() with the sim engine: nothing before the first restore,
 * then the count goes up by one per restore, the time is the wall clock of
 * the restore, the uptime grows from it.  A kept-running checkpoint is not
 * a restore. */
#include "coordutil.h"
#include <time.h>

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long seen_in_after = -2;

static void look(struct rec *self, int before)
{
    (void)self;
    if (!before)
        seen_in_after = crac_restore_count();
}

int main(void)
{
    char want[32];
    snprintf(want, sizeof(want), "%d.%d.%d", CRAC_VERSION_MAJOR,
             CRAC_VERSION_MINOR, CRAC_VERSION_PATCH);
    CHECK(strcmp(crac_version(), want) == 0, "version %s", crac_version());

    CHECK(crac_restore_count() == 0, "count before any restore");
    CHECK(crac_restore_time_ms() == -1, "time before any restore");
    CHECK(crac_uptime_since_restore_ms() == -1, "uptime before any restore");

    use_sim();
    static struct rec a = REC("a");
    a.hook = look;
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0, "a");
    crac_error *err;
    long long t0 = wall_ms();
    CHECK(cycle(&err) == 0, "cycle");
    long long t1 = wall_ms();
    CHECK(crac_restore_count() == 1, "count %u", crac_restore_count());
    CHECK(seen_in_after == 1, "after-restore must already see the new count");
    long long t = crac_restore_time_ms();
    CHECK(t >= t0 && t <= t1, "restore time %lld not in [%lld, %lld]", t, t0, t1);
    long long up = crac_uptime_since_restore_ms();
    CHECK(up >= 0 && up < 1000, "uptime %lld", up);
    nanosleep(&(struct timespec){ .tv_nsec = 60000000 }, NULL);
    up = crac_uptime_since_restore_ms();
    CHECK(up >= 55 && up < 5000, "uptime after 60 ms: %lld", up);

    CHECK(cycle(&err) == 0, "second cycle");
    CHECK(crac_restore_count() == 2, "count %u", crac_restore_count());
    CHECK(crac_uptime_since_restore_ms() < 55, "uptime restarts at a restore");

    CHECK(crac_set_option("engine_options", "result=continued") == 0, "continued");
    long long before = crac_restore_time_ms();
    CHECK(cycle(&err) == 0, "kept-running cycle");
    CHECK(crac_restore_count() == 2, "keep-running is not a restore");
    CHECK(crac_restore_time_ms() == before, "nor does it move the time");
    printf("restore-time: ok\n");
    return 0;
}
