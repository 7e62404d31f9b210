/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A thread blocked in fgets(stdin), which holds stdin's lock while it waits
 * in read(), while the main thread checkpoints with the native engine: the
 * checkpoint must not wait for that lock.  stdout is a file (fully
 * buffered): a line printed before the checkpoint and not flushed must be
 * written exactly once, by the original process, never again by a restored
 * one.
 *
 * Prints (stdout) "BEFORE pid" unflushed; once the reader sits in read(),
 * checkpoints; prints (stderr) "CHECKPOINT n ms" and "CONTINUED", or
 * "RESTORED"; then waits for the reader's line and prints "GOT line" and
 * "STDIN OK".
 */
#include <crac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic pid_t reader_tid;
static char line[128];

static void *reader(void *arg)
{
    (void)arg;
    atomic_store(&reader_tid, (pid_t)syscall(SYS_gettid));
    if (!fgets(line, sizeof(line), stdin))
        strcpy(line, "(end of input)\n");
    return NULL;
}

/* Until the reader sits in read(), holding stdin's lock. */
static int reader_in_read(void)
{
    char path[64], buf[256];
    for (int tries = 0; tries < 5000; tries++) {
        FILE *f;
        snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", atomic_load(&reader_tid));
        if (atomic_load(&reader_tid) && (f = fopen(path, "r"))) {
            int in_read = fgets(buf, sizeof(buf), f) && !strncmp(buf, "0 ", 2);
            fclose(f);
            if (in_read)
                return 1;
        }
        usleep(1000);
    }
    return 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int main(void)
{
    pthread_t t;
    crac_error *err = NULL;
    long t0;
    printf("BEFORE %d\n", getpid()); /* stays in stdout's buffer */
    pthread_create(&t, NULL, reader, NULL);
    if (!reader_in_read()) {
        fprintf(stderr, "the reader never reached read()\n");
        return 1;
    }
    t0 = now_ms();
    if (crac_checkpoint_restore(&err) < 0) {
        fprintf(stderr, "CHECKPOINT FAILED\n%s", crac_error_format(err));
        return 1;
    }
    if (crac_restore_count()) {
        fprintf(stderr, "RESTORED\n");
    } else {
        fprintf(stderr, "CHECKPOINT %ld ms\nCONTINUED\n", now_ms() - t0);
    }
    pthread_join(t, NULL);
    printf("GOT %s", line);
    printf("STDIN OK\n");
    return 0;
}
