/* SPDX-License-Identifier: Apache-2.0 */
/* Applying edits to a meta file taken apart, and laying it out again with
 * every checksum recomputed (mutate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz/mutate.h"
#include "image/hash.h"

static const uint64_t interesting[] = {
    0, 1, 2, 3, 7, 8, 16, 20, 24, 32, 64, 0x7f, 0x80, 0xff, 0x100, 0x1ff, 0x200, 0x201, 0x777,
    0xfff, 0x1000, 0x1001, 0x2000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
    0x100000000, 32768, 32769, 4194304, 4194305, 1ULL << 46, (1ULL << 47) - 0x2000,
    (1ULL << 47) - 0x1000, (1ULL << 47) - 1, 1ULL << 47, 1ULL << 62, 0x7fffffffffffffff,
    1ULL << 63, ~0ULL, ~0ULL - 1, ~0ULL - 0xfff, ~0ULL - 0x1000,
};

int fz_meta_load(struct fz_meta *m, const void *meta, size_t len)
{
    const struct crac_img_header *h = meta;
    memset(m, 0, sizeof(*m));
    if (len < sizeof(*h) || h->nsections != CRAC_SEC_MAX)
        return -1;
    m->hdr = *h;
    for (int i = 0; i < CRAC_SEC_MAX; i++) {
        const struct crac_img_section *s = &h->sections[i];
        if (s->offset > len || s->size > len - s->offset)
            return -1;
        m->sec[i] = malloc(s->size + 8);
        if (!m->sec[i])
            return -1;
        memcpy(m->sec[i], (const uint8_t *)meta + s->offset, s->size);
        m->len[i] = s->size;
    }
    return 0;
}

int fz_meta_copy(struct fz_meta *dst, const struct fz_meta *src)
{
    *dst = *src;
    for (int i = 0; i < CRAC_SEC_MAX; i++) {
        dst->sec[i] = malloc(src->len[i] + 8);
        if (!dst->sec[i])
            return -1;
        memcpy(dst->sec[i], src->sec[i], src->len[i]);
    }
    return 0;
}

void fz_meta_free(struct fz_meta *m)
{
    for (int i = 0; i < CRAC_SEC_MAX; i++)
        free(m->sec[i]);
    memset(m, 0, sizeof(*m));
}

static uint64_t load(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n); /* little-endian */
    return v;
}

static void store(uint8_t *p, size_t n, uint64_t v)
{
    memcpy(p, &v, n);
}

size_t fz_decode(const uint8_t *data, size_t size, struct fz_edit *out)
{
    size_t n = size / FZ_EDIT_SIZE;
    n = n > FZ_MAX_EDITS ? FZ_MAX_EDITS : n;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *d = data + i * FZ_EDIT_SIZE;
        out[i] = (struct fz_edit){d[0] % FZ_NOPS, d[1] % (CRAC_SEC_MAX + 1),
                                  (uint16_t)load(d + 2, 2), (uint16_t)load(d + 4, 2),
                                  (uint16_t)load(d + 6, 2), load(d + 8, 8)};
    }
    return n;
}

/* An address near a saved region's start or end (value picks which, and
 * how far: -8..+8 pages, and sometimes a few bytes off). */
static uint64_t near_region(const struct fz_meta *m, uint64_t value)
{
    size_t n = m->len[CRAC_SEC_REGIONS - 1] / sizeof(struct crac_img_region);
    const struct crac_img_region *r = (const void *)m->sec[CRAC_SEC_REGIONS - 1];
    if (!n)
        return value;
    r += value % n;
    value /= n;
    uint64_t base = value & 1 ? r->end : r->start;
    int64_t pages = (int64_t)((value >> 1) % 17) - 8;
    uint64_t bytes = (value >> 6) & 1 ? (value >> 7) % 64 : 0;
    return base + (uint64_t)(pages * (int64_t)CRAC_PAGE) + bytes;
}

/* The new value of a field: old, or one of the same field of `other`. */
static uint64_t new_value(const struct fz_meta *m, const struct fz_edit *e, uint64_t old,
                          uint64_t other, size_t bits)
{
    switch (e->op) {
    case FZ_SET: return e->value;
    case FZ_ADD: return old + e->value;
    case FZ_FLIP: return old ^ (1ULL << (e->value % bits));
    case FZ_INTERESTING:
        return interesting[e->value % (sizeof(interesting) / sizeof(interesting[0]))];
    case FZ_COPY: return other;
    case FZ_ADDR: return near_region(m, e->value);
    }
    return old;
}

/* A field op on the entry at base (n entries of es bytes from first). */
static void edit_field(const struct fz_meta *m, const struct fz_field *f, const struct fz_edit *e,
                       uint8_t *base, const uint8_t *other, const uint8_t *limit)
{
    size_t idx = f->count > 1 ? e->aux % f->count : 0, off = f->offset + idx * f->stride;
    uint8_t *p = base + off;
    if (p + f->size > limit)
        return;
    uint64_t v = new_value(m, e, load(p, f->size), other && other + off + f->size <= limit
                           ? load(other + off, f->size) : 0, f->size * 8);
    store(p, f->size, v);
}

/* Bytes of a byte section (strings, labels, notes, descriptor data). */
static void edit_bytes(struct fz_meta *m, int s, const struct fz_edit *e)
{
    size_t len = m->len[s], pos = (((size_t)e->entry << 16) | e->field) % (len + 1);
    uint8_t *b;
    if (e->op == FZ_DELETE) {
        size_t cut = e->value % 16 + 1;
        cut = cut > len - pos ? len - pos : cut;
        memmove(m->sec[s] + pos, m->sec[s] + pos + cut, len - pos - cut);
        m->len[s] -= cut;
        return;
    }
    if (e->op == FZ_DUPLICATE) {
        if (!(b = realloc(m->sec[s], len + 9)))
            return;
        m->sec[s] = b;
        memmove(b + pos + 1, b + pos, len - pos);
        b[pos] = (uint8_t)e->value;
        m->len[s]++;
        return;
    }
    if (pos < len)
        m->sec[s][pos] = e->op == FZ_FLIP ? m->sec[s][pos] ^ (uint8_t)(1u << (e->value % 8))
                                          : (uint8_t)e->value;
}

