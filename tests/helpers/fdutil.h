/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the descriptor tests (native-fds.c, native-fds-refuse.c), besides
 * expect.h's mismatch counter and checkpoint.h's call: a snapshot of every
 * descriptor's number, kind and flags, so that a restore can be compared
 * with what was there, exactly.
 */
#ifndef CRAC_TEST_FDUTIL_H
#define CRAC_TEST_FDUTIL_H

#include <crac.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "expect.h"
#include "testutil.h"

struct fdsnap {
    int n;
    struct {
        int fd, fl, fdfl;
        char kind[64];
    } e[256];
};

/* The link text up to its inode ("pipe:[", "socket:[") or whole (paths). */
static void fd_kind(int fd, char *out, size_t size)
{
    char path[64];
    if (!out || !size)
        return; /* (never: tells gcc's -fsanitize build out is not NULL) */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    char *br = strchr(out, '[');
    if (br && (!strncmp(out, "pipe:", 5) || !strncmp(out, "socket:", 7)))
        br[1] = '\0';
}

static void fd_snapshot(struct fdsnap *s)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    s->n = 0;
    while (d && (de = readdir(d)) && s->n < 256) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd <= 2 || fd == dirfd(d))
            continue;
        s->e[s->n].fd = fd;
        s->e[s->n].fl = fcntl(fd, F_GETFL);
        s->e[s->n].fdfl = fcntl(fd, F_GETFD);
        fd_kind(fd, s->e[s->n].kind, sizeof(s->e[s->n].kind));
        s->n++;
    }
    if (d)
        closedir(d);
}

/* The same numbers, kinds, status flags and close-on-exec flags. */
static void fd_compare(const struct fdsnap *before)
{
    struct fdsnap now;
    fd_snapshot(&now);
    EXPECT(now.n == before->n, "%d descriptors after, %d before", now.n, before->n);
    for (int i = 0; i < before->n && i < now.n; i++) {
        EXPECT(now.e[i].fd == before->e[i].fd, "fd %d now, %d before", now.e[i].fd,
               before->e[i].fd);
        EXPECT(now.e[i].fl == before->e[i].fl, "fd %d: F_GETFL %#o, was %#o", now.e[i].fd,
               now.e[i].fl, before->e[i].fl);
        EXPECT(now.e[i].fdfl == before->e[i].fdfl, "fd %d: F_GETFD %d, was %d", now.e[i].fd,
               now.e[i].fdfl, before->e[i].fdfl);
        EXPECT(!strcmp(now.e[i].kind, before->e[i].kind), "fd %d: %s, was %s", now.e[i].fd,
               now.e[i].kind, before->e[i].kind);
    }
}

/* The value after "key" in /proc/self/fdinfo/FD, copied to out ("" if none). */
static void fdinfo_field(int fd, const char *key, char *out, size_t size)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, strlen(key))) {
            snprintf(out, size, "%s", line + strlen(key));
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
}

#endif
