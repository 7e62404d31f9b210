/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For tests/native-thread-churn.sh: threads are created and joined
 * without pause while the main thread checkpoints N times (keep_running),
 * to DIR/img.K.  A checkpoint thus often catches a thread that the kernel
 * has made but glibc has not finished starting (no rseq area registered
 * yet).  A restored instance says "RESTORED K" once the churn goes on
 * (more threads started and joined after the restore) and exits 0.
 *
 *   thread-churn DIR N
 */
#include <crac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_ulong made;

static void *noop(void *arg)
{
    return arg;
}

static void *churn(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, NULL, noop, NULL) == 0 && pthread_join(t, NULL) == 0)
            atomic_fetch_add(&made, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    char path[4096];
    pthread_t c[2];
    if (argc != 3)
        return 2;
    for (int i = 0; i < 2; i++)
        pthread_create(&c[i], NULL, churn, NULL);
    crac_set_option("engine_options", "keep_running=true");
    for (int k = 0; k < atoi(argv[2]); k++) {
        crac_error *err;
        snprintf(path, sizeof(path), "%s/img.%d", argv[1], k);
        crac_set_option("checkpoint_to", path);
        usleep(2000 + (unsigned)(k * 997) % 3000);
        if (crac_checkpoint_restore(&err)) {
            char *text = crac_error_format(err);
            fprintf(stderr, "checkpoint %d failed:\n%s", k, text);
            return 1;
        }
        if (crac_restore_count()) {
            unsigned long before = atomic_load(&made);
            while (atomic_load(&made) < before + 100)
                usleep(1000);
            printf("RESTORED %d\n", k);
            return 0;
        }
    }
    printf("CHECKPOINTED %s\n", argv[2]);
    return 0;
}
