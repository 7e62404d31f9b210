#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/restore (`make bench`): checkpoint and restore a process with 1 MiB,
# 64 MiB and 1 GiB of touched heap (half of it non-zero) with the native
# engine, by default (lazily) and with --eager; a process with 8 more
# threads; and 16 instances of one image at once.  Each figure is measured against its floor
# in the same run, interleaved (A, B, A, B, ...): this VM's memory and disk
# are too noisy for absolute numbers to mean much from one minute to the next.
#
# All timing is done in C (bench/heapprog.c, timerun.c, fanout.c, floor.c)
# with clock_gettime; this script only starts the steps and takes medians.
# Everything it starts runs in its own process group, killed by that
# group's id when the step ends or the script is interrupted.
set -u

usage() {
    cat <<EOF
usage: bash bench/run.sh [--help]

Runs the restore benchmark and prints one table (docs/benchmarks.md says
what each column measures).  Build first: make bench (which runs this).

environment:
  BENCH_ROWS    row kinds to run (default "heap threads instances"):
                  heap       each size of BENCH_SIZES, restored by default
                             (lazily); from 16 MiB also an "eager" row
                             (crac restore --eager, same image) and, in
                             each run, a 1 MiB image restored next to it
                  threads    1 MiB heap and BENCH_THREADS more threads, against
                             the 1 MiB single-threaded restore in the same run
                  instances  BENCH_INSTANCES restores of one image of the
                             threads process at once, against as many
                             fork+exec of /bin/true at once
  BENCH_SIZES   heap sizes in MiB (default "1 64 1024"; "1 64" with BENCH_QUICK)
  BENCH_RUNS    runs per row (default 11 below 64 MiB and for threads and
                instances, 5 below 1 GiB, 3 above; 3 and 2 with BENCH_QUICK)
  BENCH_THREADS threads besides the main one for the threads and instances
                rows (default 8)
  BENCH_INSTANCES  concurrent restores for the instances row (default 16)
  BENCH_QUICK   1: a fast smoke run (fewer runs, no 1 GiB)
  BENCH_DIR     where images and the plain-write file go (default /tmp): one
                file system for both, so the checkpoint and its floor compare
  BENCH_LAYOUT  where the zero pages are: mixed (default), alternate, halves
                (see build/bench/heapprog --help)
  BENCH_RAW     also write every run's raw figures (ns, bytes) to this file
  BENCH_MEMORY  the state of free memory before each measured step of a row
                of 16 MiB or more; on this VM memory free for over 2 s is
                handed back to the host and is slow to fault in again
                (docs/benchmarks.md):
                  cold  (default) wait 4 s first, so free memory is back with
                        the host, as a restore on a VM that was idle meets it
                  warm  touch and free 2 x size + 256 MiB first, as if another
                        process had just freed that much
                  as-is leave it as the previous step left it
                Smaller rows always run as-is: a few MiB come from memory
                freed recently, which the host has not taken.
  CRAC_BUILD    build directory (default build/)
EOF
}
case ${1:-} in
--help|-h) usage; exit 0 ;;
"") ;;
*) echo "bench: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
build=${CRAC_BUILD:-$top/build}
crac=$build/crac
bin=$build/bench
quick=${BENCH_QUICK:-0}
[ "$quick" = 0 ] && quick=
if [ -n "$quick" ]; then sizes=${BENCH_SIZES:-1 64}; else sizes=${BENCH_SIZES:-1 64 1024}; fi
layout=${BENCH_LAYOUT:-mixed}
rows=${BENCH_ROWS:-heap threads instances}
dir=${BENCH_DIR:-/tmp}
memory=${BENCH_MEMORY:-cold}
case $memory in warm | cold | as-is) ;; *) echo "bench: BENCH_MEMORY must be warm, cold or as-is" >&2; exit 2 ;; esac
nthreads=${BENCH_THREADS:-8}
ninst=${BENCH_INSTANCES:-16}
case $nthreads$ninst in '' | *[!0-9]*) echo "bench: BENCH_THREADS and BENCH_INSTANCES must be numbers" >&2; exit 2 ;; esac
if [ "$nthreads" -lt 1 ] || [ "$nthreads" -gt 64 ]; then echo "bench: BENCH_THREADS must be 1 to 64" >&2; exit 2; fi
if [ "$ninst" -lt 1 ] || [ "$ninst" -gt 256 ]; then echo "bench: BENCH_INSTANCES must be 1 to 256" >&2; exit 2; fi

