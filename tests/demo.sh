#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The README's main command, `make demo` (scripts/demo.sh), on a small
# corpus: it exits 0 (it checks itself that every restored instance answers
# exactly as the cold service did and says "restored":1), prints the
# report with both restore kinds and their ratios, leaves no process of its
# own behind, and examples/first-answer times what it starts and reports a
# command that exits before answering.  Exit 0 pass, 1 fail, 77 skip (the
# native engine cannot checkpoint a sanitizer build).  Run by tests/run.sh.
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${CRAC_BUILD:-$top/build}
tmp=${CRAC_TEST_TMP:-$(mktemp -d)}
fa="$build/examples/first-answer"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
if [ "${SANITIZE:-}" = 1 ]; then
    echo "skip: an ASan build cannot be checkpointed by the native engine"
    exit 77
fi
[ -x "$fa" ] || fail "$fa is not built (make tests)"

out="$tmp/demo.out"
TMPDIR=$tmp DEMO_ARGS="--docs 20000 --cache-terms 32" \
    bash "$top/scripts/demo.sh" --restores 2 >"$out" 2>&1 || { cat "$out"; fail "demo.sh failed"; }
cat "$out"
for line in "cold start to first response:" "restore to first response:" "restore --eager:" \
    "image size:"; do
    grep -q "^$line" "$out" || fail "no '$line' line"
done
[ "$(grep -c '^ratio: .*x faster$' "$out")" = 2 ] || fail "expected two ratio lines"
grep -q '^  restore 2: first answer after' "$out" || fail "the second restore is not reported"
# demo.sh stops what it starts and removes its directory
[ -z "$(ls -d "$tmp"/crac-demo.* 2>/dev/null)" ] || fail "demo.sh left its temporary directory"
pgrep -s 0 -f "examples/warm-service|crac restore|first-answer" >/dev/null &&
    fail "demo.sh left processes in this session: $(pgrep -a -s 0 -f 'warm-service|crac restore|first-answer')"

# first-answer alone: a command that exits without answering is reported
# (exit 3, its status), and a bad usage is exit 2.
"$fa" --timeout 5 1 /x -- sh -c 'exit 7' >"$tmp/fa.out"
rc=$?
[ "$rc" = 3 ] || fail "first-answer: exit $rc for a command that exited, want 3"
grep -qx 'exited=7' "$tmp/fa.out" || fail "first-answer did not report status 7: $(cat "$tmp/fa.out")"
"$fa" 2>/dev/null
[ $? = 2 ] || fail "first-answer without arguments should exit 2"
echo "demo: pass"
