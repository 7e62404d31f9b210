#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/pss.sh (`make bench-pss`): the memory N instances of one image take.
# Checkpoints bench/heapprog with a heap of BENCH_PSS_MIB (half of its pages
# non-zero, the mixed layout), starts N `crac restore` of that image at once
# (the default restore, then --eager), waits until every instance has read
# all of its memory back and stays up, and sums the proportional set size
# (/proc/PID/smaps_rollup: shared pages divided among their users) of the
# restored processes and of the crac processes above them (the pagers).
# Everything it starts runs in its own session and is killed by that
# session's process group id.
set -u

usage() {
    cat <<EOF
usage: bash bench/pss.sh [--help]

environment:
  BENCH_PSS_N    instances (default 16)
  BENCH_PSS_MIB  heap of the image's process in MiB (default 1024)
  BENCH_DIR      where the image goes (default /tmp)
  CRAC_BUILD     build directory (default build/)
EOF
}
case ${1:-} in
--help|-h) usage; exit 0 ;;
"") ;;
*) echo "bench-pss: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
build=${CRAC_BUILD:-$top/build}
crac=$build/crac
n=${BENCH_PSS_N:-16}
mib=${BENCH_PSS_MIB:-1024}
dir=${BENCH_DIR:-/tmp}
case $n$mib in '' | *[!0-9]*) echo "bench-pss: BENCH_PSS_N and BENCH_PSS_MIB must be numbers" >&2; exit 2 ;; esac
die() { echo "bench-pss: $*" >&2; exit 1; }
[ -x "$crac" ] && [ -x "$build/bench/heapprog" ] || die "not built (run: make bench-pss)"
need_kib=$(( (n * mib / 2 + mib + 512) * 1024 ))
avail_kib=$(awk '/^MemAvailable/ { print $2 }' /proc/meminfo)
[ "$avail_kib" -gt "$need_kib" ] || die "needs about $((need_kib >> 10)) MiB of available memory, $((avail_kib >> 10)) MiB here"

for fd in $(ls /proc/$$/fd); do
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
done
work=$(mktemp -d "$dir/crac-pss.XXXXXX") || die "cannot create a directory in $dir"
groups=()
stop_all() {
    local g
    for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    groups=()
}
trap 'stop_all; rm -rf "$work"' EXIT
trap 'echo "bench-pss: interrupted" >&2; exit 130' INT TERM

# The image: heapprog stays up after a restore (--serve).
CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$work/img" CRAC_ENGINE_OPTIONS=keep_running=true \
    setsid "$build/bench/heapprog" --mib "$mib" --serve >"$work/ckpt" 2>&1 </dev/null &
groups+=("$!")
disown "$!"
for ((i = 0; i < 600; i++)); do
    [ -e "$work/img/meta" ] && break
    sleep 0.1
done
sleep 0.5
stop_all
[ -e "$work/img/meta" ] || die "the checkpoint did not publish an image: $(cat "$work/ckpt")"

# descendants PID: PID and every process below it
descendants() {
    local p=$1 c
    echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do descendants "$c"; done
}
pss_kib() { awk '/^Pss:/ { s += $2 } END { print s + 0 }' "$@" 2>/dev/null; }

# measure LABEL [crac restore options]
measure() {
    local label=$1 i p ok all prog=0 pagers=0 t0 lazy_left
    shift
    groups=()
    for ((i = 0; i < n; i++)); do
        setsid "$crac" restore "$@" "$work/img" >"$work/out.$i" 2>&1 </dev/null &
        groups+=("$!")
        disown "$!" # killed by its group at the end: no job report
    done
    t0=$SECONDS
    for ((;;)); do
        ok=$(grep -l '^verify=ok' "$work"/out.* 2>/dev/null | wc -l)
        [ "$ok" -eq "$n" ] && break
        [ $((SECONDS - t0)) -gt 120 ] && { stop_all; die "$label: $ok of $n instances verified in 120 s"; }
        sleep 0.2
    done
    # the pagers are done when no restored memory is still registered
    for ((i = 0; i < 100; i++)); do
        lazy_left=0
        for p in "${groups[@]}"; do
            for all in $(descendants "$p"); do
                grep -q ' um' /proc/"$all"/smaps 2>/dev/null && lazy_left=1
            done
        done
        [ $lazy_left = 0 ] && break
        sleep 0.2
    done
    for p in "${groups[@]}"; do
        local procs=($(descendants "$p")) last
        last=${procs[${#procs[@]} - 1]}
        prog=$((prog + $(pss_kib /proc/"$last"/smaps_rollup)))
        for all in "${procs[@]}"; do
            [ "$all" = "$last" ] || pagers=$((pagers + $(pss_kib /proc/"$all"/smaps_rollup)))
        done
    done
    stop_all
    printf "%-22s %3d %12.1f %12.1f %12.1f\n" "$label" "$n" "$(awk -v k=$prog 'BEGIN { print k / 1024 }')" \
        "$(awk -v k=$pagers 'BEGIN { print k / 1024 }')" "$(awk -v k=$((prog + pagers)) 'BEGIN { print k / 1024 }')"
    sleep 1
}

echo "crac bench/pss: $n instances of one image of a $mib MiB heap (half non-zero, mixed layout)"
echo "image: $(du -sm "$work/img" | cut -f1) MiB; machine: $(uname -r), $(nproc) CPUs"
printf "%-22s %3s %12s %12s %12s\n" "restore" "n" "program MiB" "crac MiB" "total PSS MiB"
measure "default (lazy)"
measure "--eager" --eager
