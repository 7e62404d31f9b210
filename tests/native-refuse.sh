#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Native engine v1 refuses what it cannot restore, names it, writes no
# image, and the process goes on (its checkpoint call returns an error).
. "$(dirname "$0")/native-lib.sh"
check() { # KIND EXPECTED-TEXT
    local img="$tmp/img-$1" rc
    checkpoint "$img" refuse "$1"
    rc=$?
    [ $rc -eq 3 ] || { cat "$tmp/cp.out"; fail "$1: exit $rc, want 3 (process continues)"; }
    expect_in "$tmp/cp.out" "PROCESS CONTINUES"
    expect_in "$tmp/cp.out" "$2"
    [ -e "$img" ] && fail "$1: an image was written"
    ls -a "$tmp" | grep -q '\.tmp\.' && fail "$1: a temporary directory was left"
    echo "refused $1: $(grep -F -- "$2" "$tmp/cp.out" | head -1)"
}
check fd "fd 3: regular file $tmp/held-file (O_RDWR, offset 0 of 0 bytes)"
check shared "shared writable mapping"
check sysv "SysV shared memory"
check deleted "mapping of a deleted file"
check child "child process"
check seccomp "a seccomp filter is installed"
