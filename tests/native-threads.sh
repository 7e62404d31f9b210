#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Native engine, threads: a process with 8 threads in mixed states (busy
# computing, nanosleep, pthread_cond_wait, contended pthread_mutex_lock,
# sigsuspend, poll, idle) checkpoints from its main thread and from another
# thread; after a restore in each identity mode every thread's work,
# thread-local variables, pthread_join, and signals to a given thread are
# verified by the program itself.  keep and ns give back the saved pid.
# (Threads that block the safepoint signal: native-blockall.sh.)
. "$(dirname "$0")/native-lib.sh"
prog="$build/tests/helpers/native-threads"
modes="new keep ns auto"
for who in main other; do
    img="$tmp/img-$who"
    checkpoint "$img" "$who" || { cat "$tmp/cp.out"; fail "$who: checkpoint failed"; }
    saved=$(awk '/^PID/{print $2; exit}' "$tmp/cp.out")
    for pm in $modes; do
        restore "$tmp/r.out" "$img" --pid "$pm" -v
        rc=$?
        [ $rc -eq 0 ] || { cat "$tmp/r.out"; fail "$who --pid $pm: exit $rc"; }
        expect_in "$tmp/r.out" "THREADS OK"
        got=$(awk '/^PID .* restored/{print $2}' "$tmp/r.out")
        case $pm in
        keep | ns) [ "$got" = "$saved" ] || fail "$who --pid $pm: pid $got, saved $saved" ;;
        esac
        used=$(sed -n 's/.*pid mode \([a-z]*\).*/\1/p' "$tmp/r.out")
        echo "$who --pid $pm: ok (mode $used, pid $got, saved $saved)"
    done
done

