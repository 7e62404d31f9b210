#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# crac restore is lazy by default (--lazy names it): large anonymous
# regions are left to the pager, crac restore itself, which fills them
# while the program already runs; -v says how many pages it left and, at
# the end, what the pager did.  Memory of every kind comes back; a
# multi-threaded process whose threads all fault at once comes back, with
# --pid new too (the pager is then a process of its own); --eager reads
# everything first and says why; a lazily restored process checkpoints again, after its
# first image was deleted, into an image that holds its memory.
. "$(dirname "$0")/native-lib.sh"
checkpoint "$tmp/mem" memory || { cat "$tmp/cp.out"; fail "checkpoint (memory) failed"; }
for opt in "" --lazy; do # (the default, and by its name)
    restore "$tmp/r.out" "$tmp/mem" -v $opt || { cat "$tmp/r.out"; fail "lazy restore (memory, $opt) failed"; }
    expect_in "$tmp/r.out" "RESTORED OK"
    lazily_served "$tmp/r.out"
    grep -Eq "^crac restore: pager: [0-9.]+ MiB copied, [0-9.]+ MiB zero-mapped in [0-9.]+ ms" "$tmp/r.out" ||
        { cat "$tmp/r.out"; fail "-v did not report the pager's work"; }
done

prog="$build/tests/helpers/lazy-mem"
[ -x "$prog" ] || fail "$prog is not built (make tests)"
checkpoint "$tmp/thr" threads || { cat "$tmp/cp.out"; fail "checkpoint (threads) failed"; }
restore "$tmp/t.out" "$tmp/thr" -v || { cat "$tmp/t.out"; fail "lazy restore (threads) failed"; }
expect_in "$tmp/t.out" "LAZY OK"
expect_in "$tmp/t.out" "5 threads"
lazily_served "$tmp/t.out"
eager() { # WHY OPTIONS...: restores eagerly, saying WHY
    local why=$1
    shift
    restore "$tmp/e.out" "$tmp/thr" -v "$@" || { cat "$tmp/e.out"; fail "restore $* failed"; }
    expect_in "$tmp/e.out" "LAZY OK"
    expect_in "$tmp/e.out" " 0 to be served by the pager"
    expect_in "$tmp/e.out" "eager restore: $why"
}
restore "$tmp/n.out" "$tmp/thr" -v --pid new || { cat "$tmp/n.out"; fail "lazy restore (threads, --pid new) failed"; }
expect_in "$tmp/n.out" "LAZY OK"
expect_in "$tmp/n.out" "pid mode new"
lazily_served "$tmp/n.out"
eager "--eager" --eager
eager "--huge-pages" --huge-pages

prog="$build/tests/helpers/native-state"
checkpoint "$tmp/a1" again "$tmp/a2" || { cat "$tmp/cp.out"; fail "checkpoint (again) failed"; }
# The first restore checkpoints again into a2 and exits 0 (the engine's default).
restore "$tmp/a1.out" "$tmp/a1" -v || { cat "$tmp/a1.out"; fail "lazy restore + second checkpoint failed"; }
lazily_served "$tmp/a1.out"
[ -e "$tmp/a1" ] && fail "the program did not delete its first image"
"$crac" image info "$tmp/a2" | grep -q "a1/pages" && fail "the second image refers to the first one's pages"
restore "$tmp/a2.out" "$tmp/a2" || { cat "$tmp/a2.out"; fail "restore of the second image failed"; }
expect_in "$tmp/a2.out" "RESTORED TWICE OK 2"
echo "lazy restore: ok"
