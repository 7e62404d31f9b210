#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The image fuzzer in its quick CI mode (fuzz/README.md): every committed
# input of fuzz/corpus once, then FUZZ_SECONDS (15) of fuzzing from them,
# under ASan and UBSan: the reader and the checks before the point of no
# return never crash.  Then the differential check on a few dozen images
# the checks accept: restored for real, none dies past the point of no
# return.  `make fuzz` is the long mode.
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${CRAC_BUILD:-$top/build}
if [ "${SANITIZE:-}" = 1 ]; then
    echo "an ASan-built process cannot be checkpointed by the native engine (the seed image)"
    exit 77
fi
if [ ! -x "$build/fuzz/fuzz-image" ]; then
    if ! command -v clang >/dev/null; then
        echo "clang is not installed (scripts/setup-debian installs it): no libFuzzer"
        exit 77
    fi
    if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
        echo "clang's libFuzzer runtime is not installed (libclang-rt-14-dev: scripts/setup-debian)"
        exit 77
    fi
    echo "FAIL: $build/fuzz/fuzz-image is missing although clang and libFuzzer are here (make tests builds it)"
    exit 1
fi
FUZZ_SECONDS=${FUZZ_SECONDS:-15} bash "$top/fuzz/run.sh" --quick || {
    echo "FAIL: the fuzzer found a crash"
    exit 1
}
bash "$top/fuzz/restore-accepted.sh" --count 40 --tries 4000 --seed "$RANDOM" --timeout 5 || {
    echo "FAIL: an image every check accepted died past the point of no return"
    exit 1
}
echo "fuzz-quick: no crash, no death past the point of no return"
