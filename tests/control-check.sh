#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `crac check PID`, the dry run: exit 0 for a process a checkpoint would go
# through, 1 with every problem named (resource, checker) for one it would
# refuse; nothing is written, nothing is counted as a restore, and the
# process's output goes on.
. "$(dirname "$0")/control-lib.sh"

# --- clean
start "$tmp/t1" "$crac" run --engine sim -- "$target"
p1=$bg
wait_socket "$p1"
run_crac 0 "$tmp/out" "$tmp/err" check "$p1"
expect_in "$tmp/out" "pid $p1: a checkpoint would go through (engine sim)"
# the callbacks ran, as for a real checkpoint; no restore was counted
wait_line "$tmp/t1" "after restore (count 0)"
goes_on "$tmp/t1"
status "$p1"
expect_in "$tmp/status" "restore-count 0"
# twice in a row: the socket stays (a dry run does not close it)
run_crac 0 "$tmp/out" "$tmp/err" check "$p1"

# --- refused by the checker stage and by a resource: both named
start "$tmp/t2" "$crac" run --engine sim --engine-options "check_problem=socket 10.0.0.1:5432 is open" \
    -- "$target" --fail-before "3 connections still busy"
p2=$bg
wait_socket "$p2"
run_crac 1 "$tmp/out" "$tmp/err" check "$p2"
expect_in "$tmp/out" "pid $p2: a checkpoint would be refused (engine sim):"
expect_in "$tmp/out" "[disk-cache] 3 connections still busy"
goes_on "$tmp/t2"
# the resource fixed: the checker's problem is reported now
start "$tmp/t3" "$crac" run --engine sim --engine-options "check_problem=socket 10.0.0.1:5432 is open" -- "$target"
p3=$bg
wait_socket "$p3"
run_crac 1 "$tmp/out" "$tmp/err" check "$p3"
expect_in "$tmp/out" "[checker] socket 10.0.0.1:5432 is open"

# --- native: an open file is named; no image is written, the process goes on
if [ "${SANITIZE:-}" != 1 ]; then
    echo data >"$tmp/held"
    start "$tmp/t4" "$crac" run --checkpoint-to "$tmp/img" -- "$target" --open "$tmp/held"
    p4=$bg
    wait_socket "$p4"
    run_crac 1 "$tmp/out" "$tmp/err" check "$p4"
    expect_in "$tmp/out" "pid $p4: a checkpoint would be refused (engine native):"
    expect_in "$tmp/out" "$tmp/held"
    [ -e "$tmp/img" ] && fail "a dry run wrote $tmp/img"
    ls "$tmp" | grep -q '^img\.' && fail "a dry run left a temporary image: $(ls "$tmp")"
    goes_on "$tmp/t4"
fi

# --- what cannot be reached says so
run_crac 1 "$tmp/out" "$tmp/err" check 999999999
expect_in "$tmp/err" "no process with pid 999999999"
sleep 100 &
s=$!
PIDS+=("$s")
run_crac 1 "$tmp/out" "$tmp/err" check "$s"
expect_in "$tmp/err" "pid $s has no crac control socket"
run_crac 2 "$tmp/out" "$tmp/err" check
run_crac 2 "$tmp/out" "$tmp/err" check "$p1" "$p1"
echo "control check: all checks passed"
