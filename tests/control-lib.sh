# SPDX-License-Identifier: Apache-2.0
# Shared by the tests/control-*.sh tests (sourced, not run: the runner skips
# *-lib.sh).  Every process a test starts is recorded and killed by pid at
# exit.  Control sockets go to $CRAC_TEST_TMP/ctl (CRAC_CONTROL_DIR, read by
# both the process and crac), so nothing is left in /run/crac; a test that
# checks the default places unsets it.
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${CRAC_BUILD:-$top/build}
crac=${CRAC_BIN:-$build/crac}
tmp=${CRAC_TEST_TMP:-$(mktemp -d)}
target="$build/tests/helpers/ctl-target"
raw="$build/tests/helpers/ctl-raw"
export CRAC_TEST_TMP="$tmp"
export CRAC_CONTROL_DIR="$tmp/ctl"
unset CRAC_ENGINE CRAC_ENGINE_OPTIONS CRAC_CHECKPOINT_TO CRAC_POLICIES CRAC_CONTROL

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "$*"
    exit 77
}

# With SANITIZE=1 the preload library is built with ASan too, and `crac run`
# puts it before the program's own ASan runtime, which ASan refuses unless
# told that this order is fine (the program is linked with the runtime).
if [ "${SANITIZE:-}" = 1 ]; then
    export ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
fi

for f in "$crac" "$target" "$raw"; do
    [ -x "$f" ] || fail "$f is not built (make tests)"
done

PIDS=()
CLEANUP=()
# (stderr off first: bash would report each killed job after the test's
# last line, which the runner shows as the reason for a skip)
trap 'exec 2>/dev/null; for p in "${PIDS[@]}"; do kill -KILL "$p"; done
      for d in "${CLEANUP[@]}"; do rm -rf "$d"; done' EXIT

# start OUT CMD...: runs CMD in the background, stdout and stderr in OUT,
# stdin from /dev/null unless STDIN is set; its pid in $bg.
start() {
    local out=$1
    shift
    "$@" >"$out" 2>&1 <"${STDIN:-/dev/null}" &
    bg=$!
    PIDS+=("$bg")
}

# wait_line FILE TEXT [SECONDS]: until FILE has a line containing TEXT.
wait_line() {
    local i
    for ((i = 0; i < ${3:-10} * 50; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.02
    done
    echo "--- $1:"
    cat "$1"
    fail "no '$2' in $1"
}

# ctl_name PID: the name of PID's socket directory (docs/control.md): its
# pid, or in another pid namespace "INNER-nsINODE".
ctl_name() {
    local inner ns
    inner=$(awk '/^NSpid:/ {print $NF}' "/proc/$1/status" 2>/dev/null)
    ns=$(stat -L -c %i "/proc/$1/ns/pid" 2>/dev/null)
    if [ -z "$ns" ] || [ "$ns" = 4026531836 ]; then
        echo "${inner:-$1}"
    else
        echo "${inner:-$1}-ns$ns"
    fi
}

# sock_of PID: PID's control socket in $CRAC_CONTROL_DIR.
sock_of() {
    echo "$CRAC_CONTROL_DIR/$(ctl_name "$1")/ctl"
}

# restored_pid PID: the process `crac restore` (pid PID) became: PID itself
# (--pid new), or its child (keep) or grandchild (ns, under a small init).
# Call it once the restored program has shown it runs.
restored_pid() {
    local p=$1 c
    while c=$(cat /proc/"$p"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m 1 .) && [ -n "$c" ]; do
        p=$c
    done
    echo "$p"
}

# wait_socket PID: until PID's control socket exists in $CRAC_CONTROL_DIR.
wait_socket() {
    local i
    for ((i = 0; i < 500; i++)); do
        [ -S "$(sock_of "$1")" ] && return 0
        kill -0 "$1" 2>/dev/null || fail "process $1 exited before its control socket appeared"
        sleep 0.02
    done
    fail "no control socket for pid $1 in $CRAC_CONTROL_DIR"
}

# status PID: the raw status reply, in $tmp/status.
status() {
    printf 'crac-control 1\nrequest status\n\n' | "$raw" "$(sock_of "$1")" >"$tmp/status" ||
        fail "no status from $1"
}

# ticks FILE: the number of the last "tick N" line.
ticks() {
    grep '^tick ' "$1" | tail -n 1 | cut -d' ' -f2
}

# goes_on FILE: the program writing FILE still ticks.
goes_on() {
    local n
    n=$(ticks "$1")
    wait_line "$1" "tick $((${n:-0} + 2))" 5
}

expect_in() { # FILE TEXT
    grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "expected '$2' in $1"; }
}

expect_not_in() { # FILE TEXT
    if grep -qF -- "$2" "$1"; then echo "--- $1:"; cat "$1"; fail "did not expect '$2' in $1"; fi
}

# run_crac RC OUT ERR ARGS...: runs crac, expects exit status RC.
run_crac() {
    local want=$1 out=$2 err=$3 rc
    shift 3
    "$crac" "$@" >"$out" 2>"$err" </dev/null
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "--- stdout:"; cat "$out"; echo "--- stderr:"; cat "$err"
        fail "crac $* exited $rc, expected $want"
    fi
}
