#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Allocators rely on the kernel's zeros: memory given back (glibc trims the
# heap; jemalloc purges with MADV_DONTNEED and then skips clearing it in
# calloc) must read zero when used again, even where the pager had not
# filled it yet when it was given back.  tests/helpers/lazy-alloc.c frees
# 192 MiB at once after a lazy restore, purges, calloc()s it again and
# counts non-zero bytes; with glibc's malloc and with Debian's jemalloc
# (libjemalloc2), lazily and --eager (the same result: lazy memory
# behaves as eagerly read memory does).
. "$(dirname "$0")/native-lib.sh"
prog="$build/tests/helpers/lazy-alloc"
[ -x "$prog" ] || fail "$prog is not built (make tests)"
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2

run() { # ALLOCATOR PRELOAD
    local who=$1 img="$tmp/$1" mode
    LD_PRELOAD=$2 checkpoint "$img" || { cat "$tmp/cp.out"; fail "$who: checkpoint failed"; }
    for mode in --lazy --eager; do
        restore "$tmp/$who$mode.out" "$img" -v $mode ||
            { cat "$tmp/$who$mode.out"; fail "$who, restore $mode: the program failed"; }
        expect_in "$tmp/$who$mode.out" "ALLOC OK $who"
        if [ $mode = --lazy ]; then
            lazily_served "$tmp/$who$mode.out"
        else
            expect_in "$tmp/$who$mode.out" "eager restore: --eager"
        fi
        echo "$who $mode: ok"
    done
    rm -rf "$img"
}

run glibc ""
# (checked last: the skip's reason must be the last line)
[ -e "$jemalloc" ] || {
    echo "glibc passed; jemalloc not checked: $jemalloc is missing (scripts/setup-debian installs libjemalloc2)"
    exit 77
}
run jemalloc "$jemalloc"
echo "lazy allocators: glibc and jemalloc calloc() zeros after a lazy restore"
