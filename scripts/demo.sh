#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The warm-service demo (`make demo`): start the service cold and time it to
# its first answer, checkpoint it, restore it from the image and time that to
# its first answer, then print both, their ratio and the image size.
# Everything it starts is stopped by pid, and its temporary files removed,
# whatever happens.
set -u

usage() {
    cat <<EOF
usage: scripts/demo.sh [--engine native|sim] [--port N] [--restores N] [--verbose]

Starts build/examples/warm-service, measures cold start to the first answer of
GET /search, checkpoints it (POST /checkpoint), restores it with
\`crac restore\` (several times, one instance after the other), measures
restore to the first answer, and prints: cold start to first response, restore
to first response (the median; with the default restore, whose large memory is
filled while the service already runs, and with --eager), their ratios and the
size of the image.  The times are taken by
build/examples/first-answer: from just before it starts the command to the
whole first answer.  Exits non-zero, saying why, when any step fails; stops
everything it started.

  --engine E   native (default) or sim: sim writes no image and restores
               nothing, it only runs the resources' callbacks (a dry run of
               the demo's plumbing; its "restore" time is the socket reopen)
  --port N     port for the service (default: a free one)
  --restores N restores to time (default 3)
  --verbose    pass -v to \`crac restore\` and show its step times
environment: DEMO_ENGINE, DEMO_PORT, DEMO_RESTORES (defaults for the
options), CRAC_BUILD (build directory, default build/), DEMO_ARGS (extra
warm-service options, e.g. "--docs 100000").
EOF
}

top=$(cd "$(dirname "$0")/.." && pwd)
build=${CRAC_BUILD:-$top/build}
engine=${DEMO_ENGINE:-native}
port=${DEMO_PORT:-}
restores=${DEMO_RESTORES:-3}
verbose=
while [ $# -gt 0 ]; do
    case $1 in
    --engine) engine=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --port) port=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --restores) restores=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --verbose|-v) verbose=-v; shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "demo: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

die() {
    echo "demo: FAILED: $*" >&2
    exit 1
}

# Shows the end of a log under an error message.
show_log() {
    echo "--- $1 (last lines) ---" >&2
    tail -n 20 "$1" >&2
    echo "---" >&2
}

. "$top/scripts/http.sh" || exit 1

PIDS=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crac-demo.XXXXXX") || die "cannot create a temporary directory"
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        stop_pid "$p"
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ws="$build/examples/warm-service"
crac="$build/crac"
fa="$build/examples/first-answer"
img="$tmp/image"
query="/search?q=ba+be"
[ -x "$ws" ] && [ -x "$fa" ] || die "$ws or $fa is not built (run: make examples)"
case $engine in
native) [ -x "$crac" ] || die "$crac is not built (run: make)" ;;
sim) ;;
*) die "unknown engine '$engine' (native or sim)" ;;
esac
[[ $restores =~ ^[1-9][0-9]*$ ]] || die "--restores wants a positive number, not '$restores'"
http_init "$tmp" || die "cannot create a FIFO in $tmp"
if [ -z "$port" ]; then
    pick_free_port || die "no free port found"
    port=$FREE_PORT
elif http_request GET "$port" /health 1; then
    die "port $port is in use: another server answers there"
fi

fmt_ms() { # microseconds -> "1234.5 ms"
    printf '%d.%d ms' $(( $1 / 1000 )) $(( $1 % 1000 / 100 ))
}

# Polls GET $query until it answers; dies when PID exits or TIMEOUT_S passes.
await_answer() { # PID LOG WHO TIMEOUT_S INTERVAL_S
    wait_for_answer "$port" "$query" "$1" "$4" "$5"
    case $? in
    1) show_log "$2"; die "$3 exited before answering" ;;
    2) show_log "$2"; die "$3 did not answer within $4 s" ;;
    esac
}

# first-answer (examples/first-answer) starts a command and times it to its
# first 200 answer in C: a shell's fork, descriptor loop and /dev/tcp polling
# would add milliseconds to a restore that takes ten.  It stays the
# command's parent (and passes TERM on), so stopping it stops the command.
# fa_start OUT LOG TIMEOUT_S CMD...: starts it in the background, sets FA_PID.
fa_start() {
    local out=$1 log=$2 timeout=$3
    shift 3
    ( exec_clean "$fa" --log "$log" --timeout "$timeout" "$port" "$query" -- "$@" \
        >"$out" 2>&1 </dev/null ) &
    FA_PID=$!
    PIDS+=("$FA_PID")
}
# fa_wait FA_PID OUT LOG WHO: until it has timed the first answer.
fa_wait() {
    while ! grep -q '^us=' "$2"; do
        if ! kill -0 "$1" 2>/dev/null; then
            grep -q '^us=' "$2" && break
            show_log "$3"
            grep -q '^timeout=' "$2" && die "$4 did not answer in time"
            die "$4 exited before answering ($(cat "$2"))"
        fi
        nap 0.001
    done
}
fa_val() { sed -n "s/^$1=//p" "$2" | head -n 1; }

# --- 1. cold start ---
start_cold() {
    echo "starting $ws on 127.0.0.1:$port (engine $engine) ..."
    # shellcheck disable=SC2086 # DEMO_ARGS is a list of options
    CRAC_ENGINE=$engine CRAC_CHECKPOINT_TO=$img \
        fa_start "$tmp/cold.fa" "$tmp/cold.log" 120 "$ws" --port "$port" ${DEMO_ARGS:-}
    cold_fa=$FA_PID
    fa_wait "$cold_fa" "$tmp/cold.fa" "$tmp/cold.log" "warm-service"
    cold_us=$(fa_val us "$tmp/cold.fa")
    cold_pid=$(fa_val pid "$tmp/cold.fa")
    cold_body=$(fa_val body "$tmp/cold.fa")
    echo "  first answer: $cold_body"
    http_request GET "$port" /health || die "GET /health: no answer"
    [[ $HTTP_BODY == *"\"pid\":$cold_pid,"* ]] ||
        die "port $port is answered by another process: $HTTP_BODY"
}

# --- 2. checkpoint: the service answers, then checkpoints from its main loop ---
checkpoint() {
    echo "checkpointing (POST /checkpoint) ..."
    http_request POST "$port" /checkpoint || die "POST /checkpoint: no answer"
    [ "$HTTP_STATUS" = 202 ] || die "POST /checkpoint answered $HTTP_STATUS: $HTTP_BODY"
    [ "$engine" = native ] || return 0
    local i rc
    # The native engine exits with status 0 once the image is written; a
    # failed checkpoint leaves the service running and says why on stdout.
    for ((i = 0; i < 1200; i++)); do
        kill -0 "$cold_fa" 2>/dev/null || break
        if grep -q '^checkpoint failed' "$tmp/cold.log"; then
            show_log "$tmp/cold.log"
            die "the checkpoint failed (the error tree is above)"
        fi
        nap 0.05
    done
    kill -0 "$cold_fa" 2>/dev/null && die "the service still runs 60 s after POST /checkpoint"
    wait "$cold_fa" # first-answer exits with the service's status
    rc=$?
    if [ "$rc" -ne 0 ]; then
        show_log "$tmp/cold.log"
        die "the checkpointing process exited with status $rc"
    fi
    [ -d "$img" ] || die "no image at $img after the checkpoint"
    echo "  image written: $img"
}

# --- 3. restore (native) or the sim engine's return to service ---
# Sets restore_us and restored_pid; the answer must be the cold one's.
restore_seq=0 # every restore of the run, for its own file names
restore_once() { # N [crac restore options]
    local t0 pid log faout n=$1 body
    shift
    if [ "$engine" = native ]; then
        # Files of their own for each restore: fa_start's subshell creates
        # its output file in the background, so a reused name could still
        # hold the previous restore's figures when fa_wait first reads it.
        restore_seq=$((restore_seq + 1))
        log="$tmp/restored.$restore_seq.log"
        faout="$tmp/restored.$restore_seq.fa"
        # $verbose unquoted: empty means no argument at all
        fa_start "$faout" "$log" 60 "$crac" restore $verbose "$@" "$img"
        fa_wait "$FA_PID" "$faout" "$log" "the restored service"
        restore_us=$(fa_val us "$faout")
        pid=$(fa_val pid "$faout") # `crac restore`
        body=$(fa_val body "$faout")
        restored_fa=$FA_PID
    else
        # sim: nothing to start, the checkpointed process goes on serving
        now_us
        t0=$NOW_US
        pid=$cold_pid
        log="$tmp/cold.log"
        await_answer "$pid" "$log" "the restored service" 60 0.0002
        now_us
        restore_us=$(( NOW_US - t0 ))
        body=${HTTP_BODY%%$'\n'*}
        restored_fa=
    fi
    restored_pid=$pid
    [ "$body" = "$cold_body" ] ||
        die "the restored service answers differently: $body"
    http_request GET "$port" /health || die "GET /health: no answer"
    [[ $HTTP_BODY == *'"restored":1,'* ]] ||
        die "after restore /health should say \"restored\":1, it says: $HTTP_BODY"
    # With `crac restore --pid keep` (or ns) the service runs in a child of
    # `crac restore` under its saved pid: stop that one too, by its own pid,
    # so that nothing is left even if `crac restore` dies first.
    [[ $HTTP_BODY =~ \"pid\":([0-9]+),.*\"instance\":\"([0-9a-f]+)\" ]] ||
        die "no pid and instance in /health: $HTTP_BODY"
    service_pid=${BASH_REMATCH[1]}
    [ "$service_pid" = "$pid" ] || PIDS+=("$service_pid")
    echo "  restore $n${1:+ ($*)}: first answer after $(fmt_ms "$restore_us")," \
        "crac restore pid $pid, service pid $service_pid, instance ${BASH_REMATCH[2]}"
    [ -z "$verbose" ] || sed 's/^/    /' "$log"
}

# The service first (crac restore then exits with its status), then crac
# restore; both must be gone.
stop_restored() {
    local p
    for p in "$service_pid" "$restored_pid" $restored_fa; do
        stop_pid "$p"
        if kill -0 "$p" 2>/dev/null; then
            die "the restored service (pid $p) is still running"
        fi
    done
}

# Restores $restores times, one instance at a time (they share the port);
# restore_us becomes the median.  Options are passed to crac restore.
restore() {
    local i times=()
    if [ "$engine" = native ]; then
        echo "restoring $restores times ($crac restore${1:+ $*}) ..."
    else
        echo "waiting for the sim engine's return to service ..."
        restores=1
    fi
    for ((i = 1; i <= restores; i++)); do
        restore_once "$i" "$@"
        times+=("$restore_us")
        [ "$engine" = native ] && stop_restored
    done
    mapfile -t times < <(printf '%s\n' "${times[@]}" | sort -n)
    restore_us=${times[$(( (restores - 1) / 2 ))]}
}

ratio() { # cold_us other_us -> "123.4x"
    local r10=$(( $1 * 10 / ($2 > 0 ? $2 : 1) ))
    echo "$(( r10 / 10 )).$(( r10 % 10 ))x"
}

report() {
    local kib
    echo
    echo "cold start to first response:  $(fmt_ms "$cold_us")"
    if [ "$engine" = native ]; then
        echo "restore to first response:     $(fmt_ms "$restore_us")" \
            "(median of $restores; large memory filled while it runs, the default)"
        echo "ratio:                         $(ratio "$cold_us" "$restore_us") faster"
        echo "restore --eager:               $(fmt_ms "$eager_us")" \
            "(median of $restores; every page read before it runs)"
        echo "ratio:                         $(ratio "$cold_us" "$eager_us") faster"
    else
        echo "back in service (sim engine, no restore): $(fmt_ms "$restore_us")"
        echo "ratio:                         $(ratio "$cold_us" "$restore_us") faster"
    fi
    if [ "$engine" = native ]; then
        kib=$(du -sk "$img" | cut -f1)
        echo "image size:                    $(( kib / 1024 )).$(( kib % 1024 * 10 / 1024 )) MiB"
    else
        echo "image size:                    none (sim engine: nothing was saved)"
    fi
}

start_cold
checkpoint
if [ "$engine" = native ]; then
    restore --eager
    eager_us=$restore_us
fi
restore
report
exit 0
