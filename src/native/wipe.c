/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory marked MADV_WIPEONFORK: a fork's child finds it zeroed, which is
 * how libraries that keep secrets or random state there (BoringSSL,
 * LibreSSL's arc4random, ...) notice that they were copied.  A restored
 * instance is a copy too: such memory is not saved (its secrets do not go
 * into the image either), reads as zeros in every instance, and is marked
 * again at restore, so that the instance's own forks still wipe it.
 *
 * Only /proc/self/smaps shows the flag ("wf" in VmFlags).  It is read in
 * the writing phase, with the other threads parked (nothing changes under
 * it), in pieces through a buffer on the stack: no heap.  About 50 us for
 * a small process.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "image/maps.h"
#include "native/dump.h"

/* Handles one line of smaps: a mapping's first line sets `cur`; its
 * VmFlags line adds it to d->wipe when it says "wf". */
static int smaps_line(struct crac__dump *d, const char *line, const char *end, struct crac_map *cur)
{
    if (end - line > 8 && !memcmp(line, "VmFlags:", 8)) {
        for (const char *p = line + 8; p + 2 <= end; p += 3)
            if (p[0] == ' ' && p + 3 <= end && p[1] == 'w' && p[2] == 'f' &&
                (p + 3 == end || p[3] == ' ')) {
                if (d->nwipe == CRAC__WIPE_MAX)
                    return -E2BIG;
                d->wipe[d->nwipe].start = cur->start;
                d->wipe[d->nwipe++].end = cur->end;
                break;
            }
        return 0;
    }
    /* "Size:", "Rss:", ... start with a capital; a mapping with a hex digit. */
    if ((*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f')) {
        const char *p = line;
        return crac__maps_next(&p, end + 1, cur) == 1 ? 0 : -EINVAL;
    }
    return 0;
}

int crac__dump_find_wipe(struct crac__dump *d)
{
    char buf[16384];
    struct crac_map cur = {0};
    size_t have = 0;
    int rc = 0, fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    d->nwipe = 0;
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
            rc = smaps_line(d, line, nl, &cur);
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

bool crac__dump_wiped(const struct crac__dump *d, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < d->nwipe; i++)
        if (start >= d->wipe[i].start && end <= d->wipe[i].end)
            return true;
    return false;
}
