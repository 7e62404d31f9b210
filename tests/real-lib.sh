# SPDX-License-Identifier: Apache-2.0
# Shared by the tests/real-*.sh tests (sourced): unmodified Debian programs
# started with `crac run`, checkpointed with `crac checkpoint`, restored with
# `crac restore`, and driven by their own clients, without a policies file.
# Builds on control-lib.sh (start, wait_line, run_crac; every process
# started is killed by pid at exit).
. "$(dirname "$0")/control-lib.sh"

say="$build/tests/helpers/tcp-say"
[ -x "$say" ] || fail "$say is not built (make tests)"

if [ "${SANITIZE:-}" = 1 ]; then
    skip "real-program tests skipped: the ASan-built preload library cannot be loaded into programs built without ASan"
fi

# need CMD...: each must be installed (scripts/setup-debian installs them).
need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || fail "$c is not installed: run scripts/setup-debian"
    done
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    local p i
    for ((i = 0; i < 50; i++)); do
        # below the ephemeral range (32768 and up), where clients' own ports are
        p=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    fail "no free port found"
}

# until_ok SECONDS CMD...: runs CMD (quietly) until it succeeds.
until_ok() {
    local s=$1 i
    shift
    for ((i = 0; i < s * 50; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.02
    done
    "$@" || true
    fail "'$*' did not succeed within $s s"
}

# serve OUT PROG ARGS...: starts PROG under `crac run` (image to $img);
# its pid in $srv.
serve() {
    local out=$1
    shift
    start "$out" "$crac" run --checkpoint-to "$img" -- "$@"
    srv=$bg
}

# checkpoint_srv: `crac checkpoint $srv` succeeds, and the process exits
# (the native engine's default), leaving the image.
checkpoint_srv() {
    local t0 t1 i rc
    t0=$(date +%s%N)
    # A checkpoint must never hang: bounded here, so a hang fails quickly.
    timeout 20 "$crac" checkpoint "$srv" >"$tmp/ckpt.out" 2>"$tmp/ckpt.err" </dev/null
    rc=$?
    [ $rc -eq 0 ] || { cat "$tmp/ckpt.out" "$tmp/ckpt.err"; fail "crac checkpoint $srv failed (exit $rc)"; }
    t1=$(date +%s%N)
    echo "checkpoint of pid $srv: $(((t1 - t0) / 1000000)) ms"
    for ((i = 0; i < 250; i++)); do
        kill -0 "$srv" 2>/dev/null || break
        sleep 0.02
    done
    kill -0 "$srv" 2>/dev/null && fail "pid $srv still runs after its checkpoint"
    [ -f "$img/meta" ] || fail "no image at $img"
}

# restore_srv OUT: `crac restore $img` in the background; its pid in $rsrv.
restore_srv() {
    start "$1" "$crac" restore "$img"
    rsrv=$bg
}

# stop_restored: SIGTERM to `crac restore` (it forwards it), which must then
# exit; the restored program is killed by pid either way.
stop_restored() {
    local inner i
    inner=$(restored_pid "$rsrv")
    kill -TERM "$rsrv" 2>/dev/null
    for ((i = 0; i < 250; i++)); do
        kill -0 "$rsrv" 2>/dev/null || break
        sleep 0.02
    done
    [ "$inner" != "$rsrv" ] && PIDS+=("$inner")
    kill -0 "$rsrv" 2>/dev/null && fail "the restored program did not stop on SIGTERM"
    return 0
}

# no_error_lines FILE PATTERN: no line of FILE matches the extended regex.
no_error_lines() {
    if grep -E -i -- "$2" "$1" >"$tmp/errlines"; then
        echo "--- $1:"; tail -n 30 "$1"
        fail "error lines in $1: $(head -n 3 "$tmp/errlines")"
    fi
}

# nginx_conf PORT ACCESS_LOG: $tmp/nginx.conf, one process (master_process
# off: a master and its workers are several processes), files from
# $tmp/www, GET /status answered "up"; ACCESS_LOG a file or "off".
nginx_conf() {
    mkdir -p "$tmp/www" "$tmp/temp"
    cat >"$tmp/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 1024; }
http {
    access_log $2;
    client_body_temp_path $tmp/temp/body;
    proxy_temp_path $tmp/temp/proxy;
    fastcgi_temp_path $tmp/temp/fastcgi;
    uwsgi_temp_path $tmp/temp/uwsgi;
    scgi_temp_path $tmp/temp/scgi;
    server {
        listen 127.0.0.1:$1 backlog=1024;
        root $tmp/www;
        location /status { return 200 "up\n"; }
    }
}
CONF
}

img="$tmp/img"
