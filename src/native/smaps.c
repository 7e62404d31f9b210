/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mappings by their VmFlags, which only /proc/self/smaps shows: "wf"
 * (MADV_WIPEONFORK, wipe.c), "um" (registered with a userfaultfd, lazy.c).
 * Read in pieces through a buffer on the stack: no heap, so it may run
 * while the heap is being saved.  About 50 us for a small process.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "image/maps.h"
#include "native/dump.h"

struct smaps_walk {
    const char *flag;
    int (*fn)(void *arg, uint64_t start, uint64_t end);
    void *arg;
    struct crac_map cur;
};

/* One line: a mapping's first line sets cur; its VmFlags line calls fn
 * when it has the flag. */
static int smaps_line(struct smaps_walk *w, const char *line, const char *end)
{
    if (end - line > 8 && !memcmp(line, "VmFlags:", 8)) {
        for (const char *p = line + 8; p + 3 <= end; p += 3)
            if (p[0] == ' ' && p[1] == w->flag[0] && p[2] == w->flag[1] &&
                (p + 3 == end || p[3] == ' '))
                return w->fn(w->arg, w->cur.start, w->cur.end);
        return 0;
    }
    /* "Size:", "Rss:", ... start with a capital; a mapping with a hex digit. */
    if ((*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f')) {
        const char *p = line;
        return crac__maps_next(&p, end + 1, &w->cur) == 1 ? 0 : -EINVAL;
    }
    return 0;
}

int crac__smaps_flagged(const char *flag, int (*fn)(void *arg, uint64_t start, uint64_t end),
                        void *arg)
{
    char buf[16384];
    struct smaps_walk w = {flag, fn, arg, {0}};
    size_t have = 0;
    int rc = 0, fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        have += (size_t)n;
        char *line = buf, *nl;
        while (!rc && (nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
            rc = smaps_line(&w, line, nl);
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (rc || have == sizeof(buf)) { /* a line longer than the buffer: not smaps */
            rc = rc ? rc : -EINVAL;
            break;
        }
    }
    close(fd);
    return rc;
}
