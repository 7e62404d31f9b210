#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A checkpoint taken while threads are being created catches some of them
# before glibc registered their rseq area (a thread the kernel made, still
# in glibc's start code): the restore must not register one for them, or
# glibc's own registration fails when they go on and it aborts the process
# ("rseq registration failed", seen with redis under load).  Two threads
# create and join threads without pause; 25 checkpoints; every image must
# restore and the churn go on.
. "$(dirname "$0")/native-lib.sh"
prog=$build/tests/helpers/thread-churn
[ -x "$prog" ] || fail "$prog is not built"
n=25
CRAC_ENGINE=native "$prog" "$tmp" "$n" >"$tmp/orig" 2>&1 </dev/null || { cat "$tmp/orig"; fail "checkpoints failed"; }
grep -q "CHECKPOINTED $n" "$tmp/orig" || fail "the original did not finish: $(cat "$tmp/orig")"
bad=0
for ((k = 0; k < n; k++)); do
    timeout 20 "$crac" restore "$tmp/img.$k" >"$tmp/r$k" 2>&1 </dev/null
    rc=$?
    if [ $rc -ne 0 ] || ! grep -q "^RESTORED $k$" "$tmp/r$k"; then
        echo "image $k: exit $rc: $(head -c 300 "$tmp/r$k")"
        bad=$((bad + 1))
    fi
done
[ $bad -eq 0 ] || fail "$bad of $n images did not restore"
echo "native thread churn: $n images restored while threads were being made"
