#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A lazily restored program (the default) cannot tell that its memory is
# still being filled: each check of tests/helpers/lazy-mem.c acts at once
# after the restore on memory the pager has not reached yet, then every
# page is verified, at once and after the pager is done:
#   MADV_DONTNEED (libc and a raw syscall) and MADV_FREE read zero (or, for
#   FREE, the data), never the image's bytes, and a write sticks;
#   mprotect to PROT_NONE and back keeps the bytes; mremap moves them and
#   grows the mapping with zeros; munmap or MAP_FIXED replace them with
#   zeros; a forked child sees all and its changes are its own, and so do
#   300 children forked at once (a client each for the pager); read(2)
#   and write(2) (faults the kernel takes) see the right bytes; threads
#   faulting all at once do; pages dropped just where the prefetchers are
#   filling read zero; a checkpoint taken before the pager is done saves
#   the memory as it is.
# Some checks run again with --pid new, where the pager is a process of its
# own rather than the restored process's parent.
. "$(dirname "$0")/lazy-lib.sh"
# one CHECK [RESTORE-OPTIONS]: checkpoint, lazy restore, the check, every
# page verified.  Exits (it runs in a subshell) 0 when the check ran on
# memory the pager had not filled yet, 3 when it passed on memory already in.
one() {
    local check=$1 img="$tmp/$1" out="$tmp/$1.out" n args=("$1")
    shift
    [ "$check" = again ] && args+=("$tmp/again2")
    checkpoint "$img" "${args[@]}" || { cat "$tmp/cp.out"; fail "checkpoint ($check) failed"; }
    restore "$out" "$img" -v "$@" || { cat "$out"; fail "$check $*: the restored program failed"; }
    lazily_served "$out"
    if [ "$check" = again ]; then
        # The first restore checkpointed again and exited; the second image
        # holds what the program had, the pager's work not done yet.
        restore "$tmp/again2.out" "$tmp/again2" -v ||
            { cat "$out" "$tmp/again2.out"; fail "again: the second restore failed"; }
        lazily_served "$tmp/again2.out"
        grep MISMATCH "$out" && fail "again: the first restore found differences"
        out="$tmp/again2.out"
        rm -rf "$tmp/again2"
    fi
    verified "$out"
    [ "$check" = fork ] && expect_in "$out" "CHILD OK"
    rm -rf "$img"
    n=$(unserved "$tmp/$check.out" "$check")
    [ -n "$n" ] || { cat "$tmp/$check.out"; fail "$check: no UNSERVED line"; }
    echo "$check: ok ($(grep "^UNSERVED $check " "$tmp/$check.out" | cut -d' ' -f3) pages unserved when it acted)"
    grep "^RACE " "$tmp/$check.out"
    [ "$n" -gt 0 ] || exit 3
}

# Every check, each in a subshell (its processes killed when it ends), so
# that one failure does not hide the others.
on_unserved=0 failed=""
checks=(none dontneed dontneed-syscall free mprotect mremap munmap fork forks kernel threads race again)
for check in "${checks[@]}"; do
    (
        PIDS=()
        trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done' EXIT
        one "$check"
    )
    case $? in
    0) on_unserved=$((on_unserved + 1)) ;;
    3) ;;
    *) failed="$failed $check" ;;
    esac
done
for check in none dontneed fork kernel; do
    (
        PIDS=()
        trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done' EXIT
        one "$check" --pid new
    )
    case $? in
    0 | 3) ;;
    *) failed="$failed $check(--pid new)" ;;
    esac
done
[ -z "$failed" ] || fail "failed:$failed"
# Each check runs while the pager is busy elsewhere; a loaded machine may
# let the pager win a race now and then, but never every time.
[ "$on_unserved" -gt 0 ] || fail "no check ran on memory the pager had not filled yet"
echo "lazy semantics: all ${#checks[@]} checks passed, $on_unserved on unserved memory"
