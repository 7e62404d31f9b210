#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A thread blocked in a stdio read holds the stream's lock for as long as
# it waits; a checkpoint must not wait for it (fflush(NULL) did, forever).
# 1. native-stdin: a thread in fgets(stdin) on a pipe while the main thread
#    checkpoints (keep_running): done within a second; the line printed
#    before and left in stdout's buffer is written once, by the original
#    process only; after a restore the reader gets the line written then.
# 2. A program not built with crac, reading stdin through stdio (sed), under
#    `crac run`: `crac checkpoint PID` runs on the control thread while sed's
#    only thread waits in read() under stdin's lock; it returns within a
#    second, and the restored sed goes on with the next line.
. "$(dirname "$0")/native-lib.sh"
prog="$build/tests/helpers/native-stdin"

# start IN OUT ERR CMD...: CMD in the background, stdin the new fifo IN
# whose write end this shell keeps as $w; its pid in $bg.
start() {
    local in=$1 out=$2 err=$3
    shift 3
    mkfifo "$in"
    : >"$out"
    : >"$err"
    "$@" <"$in" >"$out" 2>"$err" &
    bg=$!
    PIDS+=("$bg")
    exec {w}>"$in"
}

wait_for() { # FILE TEXT
    local i
    for ((i = 0; i < 500; i++)); do
        grep -qF -- "$2" "$1" && return 0
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.02
    done
    grep -qF -- "$2" "$1" || { cat "$1"; fail "no '$2' in $1"; }
}

# send LINE WHO: writes LINE, closes the pipe, wants exit 0.
send() {
    echo "$1" >&$w
    exec {w}>&-
    wait "$bg" || fail "$2: exit $?"
}

CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$tmp/img" CRAC_ENGINE_OPTIONS=keep_running=true \
    start "$tmp/in1" "$tmp/out1" "$tmp/err1" "$prog"
wait_for "$tmp/err1" CONTINUED
ms=$(awk '/^CHECKPOINT/{print $2}' "$tmp/err1")
[ "$ms" -lt 1000 ] || { cat "$tmp/err1"; fail "the checkpoint took $ms ms"; }
send first "kept running"
expect_in "$tmp/out1" "GOT first"
expect_in "$tmp/out1" "STDIN OK"
[ "$(grep -c '^BEFORE' "$tmp/out1")" = 1 ] || { cat "$tmp/out1"; fail "BEFORE not printed once"; }
echo "fgets on stdin: checkpoint in $ms ms, buffered output written once"

start "$tmp/in2" "$tmp/out2" "$tmp/err2" "$crac" restore "$tmp/img"
wait_for "$tmp/err2" RESTORED
send second restored
expect_in "$tmp/out2" "GOT second"
expect_in "$tmp/out2" "STDIN OK"
grep -q '^BEFORE' "$tmp/out2" && { cat "$tmp/out2"; fail "the restored process printed BEFORE again"; }
echo "fgets on stdin: the restored reader got the next line"

# --- sed, through crac run and crac checkpoint
sed=$(command -v sed) || { echo "sed not found: skipping the crac run part"; exit 0; }
if [ "${SANITIZE:-}" = 1 ]; then
    echo "skipped the crac run part: an ASan-built preload library cannot be loaded into sed"
    exit 0
fi
export CRAC_CONTROL_DIR="$tmp/ctl"
start "$tmp/in3" "$tmp/out3" "$tmp/err3" "$crac" run --checkpoint-to "$tmp/img2" -- "$sed" -u 's/^/got: /'
pid=$bg
echo a >&$w
wait_for "$tmp/out3" "got: a"
for ((i = 0; i < 500; i++)); do [ -S "$CRAC_CONTROL_DIR/$pid/ctl" ] && break; sleep 0.02; done
t0=$(date +%s%N)
timeout 10 "$crac" checkpoint "$pid" >"$tmp/cp.out" 2>&1 || { cat "$tmp/cp.out"; fail "crac checkpoint of sed failed or hung"; }
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 1000 ] || fail "crac checkpoint of sed took $ms ms"
exec {w}>&-
wait "$pid"
start "$tmp/in4" "$tmp/out4" "$tmp/err4" "$crac" restore "$tmp/img2"
echo b >&$w
wait_for "$tmp/out4" "got: b"
exec {w}>&-
wait "$bg" || { cat "$tmp/err4"; fail "the restored sed exited $?"; }
echo "sed under crac run: checkpoint in $ms ms, the restored sed went on"
