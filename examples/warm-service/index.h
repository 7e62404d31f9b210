/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An inverted index over the corpus: a hash table of the terms found in the
 * text, and for each term its postings (document id, term frequency) plus a
 * precomputed top list.  Building it is the service's warm-up work.
 *
 * Postings are stored as search engines store them, compressed: per term,
 * in document order, each posting is a varint of (gap to the previous
 * document id << 1 | tf > 1), then a varint of tf when it is above 1.  That
 * takes 1.3 bytes a posting here instead of 5, and a smaller memory is also
 * a faster restore: every byte of it is read back.
 */
#ifndef WARM_INDEX_H
#define WARM_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "corpus.h"

#define INDEX_TOP 5

struct term {
    uint32_t name_off;  /* into index.names */
    uint32_t name_len;
    uint32_t df;        /* documents that contain the term */
    uint32_t occ;       /* occurrences in the whole corpus */
    uint32_t post_off;  /* first posting: while building an index into
                           post_doc/post_tf, then a byte offset into post */
    uint32_t ntop;
    uint32_t top[INDEX_TOP]; /* best documents: highest tf / document length */
    uint32_t last_doc;  /* while building: last document seen + 1 */
    uint32_t fill;      /* while building: postings written so far */
};

struct index {
    uint32_t ndocs;
    uint8_t *doc_len;   /* words per document */
    char *names;        /* term names, back to back */
    size_t names_len, names_cap;
    struct term *terms;
    uint32_t nterms, terms_cap;
    uint32_t *slots;    /* open addressing: term id + 1, 0 = empty */
    uint32_t nslots;    /* a power of two */
    uint32_t *post_doc; /* while building */
    uint8_t *post_tf;   /* while building; saturates at 255 */
    size_t npost;
    uint8_t *post;      /* the encoded postings */
    size_t post_bytes;
};

/* Reads a term's postings in document order. */
struct posting_cursor {
    const uint8_t *p;
    uint32_t left;      /* postings not read yet */
    uint32_t doc, tf;   /* the current one (after posting_next() said 1) */
};
void posting_open(const struct index *ix, const struct term *t, struct posting_cursor *c);
/* Moves to the next posting: 1, or 0 when there is none. */
static inline int posting_next(struct posting_cursor *c)
{
    uint32_t v = 0, tf = 0;
    int shift = 0;
    if (!c->left)
        return 0;
    c->left--;
    do
        v |= (uint32_t)(*c->p & 0x7f) << shift, shift += 7;
    while (*c->p++ & 0x80);
    if (v & 1) {
        shift = 0;
        do
            tf |= (uint32_t)(*c->p & 0x7f) << shift, shift += 7;
        while (*c->p++ & 0x80);
    } else {
        tf = 1;
    }
    c->doc += v >> 1;
    c->tf = tf;
    return 1;
}

/* Builds the index from the corpus text.  0, or -ENOMEM (nothing left
 * allocated). */
int index_build(struct index *ix, const struct corpus *c);
/* The term named by the `len` bytes at `word`, or NULL. */
const struct term *index_lookup(const struct index *ix, const char *word, size_t len);
/* Approximate heap bytes the index holds. */
size_t index_bytes(const struct index *ix);
void index_free(struct index *ix);

#endif
