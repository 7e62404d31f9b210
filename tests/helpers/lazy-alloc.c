/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test program for lazy restore and allocators (tests/lazy-alloc.sh).  An
 * allocator gives memory back to the kernel (MADV_DONTNEED, trimming the
 * heap) and, knowing the kernel hands it back zeroed, skips clearing it in
 * calloc().  Lazily restored memory must keep that promise: a page the
 * program dropped before the pager reached it reads zero, never the
 * image's bytes.
 *
 * It allocates 192 MiB in 3072 blocks of 64 KiB with malloc, fills them
 * (no zero byte), checkpoints itself; after the restore, at once, frees
 * them all, purges (jemalloc: every arena's dirty pages; glibc:
 * malloc_trim), calloc()s as many blocks of the same size and counts the
 * non-zero bytes in them, then again once the pager is done.  Prints
 * "ALLOC OK <allocator>" and exits 0 when there are none, MISMATCH lines
 * and "ALLOC FAILED <allocator>" otherwise.  The allocator is jemalloc
 * when mallctl() is there (LD_PRELOAD), glibc's otherwise.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "expect.h"
#include "lazyutil.h"

#define NBLOCKS 3072
#define BLOCK (64UL << 10)
#define ARENAS_ALL "4096" /* MALLCTL_ARENAS_ALL */

typedef int (*mallctl_fn)(const char *name, void *old, size_t *oldlen, void *new_,
                          size_t newlen);

static char *blocks[NBLOCKS];

/* Of every `step`th block. */
static size_t nonzero_bytes(int step, size_t *nblocks)
{
    size_t n = 0;
    *nblocks = 0;
    for (int i = 0; i < NBLOCKS; i += step) {
        size_t k = 0;
        for (size_t j = 0; j < BLOCK; j++)
            k += blocks[i][j] != 0;
        n += k;
        *nblocks += k != 0;
    }
    return n;
}

int main(void)
{
    static char out[4096];
    mallctl_fn mallctl = (mallctl_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallctl");
    const char *who = mallctl ? "jemalloc" : "glibc";
    size_t n, nb;
    /* stdout's buffer not on the heap: printing touches no lazy memory */
    setvbuf(stdout, out, _IOLBF, sizeof(out));
    for (int i = 0; i < NBLOCKS; i++) {
        if (!(blocks[i] = malloc(BLOCK))) {
            printf("MISMATCH malloc: out of memory\n");
            return 1;
        }
        memset(blocks[i], 1 + i % 255, BLOCK);
    }
    if (checkpoint())
        return 1;
    printf("RESTORED %s\n", who);
    for (int i = 0; i < NBLOCKS; i++)
        free(blocks[i]);
    if (mallctl) {
        int rc = mallctl("arena." ARENAS_ALL ".purge", NULL, NULL, NULL, 0);
        EXPECT(rc == 0, "mallctl arena." ARENAS_ALL ".purge: %s", strerror(rc));
    } else {
        malloc_trim(0);
    }
    for (int i = 0; i < NBLOCKS; i++)
        if (!(blocks[i] = calloc(1, BLOCK))) {
            printf("MISMATCH calloc: out of memory\n");
            return 1;
        }
    /* Half the blocks at once; the others only once the pager is done: a
     * fill that overrode the purge would show only there. */
    n = nonzero_bytes(2, &nb);
    EXPECT(n == 0, "%zu non-zero bytes in %zu of the %d blocks calloc() returned, read at once",
           n, nb, NBLOCKS / 2);
    EXPECT(lazy_wait_pager(15000) == 0, "the pager still serves after 15 s");
    n = nonzero_bytes(1, &nb);
    EXPECT(n == 0, "%zu non-zero bytes in %zu of the %d blocks calloc() returned, after the pager",
           n, nb, NBLOCKS);
    printf("ALLOC %s %s\n", failures ? "FAILED" : "OK", who);
    return failures ? 1 : 0;
}
