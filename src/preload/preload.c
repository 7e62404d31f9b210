/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcrac-preload.so: crac for programs that were not built with it.
 * `crac run` puts it in LD_PRELOAD; its constructor reads the CRAC_*
 * configuration and starts the control socket, so that `crac check PID` and
 * `crac checkpoint PID` reach the program.  The library itself is linked in
 * (the Makefile adds every library object), so nothing else needs to be
 * installed beside it.
 *
 * A program that is also linked with libcrac.so then holds two copies: the
 * preload comes first in the symbol lookup order, so the program's crac_*
 * calls reach this one, and only this one listens (control.c checks).
 * CRAC_CONTROL=0 turns the socket off.
 */
#include <stdio.h>

#include "control/control.h"
#include "core/core.h"

__attribute__((constructor)) static void crac_preload_init(void)
{
    /* Read the environment now: the program may change it later, and a bad
     * CRAC_ENGINE is then kept for the first checkpoint to report. */
    (void)crac_get_option("engine");
    if (crac__control_autostart(true) < 0)
        crac__log("preload: this program has its own copy of libcrac, which "
                  "does not use this one; set CRAC_CONTROL=1 for its socket");
}
