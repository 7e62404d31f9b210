#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the native engine does not bring back is refused by name, and a
# restore that cannot make a saved descriptor fails before the point of no
# return, naming it, with nothing left behind:
#  - a pipe whose other end another process holds; an established TCP
#    connection, and the epoll that watches it (both named);
#  - a file changed since the checkpoint (a `reopen` rule given at restore
#    opens it anyway);
#  - an address taken at restore (exit 1 naming it; the unix socket made
#    before it is removed again; a `close` rule given at restore keeps the
#    descriptor closed instead).
. "$(dirname "$0")/native-lib.sh"
prog="$build/tests/helpers/native-fds"
[ -x "$prog" ] || fail "$prog is not built (make tests)"
unset CRAC_POLICIES

refused() { # MODE TEXT...
    local mode=$1 rc
    shift
    checkpoint "$tmp/img-$mode" "$mode"
    rc=$?
    [ $rc -eq 3 ] || { cat "$tmp/cp.out"; fail "$mode: exit $rc, want 3 (refused, goes on)"; }
    expect_in "$tmp/cp.out" "PROCESS CONTINUES"
    for t in "$@"; do expect_in "$tmp/cp.out" "$t"; done
    [ -e "$tmp/img-$mode" ] && fail "$mode: an image was written"
    echo "refused $mode"
}
refused refuse-pipe "fd 3: pipe (inode" \
    "[not restored: its write end is held by another process (a pipe to a child or parent)]"
refused refuse-tcp "TCP/IPv4 socket, ESTABLISHED" \
    "[not restored: a TCP connection cannot be restored (close it before the checkpoint, or a \`close\` rule)]"
read -r _ _ c s _ _ ep <<<"$(grep '^connection fds' "$tmp/cp.out")"
expect_in "$tmp/cp.out" "fd $c: TCP/IPv4 socket, ESTABLISHED"
expect_in "$tmp/cp.out" "fd $ep: epoll instance watching fds $s [not restored: it watches fd $s, which cannot be restored]"

# A file that changed since the checkpoint.
printf 0123456789 >"$tmp/f"
checkpoint "$tmp/img-f" hold-file "$tmp/f" || { cat "$tmp/cp.out"; fail "hold-file: checkpoint"; }
printf more >>"$tmp/f"
restore "$tmp/r.out" "$tmp/img-f"
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/r.out"; fail "changed file: restore exit $rc, want 1"; }
expect_in "$tmp/r.out" "crac restore: [restore] fd 3 (regular file $tmp/f (O_RDONLY, offset 2)): the path holds another file, or the file changed, since the checkpoint"
grep -q READ "$tmp/r.out" && fail "changed file: the saved process ran"
"$crac" image verify "$tmp/img-f" >"$tmp/v.out" 2>&1 && fail "image verify accepted a changed file"
expect_in "$tmp/v.out" "fd 3: $tmp/f: changed since the checkpoint"
echo "file reopen path=$tmp/f" >"$tmp/reopen.pol"
restore "$tmp/r.out" "$tmp/img-f" --policies "$tmp/reopen.pol"
[ $? -eq 0 ] || { cat "$tmp/r.out"; fail "changed file with a reopen rule: restore failed"; }
expect_in "$tmp/r.out" "READ 234"

# An address taken at restore.
checkpoint "$tmp/img-p" hold-port "$tmp" "$tmp/port" || { cat "$tmp/cp.out"; fail "hold-port: checkpoint"; }
port=$(cat "$tmp/port")
"$prog" occupy "$port" >"$tmp/occupy.out" 2>&1 &
occupier=$!
PIDS+=("$occupier")
for _ in $(seq 100); do grep -q OCCUPIED "$tmp/occupy.out" && break; sleep 0.05; done
expect_in "$tmp/occupy.out" OCCUPIED
restore "$tmp/r.out" "$tmp/img-p"
rc=$?
[ $rc -eq 1 ] || { cat "$tmp/r.out"; fail "address taken: restore exit $rc, want 1"; }
expect_in "$tmp/r.out" "crac restore: [restore] fd 4 (TCP/IPv4 socket listening on 127.0.0.1:$port): bind: Address already in use"
grep -q LISTENER "$tmp/r.out" && fail "address taken: the saved process ran"
[ -e "$tmp/h.sock" ] && fail "address taken: the unix socket made before it was left behind"
echo "socket close local-port=$port" >"$tmp/close.pol"
restore "$tmp/r.out" "$tmp/img-p" --policies "$tmp/close.pol"
[ $? -eq 0 ] || { cat "$tmp/r.out"; fail "address taken, close rule: restore failed"; }
expect_in "$tmp/r.out" "crac restore: fd 4 stays closed (policy $tmp/close.pol:1: close)"
expect_in "$tmp/r.out" "LISTENER CLOSED"
kill "$occupier"
wait "$occupier" 2>/dev/null
restore "$tmp/r.out" "$tmp/img-p"
[ $? -eq 0 ] || { cat "$tmp/r.out"; fail "address free again: restore failed"; }
expect_in "$tmp/r.out" "LISTENER OPEN"
echo "native descriptor refusals: ok"
