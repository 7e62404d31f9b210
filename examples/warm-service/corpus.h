/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The deterministic corpus the warm-service indexes: a vocabulary of
 * pronounceable words and documents drawn from it with a Zipf distribution,
 * all from a seeded PRNG, so the same --seed and --docs give the same text
 * on every machine (the test counts words in it independently).
 */
#ifndef WARM_CORPUS_H
#define WARM_CORPUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* splitmix64: tiny, fast and good enough for generating test data. */
static inline uint64_t ws_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct corpus {
    uint32_t ndocs;
    uint32_t nwords;      /* vocabulary size */
    char *text;           /* every document, each ended by '\n' */
    size_t text_len;
    uint32_t *doc_off;    /* ndocs + 1 offsets into text */
    char *vocab;          /* the vocabulary, each word ended by '\0' */
    uint32_t *vocab_off;  /* nwords offsets into vocab */
};

/* Generates `ndocs` documents over a vocabulary of `nwords` words.
 * 0, or -ENOMEM (nothing left allocated). */
int corpus_generate(struct corpus *c, uint64_t seed, uint32_t ndocs, uint32_t nwords);
/* Writes the documents, one per line (line k+1 is document k).  0 or -errno. */
int corpus_dump(const struct corpus *c, FILE *out);
/* Frees the document text (the vocabulary stays); the index keeps only ids. */
void corpus_free_text(struct corpus *c);
void corpus_free(struct corpus *c);

#endif
