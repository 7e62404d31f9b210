#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The control socket of a program linked with libcrac and run with
# CRAC_CONTROL=1 (no preload), spoken to directly (docs/control.md): the
# status fields, each kind of bad request answered with "result error", a
# checkpoint counted in the status.  Then the control thread and a
# checkpoint the program asks for itself: the thread is out of the way (the
# native engine saves single-threaded processes), and the restored process
# listens again under its new pid.
. "$(dirname "$0")/control-lib.sh"

ask() { # PID REQUEST-LINES...: the raw reply in $tmp/reply
    local pid=$1
    shift
    { echo "crac-control 1"; printf '%s\n' "$@"; echo; } |
        "$raw" "$(sock_of "$pid")" >"$tmp/reply" || fail "cannot reach $pid"
}

CRAC_CONTROL=1 CRAC_ENGINE=sim CRAC_CHECKPOINT_TO="$tmp/img" start "$tmp/t1" "$target"
p=$bg
wait_socket "$p"
ask "$p" "request status"
head -n 1 "$tmp/reply" | grep -qx "crac-control 1" || fail "reply does not start with the magic line"
for line in "pid $p" "result ok" "uid $(id -u)" "engine sim" "restore-count 0" \
    "destination $tmp/img" "socket $CRAC_CONTROL_DIR/$p/ctl" "version "; do
    expect_in "$tmp/reply" "$line"
done

# bad requests: an answer that says what is wrong, never a crash
printf 'hello\n\n' | "$raw" "$CRAC_CONTROL_DIR/$p/ctl" >"$tmp/reply"
expect_in "$tmp/reply" "result error"
expect_in "$tmp/reply" "not a crac control request"
ask "$p" "request launch"
expect_in "$tmp/reply" "no known request"
ask "$p" "request checkpoint" "compress yes"
expect_in "$tmp/reply" "unsupported request line 'compress yes'"
ask "$p" "request checkpoint" "to relative/dir"
expect_in "$tmp/reply" "unsupported request line 'to relative/dir'"
printf 'crac-control 1\nrequest status\n' | "$raw" "$CRAC_CONTROL_DIR/$p/ctl" >"$tmp/reply"
expect_in "$tmp/reply" "no complete request"
expect_not_in "$tmp/t1" "before" # none of these ran a cycle

ask "$p" "request checkpoint"
expect_in "$tmp/reply" "result ok"
expect_in "$tmp/reply" "restore-count 1"
goes_on "$tmp/t1"
kill -KILL "$p"

# --- CRAC_CONTROL unset: a linked program has no socket
CRAC_ENGINE=sim start "$tmp/t2" "$target"
wait_line "$tmp/t2" "tick 2"
[ -e "$CRAC_CONTROL_DIR/$bg" ] && fail "a socket without CRAC_CONTROL=1"
kill -KILL "$bg"

# --- the program checkpoints itself (native) while the control thread runs
if [ "${SANITIZE:-}" = 1 ]; then
    echo "native part skipped: an ASan-built process cannot be checkpointed"
    exit 0
fi
CRAC_CONTROL=1 CRAC_CHECKPOINT_TO="$tmp/self" start "$tmp/t3" "$target" --checkpoint-at 3
p=$bg
wait "$p"
rc=$?
[ "$rc" = 0 ] || { cat "$tmp/t3"; fail "the self-checkpointing program exited $rc"; }
expect_not_in "$tmp/t3" "checkpoint: [crac]"
[ -e "$CRAC_CONTROL_DIR/$p" ] && fail "$CRAC_CONTROL_DIR/$p is left after the checkpoint"
# --pid new: the restored process is `crac restore`'s own, with a new pid
start "$tmp/r3" "$crac" restore --pid new "$tmp/self"
r=$bg
wait_line "$tmp/r3" "checkpoint: ok (restore count 1, pid $r)"
wait_socket "$r"
ask "$r" "request status"
expect_in "$tmp/reply" "pid $r"
expect_in "$tmp/reply" "restore-count 1"
expect_in "$tmp/reply" "socket $CRAC_CONTROL_DIR/$r/ctl"
goes_on "$tmp/r3"
# --pid ns (root only): the saved pid again, in a namespace of its own, so
# the directory is named by the namespace too; crac finds it from the pid
# seen outside.  Twice at once: no clash.
if [ "$(id -u)" = 0 ]; then
    for i in 4 5; do
        start "$tmp/r$i" "$crac" restore --pid ns "$tmp/self"
        wait_line "$tmp/r$i" "checkpoint: ok (restore count 1, pid $p)"
        n=$(restored_pid "$bg")
        wait_socket "$n"
        case $(ctl_name "$n") in *-ns*) ;; *) fail "the socket of $n in a pid namespace is named $(ctl_name "$n")" ;; esac
        run_crac 0 "$tmp/out" "$tmp/err" checkpoint "$n" --keep-running --to "$tmp/ns$i"
        expect_in "$tmp/out" "pid $n: image published to $tmp/ns$i; the process keeps running"
        goes_on "$tmp/r$i"
    done
fi
echo "control protocol: all checks passed"
