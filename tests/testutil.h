/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the test programs: exit 0 pass, 77 skip, 1 fail. */
#ifndef CRAC_TESTUTIL_H
#define CRAC_TESTUTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__,   \
                    #cond);                                                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define SKIP(...)                                                              \
    do {                                                                       \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        exit(77);                                                              \
    } while (0)

/* A fresh private directory for this test (the runner removes it). */
static inline const char *test_tmp(void)
{
    const char *t = getenv("CRAC_TEST_TMP");
    return t ? t : "/tmp";
}

/* Path of the crac command. */
static inline const char *test_crac_bin(void)
{
    const char *b = getenv("CRAC_BIN");
    return b ? b : "build/crac";
}

/* Built with ASan: the native engine cannot checkpoint such a process. */
static inline int test_sanitized(void)
{
    const char *s = getenv("SANITIZE");
    return s && strcmp(s, "1") == 0;
}
#endif
