#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Native engine: heap, mmap'ed regions of each protection, a private file
# mapping with dirty pages, stack, TLS, globals, stdio buffers, the vDSO
# clock, getpid/gettid and glibc's cached tid (raise) all survive a
# checkpoint and restore; the image is private (0700 / 0600).
. "$(dirname "$0")/native-lib.sh"
img="$tmp/img"
checkpoint "$img" memory || { cat "$tmp/cp.out"; fail "checkpoint exited $?"; }
[ "$(stat -c %a "$img")" = 700 ] || fail "image directory mode $(stat -c %a "$img"), want 700"
for f in "$img"/*; do
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f"), want 600"
done
ls -a "$tmp" | grep -q '\.tmp\.' && fail "a temporary image directory was left behind"
restore "$tmp/r.out" "$img" || { cat "$tmp/r.out"; fail "restored process exited $?"; }
expect_in "$tmp/r.out" "RESTORED OK"
# stdio: what was buffered before the checkpoint is printed once, by the
# checkpointed process, not again by the restored one
grep -q "no newline yet" "$tmp/r.out" && fail "buffered output printed again after restore"
expect_in "$tmp/cp.out" "no newline yet"
"$crac" image verify "$img" >/dev/null || fail "crac image verify rejects a good image"
echo "memory restored"
