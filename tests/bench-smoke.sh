#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Keeps the benchmark from rotting: one quick run of bench/run.sh with every
# row kind at its smallest (1 MiB, 16 MiB with its eager row, 8 threads, 4
# instances, one run each) must finish and print its table and its targets.
# No timing is checked: a benchmark is not a test, and this VM is far too
# noisy for that.
# Exit 0 pass, 1 fail, 77 skip.  Run by tests/run.sh.
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${CRAC_BUILD:-$top/build}
if [ -n "${CRAC_TEST_TMP:-}" ]; then
    tmp=$CRAC_TEST_TMP
else # run by hand: a directory of its own, removed afterwards
    tmp=$(mktemp -d) || exit 1
    trap 'rm -rf "$tmp"' EXIT
fi

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

if [ "${SANITIZE:-}" = 1 ]; then
    echo "skipped: the benchmark checkpoints with the native engine, which cannot save an ASan-built process"
    exit 77
fi

# `make tests` does not build the benchmark's programs; build them here
# (they are small) rather than skip, or a broken benchmark would go unseen.
progs=(heapprog timerun fanout floor)
missing=()
for p in "${progs[@]}"; do
    [ -x "$build/bench/$p" ] || missing+=("$build/bench/$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ -f "$top/Makefile" ] && [ -x "$build/crac" ] ||
        { echo "skip: crac is not built (make), so the benchmark cannot be built"; exit 77; }
    make --no-print-directory -C "$top" B="$build" "${missing[@]}" >"$tmp/make.log" 2>&1 ||
        { cat "$tmp/make.log" >&2; fail "cannot build the benchmark programs"; }
fi

out=$tmp/bench.out
BENCH_QUICK=1 BENCH_SIZES="1 16" BENCH_RUNS=1 BENCH_INSTANCES=4 BENCH_MEMORY=as-is \
    BENCH_ROWS="heap threads instances" BENCH_DIR="$tmp" CRAC_BUILD="$build" \
    bash "$top/bench/run.sh" >"$out" 2>"$tmp/bench.err" </dev/null
rc=$?
cat "$out"
[ $rc -eq 0 ] || { cat "$tmp/bench.err" >&2; fail "bench/run.sh exited with $rc"; }
grep -q '^row  *runs ' "$out" || fail "no table header"
grep -Eq '^1 MiB +1 \| +[0-9.]+ +[0-9.]+ +[0-9.]+x \|' "$out" || fail "no 1 MiB row with figures"
grep -Eq '^16 MiB +1 \| .*\| +[0-9.]+ +[0-9.]+ \(read\) +[0-9.]+x \|' "$out" || fail "no 16 MiB row"
grep -Eq '^16 MiB eager +1 \| .*\| +[0-9.]+ +[0-9.]+ \(read\) +[0-9.]+x \|' "$out" || fail "no eager row"
grep -Eq '^16 MiB: 1 MiB +1 \| .*\| +[0-9.]+ +[0-9.]+ \(spawn\) +[0-9.]+x \|' "$out" ||
    fail "no 1 MiB restore next to the 16 MiB row"
grep -Eq '^8 threads +1 \| .*\| +[0-9.]+ +[0-9.]+ \(1 thr\) +[0-9.]+x \|' "$out" || fail "no threads row"
grep -Eq '^4 instances +1 \| .*\| +[0-9.]+ +[0-9.]+ \(4 spawn\) +[0-9.]+x \|' "$out" ||
    fail "no instances row"
grep -q '^targets (issues 3, 4 and 10):' "$out" || fail "no targets"
grep -Eq 'restore 16MiB: 1st ins <= 1.5x the 1 MiB restore +(PASS|FAIL) \(' "$out" ||
    fail "no verdict for the lazy restore against the 1 MiB one"
grep -Eq "restore 16MiB: 1st ins \+ read all <= 1.3x eager's +(PASS|FAIL) \(" "$out" ||
    fail "no verdict for the lazy restore against the eager one"
grep -Eq 'restore 1MiB .* (PASS|FAIL) \(' "$out" || fail "no verdict for the 1 MiB restore"
grep -Eq 'restore 1 MiB \+ 8 threads .* (PASS|FAIL) \(' "$out" || fail "no verdict for the threads row"
# every instance must come up: that one is a function, not a timing
grep -Eq '4 concurrent restores: all answer, every run +PASS' "$out" ||
    fail "not every instance answered"
# it cleans up after itself
if ls -d "$tmp"/crac-bench.* >/dev/null 2>&1; then
    fail "bench/run.sh left its directory behind: $(ls -d "$tmp"/crac-bench.*)"
fi
echo "bench-smoke: ok"
