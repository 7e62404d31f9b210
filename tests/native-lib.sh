# SPDX-License-Identifier: Apache-2.0
# Shared by the tests/native-*.sh tests (sourced, not run: it has no
# "#!" and the runner only runs tests/*.sh files that are not this one).
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${CRAC_BUILD:-$top/build}
crac=${CRAC_BIN:-$build/crac}
tmp=${CRAC_TEST_TMP:-$(mktemp -d)}
prog="$build/tests/helpers/native-state"
export CRAC_TEST_TMP="$tmp"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[ -x "$prog" ] || fail "$prog is not built (make tests)"
if [ "${SANITIZE:-}" = 1 ]; then
    echo "native engine tests skipped: an ASan-built process cannot be checkpointed (its shadow memory is the size of the address space)"
    exit 77
fi

# Every process a test starts is recorded and killed by pid at exit.
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done' EXIT

# checkpoint IMG ARGS... : runs native-state ARGS with the native engine
# writing IMG; output in $tmp/cp.out; returns its exit status.
checkpoint() {
    local img=$1
    shift
    CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$img" "$prog" "$@" >"$tmp/cp.out" 2>&1 </dev/null &
    local pid=$!
    PIDS+=("$pid")
    wait "$pid"
}

# restore OUT IMG [OPTIONS...]: crac restore, output in OUT; returns its status.
restore() {
    local out=$1
    shift
    "$crac" restore "$@" >"$out" 2>&1 </dev/null &
    local pid=$!
    PIDS+=("$pid")
    wait "$pid"
}

expect_in() { # FILE TEXT
    grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "expected '$2' in $1"; }
}

# lazily_served OUT: the restore's -v output in OUT says it left pages to
# the pager (a test of lazy memory that ran eagerly would prove nothing).
lazily_served() {
    grep -Eq "read and checked, [1-9][0-9]* to be served by the pager" "$1" ||
        { echo "--- $1:"; cat "$1"; fail "$1: no page was left to the pager (restore -v)"; }
}
