#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Debian's nginx (nginx-light), unmodified, one process (master_process off:
# a master with worker children is several processes, which one restore
# does not bring back), with no policies file, driven by curl: an epoll
# loop whose data words are pointers, an eventfd watched edge-triggered,
# a listening socket, the access and error logs open for appending.
# After `crac restore` it serves its files, appends to the same logs at
# their ends, and writes no error line.
. "$(dirname "$0")/real-lib.sh"
need nginx curl

port=$(free_port)
nginx_conf "$port" "$tmp/access.log"
echo "hello from nginx" >"$tmp/www/index.html"
head -c 300000 /dev/urandom >"$tmp/www/big.bin"
get() { curl -sf --max-time 5 "http://127.0.0.1:$port/${1:-}"; }
serve "$tmp/nginx.out" nginx -e "$tmp/error.log" -p "$tmp" -c "$tmp/nginx.conf"
until_ok 10 get status
for i in 1 2 3; do get index.html >/dev/null || fail "GET before the checkpoint"; done
lines_before=$(wc -l <"$tmp/access.log")
errors_before=$(wc -l <"$tmp/error.log")

checkpoint_srv
restore_srv "$tmp/restored.log"
until_ok 10 get status
[ "$(get index.html)" = "hello from nginx" ] || fail "index.html after the restore: $(get index.html)"
get big.bin | cmp -s - "$tmp/www/big.bin" || fail "big.bin differs after the restore"
for i in $(seq 1 20); do get index.html >/dev/null || fail "GET $i after the restore"; done
# the access log goes on where it was: every request of both lives, in order
lines_after=$(wc -l <"$tmp/access.log")
[ "$lines_after" -ge $((lines_before + 22)) ] ||
    fail "access.log has $lines_after lines, expected at least $((lines_before + 22))"
[ -z "$(tr -d '[:print:]\n\t' <"$tmp/access.log")" ] || fail "access.log holds binary garbage (written at a wrong offset?)"
# no new line in the error log, nothing on the restored stderr
[ "$(wc -l <"$tmp/error.log")" = "$errors_before" ] || fail "error.log grew: $(tail -n 5 "$tmp/error.log")"
no_error_lines "$tmp/restored.log" '.'
stop_restored
echo "real nginx: all checks passed"
