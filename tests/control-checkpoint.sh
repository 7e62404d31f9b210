#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `crac checkpoint PID` over the control socket, with engines that do not
# stop the process (sim, pause): a resource that fails is named with its
# message and the exit status is 1; an engine failure and an after-restore
# failure come back the same way; a successful checkpoint exits 0 and counts
# a restore; --to applies to one checkpoint only; with the pause engine the
# command waits until `crac resume`.  The process goes on every time.
. "$(dirname "$0")/control-lib.sh"

# --- a resource that fails: its name and message, exit 1, the process goes on
start "$tmp/t1" "$crac" run --engine sim -- "$target" --fail-before "cache flush failed: disk full"
p1=$bg
wait_line "$tmp/t1" ready
wait_socket "$p1"
run_crac 1 "$tmp/out" "$tmp/err" checkpoint "$p1"
expect_in "$tmp/err" "crac checkpoint: pid $p1:"
expect_in "$tmp/err" "[crac] checkpoint failed: 1 problem"
expect_in "$tmp/err" "  [disk-cache] cache flush failed: disk full"
[ -s "$tmp/out" ] && fail "a failed checkpoint printed on stdout: $(cat "$tmp/out")"
wait_line "$tmp/t1" "after restore (count 0)"
goes_on "$tmp/t1"
status "$p1"
expect_in "$tmp/status" "restore-count 0"

# --- the engine fails: source "engine"
start "$tmp/t2" "$crac" run --engine sim --engine-options result=failed -- "$target"
p2=$bg
wait_socket "$p2"
run_crac 1 "$tmp/out" "$tmp/err" checkpoint "$p2"
expect_in "$tmp/err" "[engine] sim: checkpoint failed (result=failed)"
goes_on "$tmp/t2"

# --- after-restore fails: a restore error, reported too
start "$tmp/t3" "$crac" run --engine sim -- "$target" --fail-after "cannot reconnect"
p3=$bg
wait_socket "$p3"
run_crac 1 "$tmp/out" "$tmp/err" checkpoint "$p3"
expect_in "$tmp/err" "[crac] restore failed: 1 after-restore failure"
expect_in "$tmp/err" "[disk-cache] cannot reconnect"
goes_on "$tmp/t3"

# --- success: exit 0, one restore counted, --to for this checkpoint only
start "$tmp/t4" "$crac" run --engine sim --checkpoint-to "$tmp/first" -- "$target"
p4=$bg
wait_socket "$p4"
run_crac 0 "$tmp/out" "$tmp/err" checkpoint "$p4" --to "$tmp/other"
expect_in "$tmp/out" "pid $p4: checkpoint done (engine sim writes no image)"
wait_line "$tmp/t4" "after restore (count 1)"
status "$p4"
expect_in "$tmp/status" "restore-count 1"
expect_in "$tmp/status" "destination $tmp/first"
# and the socket is back after the cycle, under the same pid
run_crac 0 "$tmp/out" "$tmp/err" checkpoint "$p4" --keep-running
wait_line "$tmp/t4" "after restore (count 2)"
goes_on "$tmp/t4"

# --- pause: crac checkpoint returns only once the process is resumed
start "$tmp/t5" "$crac" run --engine pause --engine-options "ready_file=$tmp/ready" -- "$target"
p5=$bg
wait_socket "$p5"
"$crac" checkpoint "$p5" >"$tmp/out5" 2>&1 &
cp=$!
PIDS+=("$cp")
for ((i = 0; i < 250; i++)); do [ -e "$tmp/ready" ] && break; sleep 0.02; done
[ -e "$tmp/ready" ] || fail "the pause engine wrote no ready-file"
sleep 0.1
kill -0 "$cp" 2>/dev/null || fail "crac checkpoint returned before the process was resumed: $(cat "$tmp/out5")"
"$crac" resume "$p5" || fail "crac resume $p5 failed"
wait "$cp" || fail "crac checkpoint exited $? after resume: $(cat "$tmp/out5")"
wait_line "$tmp/t5" "after restore (count 1)"
goes_on "$tmp/t5"

# --- usage
run_crac 2 "$tmp/out" "$tmp/err" checkpoint
run_crac 2 "$tmp/out" "$tmp/err" checkpoint "$p4" --to
expect_in "$tmp/err" "needs a value"
run_crac 2 "$tmp/out" "$tmp/err" checkpoint "$p4" --bogus
run_crac 2 "$tmp/out" "$tmp/err" checkpoint 12x
echo "control checkpoint: all checks passed"
