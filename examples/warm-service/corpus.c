/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic corpus generation (see corpus.h). */
#include "corpus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Consonant-vowel syllables: words read like words, and the most frequent
 * words (low ranks) get the fewest syllables, as in natural language. */
static const char consonants[] = "bdfgklmnprstvz";
static const char vowels[] = "aeiou";
#define NSYLL ((int)(sizeof(consonants) - 1) * (int)(sizeof(vowels) - 1))

/* Word number `rank` in bijective base NSYLL: every rank gets a distinct
 * string, with no two ranks colliding (unlike plain base-N with leading
 * zeros).  Returns the length written into out (at most 2 * 8 chars). */
static size_t word_for_rank(uint32_t rank, char *out)
{
    char rev[16];
    size_t n = 0;
    uint64_t v = (uint64_t)rank + 1;
    while (v > 0 && n + 2 <= sizeof(rev)) {
        v--;
        int d = (int)(v % NSYLL);
        v /= NSYLL;
        rev[n++] = vowels[d % (int)(sizeof(vowels) - 1)];
        rev[n++] = consonants[d / (int)(sizeof(vowels) - 1)];
    }
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

static int build_vocab(struct corpus *c)
{
    c->vocab = malloc((size_t)c->nwords * 17);
    c->vocab_off = malloc((size_t)c->nwords * sizeof(*c->vocab_off));
    if (!c->vocab || !c->vocab_off)
        return -ENOMEM;
    size_t pos = 0;
    for (uint32_t r = 0; r < c->nwords; r++) {
        c->vocab_off[r] = (uint32_t)pos;
        pos += word_for_rank(r, c->vocab + pos);
        c->vocab[pos++] = '\0';
    }
    return 0;
}

/* Cumulative Zipf(1) weights scaled to 2^32, so that a draw is one 32-bit
 * random number and a binary search. */
static uint32_t *zipf_table(uint32_t n)
{
    uint32_t *cum = malloc((size_t)n * sizeof(*cum));
    if (!cum)
        return NULL;
    double total = 0;
    for (uint32_t r = 0; r < n; r++)
        total += 1.0 / (r + 1);
    double acc = 0;
    for (uint32_t r = 0; r < n; r++) {
        acc += 1.0 / (r + 1);
        double v = acc / total * 4294967295.0;
        cum[r] = v >= 4294967295.0 ? UINT32_MAX : (uint32_t)v;
    }
    cum[n - 1] = UINT32_MAX;
    return cum;
}

static uint32_t zipf_draw(const uint32_t *cum, uint32_t n, uint32_t u)
{
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cum[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Appends one document (6 to 24 words) at c->text + *pos, growing the text
 * buffer by doubling. */
static int gen_doc(struct corpus *c, const uint32_t *cum, uint64_t *rng,
                   size_t *cap, size_t *pos)
{
    int len = 6 + (int)(ws_rand_next(rng) % 19);
    for (int w = 0; w < len; w++) {
        if (*pos + 32 > *cap) {
            char *t = realloc(c->text, *cap * 2);
            if (!t)
                return -ENOMEM;
            c->text = t;
            *cap *= 2;
        }
        uint32_t r = zipf_draw(cum, c->nwords, (uint32_t)(ws_rand_next(rng) >> 32));
        const char *word = c->vocab + c->vocab_off[r];
        size_t wl = strlen(word);
        memcpy(c->text + *pos, word, wl);
        *pos += wl;
        c->text[(*pos)++] = w + 1 < len ? ' ' : '\n';
    }
    return 0;
}

int corpus_generate(struct corpus *c, uint64_t seed, uint32_t ndocs, uint32_t nwords)
{
    memset(c, 0, sizeof(*c));
    c->ndocs = ndocs;
    c->nwords = nwords ? nwords : 1;
    size_t cap = (size_t)ndocs * 64 + 64;
    uint32_t *cum = zipf_table(c->nwords);
    c->text = malloc(cap);
    c->doc_off = malloc(((size_t)ndocs + 1) * sizeof(*c->doc_off));
    int rc = (!cum || !c->text || !c->doc_off) ? -ENOMEM : build_vocab(c);
    uint64_t rng = seed;
    size_t pos = 0;
    for (uint32_t d = 0; rc == 0 && d < ndocs; d++) {
        c->doc_off[d] = (uint32_t)pos;
        rc = gen_doc(c, cum, &rng, &cap, &pos);
    }
    free(cum);
    if (rc == 0 && pos > UINT32_MAX)
        rc = -EOVERFLOW; /* offsets are 32-bit: --docs is far too large */
    if (rc < 0) {
        corpus_free(c);
        return rc;
    }
    c->doc_off[ndocs] = (uint32_t)pos;
    c->text_len = pos;
    return 0;
}

int corpus_dump(const struct corpus *c, FILE *out)
{
    if (!c->text)
        return -EINVAL;
    if (fwrite(c->text, 1, c->text_len, out) != c->text_len || fflush(out) != 0)
        return -errno;
    return 0;
}

void corpus_free_text(struct corpus *c)
{
    free(c->text);
    free(c->doc_off);
    c->text = NULL;
    c->doc_off = NULL;
    c->text_len = 0;
}

void corpus_free(struct corpus *c)
{
    corpus_free_text(c);
    free(c->vocab);
    free(c->vocab_off);
    c->vocab = NULL;
    c->vocab_off = NULL;
}
