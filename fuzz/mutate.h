/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structure-aware mutations of an image's meta file (fuzz/README.md).
 * An input is a list of edits, 16 bytes each, applied to a seed image
 * taken apart into its sections; the meta file is then laid out again with
 * every section checksum and the header checksum recomputed, so that each
 * mutation reaches the checks of meaning behind the checksums.
 *
 * An edit: op, section (0: the header), entry, field, aux, value.  The
 * entry is taken modulo the section's entries, the field modulo its
 * struct's fields (fields.c), so every input names a real field of a real
 * entry whatever the seed: inputs stay meaningful across machines, whose
 * seed images differ.
 */
#ifndef CRAC_FUZZ_MUTATE_H
#define CRAC_FUZZ_MUTATE_H

#include <stddef.h>
#include <stdint.h>
#include "image/format.h"

#define FZ_EDIT_SIZE 16
#define FZ_MAX_EDITS 16

struct fz_edit {
    uint8_t op, section;
    uint16_t entry, field, aux;
    uint64_t value;
};

enum fz_op {
    FZ_SET,         /* field = value */
    FZ_ADD,         /* field += (signed) value */
    FZ_FLIP,        /* field ^= 1 << (aux % bits) */
    FZ_INTERESTING, /* field = a boundary value (interesting[value % n]) */
    FZ_COPY,        /* field = the same field of entry aux */
    FZ_ADDR,        /* field = an address near region aux's start or end */
    FZ_DELETE,      /* removes the entry (bytes in byte sections) */
    FZ_DUPLICATE,   /* inserts a copy of the entry after it */
    FZ_SWAP,        /* swaps entries entry and aux */
    FZ_BYTE,        /* a raw byte of the entry (or section) = value */
    FZ_STALE,       /* leaves this section's checksum as it was */
    FZ_NOPS,
};

/* A meta file taken apart: the header, then each section's bytes. */
struct fz_meta {
    struct crac_img_header hdr;
    uint8_t *sec[CRAC_SEC_MAX];
    size_t len[CRAC_SEC_MAX];
    struct fz_edit hdr_edits[FZ_MAX_EDITS]; /* applied after the layout */
    int nhdr_edits;
    unsigned stale; /* sections whose checksum is not recomputed (bit per type) */
};

/* From a meta file the dumper wrote (trusted: the seed).  0 or -1. */
int fz_meta_load(struct fz_meta *m, const void *meta, size_t len);
int fz_meta_copy(struct fz_meta *dst, const struct fz_meta *src);
void fz_meta_free(struct fz_meta *m);
/* Decodes up to FZ_MAX_EDITS edits from data; how many. */
size_t fz_decode(const uint8_t *data, size_t size, struct fz_edit *out);
/* Applies one edit. */
void fz_apply(struct fz_meta *m, const struct fz_edit *e);
/* The meta file laid out again, checksums recomputed: malloc'd, *len set. */
uint8_t *fz_meta_build(const struct fz_meta *m, size_t *len);
/* "threads[1].ctx.rsp = 0x7ff... (add)" into buf. */
void fz_describe(const struct fz_meta *m, const struct fz_edit *e, char *buf, size_t size);

/* ---- the structs' fields (fields.c) ---- */
struct fz_field {
    const char *name;
    uint16_t offset, size;  /* of the first element */
    uint16_t count, stride; /* arrays: count elements, stride bytes apart */
};
/* The fields of one entry of section type t (0: the header); NULL for the
 * byte sections.  *n set. */
const struct fz_field *fz_fields(unsigned t, size_t *n);
/* The size of one entry of section type t (0 for byte sections). */
size_t fz_entsize(unsigned t);
/* The fields of a socket description and of epoll entries (descriptor data). */
const struct fz_field *fz_data_fields(size_t *n);
extern const char *const fz_section_names[CRAC_SEC_MAX + 1];

#endif
