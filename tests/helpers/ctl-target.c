/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A program for the control-socket tests: linked with libcrac, it registers
 * a resource (that may be told to fail), prints "ready", then a numbered
 * "tick" line every 50 ms so that a test can see it goes on running.
 * The callbacks print "before" and "after restore (count N)".
 *
 *   ctl-target [--fail-before MSG] [--fail-after MSG] [--open PATH]
 *              [--checkpoint-at N]
 *
 *   --open PATH        keeps PATH open for writing (something the checker refuses:
 *                      written at an offset, the native engine does not restore it)
 *   --checkpoint-at N  at tick N, asks for a checkpoint itself, from the
 *                      main thread, and prints "checkpoint: ok" or the error
 */
#include <crac.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *fail_before, *fail_after;

static crac_error *before(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    printf("before\n");
    fflush(stdout);
    return fail_before ? crac_error_new("%s", fail_before) : NULL;
}

static crac_error *after(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    printf("after restore (count %u)\n", crac_restore_count());
    fflush(stdout);
    return fail_after ? crac_error_new("%s", fail_after) : NULL;
}

static crac_resource res = { .name = "disk-cache", .before_checkpoint = before,
                             .after_restore = after };

static void checkpoint(void)
{
    crac_error *err = NULL;
    if (crac_checkpoint_restore(&err) == 0) {
        printf("checkpoint: ok (restore count %u, pid %d)\n",
               crac_restore_count(), (int)getpid());
    } else {
        char *text = crac_error_format(err);
        printf("checkpoint: %s", text ? text : "failed\n");
        free(text);
        crac_error_free(err);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    long at = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--fail-before") == 0)
            fail_before = argv[i + 1];
        else if (strcmp(argv[i], "--fail-after") == 0)
            fail_after = argv[i + 1];
        else if (strcmp(argv[i], "--open") == 0 && open(argv[i + 1], O_RDWR) < 0)
            perror(argv[i + 1]);
        else if (strcmp(argv[i], "--checkpoint-at") == 0)
            at = atol(argv[i + 1]);
    }
    crac_context_register(crac_global_context(), &res);
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    for (long n = 1;; n++) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        printf("tick %ld\n", n);
        fflush(stdout);
        if (n == at)
            checkpoint();
    }
}