die() { echo "bench: $*" >&2; exit 1; }

for f in "$crac" "$bin/heapprog" "$bin/timerun" "$bin/fanout" "$bin/floor"; do
    [ -x "$f" ] || die "$f is not built (run: make bench)"
done
[ -d "$dir" ] && [ -w "$dir" ] || die "BENCH_DIR $dir is not a writable directory"

# A checkpointed process may hold only descriptors 0, 1 and 2: drop whatever
# we inherited (make's jobserver pipe, a terminal's extra descriptors).
for fd in $(ls /proc/$$/fd); do
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
done

work=$(mktemp -d "$dir/crac-bench.XXXXXX") || die "cannot create a directory in $dir"
step_pid=
cleanup() {
    [ -n "$step_pid" ] && kill -KILL -- "-$step_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM
raw=$work/raw

# step OUT CMD...: runs CMD in a new process group with stdout to OUT and
# stderr to the step log; afterwards kills whatever of that group is left (a
# restored process that did not exit).  A background job of a script is not
# a group leader, so setsid does not fork and its pid is the group's id
# (-w only matters if it ever had to fork: then it still waits for CMD).
step() {
    local out=$1 rc
    shift
    setsid -w "$@" >"$out" 2>"$work/stderr" </dev/null &
    step_pid=$!
    wait "$step_pid"
    rc=$?
    kill -KILL -- "-$step_pid" 2>/dev/null
    step_pid=
    return $rc
}
# val FILE KEY: the value of the first "KEY=value" line.
val() { sed -n "s/^$2=//p" "$1" | head -n 1; }
fail_step() { # what file
    echo "bench: $1 failed; its output:" >&2
    cat "$2" "$work/stderr" >&2
    exit 1
}
need() { # file key...: every key present and numeric
    local f=$1 k v
    shift
    for k in "$@"; do
        v=$(val "$f" "$k")
        case $v in '' | *[!0-9]*) return 1 ;; esac
    done
}

# ---- the floors and the measured steps (one run of each) ----
# Each prints its figures as "key=value" lines into $work/<name>.

# Checkpoint: heapprog with keep_running=true reports the time of the call.
ckpt() { # out mib img [heapprog options]
    local out=$1 mib=$2 img=$3
    shift 3
    rm -rf "$img"
    step "$out" env CRAC_ENGINE=native CRAC_CHECKPOINT_TO="$img" \
        CRAC_ENGINE_OPTIONS=keep_running=true "$bin/heapprog" --mib "$mib" --layout "$layout" "$@" ||
        fail_step "checkpoint of $mib MiB $*" "$out"
    need "$out" ckpt_ns proc_nonzero_bytes heap_nonzero_bytes || fail_step "checkpoint" "$out"
}
# Restore: timerun measures from before its fork to the restored mark.
restore() { # out img [crac restore options]
    try_restore "$@" || fail_step "restore ${*:3} (or memory or threads wrong after it)" "$1"
}
try_restore() { # out img [crac restore options]
    local out=$1 img=$2
    shift 2
    step "$out" "$bin/timerun" --mark -- "$crac" restore "$@" "$img" &&
        [ "$(val "$out" verify)" = ok ] && need "$out" to_mark_ns readall_ns
}
floor_spawn() {
    step "$work/spawn" "$bin/timerun" -- /bin/true && need "$work/spawn" spawn_to_exit_ns ||
        fail_step "fork+exec of /bin/true" "$work/spawn"
}
floor_read() { # file
    step "$work/read" "$bin/floor" read "$1" && need "$work/read" read_ns ||
        fail_step "plain read" "$work/read"
}
floor_write() { # bytes
    step "$work/write" "$bin/floor" write "$work" "$1" && need "$work/write" write_ns ||
        fail_step "plain write" "$work/write"
}

