/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For tests/setuid.sh: installed set-user-ID root and run by another user
 * with CRAC_* variables set.  Prints what libcrac made of them, then tries
 * a checkpoint, which must find no destination: the caller's environment
 * may not steer a privileged program (docs/security.md).  Linked with
 * libcrac.a: the loader ignores $ORIGIN run paths in such a program.
 */
#include <crac.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

int main(void)
{
    const char *to = crac_get_option("checkpoint_to");
    crac_error *err = NULL;
    printf("euid=%u secure=%lu checkpoint_to=%s engine=%s\n", (unsigned)geteuid(),
           getauxval(AT_SECURE), to ? to : "(unset)", crac_get_option("engine"));
    int rc = crac_checkpoint_restore(&err);
    char *text = err ? crac_error_format(err) : NULL;
    printf("checkpoint=%d %s\n", rc, text ? text : "");
    free(text);
    crac_error_free(err);
    return 0;
}