/* Descriptor data: a field of the slice of descriptor record `entry`. */
static void edit_data(struct fz_meta *m, const struct fz_edit *e)
{
    size_t nfds = m->len[CRAC_SEC_FDS - 1] / sizeof(struct crac_img_fd), nf;
    const struct crac_img_fd *fds = (const void *)m->sec[CRAC_SEC_FDS - 1];
    const struct fz_field *f = fz_data_fields(&nf);
    uint8_t *data = m->sec[CRAC_SEC_FDDATA - 1];
    size_t len = m->len[CRAC_SEC_FDDATA - 1];
    if (e->op >= FZ_DELETE || !nfds) {
        edit_bytes(m, CRAC_SEC_FDDATA - 1, e);
        return;
    }
    uint64_t off = fds[e->entry % nfds].data_off;
    if (off < len)
        edit_field(m, &f[e->field % nf], e, data + off, NULL, data + len);
}

static void edit_entries(struct fz_meta *m, int s, size_t es, const struct fz_edit *e)
{
    size_t n = m->len[s] / es, k, j, nf;
    uint8_t *b = m->sec[s], tmp[sizeof(struct crac_img_proc)];
    const struct fz_field *f = fz_fields((unsigned)s + 1, &nf);
    if (!n)
        return;
    k = e->entry % n;
    j = e->value % n;
    switch (e->op) {
    case FZ_DELETE:
        memmove(b + k * es, b + (k + 1) * es, (n - k - 1) * es);
        m->len[s] -= es;
        return;
    case FZ_DUPLICATE:
        if (!(b = realloc(b, m->len[s] + es + 8)))
            return;
        m->sec[s] = b;
        memmove(b + (k + 1) * es, b + k * es, (n - k) * es);
        m->len[s] += es;
        return;
    case FZ_SWAP:
        memcpy(tmp, b + k * es, es);
        memcpy(b + k * es, b + j * es, es);
        memcpy(b + j * es, tmp, es);
        return;
    case FZ_BYTE:
        b[k * es + (((size_t)e->aux << 16 | e->field) % es)] = (uint8_t)e->value;
        return;
    }
    edit_field(m, &f[e->field % nf], e, b + k * es, b + j * es, b + n * es);
}

void fz_apply(struct fz_meta *m, const struct fz_edit *e)
{
    size_t es = fz_entsize(e->section);
    if (e->op == FZ_STALE) {
        m->stale |= 1u << e->section;
    } else if (e->section == 0) {
        if (m->nhdr_edits < FZ_MAX_EDITS && e->op < FZ_DELETE)
            m->hdr_edits[m->nhdr_edits++] = *e;
    } else if (e->section == CRAC_SEC_FDDATA) {
        edit_data(m, e);
    } else if (!es) {
        edit_bytes(m, e->section - 1, e);
    } else {
        edit_entries(m, e->section - 1, es, e);
    }
}

uint8_t *fz_meta_build(const struct fz_meta *m, size_t *len)
{
    struct crac_img_header h = m->hdr;
    size_t nf, off = sizeof(h);
    const struct fz_field *f = fz_fields(0, &nf);
    uint8_t *out;
    for (int i = 0; i < CRAC_SEC_MAX; i++)
        off += (m->len[i] + 7) & ~(size_t)7;
    if (!(out = calloc(1, off)))
        return NULL;
    off = sizeof(h);
    for (int i = 0; i < CRAC_SEC_MAX; i++) {
        h.sections[i].offset = off;
        h.sections[i].size = m->len[i];
        if (!(m->stale & (1u << (i + 1))))
            h.sections[i].hash = crac__hash(m->sec[i], m->len[i]);
        memcpy(out + off, m->sec[i], m->len[i]);
        off += (m->len[i] + 7) & ~(size_t)7;
    }
    h.meta_size = off;
    for (int i = 0; i < m->nhdr_edits; i++)
        edit_field(m, &f[m->hdr_edits[i].field % nf], &m->hdr_edits[i], (uint8_t *)&h, NULL,
                   (uint8_t *)(&h + 1));
    if (!(m->stale & 1)) {
        h.header_hash = 0;
        h.header_hash = crac__hash(&h, sizeof(h));
    }
    memcpy(out, &h, sizeof(h));
    *len = off;
    return out;
}

void fz_describe(const struct fz_meta *m, const struct fz_edit *e, char *buf, size_t size)
{
    static const char *const ops[FZ_NOPS] = {"set", "add", "flip", "interesting", "copy",
                                             "addr", "delete", "duplicate", "swap", "byte",
                                             "stale"};
    size_t nf = 0, es = fz_entsize(e->section);
    const struct fz_field *f = e->section == CRAC_SEC_FDDATA ? fz_data_fields(&nf)
                                                             : fz_fields(e->section, &nf);
    size_t n = es ? m->len[e->section - 1] / es : 0;
    const char *field = f && nf && e->op < FZ_DELETE ? f[e->field % nf].name : "-";
    snprintf(buf, size, "%s[%u].%s[%u] %s %#llx", fz_section_names[e->section],
             n ? (unsigned)(e->entry % n) : e->entry, field, e->aux, ops[e->op],
             (unsigned long long)e->value);
}
