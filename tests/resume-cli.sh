#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `crac resume`: --help explains the pause protocol; usage errors exit 2;
# a PID with no process behind it exits 1 with a clear message; a real PID
# gets SIGCONT (here a child shell that waits for it).
set -u
crac=${CRAC_BIN:-build/crac}
tmp=${CRAC_TEST_TMP:-$(mktemp -d)}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

[ -x "$crac" ] || { echo "no crac command at $crac"; exit 77; }

out=$("$crac" resume --help) || fail "resume --help exited $?"
for w in Usage SIGCONT ready_file timeout_ms; do
    grep -q "$w" <<<"$out" || fail "resume --help does not mention $w"
done

expect() { # RC ARGS...: runs crac resume ARGS, checks the exit status
    local want=$1 rc
    shift
    "$crac" resume "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq "$want" ] || fail "crac resume $* exited $rc, want $want: $(cat "$tmp/err")"
    [ "$want" -eq 0 ] || [ -s "$tmp/err" ] || fail "crac resume $*: no message"
}
expect 2
expect 2 --bogus
expect 2 abc
expect 2 12x
expect 2 0
expect 2 1 2
expect 1 2147483647
grep -q "no process with pid 2147483647" "$tmp/err" || fail "message: $(cat "$tmp/err")"

# A process that waits for SIGCONT but is not paused by the pause engine:
# refused, nothing sent.  (A paused one is resumed by tests/pause-resume.)
bash -c 'trap "echo resumed > '"$tmp"'/got; exit 0" CONT; echo $$ > '"$tmp"'/pid; while :; do sleep 0.05; done' &
waiter=$!
for _ in $(seq 100); do [ -s "$tmp/pid" ] && break; sleep 0.05; done
expect 1 "$waiter"
grep -q "pid $waiter is not paused by crac's pause engine" "$tmp/err" || fail "message: $(cat "$tmp/err")"
sleep 0.2
[ -s "$tmp/got" ] && fail "SIGCONT was sent to a process that was not paused"
kill "$waiter" 2>/dev/null
wait "$waiter" 2>/dev/null

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "resume-cli: ok"
