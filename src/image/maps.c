/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "image/maps.h"

static int hex(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;
    while (s < end) {
        char c = *s;
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            break;
        v = v << 4 | d;
        s++;
    }
    if (s == *p)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

static int expect(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return -1;
    (*p)++;
    return 0;
}

static void skip_spaces(const char **p, const char *end)
{
    while (*p < end && **p == ' ')
        (*p)++;
}

/* One line: "start-end perms offset major:minor inode   path" */
int crac__maps_next(const char **cur, const char *end, struct crac_map *m)
{
    const char *p = *cur;
    uint64_t maj, min;
    if (p >= end)
        return 0;
    if (hex(&p, end, &m->start) || expect(&p, end, '-') || hex(&p, end, &m->end) ||
        expect(&p, end, ' ') || end - p < 5)
        return -1;
    memcpy(m->perms, p, 4);
    m->perms[4] = 0;
    p += 4;
    if (expect(&p, end, ' ') || hex(&p, end, &m->offset) || expect(&p, end, ' ') ||
        hex(&p, end, &maj) || expect(&p, end, ':') || hex(&p, end, &min) ||
        expect(&p, end, ' '))
        return -1;
    m->dev_major = (unsigned)maj;
    m->dev_minor = (unsigned)min;
    m->ino = 0;
    while (p < end && *p >= '0' && *p <= '9')
        m->ino = m->ino * 10 + (uint64_t)(*p++ - '0');
    skip_spaces(&p, end);
    m->path = p;
    while (p < end && *p != '\n')
        p++;
    m->path_len = (size_t)(p - m->path);
    if (p < end)
        p++;
    *cur = p;
    return 1;
}

long crac__read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n;
        if (got == size) {
            close(fd);
            return -EFBIG;
        }
        n = read(fd, buf + got, size - got);
        if (n < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return (long)got;
}

int crac__map_is(const struct crac_map *m, const char *name)
{
    size_t n = strlen(name);
    return m->path_len == n && memcmp(m->path, name, n) == 0;
}

char *crac__read_file_alloc(const char *path, size_t *len)
{
    size_t size = 1 << 16;
    for (;;) {
        char *buf = malloc(size);
        long n;
        if (!buf)
            return NULL;
        n = crac__read_file(path, buf, size - 1);
        if (n >= 0) {
            buf[n] = 0;
            *len = (size_t)n;
            return buf;
        }
        free(buf);
        if (n != -EFBIG) {
            errno = (int)-n;
            return NULL;
        }
        size *= 4;
    }
}

/* Per thread: checkpoints are serialized, but a dry-run check may run on
 * another thread meanwhile. */
static _Thread_local char *snapshot;
static _Thread_local size_t snapshot_len;

const char *crac__maps_snapshot(size_t *len)
{
    if (!snapshot)
        snapshot = crac__read_file_alloc("/proc/self/maps", &snapshot_len);
    *len = snapshot_len;
    return snapshot;
}

void crac__maps_snapshot_drop(void)
{
    free(snapshot);
    snapshot = NULL;
}
