#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The files an image maps are compared by more than size, mtime and
# build-id: an executable patched in place with all three kept is refused.
# A file another user owns (so someone but root could write it) is
# compared by content: the same content under another inode (a copy, as on
# another machine) or after a chmod (the change time moves, not the bytes)
# restores.  A file of root's is not hashed (root can change anything): a
# change in place shows in its change time.
. "$(dirname "$0")/native-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root, to give the program to another user"
cp "$prog" "$tmp/prog"
prog="$tmp/prog"
chown 65534 "$prog"
chmod 0755 "$tmp"
export LD_LIBRARY_PATH="$build"
img="$tmp/img"
checkpoint "$img" env || { cat "$tmp/cp.out"; fail "checkpoint failed"; }
restore "$tmp/ok.out" "$img" || { cat "$tmp/ok.out"; fail "restore of an untouched image failed"; }

# chmod: ctime moves, the content is the same
chmod 0700 "$prog"
restore "$tmp/chmod.out" "$img" || { cat "$tmp/chmod.out"; fail "refused after a chmod"; }
# a copy with the same content and mtime: another inode
cp -p "$prog" "$tmp/prog.copy"
mv -f "$tmp/prog.copy" "$prog"
restore "$tmp/copy.out" "$img" || { cat "$tmp/copy.out"; fail "refused a copy with the same content"; }

# patched in place: one byte in the middle of the text, size, mtime (and
# so the build-id note) kept
mtime=$(stat -c %y "$prog")
size=$(stat -c %s "$prog")
off=$((size / 2))
b=$(od -An -tu1 -j "$off" -N1 "$prog" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 0x40)))" | dd of="$prog" bs=1 seek="$off" conv=notrunc status=none
touch -d "$mtime" "$prog"
[ "$(stat -c %s "$prog")" = "$size" ] || fail "the patch changed the size"
restore "$tmp/patched.out" "$img"
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/patched.out"; fail "patched executable: exit $rc, want 1"; }
expect_in "$tmp/patched.out" "$prog changed since the checkpoint (same size, mtime and build-id, other content)"
grep -q "CRAC_TEST_ENV" "$tmp/patched.out" && fail "the saved process ran"
"$crac" image verify "$img" >"$tmp/verify.out" 2>&1 && fail "crac image verify accepted the patched file"
expect_in "$tmp/verify.out" "other content"

# root's own file, patched in place: no content recorded, its change time tells
cp "$build/tests/helpers/native-state" "$tmp/prog"
chown 0 "$prog"
checkpoint "$img" env || { cat "$tmp/cp.out"; fail "checkpoint of root's copy failed"; }
mtime=$(stat -c %y "$prog")
b=$(od -An -tu1 -j "$off" -N1 "$prog" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 0x40)))" | dd of="$prog" bs=1 seek="$off" conv=notrunc status=none
touch -d "$mtime" "$prog"
restore "$tmp/rootpatch.out" "$img"
[ $? -eq 1 ] || { cat "$tmp/rootpatch.out"; fail "root's patched executable was not refused"; }
expect_in "$tmp/rootpatch.out" "changed in place: its inode change time moved"
echo "native file patch: ok"
