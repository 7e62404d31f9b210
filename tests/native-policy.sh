#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Policies with the native engine: a real checkpoint, then `crac restore`,
# where the data file reopened by policy is back at its offset, the
# listening TCP and unix sockets accept connections again, and the log
# closed by policy stays closed.  Rules given at restore
# (crac restore --policies) come first, and a mistake in them is a restore
# error.  A reopen that fails after the restore (the file is gone) is a
# restore error naming the descriptor and path; `ignore` is refused by this
# engine, naming why.
. "$(dirname "$0")/native-lib.sh"
prog="$build/tests/helpers/policy-state"
[ -x "$prog" ] || fail "$prog is not built (make tests)"

cat >"$tmp/policies" <<POL
# the data file and the listeners come back; the log does not
file reopen path=$tmp/data
file close path=$tmp/*.log warn=false
socket reopen listening=true
POL
export CRAC_POLICIES="$tmp/policies"

checkpoint "$tmp/img" reopen
rc=$?
cat "$tmp/cp.out"
[ $rc -eq 0 ] || fail "checkpoint: exit $rc"
expect_in "$tmp/cp.out" "to be reopened after (policy $tmp/policies:2): regular file $tmp/data (O_RDWR, offset 3 of 6 bytes)"
expect_in "$tmp/cp.out" "to be reopened after (policy $tmp/policies:4): TCP/IPv4 socket, listening on 127.0.0.1:"
grep -q "out.log" "$tmp/cp.out" && fail "warn=false: the log's closing must not be printed"
[ -d "$tmp/img" ] || fail "no image"

for i in 1 2; do # twice: the image does not depend on the first restore
    restore "$tmp/r$i.out" "$tmp/img"
    rc=$?
    cat "$tmp/r$i.out"
    [ $rc -eq 0 ] || fail "restore $i: exit $rc"
    expect_in "$tmp/r$i.out" "RESTORED OK"
    expect_in "$tmp/r$i.out" "reopened after the restore (policy $tmp/policies:4): unix stream socket $tmp/u.sock"
done

# rules given at restore come first: this one keeps the data file closed
echo "file close path=$tmp/data" >"$tmp/at-restore"
restore "$tmp/r3.out" "$tmp/img" --policies "$tmp/at-restore" --env POLICY_STATE_DATA=closed
rc=$?
cat "$tmp/r3.out"
[ $rc -eq 0 ] || fail "restore with policies: exit $rc"
expect_in "$tmp/r3.out" "crac: fd 3 stays closed after the restore (policy $tmp/at-restore:1: close): regular file $tmp/data"
expect_in "$tmp/r3.out" "RESTORED OK"
# a mistake in them is a restore error naming the line; the rest is reopened
printf '# at restore\nfile clos path=%s\n' "$tmp/data" >"$tmp/at-restore"
restore "$tmp/r4.out" "$tmp/img" --env CRAC_RESTORE_POLICIES="$tmp/at-restore"
rc=$?
cat "$tmp/r4.out"
[ $rc -eq 4 ] || fail "restore with a bad policies file: exit $rc, want 4 (restore error)"
expect_in "$tmp/r4.out" "[fd-policy] policies $tmp/at-restore:2: unknown action 'clos' (error, close, reopen, ignore or drop)"
expect_in "$tmp/r4.out" "crac: fd 5 reopened after the restore"

# the file is gone: reopening fails after the restore, a restore error
rm "$tmp/data"
restore "$tmp/r5.out" "$tmp/img"
rc=$?
cat "$tmp/r5.out"
[ $rc -eq 4 ] || fail "restore without the data file: exit $rc, want 4 (restore error)"
expect_in "$tmp/r5.out" "RESTORE FAILED"
expect_in "$tmp/r5.out" "[fd-policy] fd 3: cannot reopen regular file $tmp/data (O_RDWR, offset 3 of 6 bytes): open $tmp/data: No such file or directory"

# ignore: not with this engine
echo "file ignore path=$tmp/kept" >"$tmp/policies"
checkpoint "$tmp/img2" ignore
rc=$?
cat "$tmp/cp.out"
[ $rc -eq 3 ] || fail "ignore: exit $rc, want 3 (refused, process continues)"
expect_in "$tmp/cp.out" "[policy $tmp/policies:1: ignore is not possible with engine 'native': it does not keep descriptors across a checkpoint (use close or reopen)]"
[ -e "$tmp/img2" ] && fail "ignore: an image was written"
echo "native policies: ok"
