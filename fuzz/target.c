/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libFuzzer target: each input is a list of edits (mutate.h) applied
 * to the seed image named by CRAC_FUZZ_SEED; the mutated image is then
 * read and checked as `crac restore` would before it changes anything
 * (harness.c).  Built with ASan and UBSan: a crash, a leak or undefined
 * behaviour in the reader or the checks is a finding.  The work directory
 * is CRAC_FUZZ_WORK (default: a directory under /dev/shm, removed at exit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "fuzz/harness.h"

static struct fz_harness h;
static char work[256];

static void cleanup(void)
{
    fz_teardown(&h);
    rmdir(work);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *seed = getenv("CRAC_FUZZ_SEED"), *w = getenv("CRAC_FUZZ_WORK");
    (void)argc, (void)argv;
    if (!seed) {
        fprintf(stderr, "fuzz: set CRAC_FUZZ_SEED to a seed image (fuzz/run.sh makes one)\n");
        exit(2);
    }
    snprintf(work, sizeof(work), "%s", w ? w : "/dev/shm/crac-fuzz.XXXXXX");
    if (!w && !mkdtemp(work)) {
        perror("fuzz: mkdtemp");
        exit(2);
    }
    if (fz_setup(&h, seed, work))
        exit(2);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_make(&h, data, size) == 0)
        fz_check(&h, true, NULL);
    return 0;
}
