/* SPDX-License-Identifier: Apache-2.0 */
/* XXH3-64 checksums, compiled in from the xxhash header (libxxhash-dev at
 * build time, nothing at run time).  crac__hash() picks the widest vector
 * code this CPU runs (src/image/hash.c): checksums are computed over every
 * byte of page data at checkpoint and at restore, and AVX2 does it in about
 * half the time of the SSE2 baseline.  The result is the same either way. */
#ifndef CRAC_HASH_H
#define CRAC_HASH_H
#include <stddef.h>
#include <stdint.h>

uint64_t crac__hash(const void *data, size_t len);

#endif
