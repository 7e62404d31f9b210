/* SPDX-License-Identifier: Apache-2.0 */
/* What the native engine v1 cannot save: each problem becomes one cause,
 * named precisely enough to fix (fd number and target, mapping and path,
 * thread or child id). */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dump/dump.h"
#include "dump/threads.h"
#include "image/maps.h"
#include "lib/internal.h"

static void __attribute__((format(printf, 2, 3))) add(crac_error *problems, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    crac_error_add_cause(problems, crac__error_vsrc("checker", fmt, ap));
    va_end(ap);
}

static void check_fds(crac_error *problems)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[64], target[512];
        long fd;
        ssize_t n;
        if (e->d_name[0] == '.')
            continue;
        fd = strtol(e->d_name, NULL, 10);
        if (fd <= 2 || fd == dirfd(d) || crac__fd_is_library((int)fd))
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%ld", fd);
        n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = 0;
        add(problems, "open file descriptor %ld: %s (close it before the checkpoint)", fd, target);
    }
    closedir(d);
}

static void check_maps(crac_error *problems)
{
    size_t len;
    char *buf = crac__read_file_alloc("/proc/self/maps", &len);
    const char *cur = buf;
    struct crac_map m;
    if (!buf)
        return;
    while (crac__maps_next(&cur, buf + len, &m) == 1) {
        char what[600];
        int deleted = m.path_len > 10 && !memcmp(m.path + m.path_len - 10, " (deleted)", 10);
        snprintf(what, sizeof(what), "%lx-%lx %s %.*s", (unsigned long)m.start,
                 (unsigned long)m.end, m.perms, (int)m.path_len, m.path);
        if (m.path_len >= 5 && !memcmp(m.path, "/SYSV", 5))
            add(problems, "SysV shared memory is attached: %s", what);
        else if (m.perms[3] == 's' && m.perms[1] == 'w')
            add(problems, "shared writable mapping: %s", what);
        else if (deleted)
            add(problems, "mapping of a deleted file: %s", what);
        else if (m.perms[3] == 's' && (!m.path_len || m.path[0] != '/'))
            add(problems, "shared anonymous mapping: %s", what);
        else if (m.path_len && m.path[0] == '[' && strncmp(m.path, "[heap]", 6) &&
                 strncmp(m.path, "[stack]", 7) && strncmp(m.path, "[anon:", 6) &&
                 strncmp(m.path, "[vdso]", 6) && strncmp(m.path, "[vvar", 5) &&
                 strncmp(m.path, "[vsyscall]", 10))
            add(problems, "special mapping the engine cannot recreate: %s", what);
        else if (m.path_len && m.path[0] == '/' && m.dev_major == 0 && m.ino == 0)
            add(problems, "mapping of a non-file: %s", what);
    }
    free(buf);
}

static void check_children(crac_error *problems)
{
    char path[64], buf[4096];
    long n;
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
    n = crac__read_file(path, buf, sizeof(buf) - 1);
    if (n <= 0)
        return;
    buf[n] = 0;
    for (char *s = buf, *e; *s; s = e) {
        long pid = strtol(s, &e, 10);
        if (e == s)
            break;
        add(problems, "child process %ld is running: wait for it before the checkpoint", pid);
    }
}

void crac__dump_refusals(crac_error *problems)
{
    crac__safepoint_check(problems);
    check_fds(problems);
    check_maps(problems);
    check_children(problems);
}