# ---- statistics ----
# Raw records, one line per run: "label=L run=N key=value ...".
# mid: the median of the numbers on stdin, one a line ("nan" for none).
mid() {
    sort -g | awk '{ v[++n] = $1 }
        END { if (!n) print "nan"; else print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'
}
# median LABEL KEY: median of KEY over the runs of LABEL.
median() {
    awk -v l="label=$1" -v k="$2" '$1 == l { for (i = 2; i <= NF; i++)
        if (index($i, k "=") == 1) print substr($i, length(k) + 2) + 0 }' "$raw" | mid
}
# median_ratio LABEL NUM-KEY DEN-KEY: per-run ratios, then their median: each
# ratio pairs a figure with the floor measured next to it, which is what
# interleaving is for.
median_ratio() {
    awk -v l="label=$1" -v a="$2" -v b="$3" '$1 == l { x = y = ""
        for (i = 2; i <= NF; i++) {
            if (index($i, a "=") == 1) x = substr($i, length(a) + 2) + 0
            if (index($i, b "=") == 1) y = substr($i, length(b) + 2) + 0
        }
        if (y > 0) print x / y }' "$raw" | mid
}

# ---- the table ----
# Every row kind fills the same columns ("-" where one does not apply): a
# new kind is a function row_KIND and a name in BENCH_ROWS.
row_fmt="%-12s %4s | %8s %8s %6s | %9s %9s %6s | %10s %16s %6s | %7s %7s\n"
group_fmt="%18s|%-26s|%-28s|%-36s|%-16s\n"
table=$work/table
results=$work/results # "name key value" lines for the targets
: >"$table"
: >"$results"
emit_row() { printf "$row_fmt" "$@" >>"$table"; }
ms() { awk -v v="$1" 'BEGIN { if (v == "nan") print "-"; else printf "%.2f", v / 1e6 }'; }
mib() { awk -v v="$1" 'BEGIN { if (v == "nan") print "-"; else printf "%.2f", v / 1048576 }'; }
times() { awk -v v="$1" 'BEGIN { if (v == "nan") print "-"; else printf "%.2fx", v }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b <= 0) print "-"; else printf "%+.1f%%", (a - b) * 100 / b }'; }
label_size() { if [ "$1" -ge 1024 ] && [ $(($1 % 1024)) -eq 0 ]; then echo "$(($1 / 1024)) GiB"; else echo "$1 MiB"; fi; }
runs_for() { # mib
    if [ -n "${BENCH_RUNS:-}" ]; then echo "$BENCH_RUNS"
    elif [ -n "$quick" ]; then if [ "$1" -lt 64 ]; then echo 3; else echo 2; fi
    elif [ "$1" -lt 64 ]; then echo 11
    elif [ "$1" -lt 1024 ]; then echo 5
    else echo 3; fi
}
# Below this size a process's restore is compared with starting a program
# (/bin/true); from it on, with reading its memory from the page cache.
SMALL_MIB=16

# prewarm MIB: puts free memory in the state BENCH_MEMORY asks for before a
# measured step of a row of MIB (see the usage and docs/benchmarks.md).
prewarm() {
    [ "$1" -lt "$SMALL_MIB" ] && return
    case $memory in
    warm) step "$work/warm" "$bin/floor" warm $((2 * $1 + 256)) || fail_step "prewarm" "$work/warm" ;;
    cold) sleep "$cold_wait" ;;
    esac
}
# Free memory is reported to the host 2 s after it was freed (the kernel's
# page reporting delay); wait a little longer.
cold_wait=4

