#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Nothing left behind: checkpoints killed with -9 at many points leave
# their ".NAME.tmp.PID" directories beside the destination; the next
# checkpoint to the same destination removes those (their checkpoint is
# over: nobody holds their lock), and leaves alone a checkpoint still in
# progress (locked) and anything not named like its own.  After 20 killed
# checkpoints and one that completes, only the image is there.
. "$(dirname "$0")/native-lib.sh"
prog=$build/bench/heapprog
[ -x "$prog" ] || fail "$prog is not built"
command -v flock >/dev/null || fail "flock (util-linux) is not installed"

dest=$tmp/out/img
mkdir -p "$tmp/out"
# How long one whole run takes (allocate, fill, checkpoint, exit): the
# kills then land anywhere from its middle to its end, mostly while the
# image is being written.
t0=$(date +%s%N)
CRAC_ENGINE=native CRAC_CHECKPOINT_TO=$dest "$prog" --mib 48 >/dev/null 2>&1 </dev/null ||
    fail "a checkpoint that was not killed failed"
full_us=$((($(date +%s%N) - t0) / 1000))
rm -rf "$dest"
killed=0 caught=0
for i in $(seq 1 20); do
    CRAC_ENGINE=native CRAC_CHECKPOINT_TO=$dest "$prog" --mib 48 >/dev/null 2>&1 </dev/null &
    p=$!
    PIDS+=("$p")
    us=$((full_us * (40 + RANDOM % 56) / 100))
    sleep "$((us / 1000000)).$(printf %06d $((us % 1000000)))"
    kill -KILL "$p" 2>/dev/null && killed=$((killed + 1))
    wait "$p" 2>/dev/null
    [ -d "$tmp/out/.img.tmp.$p" ] && caught=$((caught + 1)) # killed while writing
done
left=$(ls -A "$tmp/out" | grep -c '^\.img\.tmp\.')
echo "a whole run: $((full_us / 1000)) ms; $killed checkpoints killed, $caught of them while writing the image; $left temporary directories left"
[ "$caught" -ge 3 ] || fail "only $caught checkpoints were killed while writing: the test did not test much"
[ "$left" -le 1 ] || fail "$left temporary directories left: each checkpoint should remove the earlier ones"
# a checkpoint in progress elsewhere (it holds its lock), and a stranger
mkdir -m 700 "$tmp/out/.img.tmp.424242" "$tmp/out/.img.tmp.x1" "$tmp/out/.other.tmp.7"
flock "$tmp/out/.img.tmp.424242" sleep 60 &
PIDS+=($!)
sleep 0.2
rm -rf "$dest"
CRAC_ENGINE=native CRAC_CHECKPOINT_TO=$dest "$prog" --mib 1 >"$tmp/last" 2>&1 </dev/null ||
    { cat "$tmp/last"; fail "the last checkpoint failed"; }
[ -f "$dest/meta" ] || fail "no image after the last checkpoint"
expected=$(printf '%s\n' .img.tmp.424242 .img.tmp.x1 .other.tmp.7 img | sort)
[ "$(ls -A "$tmp/out" | sort)" = "$expected" ] ||
    fail "beside the image: $(ls -A "$tmp/out" | tr '\n' ' ') (expected: $(echo $expected))"
echo "native leftovers: all checks passed"
