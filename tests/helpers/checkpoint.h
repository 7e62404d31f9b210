/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checkpoint call of the helper programs that checkpoint themselves.
 * stdout is flushed first: what was printed before is not printed again by
 * the restored process.  (native-state.c has its own, which does not flush:
 * it tests that stdio's buffer comes back.)
 */
#ifndef CRAC_TEST_CHECKPOINT_H
#define CRAC_TEST_CHECKPOINT_H

#include <crac.h>
#include <stdio.h>
#include <stdlib.h>

/* 0 after the checkpoint (kept running) or the restore, -1 refused. */
static int checkpoint(void)
{
    crac_error *err = NULL;
    fflush(stdout);
    if (crac_checkpoint_restore(&err) < 0) {
        char *s = crac_error_format(err);
        printf("CHECKPOINT FAILED\n%s", s);
        free(s);
        crac_error_free(err);
        return -1;
    }
    return 0;
}

#endif
