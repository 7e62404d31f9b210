/* SPDX-License-Identifier: Apache-2.0 */
/* What the native engine v1 cannot save, beyond what no engine can (open
 * descriptors, children, timers, SysV and shared writable memory: the
 * general checker, src/lib/check*.c, reports those for every engine): each
 * problem becomes one cause, named precisely enough to fix (mapping and
 * path, thread id). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "native/dump.h"
#include "native/threads.h"
#include "image/maps.h"
#include "core/core.h"

static void __attribute__((format(printf, 2, 3))) add(crac_error *problems, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    crac_error_add_cause(problems, crac__error_vsrc("checker", fmt, ap));
    va_end(ap);
}

static void check_maps(crac_error *problems)
{
    size_t len;
    const char *buf = crac__maps_snapshot(&len);
    const char *cur = buf;
    struct crac_map m;
    if (!buf)
        return;
    while (crac__maps_next(&cur, buf + len, &m) == 1) {
        int deleted = m.path_len > 10 && !memcmp(m.path + m.path_len - 10, " (deleted)", 10);
        const char *why = NULL;
        if ((m.path_len >= 5 && !memcmp(m.path, "/SYSV", 5)) || (m.perms[3] == 's' && m.perms[1] == 'w'))
            continue; /* SysV and shared writable memory: the general checker (src/lib/check_proc.c) */
        if (deleted)
            why = "mapping of a deleted file";
        else if (m.perms[3] == 's' && (!m.path_len || m.path[0] != '/'))
            why = "shared anonymous mapping";
        else if (m.path_len && m.path[0] == '[' && strncmp(m.path, "[heap]", 6) &&
                 strncmp(m.path, "[stack]", 7) && strncmp(m.path, "[anon:", 6) &&
                 strncmp(m.path, "[vdso]", 6) && strncmp(m.path, "[vvar", 5) &&
                 strncmp(m.path, "[vsyscall]", 10))
            why = "special mapping the engine cannot recreate";
        else if (m.path_len && m.path[0] == '/' && m.dev_major == 0 && m.ino == 0)
            why = "mapping of a non-file";
        if (why)
            add(problems, "%s: %lx-%lx %s %.*s", why, (unsigned long)m.start, (unsigned long)m.end,
                m.perms, (int)m.path_len, m.path);
    }
}

/* A seccomp filter cannot be installed again by the restorer (it would
 * have to be rebuilt from the program's own rules): a restored process
 * would run unconfined, so refuse rather than silently drop it. */
static void check_seccomp(crac_error *problems)
{
    /* 0: none.  A filter that refuses prctl() itself makes this fail:
     * refused too (it is there).  The library makes other prctl() calls
     * during a checkpoint anyway. */
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
        add(problems, "a seccomp filter is installed: a restored process would run without it");
}

void crac__dump_refusals(crac_error *problems)
{
    crac__safepoint_check(problems);
    check_maps(problems);
    check_seccomp(problems);
}
