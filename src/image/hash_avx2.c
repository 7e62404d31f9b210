/* SPDX-License-Identifier: Apache-2.0 */
/* XXH3-64 with AVX2 (chosen at run time by hash.c; never called on a CPU
 * without it).  The target pragma also defines __AVX2__, which makes the
 * xxhash header use its AVX2 code. */
#pragma GCC target("avx2")
#define XXH_STATIC_LINKING_ONLY
#define XXH_INLINE_ALL
#include <xxhash.h>
#include "image/hash.h"

#if XXH_VECTOR != XXH_AVX2
#error "xxhash did not select its AVX2 code"
#endif

uint64_t crac__hash_avx2(const void *data, size_t len);

uint64_t crac__hash_avx2(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}
