#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Debian's sqlite3 shell, unmodified, reading SQL from a pipe: its only
# thread sits in read(0) holding stdin's stdio lock.  `crac checkpoint`
# must not wait for that lock: it completes within a second.  The restored
# shell reads its new stdin, holds its in-memory database and takes new
# statements.
. "$(dirname "$0")/real-lib.sh"
need sqlite3

mkfifo "$tmp/in1" "$tmp/in2"
exec 7<>"$tmp/in1" # the writer end stays open: the shell waits in read()
STDIN="$tmp/in1" serve "$tmp/sql1.out" sqlite3 -batch :memory:
printf 'create table t(x);\nwith recursive c(i) as (select 1 union all select i+1 from c where i<5000) insert into t select i from c;\nselect "ready", count(*) from t;\n' >&7
wait_line "$tmp/sql1.out" "ready|5000"
sleep 0.2 # back in read(0)
t0=$(date +%s%N)
checkpoint_srv
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 1000 ] || fail "the checkpoint took $ms ms (a stdio lock held by the reader?)"

exec 8<>"$tmp/in2"
STDIN="$tmp/in2" restore_srv "$tmp/sql2.out"
printf 'select "after", count(*), sum(x) from t;\ninsert into t values(42);\nselect "more", count(*) from t;\n' >&8
wait_line "$tmp/sql2.out" "after|5000|12502500"
wait_line "$tmp/sql2.out" "more|5001"
no_error_lines "$tmp/sql2.out" 'error|parse'
stop_restored
echo "real sqlite3: all checks passed"
