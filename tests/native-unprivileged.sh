#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Checkpoint and restore need no privilege: as user nobody, a
# multi-threaded process checkpoints and restores (pid mode auto falls back
# to new ids), and its threads' work is verified.
. "$(dirname "$0")/native-lib.sh"
[ "$(id -u)" = 0 ] || { echo "skipped: needs root to switch to user nobody"; exit 77; }
command -v setpriv >/dev/null || { echo "skipped: setpriv (util-linux) not installed"; exit 77; }
# nobody must reach the programs: copy what is needed into a directory it owns.
w="$tmp/nobody"
mkdir -p "$w/b/tests/helpers"
cp "$build/crac" "$w/b/"
cp -P "$build"/libcrac.so* "$w/b/"
cp "$build/tests/helpers/native-threads" "$w/b/tests/helpers/"
chmod 755 "$tmp"
chown -R 65534:65534 "$w"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"; }
as_nobody env CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$w/img" "$w/b/tests/helpers/native-threads" main \
    >"$tmp/cp.out" 2>&1 </dev/null &
PIDS+=($!)
wait $! || { cat "$tmp/cp.out"; fail "checkpoint as nobody failed"; }
[ "$(stat -c %U "$w/img/pages")" = nobody ] || fail "image not owned by nobody"
as_nobody "$w/b/crac" restore -v "$w/img" >"$tmp/r.out" 2>&1 </dev/null &
PIDS+=($!)
wait $! || { cat "$tmp/r.out"; fail "restore as nobody failed"; }
expect_in "$tmp/r.out" "THREADS OK"
expect_in "$tmp/r.out" "pid mode new"
echo "unprivileged checkpoint and restore: ok"
