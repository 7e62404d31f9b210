#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Another user cannot take a user's control socket away or stand in for
# it: when /tmp/crac-UID was made by someone else, the process makes a
# private /tmp/crac-UID.XXXXXX and `crac status` still finds it; a socket
# in a directory another user owns is not trusted; and a socket served by
# another process than the one asked about is refused.  The victim runs as
# uid 65534 without XDG_RUNTIME_DIR, as a service often does.
. "$(dirname "$0")/control-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root, to act as the other user"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env -u XDG_RUNTIME_DIR -u CRAC_CONTROL_DIR "$@"; }
as_nobody test -x "$crac" || skip "uid 65534 cannot run $crac (a parent directory is closed)"
squat=/tmp/crac-65534
[ -e "$squat" ] && skip "$squat exists already (not made by this test): not touching it"

# root squats uid 65534's last-resort directory, and plants a socket of
# its own under the name of the victim's pid-to-be
mkdir -m 755 "$squat"
CLEANUP+=("$squat")
start "$tmp/victim" setpriv --reuid=65534 --regid=65534 --clear-groups \
    env -u XDG_RUNTIME_DIR -u CRAC_CONTROL_DIR CRAC_CONTROL=1 CRAC_ENGINE=sim "$target"
victim=$bg
wait_line "$tmp/victim" ready
CRAC_CONTROL_DIR=$tmp/rootctl start "$tmp/other" env CRAC_CONTROL=1 CRAC_ENGINE=sim "$target"
other=$bg
wait_line "$tmp/other" ready
CRAC_CONTROL_DIR=$tmp/rootctl wait_socket "$other"
mkdir -m 755 "$squat/$victim"
mv "$tmp/rootctl/$other/ctl" "$squat/$victim/ctl"

as_nobody "$crac" status "$victim" >"$tmp/out" 2>"$tmp/err" ||
    fail "crac status of the victim failed: $(cat "$tmp/err")"
expect_in "$tmp/out" "socket         /tmp/crac-65534."
dir=$(sed -n 's|^  socket *\(/tmp/crac-65534\.[^/]*\)/.*|\1|p' "$tmp/out")
CLEANUP+=("$dir")
[ "$(stat -c '%u %a' "$dir")" = "65534 700" ] || fail "$dir is $(stat -c '%u %a' "$dir"), not 65534 700"
# nothing reached the squatter's socket
expect_not_in "$tmp/other" "before"

# --- a socket served by someone else than the pid asked about
export CRAC_CONTROL_DIR=$tmp/ctl
start "$tmp/a" env CRAC_CONTROL=1 CRAC_ENGINE=sim "$target"
a=$bg
start "$tmp/b" env CRAC_CONTROL=1 CRAC_ENGINE=sim "$target"
b=$bg
wait_socket "$a"
wait_socket "$b"
mv -f "$tmp/ctl/$a/ctl" "$tmp/ctl/$b/ctl"
run_crac 1 "$tmp/out" "$tmp/err" status "$b"
expect_in "$tmp/err" "$tmp/ctl/$b/ctl is not served by pid $b (but by pid $a): refused"
expect_not_in "$tmp/a" "before"
echo "control owner: all checks passed"
