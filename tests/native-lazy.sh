#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# crac restore --lazy maps page data from the image instead of reading it
# (where it pays: regions of small scattered runs are still read):
# memory of every kind and a multi-threaded process come back; a lazily
# restored process checkpoints again, after its first image was deleted,
# into an image that holds its memory (not a reference to the old file).
. "$(dirname "$0")/native-lib.sh"
checkpoint "$tmp/mem" memory || { cat "$tmp/cp.out"; fail "checkpoint (memory) failed"; }
restore "$tmp/r.out" "$tmp/mem" --lazy -v || { cat "$tmp/r.out"; fail "lazy restore (memory) failed"; }
expect_in "$tmp/r.out" "RESTORED OK"
grep -Eq "read and checked, [1-9][0-9]* mapped from the image" "$tmp/r.out" ||
    { cat "$tmp/r.out"; fail "--lazy mapped nothing"; }

prog="$build/tests/helpers/native-threads"
checkpoint "$tmp/thr" main || fail "checkpoint (threads) failed"
restore "$tmp/t.out" "$tmp/thr" --lazy --pid new || { cat "$tmp/t.out"; fail "lazy restore (threads) failed"; }
expect_in "$tmp/t.out" "THREADS OK"

prog="$build/tests/helpers/native-state"
checkpoint "$tmp/a1" again "$tmp/a2" || { cat "$tmp/cp.out"; fail "checkpoint (again) failed"; }
# The first restore checkpoints again into a2 and exits 0 (the engine's default).
restore "$tmp/a1.out" "$tmp/a1" --lazy || { cat "$tmp/a1.out"; fail "lazy restore + second checkpoint failed"; }
[ -e "$tmp/a1" ] && fail "the program did not delete its first image"
"$crac" image info "$tmp/a2" | grep -q "a1/pages" && fail "the second image refers to the first one's pages"
restore "$tmp/a2.out" "$tmp/a2" || { cat "$tmp/a2.out"; fail "restore of the second image failed"; }
expect_in "$tmp/a2.out" "RESTORED TWICE OK 2"
echo "lazy restore: ok"