# disk_ok MIB LABEL: the image and the plain-write file exist at the same time
disk_ok() {
    local free need_b
    free=$(df -P -B1 "$dir" | awk 'NR == 2 { print $4 }')
    need_b=$(( $1 * 1048576 + (256 << 20) ))
    if [ -n "$free" ] && [ "$free" -lt "$need_b" ]; then
        echo "bench: skipping $2: $((free >> 20)) MiB free in $dir, $((need_b >> 20)) MiB needed" >&2
        return 1
    fi
}

# One run of a heap row from SMALL_MIB up: besides the default restore, the
# same image with --eager, and a 1 MiB image restored in the same state of
# memory (what the issue 10 targets compare with).
heap_large_steps() { # size img small_img
    prewarm "$1"; restore "$work/eager" "$2" --eager
    prewarm "$1"; restore "$work/small" "$3"
}

heap_record() { # label run
    local l=$1 r=$2 mark readall before meta pages
    meta=$(stat -c %s "$img/meta")
    pages=$(stat -c %s "$img/pages")
    mark=$(val "$work/restore" to_mark_ns)
    readall=$(val "$work/restore" readall_ns)
    before=$(val "$work/ckpt" readall_before_ns)
    echo "label=$l run=$r ckpt_ns=$(val "$work/ckpt" ckpt_ns)" \
        "ckpt_user_ns=$(val "$work/ckpt" ckpt_user_ns) ckpt_sys_ns=$(val "$work/ckpt" ckpt_sys_ns)" \
        "write_ns=$(val "$work/write" write_ns) meta_bytes=$meta pages_bytes=$pages" \
        "image_bytes=$((meta + pages))" \
        "proc_nonzero_bytes=$(val "$work/ckpt" proc_nonzero_bytes)" \
        "heap_nonzero_bytes=$(val "$work/ckpt" heap_nonzero_bytes)" \
        "to_mark_ns=$mark readall_ns=$readall readall_before_ns=$before" \
        "restore_readall_ns=$((mark + readall))" \
        "restore_extra_ns=$((mark + readall - before))" \
        "spawn_ns=$(val "$work/spawn" spawn_to_exit_ns) read_ns=$(val "$work/read" read_ns)" \
        "$(heap_record_large "$mark" "$readall")" >>"$raw"
    if [ "$size" -ge "$SMALL_MIB" ]; then
        mark=$(val "$work/eager" to_mark_ns)
        readall=$(val "$work/eager" readall_ns)
        echo "label=${l}eager run=$r to_mark_ns=$mark readall_ns=$readall" \
            "readall_before_ns=$before restore_readall_ns=$((mark + readall))" \
            "restore_extra_ns=$((mark + readall - before))" \
            "read_ns=$(val "$work/read" read_ns)" >>"$raw"
    fi
}

# The default restore against the eager one and the 1 MiB one of its run.
heap_record_large() { # mark readall
    [ "$size" -ge "$SMALL_MIB" ] || return 0
    echo "small_ns=$(val "$work/small" to_mark_ns)" \
        "eager_readall_ns=$(($(val "$work/eager" to_mark_ns) + $(val "$work/eager" readall_ns)))"
}

