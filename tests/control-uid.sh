#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Only the process's own user and root may use its control socket.  The
# per-process directory is 0700, so another user cannot even reach the
# socket (crac says so); and when the directory is opened up on purpose, the
# process checks the peer's credentials and refuses, with a reason, before
# running anything.  The client runs as uid 65534 through setpriv.
. "$(dirname "$0")/control-lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root, to run the client as another user"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_other test -x "$crac" || skip "uid 65534 cannot run $crac (a parent directory is closed)"

# A socket directory that uid 65534 can traverse: $tmp is private.
ctl=$(mktemp -d /tmp/crac-uid.XXXXXX)
CLEANUP+=("$ctl")
chmod 755 "$ctl"
export CRAC_CONTROL_DIR="$ctl"

start "$tmp/t" "$crac" run --engine sim -- "$target"
pid=$bg
wait_socket "$pid"
[ "$(stat -c %a "$ctl/$pid")" = 700 ] || fail "socket directory mode is $(stat -c %a "$ctl/$pid"), not 700"
[ "$(stat -c %a "$ctl/$pid/ctl")" = 600 ] || fail "socket mode is $(stat -c %a "$ctl/$pid/ctl"), not 600"

# --- the directory keeps the other user out
as_other "$crac" check "$pid" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] || fail "crac check as uid 65534 exited $rc, expected 1: $(cat "$tmp/err")"
expect_in "$tmp/err" "cannot reach the control socket of pid $pid"
expect_in "$tmp/err" "permission denied"
expect_in "$tmp/err" "only its user (uid 0) and root may control it"

# --- opened up: the process itself refuses, naming who asked
chmod 755 "$ctl/$pid"
chmod 666 "$ctl/$pid/ctl"
for cmd in check checkpoint status; do
    as_other "$crac" "$cmd" "$pid" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" = 1 ] || fail "crac $cmd as uid 65534 exited $rc, expected 1: $(cat "$tmp/err")"
    expect_in "$tmp/err" "crac $cmd: pid $pid: refused: [crac] uid 65534 may not control process $pid"
done
printf 'crac-control 1\nrequest status\n\n' | as_other "$raw" "$ctl/$pid/ctl" >"$tmp/raw" ||
    fail "the raw client could not connect as uid 65534"
expect_in "$tmp/raw" "result refused"
expect_not_in "$tmp/raw" "engine sim" # no status for strangers
# nothing ran in the process
expect_not_in "$tmp/t" "before"
goes_on "$tmp/t"

# --- root (and the owner) still may
run_crac 0 "$tmp/out" "$tmp/err" check "$pid"
echo "control uid: all checks passed"
