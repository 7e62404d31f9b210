/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Queries of one to QUERY_MAX_TERMS words (documents that contain all of
 * them), and a cache of the answers for every pair of the most frequent
 * terms: the expensive queries, computed during warm-up.
 */
#ifndef WARM_QUERY_H
#define WARM_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "index.h"

#define QUERY_MAX_TERMS 4

struct query_result {
    uint32_t docs;        /* documents containing every term */
    uint64_t occurrences; /* of the terms, in those documents */
    uint32_t ntop;
    uint32_t top[INDEX_TOP]; /* one term: best documents; more: first ids */
    bool cached;          /* counts came from the pair cache */
};

struct pair_cache {
    uint32_t k;           /* terms covered: the k with the highest df */
    uint32_t *slot;       /* per term id: its place among the k, or UINT32_MAX */
    uint32_t *docs;       /* k * k */
    uint64_t *occ;        /* k * k */
};

/* Intersects the postings of every pair of the k most frequent terms.
 * 0 or -ENOMEM (nothing left allocated). */
int pair_cache_build(struct pair_cache *pc, const struct index *ix, uint32_t k);
void pair_cache_free(struct pair_cache *pc);

/* Answers a query; any term NULL (unknown word) gives an empty result. */
void query_and(const struct index *ix, const struct pair_cache *pc,
               const struct term *const *terms, int n, struct query_result *r);

#endif