heap_rows() { # label l runs
    local label=$1 l=$2 runs=$3 m_img m_nz r_rs r_lit floor_txt
    m_img=$(median "$l" image_bytes)
    m_nz=$(median "$l" proc_nonzero_bytes)
    if [ "$size" -lt "$SMALL_MIB" ]; then
        r_rs=$(median_ratio "$l" to_mark_ns spawn_ns)
        floor_txt="$(ms "$(median "$l" spawn_ns)") (spawn)"
        echo "$l restore_vs_spawn $r_rs" >>"$results"
    else
        r_rs=$(median_ratio "$l" restore_extra_ns read_ns)
        r_lit=$(median_ratio "$l" restore_readall_ns read_ns)
        floor_txt="$(ms "$(median "$l" read_ns)") (read)"
        echo "$l restore_vs_read $r_rs $r_lit" >>"$results"
        echo "$l first_vs_spawn $(median_ratio "$l" to_mark_ns spawn_ns)" >>"$results"
        echo "$l first_vs_small $(median_ratio "$l" to_mark_ns small_ns)" >>"$results"
        echo "$l total_vs_eager $(median_ratio "$l" restore_readall_ns eager_readall_ns)" >>"$results"
    fi
    echo "$l ckpt_vs_write $(median_ratio "$l" ckpt_ns write_ns)" >>"$results"
    echo "$l image_vs_nonzero $(awk -v a="$m_img" -v b="$m_nz" 'BEGIN { print (a - b) / b }')" >>"$results"
    emit_row "$label" "$runs" "$(ms "$(median "$l" ckpt_ns)")" "$(ms "$(median "$l" write_ns)")" \
        "$(times "$(median_ratio "$l" ckpt_ns write_ns)")" \
        "$(mib "$m_img")" "$(mib "$m_nz")" "$(pct "$m_img" "$m_nz")" \
        "$(ms "$(median "$l" to_mark_ns)")" "$floor_txt" "$(times "$r_rs")" \
        "$(ms "$(median "$l" readall_ns)")" "$(ms "$(median "$l" readall_before_ns)")"
    [ "$size" -ge "$SMALL_MIB" ] || return 0
    r_rs=$(median_ratio "${l}eager" restore_extra_ns read_ns)
    echo "$l eager_vs_read $r_rs $(median_ratio "${l}eager" restore_readall_ns read_ns)" >>"$results"
    emit_row "$label eager" "$runs" - - - - - - \
        "$(ms "$(median "${l}eager" to_mark_ns)")" "$(ms "$(median "${l}eager" read_ns)") (read)" \
        "$(times "$r_rs")" "$(ms "$(median "${l}eager" readall_ns)")" \
        "$(ms "$(median "${l}eager" readall_before_ns)")"
    emit_row "$label: 1 MiB" "$runs" - - - - - - "$(ms "$(median "$l" small_ns)")" \
        "$(ms "$(median "$l" spawn_ns)") (spawn)" "$(times "$(median_ratio "$l" small_ns spawn_ns)")" - -
}

