/* SPDX-License-Identifier: Apache-2.0 */
/* Unregister: outside a cycle it removes the resource (-ENOENT when not
 * there, -EINVAL for NULL); from inside a notification it fails with
 * -EDEADLK; from another thread during a cycle it waits until the cycle
 * has ended, and the resource is notified by that whole cycle. */
#include "coordutil.h"
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

static struct rec a = REC("a"), b = REC("b"), c = REC("c"), d = REC("d");
static int inside_rc[2] = { 1, 1 };
static sem_t go;
static atomic_int unreg_done = 0, unreg_rc = 1;
static int done_seen_before = -1, done_seen_after = -1;

static void *unregister_c(void *arg)
{
    (void)arg;
    sem_wait(&go);
    atomic_store(&unreg_rc, crac_context_unregister(crac_global_context(), &c.res));
    atomic_store(&unreg_done, 1);
    return NULL;
}

static void from_inside(struct rec *self, int before)
{
    (void)self;
    /* Itself and another resource: both refused while the cycle runs. */
    inside_rc[0] = crac_context_unregister(crac_global_context(), &b.res);
    inside_rc[1] = crac_context_unregister(crac_global_context(), &d.res);
    if (before) {
        sem_post(&go); /* now the other thread tries to unregister c */
        nanosleep(&(struct timespec){ .tv_nsec = 200000000 }, NULL);
        done_seen_before = atomic_load(&unreg_done);
    } else {
        nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
        done_seen_after = atomic_load(&unreg_done);
    }
}

int main(void)
{
    use_sim();
    crac_context *g = crac_global_context();
    CHECK(crac_context_unregister(NULL, &a.res) == -EINVAL, "NULL ctx");
    CHECK(crac_context_unregister(g, NULL) == -EINVAL, "NULL resource");
    CHECK(crac_context_unregister(g, &a.res) == -ENOENT, "never registered");

    /* Outside a cycle. */
    CHECK(crac_context_register(g, &a.res) == 0, "a");
    CHECK(crac_context_register(g, &b.res) == 0, "b");
    crac_context *other = crac_context_new("other");
    CHECK(crac_context_unregister(other, &a.res) == -ENOENT, "wrong context");
    CHECK(crac_context_unregister(g, &a.res) == 0, "unregister a");
    CHECK(crac_context_unregister(g, &a.res) == -ENOENT, "a again");
    crac_error *err;
    CHECK(cycle(&err) == 0, "cycle");
    CHECK_TRACE("B:b A:b");
    /* Once unregistered it may go elsewhere. */
    CHECK(crac_context_register(other, &a.res) == 0, "a into other");
    CHECK(crac_context_unregister(other, &a.res) == 0, "a out of other");
    crac_context_free(other);

    /* During a cycle. */
    CHECK(crac_context_register(g, &c.res) == 0, "c");
    CHECK(crac_context_register(g, &d.res) == 0, "d");
    b.hook = from_inside;
    sem_init(&go, 0, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, unregister_c, NULL) == 0, "thread");
    CHECK(cycle(&err) == 0, "cycle");
    pthread_join(t, NULL);
    CHECK(inside_rc[0] == -EDEADLK && inside_rc[1] == -EDEADLK,
          "from inside a notification: %d %d, want -EDEADLK", inside_rc[0],
          inside_rc[1]);
    CHECK(done_seen_before == 0 && done_seen_after == 0,
          "unregister from another thread returned during the cycle (%d %d)",
          done_seen_before, done_seen_after);
    CHECK(atomic_load(&unreg_rc) == 0, "unregister c after the cycle: %d",
          atomic_load(&unreg_rc));
    CHECK_TRACE("B:d B:c B:b A:b A:c A:d");

    b.hook = NULL;
    CHECK(cycle(&err) == 0, "cycle");
    CHECK_TRACE("B:d B:b A:b A:d");
    printf("unregister: ok\n");
    return 0;
}
