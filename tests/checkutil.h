/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the checker and policy tests: finding a problem in an error
 * tree, writing a policies file, capturing stderr. */
#ifndef CRAC_CHECKUTIL_H
#define CRAC_CHECKUTIL_H
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crac.h"
#include "testutil.h"

/* The message of the first direct cause that starts with `prefix` and
 * contains `part` (NULL: any), or NULL. */
static inline const char *find_cause(const crac_error *e, const char *prefix, const char *part)
{
    for (size_t i = 0; i < crac_error_cause_count(e); i++) {
        const char *m = crac_error_message(crac_error_cause(e, i));
        if (strncmp(m, prefix, strlen(prefix)) == 0 && (!part || strstr(m, part)))
            return m;
    }
    return NULL;
}

/* Fails the test unless some cause starts with "fd N: " and contains part. */
#define EXPECT_FD(err, fd, part)                                               \
    do {                                                                       \
        char pre_[32];                                                         \
        snprintf(pre_, sizeof(pre_), "fd %d: ", (fd));                         \
        CHECK(find_cause((err), pre_, (part)), "no problem '%s...%s'", pre_,   \
              (part));                                                         \
    } while (0)

/* Writes a policies file in the test's directory; returns its path (static). */
static inline const char *write_policies(const char *name, const char *fmt, ...)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", test_tmp(), name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
    return path;
}

/* Prints the error tree (for the test log) and returns it formatted
 * (caller frees). */
static inline char *show(const crac_error *e)
{
    char *s = crac_error_format(e);
    fprintf(stderr, "%s", s ? s : "(no error)\n");
    return s;
}

/* stderr into a file from now on; stderr_text() reads what was written.
 * No copy of the old stderr is kept open meanwhile (the checker would
 * report it): stderr_text() puts stdout's file there instead, which is
 * where the runner sends both. */
static char stderr_path[4096];

static inline void capture_stderr(void)
{
    snprintf(stderr_path, sizeof(stderr_path), "%s/stderr.txt", test_tmp());
    int fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0, "cannot open %s", stderr_path);
    fflush(stderr);
    dup2(fd, 2);
    close(fd);
}

/* Sends stderr where stdout goes and returns what was captured (static). */
static inline const char *stderr_text(void)
{
    static char text[16384];
    fflush(stderr);
    fflush(stdout);
    dup2(1, 2);
    FILE *f = fopen(stderr_path, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    fprintf(stderr, "--- captured stderr:\n%s---\n", text);
    return text;
}
#endif
