#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The architecture the folders promise (docs/architecture.md, "Layers"):
#  - no circle of calls among the files of the library and the command,
#    except the fd-tracing pair (fdtrace.c and fdtrace_hooks.c, one module);
#  - no circle of includes;
#  - the library includes nothing of the command (src/cli, src/restore);
#  - engines (src/engine, src/native) and the image format call nothing above
#    them: what they need comes in the engine request.
# Calls are read from the built objects (nm), so a call through a macro or an
# inline function counts too.
set -u
top=${CRAC_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${CRAC_BUILD:-$top/build}
cd "$top" || exit 1
tmp=${CRAC_TEST_TMP:-$(mktemp -d)}
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# strongly connected components with more than one node, from "a b" edges
scc() {
    awk '{ if (!($1 in id)) { id[$1] = n; name[n++] = $1 }
           if (!($2 in id)) { id[$2] = n; name[n++] = $2 }
           r[id[$1] "," id[$2]] = 1 }
    END {
        for (k = 0; k < n; k++) for (i = 0; i < n; i++) if ((i "," k) in r)
            for (j = 0; j < n; j++) if ((k "," j) in r) r[i "," j] = 1
        for (i = 0; i < n; i++) { if (i in done) continue; line = name[i]; c = 0
            for (j = i + 1; j < n; j++) if ((i "," j) in r && (j "," i) in r) {
                line = line " " name[j]; done[j] = 1; c++ }
            if (c) print line }
    }' "$1"
}

objs=$(find "$build/pic/src" "$build/obj/src" -name '*.o' 2>/dev/null)
[ -n "$objs" ] || { echo "no objects under $build: run make first"; exit 1; }
# symbol -> defining file, then caller file -> callee file
nm -A --defined-only $objs | awk '$2 ~ /^[TDBRVW]$/ { split($1, a, ":"); print $3, a[1] }' |
    sed "s|$build/[a-z]*/||; s|\.o\$|.c|" | sort -u >"$tmp/defs"
nm -A --undefined-only $objs | awk '{ split($1, a, ":"); print $NF, a[1] }' |
    sed "s|$build/[a-z]*/||; s|\.o\$|.c|" | sort -u >"$tmp/uses"
awk 'FNR == NR { def[$1] = $2; next } ($1 in def) && def[$1] != $2 { print $2, def[$1] }' \
    "$tmp/defs" "$tmp/uses" | sed 's|\.S\.c|.S|g' | sort -u >"$tmp/calls"
[ -s "$tmp/calls" ] || bad "no calls found between files (nm output changed?)"

scc "$tmp/calls" | while read -r line; do
    case " $line " in
    " src/checker/fdtrace.c src/checker/fdtrace_hooks.c " | " src/checker/fdtrace_hooks.c src/checker/fdtrace.c ") ;;
    *) echo "FAIL: call circle: $line"; touch "$tmp/circle" ;;
    esac
done
[ -e "$tmp/circle" ] && fail=1

# includes: "file header" for every #include "..." found under src/ or include/
for f in $(find src -name '*.[ch]' -o -name '*.S' | sort); do
    sed -n 's/^#include "\(.*\)"/\1/p' "$f" | while read -r h; do
        if [ -e "src/$h" ]; then echo "$f src/$h"; elif [ -e "include/$h" ]; then echo "$f include/$h"; fi
    done
done >"$tmp/includes"
circles=$(scc "$tmp/includes")
[ -z "$circles" ] || bad "include circle: $circles"

lib='^src/(core|checker|policy|control|clone|engine|native|image|preload)/'
up=$(grep -E "$lib" "$tmp/includes" | grep -E ' src/(cli|restore)/')
[ -z "$up" ] || bad "library files include the command's headers:
$up"

low='^src/(engine|native|image)/'
above=' src/(core/(cycle|config|context)\.c|(checker|policy|control)/)'
up=$(grep -E "$low" "$tmp/calls" | grep -E "$above")
[ -z "$up" ] || bad "engines or the image format call up into the library:
$up"

n=$(wc -l <"$tmp/calls")
[ $fail -eq 0 ] && echo "$n calls between files, $(wc -l <"$tmp/includes") includes: no circle, layers respected"
exit $fail
