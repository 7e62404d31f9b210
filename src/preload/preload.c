/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcrac-preload.so: crac for programs that were not built with it.
 *
 * A shim with no code of its own: it is linked against libcrac.so.0
 * (DT_NEEDED, found beside it through its $ORIGIN run path), so putting it
 * in LD_PRELOAD, as `crac run` does, loads the one copy of the library into
 * the program.  The library's constructor sees itself named in LD_PRELOAD
 * and starts the control socket unless CRAC_CONTROL=0
 * (src/control/control.c), so `crac check PID` and `crac checkpoint PID`
 * reach the program.  A program that is also linked with libcrac.so gets
 * the same copy, not a second one.
 */
