/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the lazy restore helpers (lazy-mem.c, lazy-alloc.c): what a restored
 * program can see of the pager that fills its memory from outside.
 *   - Which of its pages are still unserved: a page the pager has not
 *     filled has no page table entry, so mincore() says it is not
 *     resident (a served page, the zero page included, is).  A test uses
 *     it to know that it acted on memory the pager had not reached yet,
 *     which is the case worth testing.
 *   - Whether the pager is done: it then unregisters the memory, and no
 *     mapping carries the "um" flag (userfaultfd missing mode) in smaps.
 *     Memory read only after that shows what the prefetchers left behind:
 *     a fill that wrongly overrode an event (a page the program had
 *     dropped, filled with the image's bytes) is only visible then.
 */
#ifndef CRAC_TEST_LAZYUTIL_H
#define CRAC_TEST_LAZYUTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define LZ_PAGE 4096UL

/* How many of the npages at addr (page-aligned) the pager has not filled. */
static inline size_t lazy_unserved(const void *addr, size_t npages)
{
    static unsigned char vec[1 << 16];
    size_t n = 0;
    for (size_t done = 0; done < npages;) {
        size_t k = npages - done < sizeof(vec) ? npages - done : sizeof(vec);
        if (mincore((char *)addr + done * LZ_PAGE, k * LZ_PAGE, vec) < 0)
            return 0; /* not mapped: nothing unserved */
        for (size_t i = 0; i < k; i++)
            n += !(vec[i] & 1);
        done += k;
    }
    return n;
}

static inline bool lazy_registered(void)
{
    char line[512];
    bool any = false;
    FILE *f = fopen("/proc/self/smaps", "re");
    while (f && !any && fgets(line, sizeof(line), f))
        any = !strncmp(line, "VmFlags:", 8) && (strstr(line, " um ") || strstr(line, " um\n"));
    if (f)
        fclose(f);
    return any;
}

/* Waits until the pager has filled everything and let go of the memory
 * (at once after an eager restore).  0, or -1 after timeout_ms. */
static inline int lazy_wait_pager(int timeout_ms)
{
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < timeout_ms; i++) {
        if (!lazy_registered())
            return 0;
        nanosleep(&ms, NULL);
    }
    return -1;
}

#endif
