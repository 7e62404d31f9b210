#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# crac restore rejects, with a message naming the problem and exit 1, and
# before anything of the saved process runs: a flipped bit in the metadata
# or in the page data, truncated files, a missing image, and a changed
# executable.
. "$(dirname "$0")/native-lib.sh"
# Work on a copy of the program so that it can be "rebuilt".
cp "$prog" "$tmp/prog"
prog="$tmp/prog"
export LD_LIBRARY_PATH="$build"
img="$tmp/img"
checkpoint "$img" env || { cat "$tmp/cp.out"; fail "checkpoint failed"; }
pages_size=$(stat -c %s "$img/pages")

reject() { # NAME EXPECTED-TEXT  (the image in $tmp/bad)
    local rc
    restore "$tmp/bad.out" "$tmp/bad"
    rc=$?
    [ $rc -eq 1 ] || { cat "$tmp/bad.out"; fail "$1: exit $rc, want 1"; }
    expect_in "$tmp/bad.out" "$2"
    grep -q "CRAC_TEST_ENV" "$tmp/bad.out" && fail "$1: the saved process ran"
    echo "rejected $1: $(head -c 200 "$tmp/bad.out" | tr '\n' ' ')"
}
fresh() { rm -rf "$tmp/bad"; cp -a "$img" "$tmp/bad"; }
flip() { # FILE OFFSET
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

fresh; flip "$tmp/bad/meta" 20; reject "meta header bit" "checksum mismatch"
fresh; flip "$tmp/bad/meta" 1000; reject "meta section bit" "checksum mismatch in section"
fresh; flip "$tmp/bad/pages" $((pages_size / 2)); reject "page data bit" "checksum mismatch (corrupted image)"
fresh; truncate -s $((pages_size - 4096)) "$tmp/bad/pages"; reject "truncated pages" "truncated"
fresh; truncate -s 100 "$tmp/bad/meta"; reject "truncated meta" "truncated"
fresh; rm "$tmp/bad/pages"; reject "missing pages" "pages: cannot open"
rm -rf "$tmp/bad"; reject "missing image" "cannot open"
fresh; echo "not an image" >"$tmp/bad/meta"; reject "not an image" "not an image"
# The executable changes after the checkpoint (rebuilt, or upgraded).
fresh; touch -d "2000-01-01" "$prog"; reject "changed executable" "$prog changed since the checkpoint"
# And the original image still restores once the file is back... it is not:
# a changed file stays changed; image verify says the same.
"$crac" image verify "$tmp/bad" >"$tmp/verify.out" 2>&1 && fail "image verify accepted a changed file"
expect_in "$tmp/verify.out" "changed since the checkpoint"
