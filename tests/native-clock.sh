#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CLOCK_MONOTONIC never goes backwards for a restored process, even when
# the machine's clock is behind the image's (a reboot, another machine):
# simulated by checkpointing inside a time namespace whose monotonic clock
# is 100000 s ahead, then restoring outside it.  --pid keep and ns give the
# restored process a time namespace that keeps its clocks ahead; new warns.
. "$(dirname "$0")/native-lib.sh"
[ "$(id -u)" = 0 ] || { echo "skipped: time namespaces need CAP_SYS_ADMIN"; exit 77; }
unshare --time --monotonic 1 true 2>/dev/null ||
    { echo "skipped: unshare --time (util-linux) does not work here"; exit 77; }
img="$tmp/img"
CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$img" unshare --time --fork --monotonic 100000 --boottime 100000 \
    "$prog" clock >"$tmp/cp.out" 2>&1 </dev/null &
PIDS+=($!)
wait $! || { cat "$tmp/cp.out"; fail "checkpoint in a time namespace failed"; }
for pm in keep ns; do
    restore "$tmp/$pm.out" "$img" --pid "$pm" || { cat "$tmp/$pm.out"; fail "--pid $pm: restore failed"; }
    expect_in "$tmp/$pm.out" "CLOCK OK"
done
restore "$tmp/new.out" "$img" --pid new
expect_in "$tmp/new.out" "CLOCK_MONOTONIC is behind the image's"
echo "clocks kept ahead with keep and ns; new warns: ok"
