#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The warm-service example under the sim engine: its answers match counts
# made independently (awk over the corpus it dumps), a checkpoint requested
# with POST /checkpoint closes and reopens its listening socket, after which
# it answers the same and /health says "restored":1 with a new instance id
# (random state re-seeded); --checkpoint-after-warmup does the same at
# start-up; a failed checkpoint (the sim engine told to fail) leaves
# it serving.  Exit 0 pass, 1 fail.  Run by tests/run.sh.
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${CRAC_BUILD:-$top/build}
tmp=${CRAC_TEST_TMP:-$(mktemp -d)}
ws="$build/examples/warm-service"
# A small corpus keeps the test quick; 32 cached terms still cover "ba be".
args=(--port 0 --docs 20000 --cache-terms 32)

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

. "$top/scripts/http.sh" || exit 1
[ -x "$ws" ] || fail "$ws is not built (make tests)"
http_init "$tmp" || fail "cannot create a FIFO in $tmp"

PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        stop_pid "$p"
    done
}
trap cleanup EXIT

# start NAME ENV... : runs the service with the environment given, waits for
# "listening on"; sets PID and PORT.
start() {
    local name=$1 i line
    shift
    LOG="$tmp/$name.log"
    # shellcheck disable=SC2086 # EXTRA: options, split on purpose
    ( exec_clean env "$@" "$ws" "${args[@]}" ${EXTRA:-} >"$LOG" 2>&1 </dev/null ) &
    PID=$!
    PIDS+=("$PID")
    for ((i = 0; i < 600; i++)); do
        line=$(grep -m1 '^listening on 127.0.0.1:' "$LOG" 2>/dev/null)
        [ -n "$line" ] && break
        kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; fail "$name: exited before listening"; }
        nap 0.05
    done
    [ -n "$line" ] || { cat "$LOG" >&2; fail "$name: not listening after 30 s"; }
    PORT=${line##*:}
}

wait_line() { # pattern: waits up to 10 s for a line of $LOG
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q "$1" "$LOG" && return 0
        nap 0.05
    done
    cat "$LOG" >&2
    fail "no line '$1' in $LOG"
}

get() { # path expected-status
    http_request GET "$PORT" "$1" || fail "GET $1: no answer"
    [ "$HTTP_STATUS" = "$2" ] || fail "GET $1: status $HTTP_STATUS, expected $2: $HTTP_BODY"
}

json_field() { # name: from HTTP_BODY, into FIELD
    [[ $HTTP_BODY =~ \"$1\":\"?([0-9a-z]+) ]] || fail "no \"$1\" in: $HTTP_BODY"
    FIELD=${BASH_REMATCH[1]}
}

# --- the expected answers, counted by awk in the corpus ---
"$ws" "${args[@]}" --dump-corpus >"$tmp/corpus.txt" || fail "--dump-corpus failed"
[ "$(wc -l <"$tmp/corpus.txt")" -eq 20000 ] || fail "--dump-corpus: not 20000 lines"
rare=$(awk 'NR == 777 { print $NF }' "$tmp/corpus.txt")
queries=("ba" "be" "ba be" "ba $rare" "$rare" "ba be bi" "nosuchword" "ba nosuchword")
expect() { # words... -> "DOCS OCCURRENCES" for the documents holding all of them
    awk -v q="$*" 'BEGIN { n = split(q, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
        { delete seen; o = 0
          for (i = 1; i <= NF; i++) if ($i in want) { seen[$i] = 1; o++ }
          k = 0; for (x in seen) k++
          if (k == n) { d++; occ += o } }
        END { print d + 0, occ + 0 }' "$tmp/corpus.txt"
}
declare -A want
for q in "${queries[@]}"; do
    want[$q]=$(expect "$q")
done
[ "${want[ba]}" != "0 0" ] || fail "the corpus has no 'ba': it changed?"

check_queries() { # label
    local q docs occ
    for q in "${queries[@]}"; do
        get "/search?q=${q// /+}" 200
        json_field docs; docs=$FIELD
        json_field occurrences; occ=$FIELD
        [ "$docs $occ" = "${want[$q]}" ] ||
            fail "$1: '$q' gives docs=$docs occurrences=$occ, awk counts ${want[$q]}"
    done
    get "/search?q=ba+be" 200
    [[ $HTTP_BODY == *'"cached":true'* ]] || fail "$1: 'ba be' did not come from the pair cache"
}

# --- a running service, checkpointed twice with POST /checkpoint ---
start sim CRAC_ENGINE=sim
check_queries "cold"
get /lucky 200
get /nope 404
get "/search?q=BAD%22" 400
get /checkpoint 405
get /health 200
json_field restored; [ "$FIELD" = 0 ] || fail "cold: restored=$FIELD"
json_field instance; id0=$FIELD
for n in 1 2; do
    http_request POST "$PORT" /checkpoint || fail "POST /checkpoint: no answer"
    [ "$HTTP_STATUS" = 202 ] || fail "POST /checkpoint: status $HTTP_STATUS"
    wait_line "^restored (count $n)"
    check_queries "after checkpoint $n"
    get /health 200
    json_field restored; [ "$FIELD" = "$n" ] || fail "after checkpoint $n: restored=$FIELD"
    json_field instance
    [ "$FIELD" != "$id0" ] || fail "after checkpoint $n: instance id not re-seeded ($FIELD)"
    id0=$FIELD
done
[ "$(grep -c '^listening on' "$LOG")" -eq 3 ] || fail "the socket was not reopened each time"
stop_pid "$PID"

# --- --checkpoint-after-warmup: checkpointed before it ever listened ---
EXTRA=--checkpoint-after-warmup start warmup CRAC_ENGINE=sim
grep -q '^warm in [0-9]* ms' "$LOG" || fail "no 'warm in N ms' line"
grep -q '^restored (count 1)' "$LOG" || fail "no 'restored (count 1)' line"
check_queries "after --checkpoint-after-warmup"
get /health 200
json_field restored; [ "$FIELD" = 1 ] || fail "after --checkpoint-after-warmup: restored=$FIELD"
stop_pid "$PID"

# --- a failed checkpoint: error printed, socket reopened, still serving ---
start failed CRAC_ENGINE=sim CRAC_ENGINE_OPTIONS=result=failed
http_request POST "$PORT" /checkpoint || fail "POST /checkpoint: no answer"
wait_line '^checkpoint failed: '
[ "$(grep -c '^listening on' "$LOG")" -eq 2 ] || fail "the socket was not closed and reopened"
get /health 200
json_field restored; [ "$FIELD" = 0 ] || fail "after a failed checkpoint: restored=$FIELD"
check_queries "after a failed checkpoint"
stop_pid "$PID"
echo "warm-service: all checks passed"
exit 0
