/* SPDX-License-Identifier: Apache-2.0 */
/* AND queries over sorted postings, and the pair cache (see query.h). */
#include "query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Walks the documents that contain every term, in id order: the shortest
 * postings list drives, the others advance their cursors.  Stops after
 * `limit` documents when limit > 0. */
static void intersect(const struct index *ix, const struct term *const *t, int n,
                      uint32_t limit, struct query_result *r)
{
    struct posting_cursor c[QUERY_MAX_TERMS];
    int drive = 0;
    for (int i = 0; i < n; i++) {
        posting_open(ix, t[i], &c[i]);
        if (!posting_next(&c[i]))
            return; /* an empty list matches nothing */
        if (t[i]->df < t[drive]->df)
            drive = i;
    }
    do {
        uint32_t doc = c[drive].doc;
        uint64_t occ = 0;
        int i;
        for (i = 0; i < n; i++) {
            while (c[i].doc < doc)
                if (!posting_next(&c[i]))
                    return; /* one list is exhausted: no more matches */
            if (c[i].doc != doc)
                break;
            occ += c[i].tf;
        }
        if (i < n)
            continue;
        if (r->ntop < INDEX_TOP)
            r->top[r->ntop++] = doc;
        r->docs++;
        r->occurrences += occ;
        if (limit && r->docs >= limit)
            return;
    } while (posting_next(&c[drive]));
}

void query_and(const struct index *ix, const struct pair_cache *pc,
               const struct term *const *terms, int n, struct query_result *r)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < n; i++)
        if (!terms[i])
            return;
    if (n == 1) {
        r->docs = terms[0]->df;
        r->occurrences = terms[0]->occ;
        r->ntop = terms[0]->ntop;
        memcpy(r->top, terms[0]->top, sizeof(r->top));
        return;
    }
    uint32_t a = UINT32_MAX, b = UINT32_MAX;
    if (n == 2 && pc->slot) {
        a = pc->slot[terms[0] - ix->terms];
        b = pc->slot[terms[1] - ix->terms];
    }
    if (a == UINT32_MAX || b == UINT32_MAX) {
        intersect(ix, terms, n, 0, r);
        return;
    }
    /* Counts from the cache; the first ids cost only a short walk. */
    intersect(ix, terms, n, INDEX_TOP, r);
    r->docs = pc->docs[a * pc->k + b];
    r->occurrences = pc->occ[a * pc->k + b];
    r->cached = true;
}

static const struct index *sort_ix; /* qsort has no context argument */
static int by_df_desc(const void *x, const void *y)
{
    const struct term *a = &sort_ix->terms[*(const uint32_t *)x];
    const struct term *b = &sort_ix->terms[*(const uint32_t *)y];
    if (a->df != b->df)
        return a->df < b->df ? 1 : -1;
    return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

int pair_cache_build(struct pair_cache *pc, const struct index *ix, uint32_t k)
{
    memset(pc, 0, sizeof(*pc));
    if (k > ix->nterms)
        k = ix->nterms;
    uint32_t *order = malloc(((size_t)ix->nterms + 1) * sizeof(*order));
    pc->slot = malloc(((size_t)ix->nterms + 1) * sizeof(*pc->slot));
    pc->docs = calloc((size_t)k * k + 1, sizeof(*pc->docs));
    pc->occ = calloc((size_t)k * k + 1, sizeof(*pc->occ));
    if (!order || !pc->slot || !pc->docs || !pc->occ) {
        free(order);
        pair_cache_free(pc);
        return -ENOMEM;
    }
    pc->k = k;
    for (uint32_t i = 0; i < ix->nterms; i++) {
        order[i] = i;
        pc->slot[i] = UINT32_MAX;
    }
    sort_ix = ix;
    qsort(order, ix->nterms, sizeof(*order), by_df_desc);
    for (uint32_t i = 0; i < k; i++)
        pc->slot[order[i]] = i;
    for (uint32_t i = 0; i < k; i++) {
        for (uint32_t j = i; j < k; j++) {
            const struct term *t[2] = {&ix->terms[order[i]], &ix->terms[order[j]]};
            struct query_result r = {0};
            intersect(ix, t, i == j ? 1 : 2, 0, &r);
            pc->docs[i * k + j] = pc->docs[j * k + i] = r.docs;
            pc->occ[i * k + j] = pc->occ[j * k + i] = r.occurrences;
        }
    }
    free(order);
    return 0;
}

void pair_cache_free(struct pair_cache *pc)
{
    free(pc->slot);
    free(pc->docs);
    free(pc->occ);
    memset(pc, 0, sizeof(*pc));
}
