/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing /proc/PID/maps without touching the heap (the dumper parses its
 * own maps while its heap is being saved). */
#ifndef CRAC_MAPS_H
#define CRAC_MAPS_H

#include <stddef.h>
#include <stdint.h>

struct crac_map {
    uint64_t start, end, offset, ino;
    unsigned dev_major, dev_minor;
    char perms[5];     /* "rw-p" */
    const char *path;  /* points into the buffer; not NUL-terminated */
    size_t path_len;   /* 0 for anonymous */
};

/* Parses the line at *cur (advancing it).  1 when a mapping was read, 0 at
 * the end, -1 on a malformed line. */
int crac__maps_next(const char **cur, const char *end, struct crac_map *m);
/* Reads a whole /proc file into buf (no heap).  Bytes read, or -errno
 * (-EFBIG when it does not fit). */
long crac__read_file(const char *path, char *buf, size_t size);
/* Reads a whole file into a malloc'd, NUL-terminated buffer (not for the
 * dumper's saving phase).  NULL with errno set on failure. */
char *crac__read_file_alloc(const char *path, size_t *len);
/* /proc/self/maps read once for the checks of one checkpoint (the general
 * checker's and the engine's), kept until crac__maps_snapshot_drop().
 * NULL with errno set on failure. */
const char *crac__maps_snapshot(size_t *len);
void crac__maps_snapshot_drop(void);
/* 1 when the path is exactly `name` (e.g. "[vdso]"). */
int crac__map_is(const struct crac_map *m, const char *name);

#endif
