#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# `crac run` with a program we did not write (Debian's bash): it keeps the
# pid of `crac run`, gets crac through the preload library and the CRAC_*
# environment (relative paths made absolute), does not inherit descriptors
# above 2 (unless --keep-fd), and `crac check` names what blocks it.  Its
# socket is found in the default places and removed when it exits.  Usage
# errors are caught before anything runs.
. "$(dirname "$0")/control-lib.sh"

if [ "${SANITIZE:-}" = 1 ]; then
    skip "crac run tests skipped: the ASan-built preload library cannot be loaded into bash, which is not built with ASan"
fi
[ -e "$build/libcrac-preload.so" ] || fail "$build/libcrac-preload.so is not built"
bash=$(command -v bash)

# --- an unmodified program: pid, environment, descriptors, what blocks it
mkfifo "$tmp/in"
exec 8<>"$tmp/in"                  # keeps the FIFO open; crac run must not pass it on
exec 7>"$tmp/inherited"            # likewise
echo data >"$tmp/data"
cd "$tmp" || fail "cd $tmp"
STDIN="$tmp/in" start "$tmp/b1" "$crac" run --checkpoint-to img --engine native -- \
    "$bash" -c 'echo "pid $$"; echo "to $CRAC_CHECKPOINT_TO"; echo "preload $LD_PRELOAD"
                for f in /proc/$$/fd/*; do echo "fd ${f##*/} $(readlink "$f")"; done
                exec 5<>data; echo opened; while read line; do echo "got $line"; done'
p1=$bg
cd - >/dev/null || fail "cd back"
wait_line "$tmp/b1" opened
wait_socket "$p1"
expect_in "$tmp/b1" "pid $p1"                      # exec: the same process
expect_in "$tmp/b1" "to $tmp/img"
expect_in "$tmp/b1" "preload $build/libcrac-preload.so"
expect_not_in "$tmp/b1" "fd 7 "
expect_not_in "$tmp/b1" "fd 8 "
run_crac 1 "$tmp/out" "$tmp/err" check "$p1"
expect_in "$tmp/out" "pid $p1: a checkpoint would be refused (engine native):"
expect_in "$tmp/out" "$tmp/data"                   # fd 5, by its path
expect_not_in "$tmp/out" "$tmp/inherited"
echo still-here >&8
wait_line "$tmp/b1" "got still-here"

# --- --keep-fd keeps one (and the checker then names it)
STDIN="$tmp/in" start "$tmp/b2" "$crac" run --keep-fd 7 --engine native -- \
    "$bash" -c 'for f in /proc/$$/fd/*; do echo "fd ${f##*/}"; done; echo listed; read line'
p2=$bg
wait_line "$tmp/b2" listed
wait_socket "$p2"
expect_in "$tmp/b2" "fd 7"
expect_not_in "$tmp/b2" "fd 8"
run_crac 1 "$tmp/out" "$tmp/err" check "$p2"
expect_in "$tmp/out" "$tmp/inherited"
exec 7>&-

# --- the default places (no CRAC_CONTROL_DIR), and removal at exit
unset CRAC_CONTROL_DIR
mkfifo "$tmp/in3"
exec 6<>"$tmp/in3"
STDIN="$tmp/in3" start "$tmp/b3" "$crac" run --engine sim -- "$bash" -c 'echo started; read line; echo bye'
p3=$bg
wait_line "$tmp/b3" started
for ((i = 0; i < 250; i++)); do
    sock=$(grep -o "/[^ ]*/$p3/ctl\$" /proc/net/unix | head -n 1)
    [ -n "$sock" ] && break
    sleep 0.02
done
[ -n "$sock" ] || fail "no control socket of pid $p3 in /proc/net/unix"
[ "$(id -u)" != 0 ] || [ "$sock" = "/run/crac/$p3/ctl" ] || [ ! -w /run ] ||
    fail "root's socket is $sock, expected /run/crac/$p3/ctl"
