/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crac__log(): the library's steps on stderr when CRAC_LOG is set (any
 * non-empty value but "0").  Read on every call rather than once, so that an
 * environment given to a restored process (crac restore --env) takes effect.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

static bool log_enabled(void)
{
    const char *v = secure_getenv("CRAC_LOG");
    return v && *v && strcmp(v, "0") != 0;
}

void crac__log(const char *fmt, ...)
{
    if (!log_enabled())
        return;
    /* One write per line, so lines from several threads do not interleave. */
    char line[1024];
    int n = snprintf(line, sizeof(line), "crac: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated */
    if (len == 0 || line[len - 1] != '\n')
        line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
