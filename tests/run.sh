#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Runs every test: the programs built into build/tests/ and the scripts
# tests/*.sh.  Each test runs in its own session (so its own process group)
# under a timeout; when it ends, whatever is left in its group (restored
# processes included) is killed by the group id we created, never by name.
# Exit status: 0 pass, 77 skip (the test prints why), anything else fails.
#
#   sh tests/run.sh [NAME-SUBSTRING...]      (TEST_TIMEOUT=seconds, default 120)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
timeout_s=${TEST_TIMEOUT:-120}
export CRAC_TOP="$top" CRAC_BUILD="$build" CRAC_BIN="$build/crac"
logdir="$build/test-logs"
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed=""

# Tests must not inherit descriptors from whoever started us (make's
# jobserver pipe, a CI runner's files): the checker rightly refuses to
# checkpoint a process holding descriptors it cannot restore.  They are
# closed in the child: closing them here could close the one this script
# is read from.
no_inherited_fds='for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -le 2 ] || eval "exec $fd>&-" 2>/dev/null; done; exec "$@"'

FILTER="$*"
want() {
    [ -z "$FILTER" ] && return 0
    for w in $FILTER; do case "$1" in *"$w"*) return 0 ;; esac; done
    return 1
}

run_one() { # name command...
    name=$1; shift
    want "$name" || return 0
    tmp=$(mktemp -d /tmp/crac-test.XXXXXX)
    log="$logdir/$name.log"
    start=$(date +%s%N)
    # setsid: the test leads a new process group whose id is its pid.
    CRAC_TEST_TMP="$tmp" setsid timeout -k 5 "$timeout_s" \
        bash -c "$no_inherited_fds" run-test "$@" >"$log" 2>&1 </dev/null &
    pid=$!
    wait $pid
    rc=$?
    # Anything the test left behind in its group (restored processes too).
    kill -KILL "-$pid" 2>/dev/null # (dash: no "--")
    rm -rf "$tmp"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    case $rc in
    0) pass=$((pass+1)); echo "PASS  $name (${ms} ms)" ;;
    77) skip=$((skip+1)); echo "SKIP  $name: $(tail -n 1 "$log")" ;;
    124|137) fail=$((fail+1)); failed="$failed $name"; echo "FAIL  $name: timed out after ${timeout_s}s (log: $log)" ;;
    *) fail=$((fail+1)); failed="$failed $name"; echo "FAIL  $name: exit $rc (log: $log)"; tail -n 15 "$log" | sed 's/^/      /' ;;
    esac
}

for t in "$build"/tests/*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for t in "$top"/tests/*.sh; do
    [ -f "$t" ] || continue
    case "$t" in */run.sh | *-lib.sh) continue ;; esac # the runner; sourced by tests
    run_one "$(basename "$t" .sh)" bash "$t"
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
