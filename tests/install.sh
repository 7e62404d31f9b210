#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The install, as a user meets it: `make install PREFIX=...` from the build
# already made (no clean, no rebuild of our own), then a program written only
# against the public API (docs/api.md) is built with
# `pkg-config --cflags --libs crac` and run against the installed library with
# CRAC_ENGINE=sim.  Also: libcrac.so exports crac_* and nothing else, its
# SONAME is libcrac.so.0, DESTDIR stages without touching PREFIX, the static
# library links through `pkg-config --static`, and the header compiles as C11
# -pedantic and as C++.
# Exit: 0 pass, 77 skip (no pkg-config), 1 fail.
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=${CRAC_TEST_TMP:?run me through tests/run.sh (needs CRAC_TEST_TMP)}
P=$tmp/p
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
die() { echo "FAIL: $*"; exit 1; }

command -v pkg-config >/dev/null || { echo "pkg-config is not installed (scripts/setup-debian)"; exit 77; }

# A make started by `make test` would inherit its jobserver and flags.
unset MAKEFLAGS MFLAGS MAKELEVEL
# With SANITIZE=1 (from the environment, as tests/run.sh passes it) the
# installed library needs the sanitizer runtime loaded first: build the
# program the same way.
SAN=()
[ "${SANITIZE:-}" = 1 ] && SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer)

# --- install into a private prefix ---
make -C "$top" --no-print-directory install PREFIX="$P" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; die "make install PREFIX=$P failed"; }
for f in include/crac.h lib/libcrac.so lib/libcrac.so.0 lib/libcrac.a \
    lib/pkgconfig/crac.pc bin/crac; do
    [ -e "$P/$f" ] || fail "make install did not install $f"
done
real=$(readlink -f "$P/lib/libcrac.so")
case $real in "$P"/lib/libcrac.so.*) ;; *) fail "libcrac.so points to $real, not into $P/lib" ;; esac

