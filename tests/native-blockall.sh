#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Threads that block every signal (as jemalloc's background thread and many
# thread pools do) park for a checkpoint, through the ptrace helper: six of
# them, in a futex wait, epoll_wait, read() on a pipe, nanosleep,
# clock_nanosleep(TIMER_ABSTIME), and computing.  In the original process
# (keep_running=true) and in a restored one, each goes on exactly: no call
# fails with EINTR, every mask is what it was (from /proc and from each
# thread itself), the reader gets the line written after the checkpoint
# and the epoll waiter the hang-up.  Then, as user nobody in a process that
# made itself non-dumpable, such a thread cannot be stopped: the checkpoint
# fails at once, naming it and why, and the process goes on; `crac check`
# says the same up front, and `crac checkpoint` from outside fails with it.
. "$(dirname "$0")/native-lib.sh"
prog="$build/tests/helpers/native-blockall"

# start OUT CMD...: CMD under the launcher (fd 1 an epoll watching fd 0),
# stdin a fifo whose write end this shell keeps as $w, stderr in OUT.
start() {
    local out=$1
    shift
    rm -f "$tmp/fifo"
    mkfifo "$tmp/fifo"
    : >"$out"
    "$prog" launch "$@" <"$tmp/fifo" >/dev/null 2>"$out" &
    bg=$!
    PIDS+=("$bg")
    exec {w}>"$tmp/fifo"
}

# finish WHO OUT: once OUT says WAITING, writes the line, closes the pipe,
# and wants BLOCKALL OK with exit 0.
finish() {
    local who=$1 out=$2 i rc
    for ((i = 0; i < 500; i++)); do
        grep -q -e WAITING -e FAILED "$out" && break
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.02
    done
    grep -q WAITING "$out" || { cat "$out"; fail "$who: never said WAITING"; }
    echo hello >&$w
    exec {w}>&-
    wait "$bg"
    rc=$?
    [ $rc -eq 0 ] || { cat "$out"; fail "$who: exit $rc"; }
    expect_in "$out" "BLOCKALL OK"
    echo "$who: every thread went on exactly"
}

CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$tmp/img" CRAC_ENGINE_OPTIONS=keep_running=true \
    start "$tmp/keep.out" "$prog" run
finish "kept running" "$tmp/keep.out"
expect_in "$tmp/keep.out" "CONTINUED"
[ -f "$tmp/img/meta" ] || fail "no image written"

start "$tmp/r.out" "$crac" restore "$tmp/img"
finish "restored" "$tmp/r.out"
expect_in "$tmp/r.out" "RESTORED"

# --- a thread that cannot be stopped: as nobody (root may ptrace a
# non-dumpable process), with every signal blocked.
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
    echo "skipped the non-dumpable case: needs root and setpriv to become nobody"
    exit 0
fi
w0="$tmp/nobody"
mkdir -p "$w0/b/tests/helpers" # where the program's run path finds the library
cp -P "$build"/libcrac.so* "$build/crac" "$w0/b/"
cp "$prog" "$w0/b/tests/helpers/"
chmod 755 "$tmp"
chown -R 65534:65534 "$w0"
start0=$(date +%s%N)
CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$w0/img" CRAC_ENGINE_OPTIONS=safepoint_timeout_ms=300 \
    setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    "$w0/b/tests/helpers/native-blockall" nodump >"$tmp/nd.out" 2>&1 </dev/null &
PIDS+=($!)
wait $!
rc=$?
ms=$((($(date +%s%N) - start0) / 1000000))
[ $rc -eq 3 ] || { cat "$tmp/nd.out"; fail "non-dumpable: exit $rc, want 3 (process continues)"; }
expect_in "$tmp/nd.out" "thread 'futex' (tid"
expect_in "$tmp/nd.out" "blocks signal 62"
expect_in "$tmp/nd.out" "the process is not dumpable"
expect_in "$tmp/nd.out" "PROCESS CONTINUES"
[ -e "$w0/img" ] && fail "non-dumpable: an image was written"
[ $ms -lt 3000 ] || fail "non-dumpable: took $ms ms"
echo "non-dumpable: refused in $ms ms, naming the thread"

# --- the same from outside: crac check agrees with crac checkpoint
nb() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"; }
export CRAC_CONTROL_DIR="$w0/ctl"
mkdir -p "$CRAC_CONTROL_DIR"
chown 65534:65534 "$CRAC_CONTROL_DIR"
rm -f "$tmp/fifo"
mkfifo "$tmp/fifo"
chmod 666 "$tmp/fifo"
: >"$tmp/ndw.out"
CRAC_CONTROL=1 CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$w0/img" \
    nb "$w0/b/tests/helpers/native-blockall" nodump-wait <"$tmp/fifo" >"$tmp/ndw.out" 2>&1 &
bg=$!
PIDS+=("$bg")
exec {w}>"$tmp/fifo"
for ((i = 0; i < 500; i++)); do
    pid=$(awk '/^READY/{print $2}' "$tmp/ndw.out")
    [ -n "$pid" ] && [ -S "$CRAC_CONTROL_DIR/$pid/ctl" ] && break
    sleep 0.02
done
[ -n "$pid" ] || { cat "$tmp/ndw.out"; fail "nodump-wait never got ready"; }
nb "$w0/b/crac" check "$pid" >"$tmp/check.out" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/check.out"; fail "crac check: exit $rc, want 1"; }
expect_in "$tmp/check.out" "thread 'futex' (tid"
expect_in "$tmp/check.out" "the process is not dumpable"
nb "$w0/b/crac" checkpoint "$pid" >"$tmp/cpo.out" 2>&1 && { cat "$tmp/cpo.out"; fail "crac checkpoint went through"; }
expect_in "$tmp/cpo.out" "the process is not dumpable"
exec {w}>&-
wait "$bg"
rc=$?
[ $rc -eq 3 ] || { cat "$tmp/ndw.out"; fail "nodump-wait: exit $rc, want 3"; }
cat "$tmp/check.out"
echo "non-dumpable, from outside: crac check and crac checkpoint both name the thread"