row_heap() {
    local size label l runs img r small_img=$work/small-img
    for size in $sizes; do
        label=$(label_size "$size")
        l=${label// /}
        runs=$(runs_for "$size")
        disk_ok "$size" "$label" || continue
        img=$work/img
        [ "$size" -ge "$SMALL_MIB" ] && ckpt "$work/ckpt-small" 1 "$small_img"
        for ((r = 1; r <= runs; r++)); do
            echo "bench: heap $label run $r/$runs" >&2
            prewarm "$size"; ckpt "$work/ckpt" "$size" "$img"
            prewarm "$size"; floor_write $(($(stat -c %s "$img/meta") + $(stat -c %s "$img/pages")))
            prewarm "$size"; floor_spawn
            prewarm "$size"; restore "$work/restore" "$img"
            prewarm "$size"; floor_read "$img/pages"
            [ "$size" -ge "$SMALL_MIB" ] && heap_large_steps "$size" "$img" "$small_img"
            heap_record "$l" "$r"
            rm -rf "$img"
        done
        rm -rf "$small_img"
        heap_rows "$label" "$l" "$runs"
    done
}

# threads: the same 1 MiB process with $nthreads more threads in mixed states
# (heapprog --threads), restored to the first instruction after the
# checkpoint call, against the single-threaded 1 MiB process restored in the
# same run (the order of the two alternates from run to run).
row_threads() {
    local size=1 runs r label="$nthreads threads" l=threads
    runs=$(runs_for "$size")
    for ((r = 1; r <= runs; r++)); do
        echo "bench: $label run $r/$runs" >&2
        ckpt "$work/ckpt1" "$size" "$work/img1"
        ckpt "$work/ckptT" "$size" "$work/imgT" --threads "$nthreads"
        local meta pages
        meta=$(stat -c %s "$work/imgT/meta")
        pages=$(stat -c %s "$work/imgT/pages")
        floor_write $((meta + pages))
        if ((r % 2)); then
            restore "$work/restore1" "$work/img1"
            restore "$work/restoreT" "$work/imgT"
        else
            restore "$work/restoreT" "$work/imgT"
            restore "$work/restore1" "$work/img1"
        fi
        echo "label=$l run=$r ckpt_ns=$(val "$work/ckptT" ckpt_ns)" \
            "ckpt1_ns=$(val "$work/ckpt1" ckpt_ns) write_ns=$(val "$work/write" write_ns)" \
            "image_bytes=$((meta + pages))" \
            "proc_nonzero_bytes=$(val "$work/ckptT" proc_nonzero_bytes)" \
            "to_mark_ns=$(val "$work/restoreT" to_mark_ns) single_ns=$(val "$work/restore1" to_mark_ns)" \
            "runq_ns=$(val "$work/restoreT" runq_wait_ns) single_runq_ns=$(val "$work/restore1" runq_wait_ns)" \
            "net_ns=$(net_of "$work/restoreT") single_net_ns=$(net_of "$work/restore1")" \
            "readall_ns=$(val "$work/restoreT" readall_ns)" \
            "readall_before_ns=$(val "$work/ckptT" readall_before_ns)" \
            "threads_ns=$(val "$work/restoreT" threads_ns)" >>"$raw"
        rm -rf "$work/img1" "$work/imgT"
    done
    local m_img m_nz r_t
    m_img=$(median $l image_bytes)
    m_nz=$(median $l proc_nonzero_bytes)
    r_t=$(median_ratio $l to_mark_ns single_ns)
    echo "$l threads_vs_single $r_t $(median_ratio $l net_ns single_net_ns)" >>"$results"
    emit_row "$label" "$runs" "$(ms "$(median $l ckpt_ns)")" "$(ms "$(median $l write_ns)")" \
        "$(times "$(median_ratio $l ckpt_ns write_ns)")" \
        "$(mib "$m_img")" "$(mib "$m_nz")" "$(pct "$m_img" "$m_nz")" \
        "$(ms "$(median $l to_mark_ns)")" "$(ms "$(median $l single_ns)") (1 thr)" "$(times "$r_t")" \
        "$(ms "$(median $l readall_ns)")" "$(ms "$(median $l readall_before_ns)")"
}

# net_of OUT: time to the mark less the time the restored main thread spent
# waiting for a CPU ("nan" where /proc has no schedstat).
net_of() {
    local m w
    m=$(val "$1" to_mark_ns)
    w=$(val "$1" runq_wait_ns)
    case $w in '' | *[!0-9]*) echo nan ;; *) echo $((m - w)) ;; esac
}

