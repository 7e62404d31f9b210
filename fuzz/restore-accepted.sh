#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The differential check of the image fuzzer: mutated images that every
# check before the point of no return ACCEPTS are restored for real, each
# under restore-watch (ptrace, with a timeout), and none may die past the
# point of no return in the restorer: exit 127 (the blob's own death), or a
# fatal signal in crac restore's code, in the blob, or at a thread's saved
# entry point.  Each such image is a missing validation: it is listed with
# its edits and the command that reproduces it, and the script fails.
#
#   fuzz/restore-accepted.sh [--count N] [--tries M] [--seed S] [--edits K]
#                            [--corpus DIR] [--keep DIR] [--timeout SECONDS]
#
# Images come from fuzz-gen: random edits of a fresh seed image (N accepted
# kept out of at most M made, default 200 of 20000), or with --corpus, the
# fuzzer's inputs.  The restored program (tests/helpers/fuzz-seed) exits 0
# printing "fuzz-seed: restored" when it finds itself as saved; a mutation
# of what no check can know (a register, a byte of a page) may make it
# misbehave later, which is counted apart and not a failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${CRAC_BUILD:-$top/build}
count=200 tries=20000 seed=1 edits=2 corpus="" keep="" timeout=10
while [ $# -gt 0 ]; do
    case $1 in
    --count) count=$2; shift 2 ;;
    --tries) tries=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --edits) edits=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h | --help) sed -n '3,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "restore-accepted: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for b in crac fuzz/fuzz-gen fuzz/restore-watch tests/helpers/fuzz-seed; do
    [ -x "$build/$b" ] || { echo "restore-accepted: $build/$b missing (make fuzz-build)" >&2; exit 2; }
done
work=${keep:-$(mktemp -d /tmp/crac-restore-accepted.XXXXXX)}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
rm -rf "$work/seed" "$work/images"
"$build/tests/helpers/fuzz-seed" "$work/seed" || { echo "restore-accepted: the seed checkpoint failed" >&2; exit 1; }

inputs=()
[ -n "$corpus" ] && inputs=("$corpus"/*)
"$build/fuzz/fuzz-gen" --count "$count" --tries "$tries" --seed "$seed" --edits "$edits" \
    "$work/seed" "$work/images" "${inputs[@]}" || exit 1

fine=0 refused=0 misbehaved=0 bad=0 total=0
declare -A program
for img in "$work"/images/[0-9]*; do
    [ -d "$img" ] || continue
    total=$((total + 1))
    verdict=$("$build/fuzz/restore-watch" -t "$timeout" -o "$img/out" "$img" -- \
        "$build/crac" restore --pid new "$img")
    case $verdict in
    "exit 0" | "exit 1")
        if [ "$verdict" = "exit 0" ] && grep -q '^fuzz-seed: restored$' "$img/out"; then
            fine=$((fine + 1))
        elif [ "$verdict" = "exit 1" ] && grep -q '^crac restore: ' "$img/out" &&
            ! grep -q 'fuzz-seed' "$img/out"; then
            refused=$((refused + 1))
            sed -n 's/^crac restore: //p' "$img/out" | head -n 1 >>"$work/refusals"
        else
            misbehaved=$((misbehaved + 1))
            echo "$img: $verdict, $(head -c 100 "$img/out" | tr '\n' ' '): $(tr '\n' ';' <"$img/what")" \
                >>"$work/misbehaved"
        fi ;;
    "exit 127" | *" in crac-restore "* | *" in restorer "* | *" in entry "*)
        bad=$((bad + 1))
        echo "MISSING VALIDATION: $img: $verdict"
        sed 's/^/    edit: /' "$img/what"
        head -n 3 "$img/out" | sed 's/^/    out:  /'
        echo "    again: $build/crac restore --pid new $img  (with --keep DIR)" ;;
    *)
        misbehaved=$((misbehaved + 1))
        program["$verdict"]=$(( ${program["$verdict"]:-0} + 1 ))
        echo "$img: $verdict: $(tr '\n' ';' <"$img/what")" >>"$work/misbehaved" ;;
    esac
done
echo "restore-accepted: images of fuzz-gen --seed $seed --edits $edits${corpus:+ over $corpus}"
echo "restore-accepted: $total accepted images restored: $fine ran as saved, $refused refused" \
    "by crac restore before the point of no return, $misbehaved misbehaved in the restored" \
    "program (content no check can know), $bad died past the point of no return"
for v in "${!program[@]}"; do echo "    program: ${program[$v]} x $v"; done
[ -f "$work/misbehaved" ] && sed 's/^/    /' "$work/misbehaved" | head -n "${LIST:-20}"
# What crac restore refused that the checks before it let through (each
# refused before the point of no return: fine, but a check could say it sooner)
[ -f "$work/refusals" ] && sed 's/[0-9]\{3,\}/N/g' "$work/refusals" | sort | uniq -c | sort -rn |
    head -n "${LIST:-20}" | sed 's/^/    refused: /'
[ "$bad" -eq 0 ]
