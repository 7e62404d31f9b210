#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The checkpoint destination: an older image is replaced atomically, a
# directory holding anything else is never touched, a full file system fails
# the checkpoint cleanly (no image, no temporary files, the process goes
# on), and keep_running=true keeps the process running after the image.
. "$(dirname "$0")/native-lib.sh"
img="$tmp/img"
checkpoint "$img" env || fail "first checkpoint failed"
first=$(stat -c %Y.%i "$img/meta")
checkpoint "$img" env || { cat "$tmp/cp.out"; fail "second checkpoint over an image failed"; }
[ "$(stat -c %Y.%i "$img/meta")" != "$first" ] || fail "the image was not replaced"
restore "$tmp/r.out" "$img" || fail "replaced image does not restore"

mkdir "$tmp/precious"; echo data >"$tmp/precious/keep.txt"
checkpoint "$tmp/precious" env && fail "checkpoint into a foreign directory succeeded"
expect_in "$tmp/cp.out" "not a crac image; refusing to replace it"
[ "$(cat "$tmp/precious/keep.txt")" = data ] || fail "foreign directory was changed"

# keep_running: the checkpoint call returns in the original process (count 0);
# the helper checkpoints twice (the second reuses the dumper's memory)
CRAC_ENGINE_OPTIONS=keep_running=true checkpoint "$tmp/img-keep" keep || fail "keep_running checkpoint failed"
expect_in "$tmp/cp.out" "COUNT 0 HEAP OK"
restore "$tmp/k.out" "$tmp/img-keep" || fail "restore of keep_running image failed"
expect_in "$tmp/k.out" "COUNT 1 HEAP OK"

# A full file system: a 1 MiB tmpfs cannot hold the image.
mnt="$tmp/small"
mkdir "$mnt"
if ! mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null; then
    echo "full file system case skipped: cannot mount a tmpfs here (needs CAP_SYS_ADMIN)"
    exit 0
fi
trap 'umount "$mnt" 2>/dev/null; for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done' EXIT
# "memory" holds 8 MiB of data: its checkpoint fails, its process goes on
CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$mnt/img" "$prog" memory >"$tmp/full.out" 2>&1 </dev/null
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/full.out"; fail "checkpoint into a full fs: exit $rc, want 1 (error, process continues)"; }
expect_in "$tmp/full.out" "No space left on device"
expect_in "$tmp/full.out" "no image was written"
[ -z "$(ls -A "$mnt")" ] || { ls -la "$mnt"; fail "files left on the full file system"; }
umount "$mnt"
echo "destination handling ok"
