# SPDX-License-Identifier: Apache-2.0
#
# Bash helpers shared by scripts/demo.sh and tests/warm-service.sh (source
# this file; it runs nothing itself).  HTTP goes through bash's /dev/tcp and
# time through $EPOCHREALTIME, so that polling a server forks no process:
# a curl per attempt would cost milliseconds and blur a restore that takes a
# few.  Needs bash 5 or later.
#
#   http_init DIR                     once, before the others (a FIFO in DIR)
#   now_us                            microseconds since the epoch, in $NOW_US
#   http_request METHOD PORT PATH [TIMEOUT_S]
#                                     one request to 127.0.0.1:PORT; sets
#                                     HTTP_STATUS and HTTP_BODY; 1 when no answer
#   wait_for_answer PORT PATH PID TIMEOUT_S [INTERVAL_S]
#                                     polls until a 200 answer (0), PID died (1)
#                                     or TIMEOUT_S passed (2)
#   pick_free_port                    a port nobody listens on, in $FREE_PORT
#   stop_pid PID                      TERM, then KILL after 2 s; reaps it
#   exec_clean CMD...                 exec CMD with no fd above 2 open (in a
#                                     subshell: `( exec_clean ... ) &`)

if [ -z "${EPOCHREALTIME:-}" ]; then
    echo "http.sh: bash 5 or later is needed (\$EPOCHREALTIME)" >&2
    return 1 2>/dev/null || exit 1
fi

HTTP_SLEEP_FD=

# A FIFO opened read-write never has data: `read -t` on it is a sleep that
# needs no `sleep` process.
http_init() {
    local fifo="$1/http-sleep.fifo"
    mkfifo "$fifo" && exec {HTTP_SLEEP_FD}<>"$fifo"
}

nap() { # seconds (fractions allowed)
    if [ -n "$HTTP_SLEEP_FD" ]; then
        read -r -t "$1" -u "$HTTP_SLEEP_FD" _ || true
    else
        sleep "$1"
    fi
}

now_us() {
    local t=$EPOCHREALTIME
    NOW_US=$(( 10#${t%.*} * 1000000 + 10#${t#*.} ))
}

http_request() {
    local method=$1 port=$2 path=$3 timeout=${4:-5} fd line
    HTTP_STATUS='' HTTP_BODY=''
    { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
    # A server that closes at once (a checkpoint in progress) must not kill
    # us with SIGPIPE; ignored only here, so no child inherits it.
    trap '' PIPE
    printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' \
        "$method" "$path" "$port" 1>&"$fd" 2>/dev/null
    trap - PIPE
    if ! IFS= read -r -t "$timeout" -u "$fd" line; then
        exec {fd}>&-
        return 1
    fi
    line=${line%$'\r'}
    HTTP_STATUS=${line#HTTP/1.? }
    HTTP_STATUS=${HTTP_STATUS%% *}
    while IFS= read -r -t "$timeout" -u "$fd" line && [ -n "${line%$'\r'}" ]; do
        : # headers: the server always closes, so the body ends at EOF
    done
    while IFS= read -r -t "$timeout" -u "$fd" line || [ -n "$line" ]; do
        HTTP_BODY+="$line"$'\n'
    done
    exec {fd}>&-
    [ -n "$HTTP_STATUS" ]
}

wait_for_answer() {
    local port=$1 path=$2 pid=$3 interval=${5:-0.001} deadline
    now_us
    deadline=$(( NOW_US + $4 * 1000000 ))
    while :; do
        if http_request GET "$port" "$path" && [ "$HTTP_STATUS" = 200 ]; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        now_us
        [ "$NOW_US" -lt "$deadline" ] || return 2
        nap "$interval"
    done
}

pick_free_port() {
    local i fd
    for ((i = 0; i < 50; i++)); do
        FREE_PORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
        # Refused means nobody listens; below 32768 the kernel hands out no
        # ephemeral ports, so an outgoing connection will not take it either.
        if ! { exec {fd}<>"/dev/tcp/127.0.0.1/$FREE_PORT"; } 2>/dev/null; then
            return 0
        fi
        exec {fd}>&-
    done
    return 1
}

stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        nap 0.01
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# A process to be checkpointed may hold no fd it cannot restore, and a shell
# passes on whatever it has open (our FIFO, make's jobserver pipes, ...).
exec_clean() {
    local f n
    for f in /proc/self/fd/*; do
        n=${f##*/}
        if [ "$n" -gt 2 ]; then
            eval "exec $n>&-" 2>/dev/null
        fi
    done
    exec "$@"
}
