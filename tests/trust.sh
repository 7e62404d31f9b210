#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Whose images run (docs/security.md): `crac restore` refuses an image that
# someone other than the restoring user or root could have written (its
# directory or files owned by another user, writable by group or others, a
# directory above it writable by others, a file that is a symbolic link),
# naming the file with its owner or mode.  A signed image restores whoever
# owns it with --trust-key, and only with the key that signed it and only
# as signed (lazily too: the pager checks each run against the signature
# as it serves it, and stops the program on one that changed); --insecure
# restores anyway.  Run as root (CI is).
. "$(dirname "$0")/control-lib.sh"
[ "${SANITIZE:-}" = 1 ] && skip "native engine tests skipped under SANITIZE=1: an ASan process cannot be checkpointed"
[ "$(id -u)" = 0 ] || skip "needs root, to give the image to another user"
prog=$build/tests/helpers/native-state
[ -x "$prog" ] || fail "$prog is not built"

# image IMG: a small image, made by root
image() {
    CRAC_CHECKPOINT_TO=$1 "$prog" keep >"$tmp/ckpt.out" 2>&1 </dev/null || { cat "$tmp/ckpt.out"; fail "checkpoint to $1"; }
}
restores() { # DIR [OPTIONS]: restores and runs
    local d=$1
    shift
    "$crac" restore "$@" "$d" >"$tmp/out" 2>&1 </dev/null || { cat "$tmp/out"; fail "restore $* $d failed"; }
}
refused() { # TEXT DIR [OPTIONS]: refused with exit 1, saying TEXT, nothing run
    local want=$1 d=$2 rc
    shift 2
    "$crac" restore "$@" "$d" >"$tmp/out" 2>&1 </dev/null
    rc=$?
    [ $rc = 1 ] || { cat "$tmp/out"; fail "restore $* $d exited $rc, expected 1"; }
    grep -qF -- "$want" "$tmp/out" || { cat "$tmp/out"; fail "expected '$want'"; }
    grep -q '^COUNT' "$tmp/out" && fail "the refused image ran"
    return 0
}

chmod 0755 "$tmp"
image "$tmp/img"
restores "$tmp/img"
chown nobody "$tmp/img"
refused "$tmp/img is owned by uid $(id -u nobody) (another user)" "$tmp/img"
chown root "$tmp/img"
chown nobody "$tmp/img/meta"
refused "$tmp/img/meta is owned by uid" "$tmp/img"
chown root "$tmp/img/meta"
chmod g+w "$tmp/img/pages"
refused "$tmp/img/pages is writable by its group (mode 0620)" "$tmp/img"
chmod g-w "$tmp/img/pages"
chmod o+w "$tmp"
refused "$tmp is writable by everyone" "$tmp/img"
chmod o-w "$tmp"
mv "$tmp/img/meta" "$tmp/meta.real"
ln -s "$tmp/meta.real" "$tmp/img/meta"
refused "$tmp/img/meta is not a regular file (a symbolic link?)" "$tmp/img"
rm "$tmp/img/meta"
mv "$tmp/meta.real" "$tmp/img/meta"
restores "$tmp/img"
# /tmp itself (root's, sticky, writable by everyone) is fine: the image above is in it

# --- signed images from elsewhere
"$crac" image keygen "$tmp/key" >/dev/null || fail "keygen"
[ "$(stat -c %a "$tmp/key")" = 600 ] || fail "the secret key is not 0600"
"$crac" image keygen "$tmp/key" >/dev/null 2>&1 && fail "keygen replaced an existing key"
"$crac" image sign --key "$tmp/key" "$tmp/img" >/dev/null || fail "sign"
chown -R nobody "$tmp/img"
refused "is owned by uid" "$tmp/img"
restores "$tmp/img" --trust-key "$tmp/key.pub"
grep -q '^COUNT 1 HEAP OK' "$tmp/out" || fail "the signed image did not run as saved: $(cat "$tmp/out")"
"$crac" image verify --trust-key "$tmp/key.pub" "$tmp/img" >/dev/null || fail "image verify --trust-key"
"$crac" image keygen "$tmp/other" >/dev/null
refused "the signature is not by the key in $tmp/other.pub" "$tmp/img" --trust-key "$tmp/other.pub"
# a signature made for another image does not carry over
image "$tmp/img2"
"$crac" image sign --key "$tmp/key" "$tmp/img2" >/dev/null
cp "$tmp/img2/signature" "$tmp/img/signature"
"$crac" restore --trust-key "$tmp/key.pub" "$tmp/img" >"$tmp/out" 2>&1 </dev/null && fail "another image's signature was accepted"
grep -Eq "is not a valid signature for this image|or the image changed since it was signed: refused" "$tmp/out" ||
    fail "another image's signature: $(cat "$tmp/out")"
rm "$tmp/img/signature"
refused "the image is not signed" "$tmp/img" --trust-key "$tmp/key.pub"
restores "$tmp/img" --insecure
# A signed image is served lazily too: the pager checks each run against
# its signed hash before the program may see it.
CRAC_CHECKPOINT_TO="$tmp/big" "$build/tests/helpers/lazy-mem" none >"$tmp/ckpt.out" 2>&1 </dev/null ||
    { cat "$tmp/ckpt.out"; fail "checkpoint to $tmp/big"; }
"$crac" image sign --key "$tmp/key" "$tmp/big" >/dev/null || fail "sign $tmp/big"
chown -R nobody "$tmp/big"
restores "$tmp/big" --trust-key "$tmp/key.pub" -v
grep -Eq "read and checked, [1-9][0-9]* to be served by the pager" "$tmp/out" ||
    { cat "$tmp/out"; fail "the signed image was not restored lazily"; }
grep -q "^LAZY OK" "$tmp/out" || fail "the signed image's memory differs: $(cat "$tmp/out")"
# a byte changed after signing, in the middle of the page data (lazily
# served memory: its big regions hold almost all of it)
size=$(stat -c %s "$tmp/big/pages")
b=$(od -An -tu1 -j $((size / 2)) -N1 "$tmp/big/pages" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$tmp/big/pages" bs=1 seek=$((size / 2)) conv=notrunc status=none
"$crac" restore --trust-key "$tmp/key.pub" -v "$tmp/big" >"$tmp/out" 2>&1 </dev/null
rc=$?
[ $rc = 1 ] || { cat "$tmp/out"; fail "a signed image changed since: exit $rc, not 1"; }
grep -Eq "read and checked, [1-9][0-9]* to be served by the pager" "$tmp/out" ||
    { cat "$tmp/out"; fail "the changed signed image was not restored lazily"; }
grep -q "fails its checksum (corrupted image): the restored process was stopped" "$tmp/out" ||
    { cat "$tmp/out"; fail "the pager did not stop a program served changed bytes"; }
grep -q "LAZY OK" "$tmp/out" && fail "the program ran to its end on changed bytes"
echo "trust: all checks passed"
