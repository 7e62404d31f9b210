/* SPDX-License-Identifier: Apache-2.0 */
/* Concurrent callers are serialized: one whole cycle (before-checkpoint to
 * the end of after-restore) at a time; each caller gets its own result. */
#include "coordutil.h"
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define THREADS 4
#define ROUNDS 5

static atomic_int inside, overlaps, cycles;

static crac_error *before(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    if (atomic_fetch_add(&inside, 1) != 0)
        atomic_fetch_add(&overlaps, 1);
    nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
    return NULL;
}

static crac_error *after(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
    atomic_fetch_add(&cycles, 1);
    atomic_fetch_sub(&inside, 1);
    return NULL;
}

static void *caller(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        crac_error *e = NULL;
        if (crac_checkpoint_restore(&e) != 0)
            return (void *)1;
    }
    return NULL;
}

int main(void)
{
    use_sim();
    static crac_resource r = { .name = "r", .before_checkpoint = before,
                               .after_restore = after };
    CHECK(crac_context_register(crac_global_context(), &r) == 0, "register");
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, caller, NULL) == 0, "pthread_create");
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        CHECK(ret == NULL, "a caller's cycle failed");
    }
    CHECK(atomic_load(&overlaps) == 0, "%d overlapping cycles",
          atomic_load(&overlaps));
    CHECK(atomic_load(&cycles) == THREADS * ROUNDS, "cycles %d",
          atomic_load(&cycles));
    CHECK(crac_restore_count() == THREADS * ROUNDS, "restores %u",
          crac_restore_count());
    printf("concurrent: ok\n");
    return 0;
}
