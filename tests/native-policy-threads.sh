#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A policy reopens a listening socket that another thread is blocked on in
# accept(): the native engine closes it and reopens it while the other
# threads are parked, so that thread never sees it closed: it serves
# clients after a restore, and in a process that keeps running after its
# checkpoint, instead of failing with EBADF.
. "$(dirname "$0")/native-lib.sh"
. "$top/scripts/http.sh" || exit 1
prog="$build/tests/helpers/policy-threads"
pick_free_port || fail "no free port"
port=$FREE_PORT
echo "socket reopen listening=true local-port=$port" >"$tmp/policies"
CRAC_POLICIES="$tmp/policies" checkpoint "$tmp/img" "$port" || { cat "$tmp/cp.out"; fail "checkpoint failed"; }
# serves PID OUT WORD WHO: waits until the process says WORD, then a client
# must get "hello" and the acceptor must not have failed; then kills it.
serves() {
    local pid=$1 out=$2 word=$3 who=$4 t fd line
    for ((t = 0; t < 300; t++)); do
        grep -q "$word" "$out" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || { cat "$out"; fail "$who: cannot connect"; }
    read -r -t 5 -u $fd line
    exec {fd}>&-
    [ "$line" = hello ] || { cat "$out"; fail "$who: got '$line'"; }
    grep -q "ACCEPT FAILED" "$out" && { cat "$out"; fail "$who: accept failed"; }
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
}

# keep_running: the same process goes on; its acceptor must not have seen
# the socket closed (the engine closes and reopens it with threads parked).
# Its thread polls the socket every millisecond: any moment the socket is
# closed while the thread runs shows as POLLNVAL.
CRAC_POLICIES="$tmp/policies" CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$tmp/img-keep" \
    CRAC_ENGINE_OPTIONS=keep_running=true "$prog" "$port" poll >"$tmp/keep.out" 2>&1 </dev/null &
PIDS+=($!)
serves $! "$tmp/keep.out" CONTINUED keep_running

# Each restore writes a file of its own: the shell truncates a redirected
# file only once the background process starts, so a reused one could still
# say RESTORED from the previous restore when first read.
for i in 1 2 3; do
    "$crac" restore --pid new "$tmp/img" >"$tmp/r$i.out" 2>&1 </dev/null &
    PIDS+=($!)
    serves $! "$tmp/r$i.out" RESTORED "restore $i"
done
echo "the accepting thread served after 3 restores: ok"
