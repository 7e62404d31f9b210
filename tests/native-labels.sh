#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What an image says about itself: labels from CRAC_LABELS (and
# --require-label refusing an image without them), the resources the
# checkpoint notified, what policies did to descriptors, the threads, in
# `crac image info` text and --json.
. "$(dirname "$0")/native-lib.sh"
img="$tmp/img"
CRAC_LABELS=app=demo,version=3 checkpoint "$img" env || { cat "$tmp/cp.out"; fail "checkpoint failed"; }
"$crac" image info "$img" >"$tmp/info.txt" || fail "image info failed"
expect_in "$tmp/info.txt" "label       app=demo"
expect_in "$tmp/info.txt" "label       version=3"
expect_in "$tmp/info.txt" "(leader) (checkpointed)"
"$crac" image info --json "$img" >"$tmp/info.json" || fail "image info --json failed"
expect_in "$tmp/info.json" '"labels":["app=demo","version=3"]'

restore "$tmp/ok.out" "$img" --require-label app=demo --require-label version=3 ||
    { cat "$tmp/ok.out"; fail "restore with matching labels failed"; }
restore "$tmp/bad.out" "$img" --require-label version=4 --require-label zone=x
[ $? -eq 1 ] || fail "restore with missing labels did not exit 1"
expect_in "$tmp/bad.out" "label version is '3', required '4'"
expect_in "$tmp/bad.out" "no label zone (required 'x')"
grep -q CRAC_TEST_ENV "$tmp/bad.out" && fail "the refused image ran"

CRAC_LABELS=oops checkpoint "$tmp/img2" env && fail "a label without '=' was accepted"
expect_in "$tmp/cp.out" "labels: 'oops' is not KEY=VALUE"

# A descriptor closed by a policy is named in the image.
echo "file close path=$tmp/held-file" >"$tmp/policies"
CRAC_POLICIES="$tmp/policies" checkpoint "$tmp/img3" refuse fd || { cat "$tmp/cp.out"; fail "checkpoint with a close policy failed"; }
"$crac" image info "$tmp/img3" >"$tmp/info3.txt"
expect_in "$tmp/info3.txt" "policy      fd 3 close"
# The resources the checkpoint notified (the demo service registers two).
CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$tmp/img4" "$build/examples/warm-service" --port 0 \
    --docs 20000 --checkpoint-after-warmup >"$tmp/ws.out" 2>&1 </dev/null &
PIDS+=($!)
wait $! || { cat "$tmp/ws.out"; fail "warm-service checkpoint failed"; }
"$crac" image info "$tmp/img4" >"$tmp/info4.txt"
expect_in "$tmp/info4.txt" "notified    listening-socket"
expect_in "$tmp/info4.txt" "notified    random-seed"
echo "labels, notes and --require-label: ok"
