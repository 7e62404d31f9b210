#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo service checkpointed from outside, the way an operator would:
# `crac run` starts it, `crac status PID` shows its setup, `crac check PID`
# says a checkpoint would go through
# (its callbacks run on crac's control thread and pause its main loop, which
# is blocked in accept()), `crac checkpoint PID` publishes the image, and
# `crac restore` brings it back answering as before.
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${CRAC_BUILD:-$top/build}
crac=${CRAC_BIN:-$build/crac}
tmp=${CRAC_TEST_TMP:-$(mktemp -d)}
ws="$build/examples/warm-service"
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ "${SANITIZE:-}" = 1 ]; then
    echo "skipped: an ASan-built process cannot be checkpointed by the native engine"
    exit 77
fi
. "$top/scripts/http.sh" || exit 1
http_init "$tmp" || fail "cannot create a FIFO in $tmp"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done' EXIT
pick_free_port || fail "no free port"
port=$FREE_PORT
query=/search?q=ba+be

( exec_clean "$crac" run --checkpoint-to "$tmp/img" -- "$ws" --port "$port" --docs 20000 \
    >"$tmp/run.log" 2>&1 </dev/null ) &
pid=$!
PIDS+=("$pid")
wait_for_answer "$port" "$query" "$pid" 60 0.01 || { cat "$tmp/run.log"; fail "the service did not answer"; }
cold=$HTTP_BODY

"$crac" status "$pid" >"$tmp/status.out" 2>&1 || { cat "$tmp/status.out"; fail "crac status failed"; }
grep -Eq "destination +$tmp/img" "$tmp/status.out" || { cat "$tmp/status.out"; fail "status: no destination"; }
grep -Eq "restore-count +0" "$tmp/status.out" || { cat "$tmp/status.out"; fail "status: restore count"; }
"$crac" check "$pid" >"$tmp/check.out" 2>&1 || { cat "$tmp/check.out"; fail "crac check refused the service"; }
http_request GET "$port" "$query" && [ "$HTTP_BODY" = "$cold" ] || fail "no answer after the dry run"

"$crac" checkpoint "$pid" >"$tmp/cp.out" 2>&1 || { cat "$tmp/cp.out"; fail "crac checkpoint failed"; }
grep -q "image published" "$tmp/cp.out" || fail "crac checkpoint did not say the image was published"
wait "$pid"
[ -f "$tmp/img/pages" ] || fail "no image"

( exec_clean "$crac" restore --pid new "$tmp/img" >"$tmp/restore.log" 2>&1 </dev/null ) &
rpid=$!
PIDS+=("$rpid")
wait_for_answer "$port" "$query" "$rpid" 30 0.001 || { cat "$tmp/restore.log"; fail "the restored service did not answer"; }
[ "$HTTP_BODY" = "$cold" ] || fail "the restored service answers differently"
http_request GET "$port" /health || fail "no /health"
[[ $HTTP_BODY == *'"restored":1,'* ]] || fail "health after restore: $HTTP_BODY"
"$crac" status "$rpid" >"$tmp/status2.out" 2>&1 || { cat "$tmp/status2.out"; fail "crac status (restored) failed"; }
grep -Eq "restore-count +1" "$tmp/status2.out" || { cat "$tmp/status2.out"; fail "status after restore: restore count"; }
"$crac" check "$rpid" >"$tmp/check2.out" 2>&1 || { cat "$tmp/check2.out"; fail "crac check refused the restored service"; }
http_request GET "$port" "$query" && [ "$HTTP_BODY" = "$cold" ] || fail "no answer after the second dry run"
echo "checked, checkpointed and restored from outside: ok"
