#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Native engine: 8 concurrent restores of one image of a multi-threaded
# process all come up (pid auto: the first may keep the saved pid, the
# others get their own pid namespace), and each answers a signal; SIGTERM to
# `crac restore` reaches the restored process, whose status it returns.
. "$(dirname "$0")/native-lib.sh"
prog="$build/tests/helpers/native-threads"
img="$tmp/img"
checkpoint "$img" serve || { cat "$tmp/cp.out"; fail "checkpoint failed"; }
n=8
declare -a cp
for ((i = 0; i < n; i++)); do
    "$crac" restore "$img" >"$tmp/i$i.out" 2>&1 </dev/null &
    cp[i]=$!
    PIDS+=($!)
done
for ((t = 0; t < 200; t++)); do
    up=$(cat "$tmp"/i*.out | grep -c "^SERVING")
    [ "$up" -eq $n ] && break
    sleep 0.05
done
[ "$up" -eq $n ] || { head -5 "$tmp"/i*.out; fail "only $up of $n instances came up"; }
grep -L "THREADS OK" "$tmp"/i*.out | grep -q . && fail "an instance's threads are wrong"
# SIGTERM to each crac restore reaches its instance (no handler: it dies of it)
for ((i = 0; i < n; i++)); do
    kill -TERM "${cp[i]}"
    wait "${cp[i]}"
    rc=$?
    [ $rc -eq 143 ] || fail "instance $i: crac restore exited $rc after SIGTERM, want 143"
done
echo "$n concurrent instances: ok"
