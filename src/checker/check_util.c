/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers of the checker: growing text, reading small /proc files. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checker/checker.h"

static bool sb_reserve(struct crac__sb *sb, size_t more)
{
    if (sb->oom)
        return false;
    if (sb->len + more + 1 <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 128;
    while (cap < sb->len + more + 1)
        cap *= 2;
    char *b = realloc(sb->buf, cap);
    if (!b) {
        sb->oom = true;
        return false;
    }
    sb->buf = b;
    sb->cap = cap;
    return true;
}

void crac__sb_printf(struct crac__sb *sb, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(sb, (size_t)n))
        return;
    if ((size_t)n < sizeof(small)) {
        memcpy(sb->buf + sb->len, small, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    sb->len += (size_t)n;
}

char *crac__sb_take(struct crac__sb *sb)
{
    char *s = sb->buf;
    if (sb->oom) {
        free(s);
        s = NULL;
    } else if (!s) {
        s = strdup("");
    }
    *sb = (struct crac__sb){0};
    return s;
}

long crac__read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return (long)len;
}
