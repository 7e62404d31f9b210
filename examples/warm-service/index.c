/* SPDX-License-Identifier: Apache-2.0 */
/* The inverted index (see index.h).  Built in three passes over the text so
 * that postings land in one exact-size array (no per-term reallocations):
 * count, fill, rank. */
#include "index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

static uint32_t *find_slot(const struct index *ix, const char *w, size_t n)
{
    uint32_t mask = ix->nslots - 1;
    for (uint32_t i = (uint32_t)hash_bytes(w, n) & mask;; i = (i + 1) & mask) {
        uint32_t id = ix->slots[i];
        if (id == 0)
            return &ix->slots[i];
        const struct term *t = &ix->terms[id - 1];
        if (t->name_len == n && memcmp(ix->names + t->name_off, w, n) == 0)
            return &ix->slots[i];
    }
}

static int grow_slots(struct index *ix)
{
    uint32_t old_n = ix->nslots, *old = ix->slots;
    ix->nslots = old_n ? old_n * 2 : 1024;
    ix->slots = calloc(ix->nslots, sizeof(*ix->slots));
    if (!ix->slots) {
        ix->slots = old;
        ix->nslots = old_n;
        return -ENOMEM;
    }
    for (uint32_t id = 1; id <= ix->nterms; id++) {
        const struct term *t = &ix->terms[id - 1];
        *find_slot(ix, ix->names + t->name_off, t->name_len) = id;
    }
    free(old);
    return 0;
}

static int add_term(struct index *ix, const char *w, size_t n, uint32_t *slot_out)
{
    if (ix->nterms == ix->terms_cap) {
        uint32_t cap = ix->terms_cap ? ix->terms_cap * 2 : 1024;
        struct term *t = realloc(ix->terms, cap * sizeof(*t));
        if (!t)
            return -ENOMEM;
        ix->terms = t;
        ix->terms_cap = cap;
    }
    while (ix->names_len + n > ix->names_cap) {
        size_t cap = ix->names_cap ? ix->names_cap * 2 : 65536;
        char *p = realloc(ix->names, cap);
        if (!p)
            return -ENOMEM;
        ix->names = p;
        ix->names_cap = cap;
    }
    struct term *t = &ix->terms[ix->nterms];
    memset(t, 0, sizeof(*t));
    t->name_off = (uint32_t)ix->names_len;
    t->name_len = (uint32_t)n;
    memcpy(ix->names + ix->names_len, w, n);
    ix->names_len += n;
    *slot_out = ++ix->nterms;
    return 0;
}

/* Term id of the word, inserting it when new.  -ENOMEM on failure. */
static int64_t intern(struct index *ix, const char *w, size_t n)
{
    if ((ix->nterms + 1) * 2 > ix->nslots && grow_slots(ix) < 0)
        return -ENOMEM;
    uint32_t *slot = find_slot(ix, w, n);
    if (*slot == 0 && add_term(ix, w, n, slot) < 0)
        return -ENOMEM;
    return *slot - 1;
}

/* Calls fn(ix, doc, word, len, arg) for every word of every document. */
typedef int token_fn(struct index *ix, uint32_t doc, const char *w, size_t n, void *arg);
static int for_each_token(struct index *ix, const struct corpus *c, token_fn *fn, void *arg)
{
    for (uint32_t d = 0; d < c->ndocs; d++) {
        const char *p = c->text + c->doc_off[d], *end = c->text + c->doc_off[d + 1];
        while (p < end) {
            const char *w = p;
            while (p < end && *p != ' ' && *p != '\n')
                p++;
            if (p > w) {
                int rc = fn(ix, d, w, (size_t)(p - w), arg);
                if (rc < 0)
                    return rc;
            }
            p++;
        }
    }
    return 0;
}

/* Pass 1: discover terms, count occurrences, document frequencies and
 * document lengths. */
static int count_token(struct index *ix, uint32_t doc, const char *w, size_t n, void *arg)
{
    (void)arg;
    int64_t id = intern(ix, w, n);
    if (id < 0)
        return (int)id;
    struct term *t = &ix->terms[id];
    t->occ++;
    if (ix->doc_len[doc] < 255)
        ix->doc_len[doc]++;
    if (t->last_doc != doc + 1) {
        t->last_doc = doc + 1;
        t->df++;
    }
    return 0;
}

/* Pass 2: the same words again, now appending postings.  A repeated word in
 * one document raises the tf of the posting just written. */
static int fill_token(struct index *ix, uint32_t doc, const char *w, size_t n, void *arg)
{
    (void)arg;
    uint32_t id = *find_slot(ix, w, n) - 1;
    struct term *t = &ix->terms[id];
    size_t p = (size_t)t->post_off + t->fill;
    if (t->last_doc != doc + 1) {
        t->last_doc = doc + 1;
        ix->post_doc[p] = doc;
        ix->post_tf[p] = 1;
        t->fill++;
    } else if (ix->post_tf[p - 1] < 255) {
        ix->post_tf[p - 1]++;
    }
    return 0;
}

/* a ranks before b: higher tf relative to the document's length, then the
 * lower document id (postings come in id order, so strict > keeps that). */
