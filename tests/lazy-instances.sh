#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One image, many lazily restored instances: four at once (one keeps the
# saved pid, three in pid namespaces), each with its own pager, all find
# every page.  Then the image is deleted while two fresh instances are
# still being served: a pager reads from the files it opened, so they
# still find every page (a restore does not hold the image hostage).
. "$(dirname "$0")/lazy-lib.sh"
img="$tmp/img" go="$tmp/go"
checkpoint "$img" hold "$go" || { cat "$tmp/cp.out"; fail "checkpoint failed"; }

# start N MODE DIR: instance N restored from DIR with --pid MODE; $bg its pid.
start() {
    "$crac" restore -v --pid "$2" "$3" >"$tmp/i$1.out" 2>&1 </dev/null &
    bg=$!
    PIDS+=("$bg")
}
# ends N PID: instance N exited 0, served lazily, every page right.
ends() {
    local rc
    wait "$2"
    rc=$?
    [ $rc = 0 ] || { cat "$tmp/i$1.out"; fail "instance $1 exited $rc"; }
    lazily_served "$tmp/i$1.out"
    verified "$tmp/i$1.out"
}

touch "$go"
pids=()
for i in 1 2 3 4; do
    mode=ns
    [ $i = 1 ] && mode=keep
    start $i $mode "$img"
    pids+=("$bg")
done
for i in 1 2 3 4; do
    ends $i "${pids[i - 1]}"
done
echo "4 instances at once: ok"

# Two more, from a copy of the image that is deleted under them, as soon
# as each has it open.  Their pagers are stopped first, so that the
# deletion comes before they could finish; the programs look at their
# memory only after it ("UNSERVED hold N/M": N > 0, the pager still had
# that much to fill from the deleted image).
for attempt in 1 2 3; do
    rm -f "$go"
    cp -a "$img" "$tmp/doomed"
    start 5 keep "$tmp/doomed"
    a=$bg
    start 6 ns "$tmp/doomed"
    b=$bg
    # keep: `crac restore` serves, once it has the pages file open;
    # ns: the namespace's init it forks after opening the image.
    pager_a="" pager_b=""
    for ((i = 0; i < 2000; i++)); do
        if [ -z "$pager_a" ] && has_open "$a" "$tmp/doomed/pages"; then
            pager_a=$a
            stop_pager "$pager_a"
        fi
        if [ -z "$pager_b" ] && pager_b=$(child_of "$b"); then
            stop_pager "$pager_b"
        fi
        [ -n "$pager_a" ] && [ -n "$pager_b" ] && break
        kill -0 "$a" 2>/dev/null && kill -0 "$b" 2>/dev/null || break
    done
    [ -n "$pager_a" ] && [ -n "$pager_b" ] || { cat "$tmp/i5.out" "$tmp/i6.out"; fail "the restores did not start"; }
    rm -rf "$tmp/doomed"
    [ -e "$tmp/doomed" ] && fail "the image was not deleted"
    touch "$go"
    kill -CONT "$pager_a" "$pager_b"
    ends 5 "$a"
    ends 6 "$b"
    n5=$(unserved "$tmp/i5.out" hold) n6=$(unserved "$tmp/i6.out" hold)
    if [ "${n5:-0}" -gt 0 ] && [ "${n6:-0}" -gt 0 ]; then
        echo "image deleted under 2 instances, $n5 and $n6 pages still to serve: ok"
        echo "lazy instances: all passed"
        exit 0
    fi
    echo "attempt $attempt: a pager finished before the deletion ($n5, $n6 pages unserved): again"
done
fail "the pagers always finished before the image could be deleted under them"
