/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed images (docs/security.md): Ed25519 from libsodium.  The signature
 * covers the meta file and a BLAKE2b-256 hash of every run of page data;
 * the run hashes travel in the signature file, and the restore checks each
 * run it reads against its hash, in memory, after reading it: the bytes
 * checked are the bytes that run, whoever can write the files meanwhile.
 * (The image's own XXH3 checksums find accidents, not forgeries.)
 *
 * Files, text with hex:
 *   KEY      "crac-ed25519-secret-key\n" HEX(64) "\n"   (0600)
 *   KEY.pub  "crac-ed25519-public-key\n" HEX(32) "\n"
 *   DIR/signature  "crac-image-signature 1\n" HEX(public key) "\n"
 *                  HEX(signature) "\n" NRUNS "\n" then HEX(run hash) "\n" per run
 * The signed message: "crac-image-signature 1\0", BLAKE2b-512 of the meta
 * file, then every run hash in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "restore/trust.h"

#define SIG_MAGIC "crac-image-signature 1"
#define SEC_MAGIC "crac-ed25519-secret-key"
#define PUB_MAGIC "crac-ed25519-public-key"

static crac_error *fail(const char *what, const char *path)
{
    return crac__error_src("sign", "%s %s: %s", what, path, strerror(errno ? errno : EINVAL));
}

/* Reads "MAGIC\nHEX\n" of exactly n bytes. */
static int read_key(const char *path, const char *magic, unsigned char *out, size_t n,
                    crac_error **err)
{
    char line[256], hex[2 * crypto_sign_SECRETKEYBYTES + 2];
    FILE *f = fopen(path, "re");
    size_t len;
    errno = 0;
    if (!f) {
        *err = fail("cannot open key", path);
        return -1;
    }
    int ok = fgets(line, sizeof(line), f) && !strncmp(line, magic, strlen(magic)) &&
             line[strlen(magic)] == '\n' && fgets(hex, sizeof(hex), f) &&
             sodium_hex2bin(out, n, hex, strcspn(hex, "\n"), NULL, &len, NULL) == 0 && len == n;
    fclose(f);
    if (!ok) {
        *err = crac__error_src("sign", "%s is not a crac %s key", path,
                               strcmp(magic, SEC_MAGIC) ? "public" : "secret");
        return -1;
    }
    return 0;
}

static int write_text(const char *path, const char *text, mode_t mode, bool replace,
                      crac_error **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL), mode);
    size_t len = strlen(text);
    errno = 0;
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
        *err = fail("cannot write", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return close(fd);
}

static char *hex_of(const unsigned char *b, size_t n)
{
    char *h = malloc(2 * n + 1);
    return h ? sodium_bin2hex(h, 2 * n + 1, b, n) : NULL;
}

int crac__sign_keygen(const char *path, crac_error **err)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char pubpath[4096], text[256];
    if (sodium_init() < 0 || crypto_sign_keypair(pk, sk) != 0) {
        *err = crac__error_src("sign", "cannot make a key pair");
        return -1;
    }
    snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
    char *hs = hex_of(sk, sizeof(sk)), *hp = hex_of(pk, sizeof(pk));
    int rc = -1;
    if (hs && hp) {
        snprintf(text, sizeof(text), SEC_MAGIC "\n%s\n", hs);
        if (write_text(path, text, 0600, false, err) == 0) {
            snprintf(text, sizeof(text), PUB_MAGIC "\n%s\n", hp);
            rc = write_text(pubpath, text, 0644, false, err);
        }
    } else {
        *err = crac__error_src("sign", "out of memory");
    }
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(text, sizeof(text));
    if (hs)
        sodium_memzero(hs, strlen(hs));
    free(hs);
    free(hp);
    return rc;
}

