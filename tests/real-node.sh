#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Node.js (libuv), unmodified, with no policies file, driven by curl:
# several epoll loops, eventfds, signal pipes, libuv's signal lock (a pipe
# holding exactly one byte), /dev/null kept open, a listening socket, and
# threads, one of which blocks every signal.  After `crac restore` the
# server holds its map, takes new writes, installs a signal handler (which
# takes libuv's signal lock: a lost or doubled byte would hang or break
# it) and receives the signal.
. "$(dirname "$0")/real-lib.sh"
need node curl

port=$(free_port)
get() { curl -sf --max-time 5 "http://127.0.0.1:$port/${1:-}"; }
serve "$tmp/node.log" node "$top/tests/real/node-server.js" "$port"
until_ok 20 get
get 'set?k=before&v=checkpoint' >/dev/null || fail "set before the checkpoint"
[ "$(get size)" = 50001 ] || fail "size before: $(get size)"

checkpoint_srv
restore_srv "$tmp/restored.log"
until_ok 10 get
[ "$(get size)" = 50001 ] || fail "size after the restore: $(get size)"
[ "$(get 'get?k=before')" = checkpoint ] || fail "the key set before the checkpoint: $(get 'get?k=before')"
[ "$(get 'get?k=k31337')" = v31337 ] || fail "k31337: $(get 'get?k=k31337')"
[ "$(get 'set?k=after&v=restore')" = ok ] || fail "set after the restore"
[ "$(get 'get?k=after')" = restore ] || fail "get after the restore"
[ "$(get trap)" = trapping ] || fail "installing a signal handler after the restore"
kill -USR2 "$(restored_pid "$rsrv")"
wait_line "$tmp/restored.log" "got SIGUSR2" 5
[ "$(get size)" = 50002 ] || fail "size at the end: $(get size)"
no_error_lines "$tmp/restored.log" 'error|abort|assert|segmentation'
stop_restored
echo "real node: all checks passed"
