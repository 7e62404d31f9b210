#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Debian's memcached, unmodified, with no policies file, driven over its
# text protocol: libevent epoll loops (one per worker thread), an eventfd
# and a notification pipe per worker, a listening socket, ten threads.
# After `crac restore` it serves every item it held, stores new ones on
# every worker (several connections), and writes no error line.
. "$(dirname "$0")/real-lib.sh"
need memcached

port=$(free_port)
mc() { "$say" "$port" "$@"; }
serve "$tmp/mc.log" memcached -p "$port" -U 0 -l 127.0.0.1 -u root -t 4 -v
until_ok 10 mc 'version\r\n' VERSION
req=""
for i in $(seq 1 300); do req="${req}set k$i 0 0 ${#i}\\r\\n$i\\r\\n"; done
mc "$req" "$(printf 'STORED\r\n%.0s' $(seq 1 300))" >/dev/null || fail "storing 300 items"
mc 'stats\r\n' 'END' | grep -q 'STAT curr_items 300' || fail "curr_items before: $(mc 'stats\r\n' END | grep curr_items)"

checkpoint_srv
restore_srv "$tmp/restored.log"
until_ok 10 mc 'version\r\n' VERSION
mc 'get k1 k150 k300\r\n' END >"$tmp/get" || fail "get after the restore: $(cat "$tmp/get")"
tr -d '\r' <"$tmp/get" | paste -sd' ' | grep -q '^VALUE k1 0 1 1 VALUE k150 0 3 150 VALUE k300 0 3 300 END$' ||
    fail "items after the restore: $(cat "$tmp/get")"
# new connections land on every worker (round robin): 8 of them
for i in 1 2 3 4 5 6 7 8; do
    mc "set new$i 0 0 5\\r\\nhello\\r\\nget new$i\\r\\n" 'END' | grep -q 'VALUE new'"$i" ||
        fail "connection $i after the restore"
done
mc 'stats\r\n' 'END' | grep -q 'STAT curr_items 308' || fail "curr_items after: $(mc 'stats\r\n' END | grep curr_items)"
no_error_lines "$tmp/restored.log" 'error|failed|bad file descriptor'
stop_restored
echo "real memcached: all checks passed"