# --- ABI: SONAME and exported symbols ---
soname=$(readelf -d "$P/lib/libcrac.so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = libcrac.so.0 ] || fail "SONAME is '$soname', expected libcrac.so.0"
# Type A entries are the version nodes (CRAC_0.1), not symbols.
nm -D --defined-only "$P/lib/libcrac.so" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort -u >"$tmp/exports"
bad=$(grep -v '^crac_' "$tmp/exports")
[ -z "$bad" ] || fail "libcrac.so exports names outside crac_*: $(echo $bad)"
# The version script names every export, one by one: an export it does not
# list, or a listed name that is not exported, is a mistake.
sed -n 's/^ *\(crac_[a-z_0-9]*\);$/\1/p' "$top/src/core/libcrac.map" | sort -u >"$tmp/listed"
[ -s "$tmp/listed" ] || fail "no names found in src/core/libcrac.map"
unlisted=$(comm -23 "$tmp/exports" "$tmp/listed")
[ -z "$unlisted" ] || fail "exported but not listed in src/core/libcrac.map: $(echo $unlisted)"
missing=$(comm -13 "$tmp/exports" "$tmp/listed")
[ -z "$missing" ] || fail "listed in src/core/libcrac.map but not exported: $(echo $missing)"
grep -q '^ *crac_\*;' "$top/src/core/libcrac.map" && fail "libcrac.map exports a pattern (crac_*), not names"
# Every function the public header declares is exported.
sed -n 's/^[a-z].*[ *]\(crac_[a-z_0-9]*\)(.*/\1/p' "$P/include/crac.h" | sort -u >"$tmp/declared"
[ "$(wc -l <"$tmp/declared")" -ge 20 ] || fail "found only $(wc -l <"$tmp/declared") functions in crac.h"
undeclared=$(comm -13 "$tmp/exports" "$tmp/declared")
[ -z "$undeclared" ] || fail "declared in crac.h but not exported: $(echo $undeclared)"

# --- the preload library: a shim over the installed libcrac.so.0 ---
pre=$P/lib/libcrac-preload.so
if [ -e "$pre" ]; then
    readelf -d "$pre" | grep -q 'NEEDED.*\[libcrac\.so\.0\]' || fail "libcrac-preload.so does not need libcrac.so.0"
    own=$(nm -D --defined-only "$pre" | awk '$3 ~ /^crac/ {print $3}')
    [ -z "$own" ] || fail "libcrac-preload.so defines crac names itself (a second copy?): $(echo $own)"
    # it finds the installed library beside it, without LD_LIBRARY_PATH (not
    # with SANITIZE=1: an ASan library cannot be preloaded into /bin/true)
    [ "${SANITIZE:-}" = 1 ] || LD_PRELOAD=$pre /bin/true 2>"$tmp/pre.err" ||
        fail "LD_PRELOAD=$pre /bin/true failed: $(cat "$tmp/pre.err")"
else
    fail "make install did not install lib/libcrac-preload.so"
fi

# --- man pages ---
for m in man1/crac.1 man3/libcrac.3; do
    [ -s "$P/share/man/$m" ] || fail "make install did not install share/man/$m"
done
if command -v man >/dev/null; then
    MANPATH=$P/share/man man -P cat crac 2>"$tmp/man.err" | grep -q 'crac restore' ||
        fail "man crac (MANPATH=$P/share/man) does not show the page: $(head -3 "$tmp/man.err")"
    MANPATH=$P/share/man man -P cat 3 libcrac 2>/dev/null | grep -q 'crac_checkpoint_restore' ||
        fail "man 3 libcrac does not show the page"
else
    fail "man is not installed (scripts/setup-debian installs man-db)"
fi

# --- pkg-config from the install prefix ---
export PKG_CONFIG_PATH=$P/lib/pkgconfig
cflags=$(pkg-config --cflags crac) || die "pkg-config --cflags crac failed"
libs=$(pkg-config --libs crac) || die "pkg-config --libs crac failed"
case " $cflags " in *" -I$P/include "*) ;; *) fail "pkg-config --cflags gives '$cflags', not -I$P/include" ;; esac
version=$(pkg-config --modversion crac)
[ "$("$P/bin/crac" --version)" = "crac $version" ] ||
    fail "installed crac --version says '$("$P/bin/crac" --version)', crac.pc says $version"

# A user's program: only <crac.h> and the documented behaviour of the sim engine.
cat >"$tmp/prog.c" <<'PROG'
#include <crac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char order[256];
static int fail_b;

struct app_res { crac_resource res; const char *tag; };

static crac_error *before(crac_resource *r, crac_context *ctx)
{
    struct app_res *a = (struct app_res *)r;
    (void)ctx;
    strcat(order, " before:");
    strcat(order, a->tag);
    if (fail_b && strcmp(a->tag, "B") == 0)
        return crac_error_new("B refuses (%d)", 42);
    return NULL;
}

static crac_error *after(crac_resource *r, crac_context *ctx)
{
    (void)ctx;
    strcat(order, " after:");
    strcat(order, ((struct app_res *)r)->tag);
    return NULL;
}

/* Depth-first search for an error with this source and message. */
static int find(const crac_error *e, const char *src, const char *msg)
{
    const char *s = crac_error_source(e);
    if (s && strcmp(s, src) == 0 && strcmp(crac_error_message(e), msg) == 0)
        return 1;
    for (size_t i = 0; i < crac_error_cause_count(e); i++)
        if (find(crac_error_cause(e, i), src, msg))
            return 1;
    return 0;
}

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "CHECK(%s) failed; order:%s\n", #c, order); return 1; } } while (0)

