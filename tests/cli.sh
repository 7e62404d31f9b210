#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The crac command's surface: --help and --version, `help CMD`, every
# subcommand's --help (stdout, exit 0), and usage errors (stderr, exit 2,
# naming what was wrong).  Subcommands are taken from `crac --help`, so
# commands added later are covered without editing this file.
# Exit: 0 pass, 1 fail.
set -u
crac=${CRAC_BIN:-build/crac}
top=${CRAC_TOP:-.}
tmp=${CRAC_TEST_TMP:-$(mktemp -d)}
out=$tmp/out err=$tmp/err
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run EXPECTED_RC ARGS...: runs crac, keeps stdout/stderr in $out/$err.
run() {
    local want=$1 rc
    shift
    "$crac" "$@" >"$out" 2>"$err" </dev/null
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "crac $* exited $rc, expected $want"
        sed 's/^/    stdout: /' "$out" | head -5
        sed 's/^/    stderr: /' "$err" | head -5
        return 1
    fi
    return 0
}

# help_ok ARGS...: exit 0, usage text on stdout, nothing on stderr.
help_ok() {
    run 0 "$@" || return
    grep -qi 'usage' "$out" || fail "crac $*: no usage text on stdout"
    [ -s "$err" ] && fail "crac $*: wrote to stderr: $(head -1 "$err")"
    return 0
}

# usage_error WORD ARGS...: exit 2, a message on stderr that names WORD.
usage_error() {
    local word=$1
    shift
    run 2 "$@" || return
    grep -qF -- "$word" "$err" || fail "crac $*: stderr does not name '$word': $(head -1 "$err")"
    grep -q '^crac' "$err" || fail "crac $*: stderr does not start with 'crac': $(head -1 "$err")"
    return 0
}

[ -x "$crac" ] || { echo "no crac command at $crac"; exit 1; }

# --- the command itself ---
help_ok --help
help_ok -h
help_ok help
run 0 --version && {
    want=$(sed -n 's/^VERSION := *//p' "$top/Makefile")
    got=$(cat "$out")
    [ "$got" = "crac $want" ] || fail "crac --version printed '$got', expected 'crac $want'"
}
run 2 && { grep -qi usage "$err" || fail "crac without arguments: no usage on stderr"; }
usage_error --no-such-option --no-such-option
usage_error -Z -Z
usage_error no-such-command no-such-command
usage_error no-such-command help no-such-command
grep -q "crac: unknown option '--x' (see crac --help)" <("$crac" --x 2>&1) ||
    fail "crac --x: message is not \"crac: unknown option '--x' (see crac --help)\""

# --- every subcommand listed by --help ---
"$crac" --help >"$tmp/help"
cmds=$(awk '/^Commands:/ {on = 1; next} on && /^$/ {on = 0} on {print $1}' "$tmp/help" | grep -vx help)
[ -n "$cmds" ] || fail "crac --help lists no commands"
for c in resume restore image; do
    echo "$cmds" | grep -qx "$c" || fail "crac --help does not list '$c'"
done
for c in $cmds; do
    help_ok "$c" --help
    cp "$out" "$tmp/direct"
    help_ok help "$c"
    cmp -s "$out" "$tmp/direct" || fail "crac help $c differs from crac $c --help"
    usage_error --no-such-option "$c" --no-such-option
    # No arguments at all is a usage error for every command we have.
    run 2 "$c" || true
done

# --- image has subcommands of its own ---
for s in info verify; do
    help_ok image "$s" --help
    usage_error --no-such-option image "$s" --no-such-option
done
usage_error no-such-sub image no-such-sub

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all crac command checks passed"
