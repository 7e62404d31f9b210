#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The README's example program compiles as printed (warnings as errors,
# against the installed header and library through pkg-config), checkpoints
# itself with the native engine, and its restore runs: what a reader who
# copies it gets.
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${CRAC_BUILD:-$top/build}
tmp=${CRAC_TEST_TMP:?run me through tests/run.sh (needs CRAC_TEST_TMP)}
fail() { echo "FAIL: $*"; exit 1; }
[ "${SANITIZE:-}" = 1 ] && { echo "skipped under SANITIZE=1: an ASan process cannot be checkpointed"; exit 77; }
command -v pkg-config >/dev/null || fail "pkg-config is not installed (scripts/setup-debian)"
unset MAKEFLAGS MFLAGS MAKELEVEL

awk '/^```c$/ {f = 1; next} /^```$/ {f = 0} f' "$top/README.md" >"$tmp/app.c"
grep -q 'crac_checkpoint_restore' "$tmp/app.c" || fail "no C example in README.md"
make -C "$top" --no-print-directory install PREFIX="$tmp/p" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "make install"; }
export PKG_CONFIG_PATH=$tmp/p/lib/pkgconfig
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
cc -Wall -Wextra -Werror "$tmp/app.c" $(pkg-config --cflags --libs crac) -Wl,-rpath,"$tmp/p/lib" \
    -o "$tmp/app" 2>"$tmp/cc.err" || { cat "$tmp/cc.err"; fail "the README's example does not compile"; }
cd "$tmp" || fail "cd"
CRAC_CHECKPOINT_TO=img ./app </dev/null || fail "the example's checkpoint failed"
"$tmp/p/bin/crac" restore img </dev/null || fail "restore of the example failed"
grep -qx 'running, restored 1 time(s)' app.log || fail "app.log: $(cat app.log)"
echo "readme example: compiles, checkpoints and restores"