static int better(const struct index *ix, size_t a, size_t b)
{
    uint32_t la = ix->doc_len[ix->post_doc[a]], lb = ix->doc_len[ix->post_doc[b]];
    return (uint32_t)ix->post_tf[a] * lb > (uint32_t)ix->post_tf[b] * la;
}

/* Pass 3: each term's best INDEX_TOP documents, by insertion into a small
 * sorted list. */
static void rank_term(const struct index *ix, struct term *t)
{
    size_t best[INDEX_TOP];
    uint32_t n = 0;
    for (size_t p = t->post_off; p < (size_t)t->post_off + t->df; p++) {
        uint32_t i;
        if (n < INDEX_TOP)
            i = n++;
        else if (better(ix, p, best[INDEX_TOP - 1]))
            i = INDEX_TOP - 1; /* the last one drops out */
        else
            continue;
        while (i > 0 && better(ix, p, best[i - 1])) {
            best[i] = best[i - 1];
            i--;
        }
        best[i] = p;
    }
    t->ntop = n;
    for (uint32_t i = 0; i < n; i++)
        t->top[i] = ix->post_doc[best[i]];
}

static int alloc_postings(struct index *ix)
{
    size_t total = 0;
    for (uint32_t i = 0; i < ix->nterms; i++) {
        ix->terms[i].post_off = (uint32_t)total;
        ix->terms[i].last_doc = 0;
        total += ix->terms[i].df;
    }
    ix->npost = total;
    ix->post_doc = malloc(total * sizeof(*ix->post_doc) + 1);
    ix->post_tf = malloc(total + 1);
    return ix->post_doc && ix->post_tf ? 0 : -ENOMEM;
}

static size_t put_varint(uint8_t *out, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        if (out)
            out[n] = (uint8_t)(v | 0x80);
        v >>= 7;
        n++;
    }
    if (out)
        out[n] = (uint8_t)v;
    return n + 1;
}

/* One term's postings encoded at out (NULL: only counted); their bytes. */
static size_t encode_term(const struct index *ix, const struct term *t, uint8_t *out)
{
    size_t n = 0;
    uint32_t prev = 0;
    for (size_t p = t->post_off; p < (size_t)t->post_off + t->df; p++) {
        uint32_t doc = ix->post_doc[p], tf = ix->post_tf[p];
        n += put_varint(out ? out + n : NULL, (doc - prev) << 1 | (tf > 1));
        if (tf > 1)
            n += put_varint(out ? out + n : NULL, tf);
        prev = doc;
    }
    return n;
}

/* Pass 4: the postings compressed (see index.h), the arrays freed. */
static int encode_postings(struct index *ix)
{
    size_t total = 0, at = 0;
    for (uint32_t i = 0; i < ix->nterms; i++)
        total += encode_term(ix, &ix->terms[i], NULL);
    ix->post = malloc(total + 1);
    if (!ix->post)
        return -ENOMEM;
    for (uint32_t i = 0; i < ix->nterms; i++) {
        struct term *t = &ix->terms[i];
        size_t n = encode_term(ix, t, ix->post + at);
        t->post_off = (uint32_t)at;
        at += n;
    }
    ix->post_bytes = total;
    free(ix->post_doc);
    free(ix->post_tf);
    ix->post_doc = NULL;
    ix->post_tf = NULL;
    return 0;
}

void posting_open(const struct index *ix, const struct term *t, struct posting_cursor *c)
{
    c->p = ix->post + t->post_off;
    c->left = t->df;
    c->doc = 0;
    c->tf = 0;
}

int index_build(struct index *ix, const struct corpus *c)
{
    memset(ix, 0, sizeof(*ix));
    ix->ndocs = c->ndocs;
    ix->doc_len = calloc((size_t)c->ndocs + 1, 1);
    int rc = ix->doc_len ? 0 : -ENOMEM;
    if (rc == 0)
        rc = for_each_token(ix, c, count_token, NULL);
    if (rc == 0)
        rc = alloc_postings(ix);
    if (rc == 0)
        rc = for_each_token(ix, c, fill_token, NULL);
    if (rc < 0) {
        index_free(ix);
        return rc;
    }
    for (uint32_t i = 0; i < ix->nterms; i++)
        rank_term(ix, &ix->terms[i]);
    rc = encode_postings(ix);
    if (rc < 0)
        index_free(ix);
    return rc;
}

const struct term *index_lookup(const struct index *ix, const char *word, size_t len)
{
    if (ix->nslots == 0)
        return NULL;
    uint32_t id = *find_slot(ix, word, len);
    return id ? &ix->terms[id - 1] : NULL;
}

size_t index_bytes(const struct index *ix)
{
    return ix->ndocs + ix->names_cap + (size_t)ix->terms_cap * sizeof(*ix->terms) +
           (size_t)ix->nslots * sizeof(*ix->slots) + ix->post_bytes;
}

void index_free(struct index *ix)
{
    free(ix->doc_len);
    free(ix->names);
    free(ix->terms);
    free(ix->slots);
    free(ix->post_doc);
    free(ix->post_tf);
    free(ix->post);
    memset(ix, 0, sizeof(*ix));
}