# instances: $ninst concurrent `crac restore` (pid mode auto) of one image
# of the threads process, which stays up after it answered; fanout times
# from its first fork until all have printed their mark, then stops them
# (and step kills whatever is left of the group).  The floor: as many
# fork+exec of /bin/true at once, until all have exited.
row_instances() {
    local runs r label="$ninst instances" l=instances img=$work/imgI ok=0 rc
    runs=$(runs_for 1)
    ckpt "$work/ckptI" 1 "$img" --threads "$nthreads" --serve
    for ((r = 1; r <= runs; r++)); do
        echo "bench: $label run $r/$runs" >&2
        if ! step "$work/fan1" "$bin/fanout" "$ninst" -- /bin/true || ! need "$work/fan1" all_ns; then
            fail_step "$ninst x fork+exec of /bin/true" "$work/fan1"
        fi
        step "$work/fanI" "$bin/fanout" "$ninst" --mark -- "$crac" restore "$img"
        rc=$?
        local answered verified
        answered=$(val "$work/fanI" answered)
        verified=$(val "$work/fanI" verified)
        # A run where an instance did not come up is counted, not timed: the
        # target says how many runs had every instance answer.
        if [ $rc -eq 0 ]; then
            ok=$((ok + 1))
            echo "label=$l run=$r all_ns=$(val "$work/fanI" all_ns)" \
                "first_ns=$(val "$work/fanI" first_ns) all_mark_ns=$(val "$work/fanI" all_mark_ns)" \
                "floor_ns=$(val "$work/fan1" all_ns)" >>"$raw"
        else
            echo "bench: $label run $r: $answered of $ninst answered, $verified verified:" >&2
            sed 's/^/  /' "$work/stderr" >&2
            echo "label=${l}failed run=$r answered=$answered verified=$verified" >>"$raw"
        fi
    done
    local meta pages
    meta=$(stat -c %s "$img/meta")
    pages=$(stat -c %s "$img/pages")
    rm -rf "$img"
    echo "$l all_answer $ok $runs $(median_ratio $l all_ns floor_ns)" >>"$results"
    emit_row "$label" "$runs" - - - "$(mib $((meta + pages)))" \
        "$(mib "$(val "$work/ckptI" proc_nonzero_bytes)")" \
        "$(pct $((meta + pages)) "$(val "$work/ckptI" proc_nonzero_bytes)")" \
        "$(ms "$(median $l all_ns)")" "$(ms "$(median $l floor_ns)") (${ninst} spawn)" \
        "$(times "$(median_ratio $l all_ns floor_ns)")" - -
}

# ---- run ----
fstype=$(df -P -T "$dir" | awk 'NR == 2 { print $2 }')
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# Warm-up, not counted: the programs and libraries into the page cache.
echo "bench: warm-up" >&2
ckpt "$work/ckpt" 1 "$work/img"
restore "$work/restore" "$work/img"
floor_spawn
rm -rf "$work/img"

for kind in $rows; do
    declare -F "row_$kind" >/dev/null || die "unknown row kind '$kind' in BENCH_ROWS"
    "row_$kind"
done

echo
echo "crac bench/restore: native engine, heap layout $layout, images in $dir ($fstype), $memory memory from $SMALL_MIB MiB"
echo "machine: $(uname -r), $(nproc) CPUs ($cpu), $mem RAM; load average $load0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
echo "medians over interleaved runs; ratios are medians of per-run ratios to the floor measured in the same run"
echo
printf "$group_fmt" "" " checkpoint" " image" " restore" " read all (ms)"
printf "$row_fmt" "row" "runs" "ckpt ms" "write ms" "ratio" "image MiB" "nz MiB" "diff" "1st ins ms" "floor ms" "ratio" "after" "before"
sed 's/[^|]/-/g' <<<"$(printf "$row_fmt" "" "" "" "" "" "" "" "" "" "" "" "" "")"
cat "$table"
echo
cat <<EOF
ckpt: crac_checkpoint_restore() until the image is synced (keep_running=true).
write: the same number of bytes written to a new file in $dir, file and directory
  fsynced.  image: meta + pages files.  nz: the non-zero touched memory of the whole
  process (what has to be saved), counted by the process itself before the call.
1st ins: from fork() of 'crac restore DIR' to the restored program's first
  instruction after the checkpoint call.  floor (spawn): fork+exec+wait of /bin/true,
  ratio = 1st ins / spawn.  floor (read): fresh anonymous memory read() from the
  image's pages file in the page cache; ratio = (1st ins + read all after - read all
  before) / read, i.e. the restore plus whatever reading memory back costs more than
  it did before the checkpoint (nothing more for an eager restore).
