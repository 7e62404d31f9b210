#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The native engine brings descriptors back exactly, with no policies file:
# each kind (eventfd, timerfd, signalfd, pipes, socket pairs, files and
# devices, epoll interest lists, listening and bound sockets) is checked
# after a restore by exact values and by behaviour, and every descriptor
# is on its number with its flags (tests/helpers/native-fds.c).  With
# keep_running=true the original process passes the same checks after its
# checkpoint (nothing was taken from it), and its image restores as well.
# `crac image info` lists the descriptors.
. "$(dirname "$0")/native-lib.sh"
prog="$build/tests/helpers/native-fds"
[ -x "$prog" ] || fail "$prog is not built (make tests)"
unset CRAC_POLICIES

# MODE [ARGS]: checkpoint, restore (after SLEEP seconds in the image), check.
round() {
    local img="$tmp/img-$1" rc
    rm -rf "$img"
    checkpoint "$img" "$@"
    rc=$?
    [ $rc -eq 0 ] || { cat "$tmp/cp.out"; fail "$1: checkpoint exit $rc"; }
    [ -d "$img" ] || { cat "$tmp/cp.out"; fail "$1: no image"; }
    sleep "${SLEEP:-0}"
    restore "$tmp/r.out" "$img" -v
    rc=$?
    [ $rc -eq 0 ] || { cat "$tmp/r.out"; fail "$1: restore exit $rc"; }
    expect_in "$tmp/r.out" "RESTORED OK"
    echo "$1: $(grep ' made (' "$tmp/r.out" | sed 's/crac restore: //')"
}

for m in eventfd signalfd pipe socketpair files epoll; do
    round "$m"
done
round listen "$tmp"
# Time spent in the image arrives as no burst of expirations.
SLEEP=1.5 round timerfd

"$crac" image info "$tmp/img-epoll" >"$tmp/info.out" || fail "image info"
expect_in "$tmp/info.out" "descriptors "
expect_in "$tmp/info.out" "epoll instance watching fds"
"$crac" image info "$tmp/img-pipe" | grep -q "fd 10    same open file as fd 3" || fail "image info: the dup"
"$crac" image info --json "$tmp/img-pipe" >"$tmp/info.json" || fail "image info --json"
expect_in "$tmp/info.json" '"fds":[{"fd":3,"kind":"pipe"'
expect_in "$tmp/info.json" '"same_as":3'

# Kept running: the process's own descriptors are as they were.
export CRAC_ENGINE_OPTIONS=keep_running=true
for m in eventfd signalfd pipe socketpair files epoll timerfd; do
    rm -rf "$tmp/keep-$m"
    checkpoint "$tmp/keep-$m" "$m"
    rc=$?
    [ $rc -eq 0 ] || { cat "$tmp/cp.out"; fail "keep $m: exit $rc"; }
    expect_in "$tmp/cp.out" "KEPT OK"
done
unset CRAC_ENGINE_OPTIONS
restore "$tmp/r.out" "$tmp/keep-epoll"
[ $? -eq 0 ] || { cat "$tmp/r.out"; fail "restoring a kept-running image"; }
expect_in "$tmp/r.out" "RESTORED OK"
echo "native descriptors: ok"
