# SPDX-License-Identifier: Apache-2.0
# Shared by the tests/lazy-*.sh tests (sourced, not run: the runner skips
# *-lib.sh): their program (tests/helpers/lazy-mem.c), and a hold on a
# restore's pager from outside.  A test that must act while memory is still
# being served (delete the image, kill the pager) stops the pager first:
# the pager fills 100 MiB in well under a second, quicker than a test can
# react, and a stopped pager cannot finish behind the test's back.  The
# program then says how much of its memory was unserved ("UNSERVED hold
# N/M"), which proves the pager had not finished when it was stopped.
. "$(dirname "$0")/native-lib.sh"
prog="$build/tests/helpers/lazy-mem"
[ -x "$prog" ] || fail "$prog is not built (make tests)"

# verified OUT: the program found every page as it must be.
verified() {
    expect_in "$1" "LAZY OK"
    if grep -q MISMATCH "$1"; then
        cat "$1"
        fail "$1: memory differs after a lazy restore"
    fi
}

# unserved OUT CHECK: N of the program's "UNSERVED CHECK N/M" line.
unserved() {
    sed -n "s|^UNSERVED $2 \([0-9]*\)/.*|\1|p" "$1" | head -n 1
}

# wait_text FILE TEXT [SECONDS]: until FILE holds TEXT; 1 if it never does.
wait_text() {
    local i
    for ((i = 0; i < ${3:-10} * 200; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.005
    done
    return 1
}

# pid_of OUT: the pid restore -v gave the restored process (the saved
# one: with --pid keep, its pid here too).
pid_of() {
    sed -n 's/.* to be served by the pager .*; pid \([0-9]*\)$/\1/p' "$1" | head -n 1
}

# child_of PID: PID's child (with --pid ns, the namespace's init under
# `crac restore`, which serves the memory).  By parent pid in /proc/*/stat
# (not every kernel has /proc/PID/task/TID/children), the pids just after
# PID first: the child is usually one of them, and a test that stops it
# must find it quickly.
child_of() {
    local s st ppid k
    for s in $(for ((k = 1; k <= 64; k++)); do echo "/proc/$(($1 + k))/stat"; done) /proc/[0-9]*/stat; do
        read -r st <"$s" 2>/dev/null || continue
        st=${st##*) }
        read -r _ ppid _ <<<"$st"
        if [ "$ppid" = "$1" ]; then
            s=${s#/proc/}
            echo "${s%/stat}"
            return 0
        fi
    done
    return 1
}

# has_open PID FILE: PID has FILE open.
has_open() {
    local f
    for f in /proc/"$1"/fd/*; do
        [ "$f" -ef "$2" ] && return 0
    done
    return 1
}

# stop_pager PID: stops the process PID and waits until it is stopped.
stop_pager() {
    local i st
    kill -STOP "$1" || fail "cannot stop the pager $1"
    for ((i = 0; i < 2000; i++)); do
        read -r st <"/proc/$1/stat" || fail "the pager $1 is gone"
        st=${st##*) }
        [ "${st%% *}" = T ] && return 0
        sleep 0.005
    done
    fail "the pager $1 did not stop"
}

# gone PID [SECONDS]: until process PID no longer exists (a zombie is
# gone too: it runs nothing); 1 if it still runs after SECONDS.
gone() {
    local i st
    for ((i = 0; i < ${2:-5} * 200; i++)); do
        read -r st <"/proc/$1/stat" 2>/dev/null || return 0
        st=${st##*) }
        [ "${st%% *}" = Z ] && return 0
        sleep 0.005
    done
    return 1
}
