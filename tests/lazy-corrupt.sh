#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A lazily restored program never runs on bytes that are not what was
# saved, nor on missing memory:
#   - one byte flipped in the page data of its big region: the pager finds
#     the run fails its checksum when it reads it, stops the program (which
#     never gets to say its memory was right, nor that it differs) and
#     crac restore exits 1 naming the run; --eager refuses before the
#     program runs, naming the same run;
#   - its pager killed while it still has memory to fill: the program dies
#     too (its parent-death signal), without going on to say all was well.
. "$(dirname "$0")/lazy-lib.sh"

# --- corrupted page data
img="$tmp/img"
checkpoint "$img" none || { cat "$tmp/cp.out"; fail "checkpoint failed"; }
# The pages file holds the saved pages in address order: the big region's
# start there is the sum of what the regions before it saved.
read -r before kib range < <("$crac" image info "$img" |
    awk '/ KiB saved/ { if ($4 > best) { best = $4; at = sum; range = $1 } sum += $4 }
         END { print at, best, range }')
[ "${kib:-0}" -ge 16384 ] || fail "no big region in the image (largest saves ${kib:-0} KiB)"
lo=$((16#${range%-*})) hi=$((16#${range#*-}))
off=$(((before + kib / 2) * 1024 + 1234))
b=$(od -An -tu1 -j "$off" -N1 "$img/pages" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$img/pages" bs=1 seek="$off" conv=notrunc status=none

# in_region OUT: the address "page data at ADDR" names is in the big region.
in_region() {
    local at
    at=$(sed -n 's/.*page data at \(0x\)\{0,1\}\([0-9a-f]*\) .*/\2/p' "$1" | head -n 1)
    [ -n "$at" ] && [ $((16#$at)) -ge $lo ] && [ $((16#$at)) -lt $hi ] ||
        { cat "$1"; fail "$1 does not name a run in the region $range"; }
}

restore "$tmp/lazy.out" "$img" -v
rc=$?
[ $rc = 1 ] || { cat "$tmp/lazy.out"; fail "lazy restore of a corrupted image exited $rc, not 1"; }
lazily_served "$tmp/lazy.out"
expect_in "$tmp/lazy.out" "fails its checksum (corrupted image): the restored process was stopped"
in_region "$tmp/lazy.out"
grep -q "LAZY OK" "$tmp/lazy.out" && fail "the program ran to its end on a corrupted image"
grep -q MISMATCH "$tmp/lazy.out" && { cat "$tmp/lazy.out"; fail "the program was served the corrupted bytes"; }
echo "corrupted page data, lazily: stopped, $(grep -o 'run [0-9]* of' "$tmp/lazy.out")"

restore "$tmp/eager.out" "$img" --eager
rc=$?
[ $rc = 1 ] || { cat "$tmp/eager.out"; fail "--eager restore of a corrupted image exited $rc, not 1"; }
expect_in "$tmp/eager.out" "checksum mismatch (corrupted image)"
in_region "$tmp/eager.out"
read -r n at < <(sed -n 's/.*(\([0-9]*\) pages at offset \([0-9]*\)).*/\1 \2/p' "$tmp/eager.out")
[ -n "$at" ] && [ "$at" -le "$off" ] && [ "$off" -lt $((at + n * 4096)) ] ||
    { cat "$tmp/eager.out"; fail "--eager names a run that does not hold byte $off"; }
grep -q "RESTORED" "$tmp/eager.out" && fail "--eager ran the program on a corrupted image"
echo "corrupted page data, --eager: refused"
rm -rf "$img"

# --- the pager killed while it serves
checkpoint "$img" hold "$tmp/go" || { cat "$tmp/cp.out"; fail "checkpoint failed"; }
for attempt in 1 2 3; do
    rm -f "$tmp/go"
    "$crac" restore -v --pid keep "$img" >"$tmp/kill.out" 2>&1 </dev/null &
    pager=$!
    PIDS+=("$pager")
    wait_text "$tmp/kill.out" "to be served by the pager" || { cat "$tmp/kill.out"; fail "no lazy restore"; }
    pid=$(pid_of "$tmp/kill.out")
    PIDS+=("$pid")
    # Stopped, the pager cannot finish: the program looks at its memory,
    # then blocks in its first fault on what is left.
    stop_pager "$pager"
    touch "$tmp/go"
    wait_text "$tmp/kill.out" "UNSERVED hold" 2 # (none if it blocked earlier)
    n=$(unserved "$tmp/kill.out" hold)
    if [ "${n:-1}" = 0 ]; then
        echo "attempt $attempt: the pager was done before it could be stopped: again"
        kill -CONT "$pager"
        wait "$pager"
        continue
    fi
    kill -KILL "$pager"
    wait "$pager" 2>/dev/null
    gone "$pid" 5 || fail "the restored process $pid still runs 5 s after its pager was killed"
    grep -q "LAZY OK" "$tmp/kill.out" && fail "the program went on after its pager was killed"
    grep -q MISMATCH "$tmp/kill.out" && { cat "$tmp/kill.out"; fail "the program read memory its pager never filled"; }
    echo "pager killed with ${n:-some} pages unserved: the program died with it"
    echo "lazy corrupt: all passed"
    exit 0
done
fail "the pager always finished before the test could stop it"
