#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Clones that are unique (docs/uniqueness.md): instances restored from one
# image, in every pid mode and several at once, draw different random bytes
# from OpenSSL and GnuTLS (in the main thread and in a new one), find their
# MADV_WIPEONFORK memory zeroed (and marked again: their own forks wipe it),
# keep ordinary memory, and each has its own instance id; the generation is
# 0 before any restore, 1 in an instance, and 2 in an instance of an
# instance's checkpoint.
. "$(dirname "$0")/control-lib.sh"
[ "${SANITIZE:-}" = 1 ] && skip "native engine tests skipped under SANITIZE=1: an ASan process cannot be checkpointed"
prog=$build/tests/helpers/clone-unique
[ -x "$prog" ] || fail "$prog is not built"

CRAC_CHECKPOINT_TO=$tmp/img "$prog" >"$tmp/orig" 2>&1 </dev/null || { cat "$tmp/orig"; fail "the checkpoint failed"; }
grep -q '^before gen=0 id=[0-9a-f]\{32\} same=yes$' "$tmp/orig" || fail "before the checkpoint: $(cat "$tmp/orig")"

lines=$tmp/lines
: >"$lines"
for mode in new keep ns; do
    for i in 1 2; do
        "$crac" restore --pid "$mode" "$tmp/img" >"$tmp/out" 2>&1 </dev/null || { cat "$tmp/out"; fail "restore --pid $mode"; }
        grep '^openssl=' "$tmp/out" >>"$lines" || fail "restore --pid $mode printed: $(cat "$tmp/out")"
    done
done
pids=()
for i in 1 2 3 4; do
    "$crac" restore "$tmp/img" >"$tmp/c$i" 2>&1 </dev/null &
    pids+=($!)
    PIDS+=($!)
done
for i in 1 2 3 4; do
    wait "${pids[$((i - 1))]}" || { cat "$tmp/c$i"; fail "concurrent restore $i"; }
    grep '^openssl=' "$tmp/c$i" >>"$lines" || fail "concurrent restore $i printed: $(cat "$tmp/c$i")"
done
[ "$(wc -l <"$lines")" = 10 ] || fail "expected 10 instances: $(cat "$lines")"

distinct() { # FIELD: all 10 values differ
    local n
    n=$(grep -o " *$1=[0-9a-f]*" "$lines" | sort -u | wc -l)
    [ "$n" = 10 ] || { cat "$lines"; fail "$1: only $n different values in 10 instances"; }
}
distinct openssl
distinct thread
distinct gnutls
distinct id
grep -q "$(sed -n 's/.*id=\([0-9a-f]*\).*/\1/p' "$tmp/orig")" "$lines" && fail "an instance kept the original id"
bad=$(grep -v 'gen=1 wipe=0000 keep=cd forkwipe=ok$' "$lines")
[ -z "$bad" ] || fail "generation, wiped memory, kept memory or fork wiping wrong: $bad"

# an instance checkpoints again: its instances are generation 2
"$crac" restore --env CLONE_AGAIN="$tmp/img2" "$tmp/img" >"$tmp/again" 2>&1 </dev/null ||
    { cat "$tmp/again"; fail "the second checkpoint failed"; }
for i in 1 2; do
    "$crac" restore "$tmp/img2" >"$tmp/g2.$i" 2>&1 </dev/null || { cat "$tmp/g2.$i"; fail "restore of img2"; }
    grep -q 'gen=2 wipe=0000 keep=cd forkwipe=ok$' "$tmp/g2.$i" || fail "second generation: $(cat "$tmp/g2.$i")"
done
[ "$(cat "$tmp/g2.1" "$tmp/g2.2" "$lines" | grep -o ' id=[0-9a-f]*' | sort -u | wc -l)" = 12 ] ||
    fail "ids repeat across generations"
echo "clone unique: all checks passed"
