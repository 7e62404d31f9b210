/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File descriptors the library itself holds (control socket, the pause
 * engine's wake-up eventfd, ...).  The checker skips them: they are the
 * library's to close or keep across a checkpoint, not the application's.
 *
 * A bitmap grown on demand; fd numbers are small and dense, and the checker
 * asks about every open fd, so lookup must be cheap.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define WORD_BITS 64

static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *bits;
static size_t nwords;

void crac__fd_claim(int fd)
{
    if (fd < 0)
        return;
    size_t w = (size_t)fd / WORD_BITS;
    pthread_mutex_lock(&fd_lock);
    if (w >= nwords) {
        size_t n = nwords ? nwords : 4;
        while (n <= w)
            n *= 2;
        uint64_t *b = realloc(bits, n * sizeof(*b));
        if (!b) {
            /* Unclaimed means "reported by the checker": loud, not wrong. */
            pthread_mutex_unlock(&fd_lock);
            crac__log("out of memory claiming fd %d", fd);
            return;
        }
        memset(b + nwords, 0, (n - nwords) * sizeof(*b));
        bits = b;
        nwords = n;
    }
    bits[w] |= UINT64_C(1) << (fd % WORD_BITS);
    pthread_mutex_unlock(&fd_lock);
}

void crac__fd_release(int fd)
{
    if (fd < 0)
        return;
    size_t w = (size_t)fd / WORD_BITS;
    pthread_mutex_lock(&fd_lock);
    if (w < nwords)
        bits[w] &= ~(UINT64_C(1) << (fd % WORD_BITS));
    pthread_mutex_unlock(&fd_lock);
}

bool crac__fd_is_library(int fd)
{
    if (fd < 0)
        return false;
    size_t w = (size_t)fd / WORD_BITS;
    pthread_mutex_lock(&fd_lock);
    bool r = w < nwords && (bits[w] >> (fd % WORD_BITS) & 1);
    pthread_mutex_unlock(&fd_lock);
    return r;
}