int main(int argc, char **argv)
{
    struct app_res a = { { "A", before, after, { 0 } }, "A" };
    struct app_res b = { { "B", before, after, { 0 } }, "B" };
    crac_error *err = NULL;

    CHECK(argc == 2 && strcmp(crac_version(), argv[1]) == 0);
    CHECK(crac_restore_count() == 0 && crac_restore_time_ms() == -1);
    CHECK(crac_context_register(crac_global_context(), &a.res) == 0);
    CHECK(crac_context_register(crac_global_context(), &b.res) == 0);

    /* Reverse registration order before the checkpoint, forward after. */
    CHECK(crac_checkpoint_restore(&err) == 0);
    CHECK(strcmp(order, " before:B before:A after:A after:B") == 0);
    CHECK(crac_restore_count() == 1 && crac_restore_time_ms() > 0);

    /* A failing resource: every resource still notified, no restore, and the
     * error names the resource as its source. */
    order[0] = 0;
    fail_b = 1;
    CHECK(crac_checkpoint_restore(&err) == -1 && err != NULL);
    CHECK(strcmp(order, " before:B before:A after:A after:B") == 0);
    CHECK(crac_restore_count() == 1);
    CHECK(!crac_error_is_restore(err));
    CHECK(find(err, "B", "B refuses (42)"));
    char *text = crac_error_format(err);
    CHECK(text && strstr(text, "B refuses (42)"));
    free(text);
    crac_error_free(err);

    CHECK(crac_context_unregister(crac_global_context(), &b.res) == 0);
    CHECK(crac_context_unregister(crac_global_context(), &a.res) == 0);
    puts("prog: ok");
    return 0;
}
PROG

# shellcheck disable=SC2086 # pkg-config output is meant to be split
cc -std=c11 -pedantic -Wall -Wextra -Werror "${SAN[@]}" -o "$tmp/prog" "$tmp/prog.c" $cflags $libs ||
    die "cannot build a program with pkg-config --cflags --libs crac"
LD_LIBRARY_PATH=$P/lib ldd "$tmp/prog" | grep -q "libcrac.so.0 => $P/lib/" ||
    fail "the program does not load libcrac.so.0 from $P/lib"
LD_LIBRARY_PATH=$P/lib CRAC_ENGINE=sim "$tmp/prog" "$version" || fail "the program failed against the installed libcrac.so"

# The static library, with what `pkg-config --static` says it needs.
static_libs=$(pkg-config --static --libs-only-l crac | tr ' ' '\n' | grep -vx -- -lcrac | tr '\n' ' ')
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror "${SAN[@]}" -o "$tmp/prog-static" "$tmp/prog.c" $cflags \
    "$P/lib/libcrac.a" $static_libs 2>"$tmp/static.log"; then
    ldd "$tmp/prog-static" | grep -q libcrac && fail "prog-static still loads libcrac.so"
    CRAC_ENGINE=sim "$tmp/prog-static" "$version" || fail "the program failed linked with libcrac.a"
else
    cat "$tmp/static.log"
    fail "cannot link libcrac.a with pkg-config --static --libs crac"
fi

# The header is also usable from C++.
if command -v g++ >/dev/null; then
    echo '#include <crac.h>
int main() { return crac_restore_count() == 0 ? 0 : 1; }' >"$tmp/cxx.cc"
    # shellcheck disable=SC2086
    g++ -Wall -Wextra -Werror -fsyntax-only $cflags "$tmp/cxx.cc" || fail "crac.h does not compile as C++"
fi

# --- DESTDIR stages the same tree without writing to PREFIX ---
D=$tmp/destdir
prefix=/nonexistent-crac-prefix-$$
make -C "$top" --no-print-directory install PREFIX="$prefix" DESTDIR="$D" >"$tmp/install2.log" 2>&1 ||
    { cat "$tmp/install2.log"; fail "make install DESTDIR=... failed"; }
[ -e "$prefix" ] && fail "make install DESTDIR=$D wrote to $prefix"
for f in include/crac.h lib/libcrac.so.0 lib/pkgconfig/crac.pc bin/crac; do
    [ -e "$D$prefix/$f" ] || fail "DESTDIR install lacks $f"
done
grep -qx "prefix=$prefix" "$D$prefix/lib/pkgconfig/crac.pc" 2>/dev/null ||
    fail "staged crac.pc does not say prefix=$prefix"

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "install checks passed"
