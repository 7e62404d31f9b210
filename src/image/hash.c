/* SPDX-License-Identifier: Apache-2.0 */
/* crac__hash(): XXH3-64, AVX2 where the CPU has it (hash_avx2.c), SSE2
 * (the x86-64 baseline) elsewhere. */
#include <sys/platform/x86.h>
#define XXH_STATIC_LINKING_ONLY
#define XXH_INLINE_ALL
#include <xxhash.h>
#include "image/hash.h"

uint64_t crac__hash_avx2(const void *data, size_t len);

static uint64_t hash_baseline(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

static uint64_t (*hash_fn)(const void *, size_t) = hash_baseline;

/* Chosen when the library is loaded (the dumper must not decide on first
 * use while it saves memory), from the CPU features glibc has already
 * read: executing cpuid again costs a VM exit each time on this kind of
 * machine. */
__attribute__((constructor)) static void pick_hash(void)
{
    if (CPU_FEATURE_ACTIVE(AVX2))
        hash_fn = crac__hash_avx2;
}

uint64_t crac__hash(const void *data, size_t len)
{
    return hash_fn(data, len);
}