1st ins and read all use 'crac restore DIR', the default: from 16 MiB its large
  regions are filled by the pager while the program already runs (lazily).
eager: the same image restored with 'crac restore --eager' in the same run.
: 1 MiB: a 1 MiB image restored in each run of the row, next to it (floor: spawn).
threads: 1 MiB heap and $nthreads more threads (computing, nanosleep, cond_wait, poll,
  a held mutex); floor (1 thr): the 1 MiB single-threaded restore of the same run.
instances: $ninst 'crac restore' of one image of the threads process at once (pid
  mode auto); 1st ins: from the first fork until the last instance printed its first
  line after the checkpoint call; floor: $ninst fork+exec of /bin/true at once, until
  all have exited.
read all: the program reads and checks its whole heap, after the restore and (the
  same pass) before the checkpoint.
EOF

# Targets of issues 3, 4 and 10 ("Must show"), from this run.
echo
echo "targets (issues 3, 4 and 10):"
verdict() { # ratio limit text
    awk -v r="$1" -v l="$2" -v t="$3" 'BEGIN {
        if (r == "nan" || r == "") printf "  %-58s  n/a\n", t;
        else printf "  %-58s  %s (%.2f)\n", t, (r <= l ? "PASS" : "FAIL"), r }'
}
while read -r l what r lit extra; do
    case $what in
    restore_vs_spawn) verdict "$r" 3 "restore $l <= 3x fork+exec of /bin/true (goal 2x)" ;;
    restore_vs_read)
        verdict "$r" 1.3 "restore $l <= 1.3x plain read into fresh memory"
        awk -v r="$lit" 'BEGIN { printf "  %-58s  (%.2f)\n", "  (1st ins + read all after) / read, not net of before", r }' ;;
    eager_vs_read)
        verdict "$r" 1.3 "eager restore $l <= 1.3x plain read into fresh memory"
        awk -v r="$lit" 'BEGIN { printf "  %-58s  (%.2f)\n", "  (1st ins + read all after) / read, not net of before", r }' ;;
    first_vs_spawn) verdict "$r" 3 "restore $l: 1st ins <= 3x fork+exec of /bin/true" ;;
    first_vs_small) verdict "$r" 1.5 "restore $l: 1st ins <= 1.5x the 1 MiB restore" ;;
    total_vs_eager) verdict "$r" 1.3 "restore $l: 1st ins + read all <= 1.3x eager's" ;;
    threads_vs_single)
        verdict "$r" 1.5 "restore 1 MiB + $nthreads threads <= 1.5x single-threaded"
        awk -v r="$lit" 'BEGIN { printf "  %-58s  (%.2f)\n", "  both net of their main thread waiting for a CPU", r }' ;;
    all_answer)
        awk -v ok="$r" -v n="$lit" -v x="$extra" -v k="$ninst" 'BEGIN {
            printf "  %-58s  %s (%d of %d runs)\n", k " concurrent restores: all answer, every run",
                   (ok == n ? "PASS" : "FAIL"), ok, n
            if (x != "nan") printf "  %-58s  (%.2f)\n", "  time until all answered / " k " x fork+exec at once", x }' ;;
    ckpt_vs_write) verdict "$r" 1.5 "checkpoint $l <= 1.5x plain write" ;;
    image_vs_nonzero) awk -v r="$r" -v l="$l" 'BEGIN {
        a = r < 0 ? -r : r
        printf "  %-58s  %s (%+.1f%%)\n", "image " l " within 2% of non-zero touched memory",
               (a <= 0.02 ? "PASS" : "FAIL"), r * 100 }' ;;
    esac
done <"$results"
if [ -n "${BENCH_RAW:-}" ]; then
    cp "$raw" "$BENCH_RAW"
    echo "raw figures: $BENCH_RAW"
fi
