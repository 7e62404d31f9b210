/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whose images run (docs/security.md).  An image is code and data that
 * `crac restore` runs with the restorer's credentials; its checksums show
 * that it is intact, not who wrote it.  By default an image is restored
 * only when nobody but the restoring user and root could have written it
 * (trust.c, as ssh's StrictModes does for keys).  An image from elsewhere
 * is restored when it is signed by a key the user trusts (sign.c), or when
 * the user says so (--insecure).
 */
#ifndef CRAC_RESTORE_TRUST_H
#define CRAC_RESTORE_TRUST_H

#include <stdint.h>
#include <sys/types.h>

#include "crac.h"
#include "image/image.h"

/* 0 when DIR, its meta and pages (and signature, if any) are owned by
 * `uid` or root and writable by nobody else, and every directory above DIR
 * is owned by `uid` or root and writable by nobody else unless it is
 * sticky (as /tmp).  -1 with *err naming the file, its owner and mode. */
int crac__trust_owner(const char *dir, uid_t uid, crac_error **err);

/* ---- signed images (sign.c) ---- */
#define CRAC__SIGN_HASH 32 /* BLAKE2b-256 of each run of page data */

/* A new Ed25519 key pair: the secret key to PATH (0600, refuses to replace
 * a file), the public one to PATH.pub.  0, or -1 with *err. */
int crac__sign_keygen(const char *path, crac_error **err);
/* Signs the image DIR with the secret key in KEYFILE: writes DIR/signature
 * (the key's public half, and a signature over the meta file and a
 * BLAKE2b-256 of every run of page data).  0, or -1 with *err. */
int crac__sign_image(const char *dir, const char *keyfile, crac_error **err);
/* Checks that img (opened) carries a signature by the public key in
 * PUBFILE over its meta file (the copy in memory) and the run hashes in
 * its signature file.  0 with *run_hashes (malloc'd, CRAC__SIGN_HASH bytes
 * per run) that the page data read at restore must match; -1 with *err. */
int crac__sign_verify(const struct crac_img *img, const char *pubfile, uint8_t **run_hashes,
                      crac_error **err);
/* Every run of page data against its signed hash (crac image verify). */
int crac__sign_verify_pages(const struct crac_img *img, const uint8_t *run_hashes, crac_error **err);
/* BLAKE2b-256 of one run as read, against its signed hash. */
int crac__sign_run_ok(const uint8_t *run_hashes, size_t k, const void *data, size_t len);

#endif