/* The message that is signed: magic, BLAKE2b-512 of meta, run hashes. */
static void message(const struct crac_img *img, const uint8_t *run_hashes,
                    unsigned char out[crypto_generichash_BYTES_MAX])
{
    crypto_generichash_state st;
    unsigned char meta_hash[crypto_generichash_BYTES_MAX];
    crypto_generichash(meta_hash, sizeof(meta_hash), img->meta, img->hdr->meta_size, NULL, 0);
    crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES_MAX);
    crypto_generichash_update(&st, (const unsigned char *)SIG_MAGIC, sizeof(SIG_MAGIC));
    crypto_generichash_update(&st, meta_hash, sizeof(meta_hash));
    crypto_generichash_update(&st, run_hashes, img->nruns * CRAC__SIGN_HASH);
    crypto_generichash_final(&st, out, crypto_generichash_BYTES_MAX);
}

/* BLAKE2b-256 of every run, read from the pages file. */
static uint8_t *hash_runs(const struct crac_img *img, crac_error **err)
{
    uint8_t *h = malloc(img->nruns * CRAC__SIGN_HASH + 1);
    void *buf = malloc(CRAC_RUN_MAX_PAGES * CRAC_PAGE);
    for (size_t k = 0; h && buf && k < img->nruns; k++) {
        size_t len = img->runs[k].npages * CRAC_PAGE;
        if (img->runs[k].npages > CRAC_RUN_MAX_PAGES ||
            pread(img->pages_fd, buf, len, (off_t)img->runs[k].file_off) != (ssize_t)len) {
            *err = crac__img_run_error(img, k, "cannot read it to sign it");
            free(h);
            free(buf);
            return NULL;
        }
        crypto_generichash(h + k * CRAC__SIGN_HASH, CRAC__SIGN_HASH, buf, len, NULL, 0);
    }
    if (!h || !buf) {
        *err = crac__error_src("sign", "out of memory");
        free(h);
        h = NULL;
    }
    free(buf);
    return h;
}

int crac__sign_image(const char *dir, const char *keyfile, crac_error **err)
{
    unsigned char sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
    unsigned char msg[crypto_generichash_BYTES_MAX];
    struct crac_img img;
    char path[4096], tmp[4200];
    if (sodium_init() < 0 || read_key(keyfile, SEC_MAGIC, sk, sizeof(sk), err) ||
        crac__img_open(dir, &img, err))
        return -1;
    uint8_t *runs = hash_runs(&img, err);
    int rc = -1;
    if (runs) {
        message(&img, runs, msg);
        crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
        /* the public half is the second half of libsodium's secret key */
        char *hp = hex_of(sk + crypto_sign_SEEDBYTES, crypto_sign_PUBLICKEYBYTES);
        char *hs = hex_of(sig, sizeof(sig));
        size_t cap = 256 + img.nruns * (2 * CRAC__SIGN_HASH + 1);
        char *text = malloc(cap);
        if (hp && hs && text) {
            size_t off = (size_t)snprintf(text, cap, SIG_MAGIC "\n%s\n%s\n%zu\n", hp, hs, img.nruns);
            for (size_t k = 0; k < img.nruns; k++) {
                sodium_bin2hex(text + off, cap - off, runs + k * CRAC__SIGN_HASH, CRAC__SIGN_HASH);
                off += 2 * CRAC__SIGN_HASH;
                text[off++] = '\n';
                text[off] = 0;
            }
            snprintf(path, sizeof(path), "%s/signature", dir);
            snprintf(tmp, sizeof(tmp), "%s/.signature.tmp", dir);
            rc = write_text(tmp, text, 0600, true, err);
            if (rc == 0 && rename(tmp, path) < 0) {
                *err = fail("cannot publish", path);
                unlink(tmp);
                rc = -1;
            }
        } else {
            *err = crac__error_src("sign", "out of memory");
        }
        free(hp);
        free(hs);
        free(text);
    }
    sodium_memzero(sk, sizeof(sk));
    free(runs);
    crac__img_close(&img);
    return rc;
}

