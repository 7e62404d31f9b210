#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Checkpoint under load: nginx (master_process off) under wrk, 16
# connections, is checkpointed with --keep-running in the middle of the run,
# with one rule: `socket drop listening=false` (the connections in flight
# stay with the process; its image gets them back closed by their peer).
# Every request gets a complete answer (no socket error, no non-2xx) and the
# process goes on serving.  Then its image is restored: the dropped
# connections are cleaned up by nginx as closed by their clients, and it
# serves the same load without an error.  The figures go to the log
# (docs/benchmarks.md quotes a run).
. "$(dirname "$0")/real-lib.sh"
need nginx wrk curl

port=$(free_port)
nginx_conf "$port" off
head -c 2048 /dev/urandom | base64 >"$tmp/www/index.html"
echo "socket drop listening=false" >"$tmp/drop.policies"
url=http://127.0.0.1:$port/index.html
serve "$tmp/nginx.out" nginx -e "$tmp/error.log" -p "$tmp" -c "$tmp/nginx.conf"
for ((i = 0; i < 500; i++)); do curl -sf -o /dev/null "$url" && break; sleep 0.02; done
curl -sf -o /dev/null "$url" || fail "nginx did not start: $(cat "$tmp/nginx.out" "$tmp/error.log" 2>&1 | tail -n 5)"

# clean WRK_OUTPUT: requests made, no socket error, every answer 2xx
clean() {
    grep -q 'requests in' "$1" || { cat "$1"; fail "wrk did not run"; }
    grep -q 'Socket errors' "$1" && { cat "$1"; fail "socket errors under load"; }
    grep -q 'Non-2xx' "$1" && { cat "$1"; fail "answers other than 2xx under load"; }
    return 0
}

wrk -t 2 -c 16 -d 4s "$url" >"$tmp/wrk1" 2>&1 &
w=$!
PIDS+=("$w")
sleep 1.5
t0=$(date +%s%N)
run_crac 0 "$tmp/ck.out" "$tmp/ck.err" checkpoint "$srv" --keep-running --to "$img" \
    --policies "$tmp/drop.policies"
echo "checkpoint under load: $((($(date +%s%N) - t0) / 1000000)) ms"
wait "$w"
clean "$tmp/wrk1"
kill -0 "$srv" || fail "nginx stopped after a --keep-running checkpoint"
echo "--- during the checkpoint:"; grep -E 'requests in|Requests/sec|Latency ' "$tmp/wrk1"
"$crac" image info "$img" >"$tmp/info"
grep -q "connection dropped by a policy" "$tmp/info" || { cat "$tmp/info"; fail "the image holds no dropped connection"; }
curl -sf -o /dev/null "$url" || fail "nginx does not serve after the checkpoint"
kill "$srv"
wait "$srv" 2>/dev/null
for ((i = 0; i < 250; i++)); do curl -s -o /dev/null "$url" || break; sleep 0.02; done

restore_srv "$tmp/restored.log"
until_ok 10 curl -sf -o /dev/null "$url"
wrk -t 2 -c 16 -d 2s "$url" >"$tmp/wrk2" 2>&1 || fail "wrk against the restored nginx failed"
clean "$tmp/wrk2"
echo "--- restored:"; grep -E 'requests in|Requests/sec|Latency ' "$tmp/wrk2"
[ "$(wc -l <"$tmp/error.log")" = 0 ] || fail "error.log: $(tail -n 5 "$tmp/error.log")"
no_error_lines "$tmp/restored.log" '.'
stop_restored
echo "real load: all checks passed"
