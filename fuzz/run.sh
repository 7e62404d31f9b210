#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs the image fuzzer (fuzz/README.md) and reports what it did: runs,
# coverage (libFuzzer's cov and ft; with the coverage build, the lines of
# src/image and of the restorer's validation that ran), crashes.
#
#   fuzz/run.sh            long mode (`make fuzz`): FUZZ_SECONDS (600) of
#                          fuzzing from the committed corpus, line coverage,
#                          then the differential check (restore-accepted.sh)
#   fuzz/run.sh --quick    CI mode (tests/fuzz-quick.sh): every committed
#                          input once, then FUZZ_SECONDS (15) of fuzzing
#
# FUZZ_UPDATE_CORPUS=1 merges what the run found into fuzz/corpus
# (minimized: only inputs that add coverage).  Exit 0 when nothing crashed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${CRAC_BUILD:-$top/build}
quick=0
[ "${1:-}" = "--quick" ] && quick=1
seconds=${FUZZ_SECONDS:-$([ $quick = 1 ] && echo 15 || echo 600)}
fuzzer=$build/fuzz/fuzz-image
for b in "$fuzzer" "$build/tests/helpers/fuzz-seed"; do
    [ -x "$b" ] || { echo "fuzz: $b missing (make fuzz-build)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/crac-fuzz.XXXXXX)
[ -n "${FUZZ_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
"$build/tests/helpers/fuzz-seed" "$work/seed" || { echo "fuzz: the seed checkpoint failed" >&2; exit 1; }
export CRAC_FUZZ_SEED=$work/seed CRAC_FUZZ_WORK=$work/target
cp "$top"/fuzz/corpus/* "$work/corpus/" 2>/dev/null
# Inputs are lists of 16-byte edits (at most 16): no need for longer ones,
# and every length from the start (a list of edits is not grown byte by byte).
opts=(-max_len=256 -len_control=0 -use_value_profile=1 -timeout=10 -rss_limit_mb=2048
      -print_final_stats=1 -artifact_prefix="$work/artifacts/")

echo "fuzz: seed image $(stat -c %s "$work/seed/meta") bytes of meta," \
    "$(stat -c %s "$work/seed/pages") of pages; $(ls "$work/corpus" | wc -l) committed inputs"
if [ $quick = 1 ]; then
    "$fuzzer" "${opts[@]}" -runs=0 "$work/corpus" >"$work/replay.log" 2>&1 ||
        { tail -n 40 "$work/replay.log"; echo "fuzz: the committed corpus crashes the reader"; exit 1; }
fi
"$fuzzer" "${opts[@]}" -max_total_time="$seconds" "$work/corpus" >"$work/fuzz.log" 2>&1
rc=$?
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$work/fuzz.log" | tail -n 2
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log")
last=$(grep -E '^#[0-9]+[[:space:]]' "$work/fuzz.log" | tail -n 1)
cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\) .*/\1/p' <<<"$last")
crashes=$(ls "$work/artifacts" | wc -l)
echo "fuzz: ${seconds} s, ${runs:-?} runs (${speed:-?}/s), cov ${cov:-?}, ft ${ft:-?}," \
    "$(ls "$work/corpus" | wc -l) inputs in the corpus, $crashes crashes"
if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ]; then
    grep -E -A 30 'ERROR: |runtime error|==ERROR|SUMMARY' "$work/fuzz.log" | head -n 60
    for a in "$work"/artifacts/*; do
        [ -f "$a" ] || continue
        mkdir -p "$build/fuzz/crashes" && cp "$a" "$build/fuzz/crashes/"
        echo "fuzz: crash input kept: $build/fuzz/crashes/$(basename "$a")"
    done
    exit 1
fi
if [ "${FUZZ_UPDATE_CORPUS:-0}" = 1 ]; then
    # Only inputs that reach code no committed one reaches (edges, not hit
    # counts or compared values): the committed corpus stays a few hundred
    # small files.
    "$fuzzer" -merge=1 -use_counters=0 -use_value_profile=0 -max_len=256 "$top/fuzz/corpus" \
        "$work/corpus" >"$work/merge.log" 2>&1
    echo "fuzz: fuzz/corpus now holds $(ls "$top/fuzz/corpus" | wc -l) inputs"
fi
[ $quick = 1 ] && exit 0

# Long mode: which lines of the reader and the checks the corpus reaches.
if [ -x "$build/fuzz/fuzz-image-cov" ] && command -v llvm-profdata >/dev/null; then
    LLVM_PROFILE_FILE="$work/cov.profraw" "$build/fuzz/fuzz-image-cov" -runs=0 "$work/corpus" \
        >"$work/cov.log" 2>&1
    llvm-profdata merge -o "$work/cov.profdata" "$work/cov.profraw" &&
        (cd "$top" && llvm-cov report "$build/fuzz/fuzz-image-cov" \
            -instr-profile="$work/cov.profdata" src/image/*.c src/restore/validate*.c) |
        tee "$work/cov.txt" | sed -n '1,2p;/^TOTAL/p'
    grep -E '^(image/(check|image|fds|lookup)|restore/validate)' "$work/cov.txt" 2>/dev/null |
        awk '{print "fuzz: lines of src/" $1 ": " $(NF-3)}'
    # the checks themselves: every file that refuses images, together
    grep -E '^(image/(check|fds|lookup)|restore/validate)' "$work/cov.txt" 2>/dev/null |
        awk -v what="src/image/check*.c, fds.c, lookup.c, src/restore/validate*.c" \
            '{n += $8; m += $9} END {if (n) printf "fuzz: lines of the checks (%s): %d of %d, %.1f%%\n",
                                     what, n - m, n, 100 * (n - m) / n}'
fi
bash "$top/fuzz/restore-accepted.sh" --count "${FUZZ_RESTORES:-300}" --corpus "$work/corpus" &&
    bash "$top/fuzz/restore-accepted.sh" --count "${FUZZ_RESTORES:-300}"
