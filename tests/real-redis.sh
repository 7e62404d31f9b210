#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Debian's redis-server, unmodified, with no policies file: `crac run`,
# `crac checkpoint`, `crac restore`, driven by redis-cli.  What it brings:
# an epoll event loop (ae), a pipe, a listening socket, background threads,
# and Debian's libjemalloc2 with its background thread, which blocks every
# signal.  After the restore it serves the data it held, takes new writes
# (redis-benchmark), frees and reallocates memory (jemalloc purges), and
# writes no error line; a second instance restores from the same image.
. "$(dirname "$0")/real-lib.sh"
need redis-server redis-cli redis-benchmark

port=$(free_port)
cli() { redis-cli -p "$port" "$@"; }
serve "$tmp/redis.log" redis-server --port "$port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$tmp" --daemonize no --jemalloc-bg-thread yes \
    --enable-debug-command local
until_ok 10 cli ping
cli debug populate 20000 key 100 >/dev/null
cli set greeting hello >/dev/null
cli rpush list a b c >/dev/null
cli hset h field value >/dev/null
[ "$(cli dbsize)" = 20003 ] || fail "dbsize before: $(cli dbsize)"

checkpoint_srv

check_instance() { # LOG
    restore_srv "$1"
    until_ok 10 cli ping
    [ "$(cli dbsize)" = 20003 ] || fail "dbsize after restore: $(cli dbsize)"
    [ "$(cli get greeting)" = hello ] || fail "greeting: $(cli get greeting)"
    [ "$(cli get key:12345 | cut -c1-10)" = "$(printf 'value:12345' | cut -c1-10)" ] ||
        fail "key:12345 is $(cli get key:12345 | cut -c1-20)"
    [ "$(cli lrange list 0 -1 | tr '\n' ' ')" = "a b c " ] || fail "list: $(cli lrange list 0 -1)"
    [ "$(cli hget h field)" = value ] || fail "hash: $(cli hget h field)"
    # new work: writes, a load, memory freed and taken again
    [ "$(cli set after restored)" = OK ] || fail "SET after the restore"
    [ "$(cli incr counter)" = 1 ] || fail "INCR after the restore"
    redis-benchmark -p "$port" -q -n 5000 -t set,get -c 4 >"$tmp/bench" 2>&1 ||
        fail "redis-benchmark failed: $(cat "$tmp/bench")"
    grep -q 'GET: ' "$tmp/bench" || fail "redis-benchmark: $(cat "$tmp/bench")"
    cli flushall >/dev/null
    cli memory purge >/dev/null
    cli debug populate 20000 again 100 >/dev/null
    [ "$(cli dbsize)" = 20000 ] || fail "dbsize after refill: $(cli dbsize)"
    [ "$(cli get again:777 | cut -c1-9)" = "value:777" ] || fail "refilled key: $(cli get again:777)"
    no_error_lines "$1" 'error|bad file descriptor|assert|panic|segfault|crash'
    stop_restored
}
check_instance "$tmp/restored1.log"
check_instance "$tmp/restored2.log"
echo "real redis: all checks passed"
