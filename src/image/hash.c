/* SPDX-License-Identifier: Apache-2.0 */
/* crac__hash(): XXH3-64, AVX2 where the CPU has it (hash_avx2.c), SSE2
 * (the x86-64 baseline) elsewhere. */
#define XXH_STATIC_LINKING_ONLY
#define XXH_INLINE_ALL
#include <xxhash.h>
#include "image/hash.h"

uint64_t crac__hash_avx2(const void *data, size_t len);

static uint64_t hash_baseline(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

/* Chosen once, when the library is loaded (the dumper cannot afford a
 * first-use check while it saves memory, and an ifunc runs before main). */
static uint64_t (*resolve_hash(void))(const void *, size_t)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? crac__hash_avx2 : hash_baseline;
}

uint64_t crac__hash(const void *data, size_t len) __attribute__((ifunc("resolve_hash")));
