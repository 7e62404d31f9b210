#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/servers.sh (`make bench-servers`): unmodified Debian servers, cold
# start against restore, each to its first served request.  For each server
# the cold start (exec of the server until it answers) and the restore
# (`crac restore` of an image of the same server, warm, until it answers)
# are measured alternately in the same run, RUNS times each, and the medians
# and their ratio printed.  Timing is done in C (examples/first-answer): the
# clock starts just before fork() and stops when the whole first answer
# has arrived; it polls every 100 us.
#
# Servers: redis (empty), redis-1m (a million keys, loaded from its RDB file
# at a cold start: what a warm service means for redis), memcached, nginx
# (master_process off), node (tests/real/node-server.js: 50,000 entries built
# at start).  Everything runs in its own process group, killed by its id.
set -u
case ${1:-} in
--help | -h)
    cat <<USAGE
usage: bash bench/servers.sh [--help]
environment: SERVERS (default "redis redis-1m memcached nginx node"),
             RUNS (default 7), CRAC_BUILD (default build/)
Prints one row per server: cold ms, restore ms (medians), ratio, image MiB.
USAGE
    exit 0 ;;
"") ;;
*) echo "bench/servers.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
build=${CRAC_BUILD:-$top/build}
crac=$build/crac
fa=$build/examples/first-answer
say=$build/tests/helpers/tcp-say
runs=${RUNS:-7}
servers=${SERVERS:-redis redis-1m memcached nginx node}
work=$(mktemp -d /tmp/crac-servers.XXXXXX)
export CRAC_CONTROL_DIR=$work/ctl
for f in "$crac" "$fa" "$say"; do [ -x "$f" ] || { echo "bench/servers.sh: $f is not built (make bench-servers)" >&2; exit 1; }; done
GROUPS_STARTED=()
cleanup() {
    for g in "${GROUPS_STARTED[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768 and up)

# The command line of each server, and how first-answer asks it.
server_cmd() { # NAME -> sets CMD (array) and ASK (array)
    case $1 in
    redis) mkdir -p "$work/r0"
        CMD=(redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/r0")
        ASK=(--send 'PING\r\n' --expect '+PONG' "$port" -) ;;
    redis-1m) mkdir -p "$work/r1m"
        CMD=(redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/r1m")
        ASK=(--send 'PING\r\n' --expect '+PONG' "$port" -) ;;
    memcached) CMD=(memcached -p "$port" -U 0 -l 127.0.0.1 -u root -t 4)
        ASK=(--send 'version\r\n' --expect 'VERSION' "$port" -) ;;
    nginx) CMD=(nginx -e "$work/nginx-error.log" -p "$work" -c "$work/nginx.conf")
        ASK=("$port" /) ;;
    node) CMD=(node "$top/tests/real/node-server.js" "$port")
        ASK=("$port" /) ;;
    *) echo "bench/servers.sh: unknown server '$1'" >&2; exit 2 ;;
    esac
}

prepare() { # NAME: files the server needs
    case $1 in
    redis-1m) # its dump.rdb: a million keys, loaded by every cold start
        [ -f "$work/r1m/dump.rdb" ] && return
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/r1m" \
            --enable-debug-command local >/dev/null 2>&1 &
        local p=$!
        until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
        redis-cli -p "$port" debug populate 1000000 key 64 >/dev/null
        redis-cli -p "$port" save >/dev/null
        kill "$p"; wait "$p" 2>/dev/null
        [ -s "$work/r1m/dump.rdb" ] || { echo "bench/servers.sh: no dump.rdb for redis-1m" >&2; exit 1; } ;;
    nginx)
        mkdir -p "$work/www" "$work/temp"
        echo hello >"$work/www/index.html"
        cat >"$work/nginx.conf" <<CONF
daemon off; master_process off; pid $work/nginx.pid; error_log $work/nginx-error.log;
events { worker_connections 256; }
http { access_log off; client_body_temp_path $work/temp/b; proxy_temp_path $work/temp/p;
  fastcgi_temp_path $work/temp/f; uwsgi_temp_path $work/temp/u; scgi_temp_path $work/temp/s;
  server { listen 127.0.0.1:$port; root $work/www; } }
CONF
        ;;
    esac
}

# timed OUT CMD...: first-answer in its own group; waits for the answer,
# stops the server, prints the microseconds.
timed() {
    local out=$1 us i
    shift
    # The background job truncates $out only once it starts: the previous
    # run's figures must not be there to be read meanwhile.
    rm -f "$out"
    setsid "$fa" --timeout 60 --log "$out.log" "${ASK[@]}" -- "$@" >"$out" 2>&1 </dev/null &
    local g=$!
    GROUPS_STARTED+=("$g")
    while ! grep -q '^us=\|^timeout=\|^exited=' "$out" 2>/dev/null; do sleep 0.01; done
    us=$(sed -n 's/^us=//p' "$out")
    kill -TERM "$g" 2>/dev/null
    wait "$g" 2>/dev/null
    kill -KILL -- "-$g" 2>/dev/null
    # the next run must not meet this one still holding the port
    for ((i = 0; i < 500; i++)); do listening || break; sleep 0.01; done
    [ -n "$us" ] || { echo "bench/servers.sh: no answer from $*: $(cat "$out"); its output: $(tail -n 5 "$out.log")" >&2; exit 1; }
    echo "$us"
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# A warm image of the server in $IMG: started under crac run, answered
# once, checkpointed (the process then exits).
make_image() { # NAME
    IMG=$work/img-$1
    local img=$IMG
    rm -rf "$img"
    setsid "$crac" run --checkpoint-to "$img" -- "${CMD[@]}" >"$work/$1.run.log" 2>&1 </dev/null &
    local g=$!
    GROUPS_STARTED+=("$g")
    local i
    for ((i = 0; i < 1200; i++)); do probe && break; sleep 0.05; done
    probe || { echo "bench/servers.sh: $1 does not answer under crac run: $(tail -n 5 "$work/$1.run.log")" >&2; exit 1; }
    "$crac" checkpoint "$g" >"$work/$1.ckpt.log" 2>&1 || { cat "$work/$1.ckpt.log" >&2; exit 1; }
    wait "$g" 2>/dev/null
}
# Whether anything listens on the port (a server shutting down may have
# stopped answering before it closes its socket).
listening() {
    [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]
}

# Asks the server once, as first-answer would, without starting anything.
probe() {
    case ${ASK[0]} in
    --send) "$say" --timeout 1 "$port" "${ASK[1]}" "${ASK[3]}" >/dev/null 2>&1 ;;
    *) curl -sf --max-time 1 "http://127.0.0.1:$port/" >/dev/null ;;
    esac
}

printf '%-10s %10s %12s %8s %10s\n' server "cold ms" "restore ms" ratio "image MiB"
for s in $servers; do
    server_cmd "$s"
    prepare "$s"
    make_image "$s"
    img=$IMG
    cold=() rest=()
    for ((i = 0; i < runs; i++)); do
        cold+=("$(timed "$work/cold.out" "${CMD[@]}")")
        rest+=("$(timed "$work/rest.out" "$crac" restore "$img")")
    done
    c=$(printf '%s\n' "${cold[@]}" | median)
    r=$(printf '%s\n' "${rest[@]}" | median)
    mib=$(du -sk "$img" | awk '{printf "%.1f", $1 / 1024}')
    awk -v s="$s" -v c="$c" -v r="$r" -v m="$mib" \
        'BEGIN {printf "%-10s %10.1f %12.1f %7.1fx %10s\n", s, c / 1000, r / 1000, c / r, m}'
done
