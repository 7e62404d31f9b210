#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Native engine: one image restores any number of times, one after the
# other and concurrently (--pid new: each instance has its own pid); --env
# sets the environment before after-restore.
. "$(dirname "$0")/native-lib.sh"
img="$tmp/img"
checkpoint "$img" spin || { cat "$tmp/cp.out"; fail "checkpoint failed"; }
for i in 1 2; do
    "$crac" restore --pid new "$img" >"$tmp/seq$i.out" 2>&1 </dev/null &
    PIDS+=($!)
done
# Concurrent: 4 more while the first two are still running.
for i in 1 2 3 4; do
    "$crac" restore --pid new "$img" >"$tmp/con$i.out" 2>&1 </dev/null &
    PIDS+=($!)
done
for ((t = 0; t < 100; t++)); do
    n=$(cat "$tmp"/seq*.out "$tmp"/con*.out 2>/dev/null | grep -c "SPIN OK")
    [ "$n" -eq 6 ] && break
    sleep 0.1
done
[ "$n" -eq 6 ] || { head "$tmp"/*.out; fail "only $n of 6 restored instances answered"; }
# Each instance is its own process (the pid of its crac restore).
pids=$(cat "$tmp"/seq*.out "$tmp"/con*.out | awk '/SPIN OK/{print $3}' | sort -u | wc -l)
[ "$pids" -eq 6 ] || fail "instances share pids"

img2="$tmp/img2"
CRAC_TEST_ENV2=at-checkpoint checkpoint "$img2" env || fail "checkpoint (env) failed"
restore "$tmp/env.out" "$img2" --env CRAC_TEST_ENV=from-restore --env CRAC_TEST_ENV2=replaced ||
    fail "restore --env failed"
expect_in "$tmp/env.out" "CRAC_TEST_ENV=from-restore"
expect_in "$tmp/env.out" "CRAC_TEST_ENV2=replaced"
expect_in "$tmp/env.out" "later=set env2=gone"
restore "$tmp/env2.out" "$img2" || fail "restore failed"
expect_in "$tmp/env2.out" "CRAC_TEST_ENV=(unset)"
expect_in "$tmp/env2.out" "CRAC_TEST_ENV2=at-checkpoint"
echo "6 instances and --env ok"