/* Parses the signature file of img: its key, signature and run hashes. */
static int read_signature(const struct crac_img *img, unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                          unsigned char sig[crypto_sign_BYTES], uint8_t **runs, crac_error **err)
{
    char path[4096], line[256];
    size_t n = 0, len;
    snprintf(path, sizeof(path), "%s/signature", img->dir);
    FILE *f = fopen(path, "re");
    errno = 0;
    if (!f) {
        *err = crac__error_src("trust", "%s: %s: the image is not signed (crac image sign)", path,
                               strerror(errno));
        return -1;
    }
    int ok = fgets(line, sizeof(line), f) && !strcmp(line, SIG_MAGIC "\n") &&
             fgets(line, sizeof(line), f) &&
             !sodium_hex2bin(pk, crypto_sign_PUBLICKEYBYTES, line, strcspn(line, "\n"), NULL, &len, NULL) &&
             len == crypto_sign_PUBLICKEYBYTES && fgets(line, sizeof(line), f) &&
             !sodium_hex2bin(sig, crypto_sign_BYTES, line, strcspn(line, "\n"), NULL, &len, NULL) &&
             len == crypto_sign_BYTES && fgets(line, sizeof(line), f) &&
             sscanf(line, "%zu", &n) == 1 && n == img->nruns;
    *runs = ok ? malloc(img->nruns * CRAC__SIGN_HASH + 1) : NULL;
    for (size_t k = 0; ok && *runs && k < n; k++)
        ok = fgets(line, sizeof(line), f) &&
             !sodium_hex2bin(*runs + k * CRAC__SIGN_HASH, CRAC__SIGN_HASH, line,
                             strcspn(line, "\n"), NULL, &len, NULL) && len == CRAC__SIGN_HASH;
    ok = ok && *runs && fgetc(f) == EOF;
    fclose(f);
    if (!ok) {
        free(*runs);
        *runs = NULL;
        *err = crac__error_src("trust", "%s is not a valid signature for this image "
                               "(damaged, or made for another image)", path);
        return -1;
    }
    return 0;
}

int crac__sign_verify(const struct crac_img *img, const char *pubfile, uint8_t **run_hashes,
                      crac_error **err)
{
    unsigned char want[crypto_sign_PUBLICKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sig[crypto_sign_BYTES], msg[crypto_generichash_BYTES_MAX];
    *run_hashes = NULL;
    if (sodium_init() < 0 || read_key(pubfile, PUB_MAGIC, want, sizeof(want), err) ||
        read_signature(img, pk, sig, run_hashes, err))
        return -1;
    message(img, *run_hashes, msg);
    if (sodium_memcmp(pk, want, sizeof(pk)) != 0 ||
        crypto_sign_verify_detached(sig, msg, sizeof(msg), want) != 0) {
        *err = crac__error_src("trust", "%s: the signature is not by the key in %s, or the image "
                               "changed since it was signed: refused", img->dir, pubfile);
        free(*run_hashes);
        *run_hashes = NULL;
        return -1;
    }
    return 0;
}

int crac__sign_run_ok(const uint8_t *run_hashes, size_t k, const void *data, size_t len)
{
    unsigned char h[CRAC__SIGN_HASH];
    crypto_generichash(h, sizeof(h), data, len, NULL, 0);
    return sodium_memcmp(h, run_hashes + k * CRAC__SIGN_HASH, sizeof(h)) == 0;
}

int crac__sign_verify_pages(const struct crac_img *img, const uint8_t *run_hashes, crac_error **err)
{
    void *buf = malloc(CRAC_RUN_MAX_PAGES * CRAC_PAGE);
    int rc = 0;
    for (size_t k = 0; buf && k < img->nruns && !rc; k++) {
        size_t len = img->runs[k].npages * CRAC_PAGE;
        if (img->runs[k].npages > CRAC_RUN_MAX_PAGES ||
            pread(img->pages_fd, buf, len, (off_t)img->runs[k].file_off) != (ssize_t)len) {
            *err = crac__img_run_error(img, k, "cannot be read (truncated image)");
            rc = -1;
        } else if (!crac__sign_run_ok(run_hashes, k, buf, len)) {
            *err = crac__img_run_error(img, k, "differs from what was signed (modified image)");
            rc = -1;
        }
    }
    if (!buf) {
        *err = crac__error_src("sign", "out of memory");
        rc = -1;
    }
    free(buf);
    return rc;
}