run_crac 0 "$tmp/out" "$tmp/err" check "$p3"
echo quit >&6
wait "$p3" || fail "bash exited $?"
[ -e "$sock" ] && fail "$sock is still there after the process exited"
[ -e "$(dirname "$sock")" ] && fail "$(dirname "$sock") is still there after the process exited"
export CRAC_CONTROL_DIR="$tmp/ctl"

# --- installed layout: PREFIX/bin/crac finds PREFIX/lib/libcrac-preload.so;
# CRAC_PRELOAD overrides
mkdir -p "$tmp/p/bin" "$tmp/p/lib"
cp "$crac" "$tmp/p/bin/crac"
# the shim needs libcrac.so.0 beside it, as `make install` puts it
cp -P "$build/libcrac-preload.so" "$build"/libcrac.so.0* "$tmp/p/lib/"
"$tmp/p/bin/crac" run --engine sim -- "$bash" -c 'echo "preload $LD_PRELOAD"' >"$tmp/out" 2>&1
expect_in "$tmp/out" "preload $tmp/p/lib/libcrac-preload.so"
CRAC_PRELOAD="$build/libcrac-preload.so" "$tmp/p/bin/crac" run --engine sim -- "$bash" -c 'echo "preload $LD_PRELOAD"' >"$tmp/out" 2>&1
expect_in "$tmp/out" "preload $build/libcrac-preload.so"
rm "$tmp/p/lib/libcrac-preload.so"
"$tmp/p/bin/crac" run -- true >"$tmp/out" 2>&1 && fail "crac run without its preload library succeeded"
expect_in "$tmp/out" "cannot find libcrac-preload.so"

# --- a program linked with libcrac under crac run: the preload shim brings
# no second copy; the one copy listens and runs the program's resources
CRAC_CONTROL_DIR="$tmp/ctl" start "$tmp/t1" "$crac" run --engine sim -- "$target"
t1=$bg
wait_line "$tmp/t1" ready
CRAC_CONTROL_DIR="$tmp/ctl" wait_socket "$t1"
CRAC_CONTROL_DIR="$tmp/ctl" run_crac 0 "$tmp/out" "$tmp/err" checkpoint "$t1"
wait_line "$tmp/t1" "after restore (count 1)"
[ "$(grep -c '^before$' "$tmp/t1")" = 1 ] || fail "the resource was notified more than once: $(cat "$tmp/t1")"
kill "$t1"

# --- usage errors, before anything runs
run_crac 2 "$tmp/out" "$tmp/err" run
run_crac 2 "$tmp/out" "$tmp/err" run --
expect_in "$tmp/err" "expected a program to run"
run_crac 2 "$tmp/out" "$tmp/err" run --engine bogus -- true
expect_in "$tmp/err" "unknown engine 'bogus'"
run_crac 2 "$tmp/out" "$tmp/err" run --engine sim --engine-options nope=1 -- true
expect_in "$tmp/err" "invalid engine options 'nope=1' for engine 'sim'"
run_crac 2 "$tmp/out" "$tmp/err" run --keep-fd x -- true
run_crac 2 "$tmp/out" "$tmp/err" run --checkpoint-to
run_crac 2 "$tmp/out" "$tmp/err" run --frobnicate -- true
expect_in "$tmp/err" "unknown option '--frobnicate'"
run_crac 0 "$tmp/out" "$tmp/err" run --engine pause --engine-options help -- true
expect_in "$tmp/err" "ready_file"
run_crac 1 "$tmp/out" "$tmp/err" run --policies "$tmp/no-such-file" -- true
expect_in "$tmp/err" "cannot read policies file $tmp/no-such-file"
run_crac 127 "$tmp/out" "$tmp/err" run -- "$tmp/no-such-program"
run_crac 126 "$tmp/out" "$tmp/err" run -- "$tmp/data"
# PROG's own options are PROG's, and its exit status is crac run's
run_crac 3 "$tmp/out" "$tmp/err" run --engine sim -- "$bash" -c 'exit 3' --frobnicate
echo "control run: all checks passed"
