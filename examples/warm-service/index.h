/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An inverted index over the corpus: a hash table of the terms found in the
 * text, and for each term its postings (document id, term frequency) plus a
 * precomputed top list.  Building it is the service's warm-up work.
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
    uint32_t post_off;  /* first posting */
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
    uint32_t *post_doc;
    uint8_t *post_tf;   /* saturates at 255 */
    size_t npost;
};

/* Builds the index from the corpus text.  0, or -ENOMEM (nothing left
 * allocated). */
int index_build(struct index *ix, const struct corpus *c);
/* The term named by the `len` bytes at `word`, or NULL. */
const struct term *index_lookup(const struct index *ix, const char *word, size_t len);
/* Approximate heap bytes the index holds. */
size_t index_bytes(const struct index *ix);
void index_free(struct index *ix);

#endif
