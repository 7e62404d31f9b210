/* SPDX-License-Identifier: Apache-2.0 */
/* XXH3-64 checksums, compiled in (header only): the library and the crac
 * command need only libxxhash-dev at build time, nothing at run time. */
#ifndef CRAC_HASH_H
#define CRAC_HASH_H
#define XXH_STATIC_LINKING_ONLY
#define XXH_INLINE_ALL
#include <xxhash.h>
#endif
