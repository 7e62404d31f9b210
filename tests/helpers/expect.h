/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the helper programs that check what came back after a restore: a
 * check that counts mismatches and prints every one, so that a failing
 * test says all that differs, not only the first.
 */
#ifndef CRAC_TEST_EXPECT_H
#define CRAC_TEST_EXPECT_H

#include <stdio.h>

static int failures;
#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("MISMATCH %s: ", #cond);                                    \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#endif
