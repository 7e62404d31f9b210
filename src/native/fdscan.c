/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The descriptor scan's area and the helpers every kind uses (fds.h):
 * fdinfo read with read() and parsed without stdio, room in the data
 * area, refusals.  System calls only: a capture runs with the other
 * threads parked.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "native/fds.h"

static size_t page_up(size_t n)
{
    return (n + 4095) & ~(size_t)4095;
}

size_t crac__fdscan_size(void)
{
    return page_up(sizeof(struct crac__fdscan)) +
           page_up(CRAC__FDSCAN_MAX * sizeof(struct crac__fdent)) + CRAC__FDSCAN_DATA +
           CRAC__FDSCAN_TEXT + page_up(CRAC__FDSCAN_MAX * sizeof(struct crac_img_fd));
}

struct crac__fdscan *crac__fdscan_init(void *area)
{
    struct crac__fdscan *s = area;
    char *p = (char *)area + page_up(sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->ents = (void *)p;
    p += page_up(CRAC__FDSCAN_MAX * sizeof(struct crac__fdent));
    s->data = (void *)p;
    p += CRAC__FDSCAN_DATA;
    s->text = p;
    p += CRAC__FDSCAN_TEXT;
    s->out = (void *)p;
    s->scratch_pipe[0] = s->scratch_pipe[1] = -1;
    return s;
}

const char *crac__fdscan_path(char *buf, const char *dir, int fd)
{
    char digits[12];
    int n = 0;
    size_t len = strlen(dir);
    memcpy(buf, dir, len);
    do
        digits[n++] = (char)('0' + fd % 10);
    while ((fd /= 10) > 0);
    while (n)
        buf[len++] = digits[--n];
    buf[len] = '\0';
    return buf;
}

int crac__fdscan_fdinfo(struct crac__fdscan *s, int fd)
{
    char path[40];
    int f = open(crac__fdscan_path(path, "/proc/self/fdinfo/", fd), O_RDONLY | O_CLOEXEC);
    ssize_t r = 0;
    if (f < 0)
        return -errno;
    s->text_len = 0;
    while (s->text_len < CRAC__FDSCAN_TEXT - 1 &&
           (r = read(f, s->text + s->text_len, CRAC__FDSCAN_TEXT - 1 - s->text_len)) > 0)
        s->text_len += (size_t)r;
    close(f);
    s->text[s->text_len] = '\0';
    if (r < 0)
        return -errno;
    return s->text_len == CRAC__FDSCAN_TEXT - 1 ? -E2BIG : 0;
}

const char *crac__fdscan_field(const struct crac__fdscan *s, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = s->text; p && *p;) {
        if (!strncmp(p, key, k))
            return p + k;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return NULL;
}

uint64_t crac__fdscan_num(const char *p, int base)
{
    uint64_t v = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    for (;; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : 99;
        if (d >= base)
            return v;
        v = v * (uint64_t)base + (uint64_t)d;
    }
}

long crac__fdscan_reserve(struct crac__fdscan *s, size_t n)
{
    size_t at = (s->data_len + 7) & ~(size_t)7;
    if (n > CRAC__FDSCAN_DATA - at)
        return -ENOSPC;
    s->data_len = at + n;
    return (long)at;
}

int crac__fdscan_find(const struct crac__fdscan *s, int fd)
{
    size_t lo = 0, hi = s->n; /* ascending */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ents[mid].fd == fd)
            return (int)mid;
        if (s->ents[mid].fd < fd)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void crac__fdscan_refuse(struct crac__fdent *e, const char *why, int n)
{
    if (!e->why) {
        e->why = why;
        e->why_fd = n;
    }
}

bool crac__fdscan_refused(const struct crac__fdscan *s, const struct crac__fdent *e)
{
    return e->why || s->ents[e->same].why;
}

