#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A set-user-ID root program linked with libcrac, run by another user with
# CRAC_* variables set, ignores them (AT_SECURE: secure_getenv): no
# destination, no control socket, no log, nothing written where the caller
# pointed; and `crac run` of such a program says why crac would not be
# loaded instead of starting it.  Runs the program as uid 65534.
. "$(dirname "$0")/control-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root, to install a set-user-ID program"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
probe=$build/tests/helpers/setuid-probe
[ -x "$probe" ] || fail "$probe is not built"

# a directory uid 65534 can traverse, on a file system that honours setuid
dir=$(mktemp -d /tmp/crac-setuid.XXXXXX)
CLEANUP+=("$dir")
chmod 755 "$dir"
cp "$probe" "$dir/probe"
chown root:root "$dir/probe"
chmod 4755 "$dir/probe"
mkdir -m 777 "$dir/ctl"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env CRAC_CHECKPOINT_TO="$dir/evil" \
      CRAC_ENGINE=native CRAC_CONTROL=1 CRAC_CONTROL_DIR="$dir/ctl" CRAC_LOG=1 \
      CRAC_POLICIES="$dir/nope" "$dir/probe" 2>"$tmp/err") || fail "the probe failed: $(cat "$tmp/err")"
echo "$out"
case $out in
*"euid=0 secure=1 checkpoint_to=(unset) engine=native"*) ;;
*) mount | grep -q " /tmp .*nosuid" && skip "/tmp is mounted nosuid"
   fail "the set-user-ID program took the caller's settings: $out" ;;
esac
{ echo "$out" | grep -q "^checkpoint=-1 " && echo "$out" | grep -q "no checkpoint destination configured"; } ||
    fail "the checkpoint should find no destination: $out"
[ -e "$dir/evil" ] && fail "an image (or something) was written where the caller pointed: $(ls -la "$dir/evil")"
[ -z "$(ls -A "$dir/ctl")" ] || fail "a control socket was started from CRAC_CONTROL: $(ls -A "$dir/ctl")"
[ -s "$tmp/err" ] && fail "CRAC_LOG was obeyed: $(head -n 3 "$tmp/err")"

# crac run says why crac would not be loaded, and does not run it
setpriv --reuid=65534 --regid=65534 --clear-groups "$crac" run -- "$dir/probe" >"$tmp/run.out" 2>&1
rc=$?
[ $rc = 1 ] || fail "crac run of a set-user-ID program exited $rc: $(cat "$tmp/run.out")"
expect_in "$tmp/run.out" "is set-user-ID (owner uid 0): the dynamic loader ignores LD_PRELOAD"
expect_not_in "$tmp/run.out" "euid="
echo "setuid: all checks passed"
