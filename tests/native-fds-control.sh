#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An event loop under `crac run`, with no policies file (issue 9, items 1,
# 4, 5): `crac check` names only what cannot be restored (a database file
# open for writing), and agrees with `crac checkpoint`; `--policies FILE`
# on either applies a rule for that one cycle; a checkpoint refused after
# the policies prepared their work says nothing was closed; the restored
# loop finds its epoll, self-pipe byte, timerfd and listener as they were.
. "$(dirname "$0")/control-lib.sh"
[ "${SANITIZE:-}" = 1 ] && skip "native engine tests skipped: an ASan-built process cannot be checkpointed"
prog="$build/tests/helpers/native-fds"
[ -x "$prog" ] || fail "$prog is not built (make tests)"

start "$tmp/s.out" "$crac" run --checkpoint-to "$tmp/img" -- "$prog" serve "$tmp"
pid=$bg
wait_socket "$pid"
wait_line "$tmp/s.out" READY

run_crac 1 "$tmp/out" "$tmp/err" check "$pid"
expect_in "$tmp/out" "pid $pid: a checkpoint would be refused (engine native):"
expect_in "$tmp/out" "regular file $tmp/db (O_RDWR, offset 0 of 0 bytes) [not restored: it is open for writing at an offset"
[ "$(grep -c '\[checker\]' "$tmp/out")" = 1 ] || { cat "$tmp/out"; fail "check refused more than the database file"; }

# A checkpoint refused after the policies prepared to close something
# closes nothing, and says so by saying nothing.
printf 'file close path=%s\neventfd error\n' "$tmp/db" >"$tmp/refuse.pol"
run_crac 1 "$tmp/out" "$tmp/err" check "$pid" --policies "$tmp/refuse.pol"
expect_in "$tmp/out" "[policy $tmp/refuse.pol:2: error]"
run_crac 1 "$tmp/out" "$tmp/err" checkpoint "$pid" --policies "$tmp/refuse.pol"
expect_in "$tmp/err" "[policy $tmp/refuse.pol:2: error]"
expect_not_in "$tmp/s.out" "closed before the checkpoint"

# The rule for the database, for one check and one checkpoint.
echo "file close path=$tmp/db" >"$tmp/close.pol"
run_crac 0 "$tmp/out" "$tmp/err" check "$pid" --policies "$tmp/close.pol"
expect_in "$tmp/out" "pid $pid: a checkpoint would go through (engine native)"
run_crac 1 "$tmp/out" "$tmp/err" check "$pid" # the process's own policies again
run_crac 0 "$tmp/out" "$tmp/err" checkpoint "$pid" --policies "$tmp/close.pol"
expect_in "$tmp/out" "pid $pid: image published to $tmp/img; the process exited"
expect_in "$tmp/s.out" "closed before the checkpoint (policy $tmp/close.pol:1): regular file $tmp/db"

"$crac" restore "$tmp/img" >"$tmp/r.out" 2>&1 </dev/null &
PIDS+=("$!")
wait "$!"
rc=$?
[ $rc -eq 0 ] || { cat "$tmp/r.out"; fail "restore exit $rc"; }
expect_in "$tmp/r.out" "RESTORED OK"
echo "native descriptors under crac run: ok"
