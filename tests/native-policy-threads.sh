#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A policy reopens a listening socket that another thread is blocked on in
# accept(): after the restore that thread resumes with the socket already
# open again (the native engine reopens before it lets threads run), so it
# serves clients instead of failing with EBADF.
. "$(dirname "$0")/native-lib.sh"
. "$top/scripts/http.sh" || exit 1
prog="$build/tests/helpers/policy-threads"
pick_free_port || fail "no free port"
port=$FREE_PORT
echo "socket reopen listening=true local-port=$port" >"$tmp/policies"
CRAC_POLICIES="$tmp/policies" checkpoint "$tmp/img" "$port" || { cat "$tmp/cp.out"; fail "checkpoint failed"; }
for i in 1 2 3; do
    "$crac" restore --pid new "$tmp/img" >"$tmp/r.out" 2>&1 </dev/null &
    pid=$!
    PIDS+=($pid)
    for ((t = 0; t < 200; t++)); do
        grep -q RESTORED "$tmp/r.out" && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.01
    done
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || { cat "$tmp/r.out"; fail "restore $i: cannot connect"; }
    read -r -t 5 -u $fd line
    exec {fd}>&-
    [ "$line" = hello ] || { cat "$tmp/r.out"; fail "restore $i: got '$line'"; }
    grep -q "ACCEPT FAILED" "$tmp/r.out" && { cat "$tmp/r.out"; fail "restore $i: accept failed"; }
    kill -KILL $pid
    wait $pid 2>/dev/null
done
echo "the accepting thread served after 3 restores: ok"
