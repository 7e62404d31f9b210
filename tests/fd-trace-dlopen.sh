#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CRAC_FD_TRACE=1 also traces libraries loaded after start (dlopen): a
# plugin built here opens a file, and the checker names the plugin's
# function as the opener (tests/fd-trace.c, "dlopen").
set -u
build=${CRAC_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
tmp=${CRAC_TEST_TMP:-$(mktemp -d)}
cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "no C compiler ($cc) to build the plugin"; exit 77; }
cat >"$tmp/opener.c" <<'C'
#include <fcntl.h>
__attribute__((noinline)) int opener_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    __asm__ volatile("" ::: "memory");
    return fd;
}
C
"$cc" -shared -fPIC -O1 -o "$tmp/libopener.so" "$tmp/opener.c" || { echo "FAIL: cannot build the plugin"; exit 1; }
CRAC_ENGINE=sim CRAC_FD_TRACE=1 "$build/tests/fd-trace" dlopen "$tmp/libopener.so" </dev/null &
pid=$!
wait $pid
