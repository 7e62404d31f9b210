/* SPDX-License-Identifier: Apache-2.0 */
/*
 * After a restore, the random generators of the libraries the process has
 * loaded are made to reseed, as they would after a fork.  Each of them
 * guards against being copied by watching the pid (and some by fork
 * handlers), which a restore with `--pid keep` does not change: without
 * this, every instance of one image draws the same "random" bytes (nonces,
 * keys, session ids).  What each library needs (docs/uniqueness.md):
 *   OpenSSL 3  RAND_poll() reseeds the primary generator from the kernel;
 *              the per-thread generators reseed from it at their next use.
 *              OPENSSL_fork_child() too, for versions whose fork detection
 *              goes through it.
 *   GnuTLS     gnutls_rnd_refresh() reseeds its nonce and key generators.
 *   libsodium  randombytes_stir(): the default generator reads the kernel
 *              at every call; the ChaCha20 one a program may choose reseeds.
 *   glibc      arc4random() reads the kernel at every call (2.36): nothing.
 * The libraries are found among the loaded objects, also those a program
 * opened with dlopen(RTLD_LOCAL), which a global symbol lookup misses.
 *
 * A resource of the library tier: after a restore it runs before every
 * application resource, once the other threads run again (the generators
 * take locks).  Nothing happens after a checkpoint that did not restore.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <string.h>

#include "clone/clone.h"
#include "core/core.h"

struct lib {
    const char *soname; /* prefix of the loaded file's base name */
    const char *what;   /* for messages */
    const char *fns[2]; /* called in order when present; RAND_poll returns 1 on success */
};

static const struct lib libs[] = {
    {"libcrypto.so.", "OpenSSL", {"OPENSSL_fork_child", "RAND_poll"}},
    {"libgnutls.so.", "GnuTLS", {"gnutls_rnd_refresh", NULL}},
    {"libsodium.so.", "libsodium", {"randombytes_stir", NULL}},
};
#define NLIBS (sizeof(libs) / sizeof(libs[0]))

struct found {
    char path[NLIBS][512];
};

static int find_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct found *f = arg;
    (void)size;
    const char *base = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
    base = base ? base + 1 : info->dlpi_name;
    for (size_t i = 0; base && i < NLIBS; i++)
        if (!strncmp(base, libs[i].soname, strlen(libs[i].soname)) && !f->path[i][0] &&
            strlen(info->dlpi_name) < sizeof(f->path[i]))
            strcpy(f->path[i], info->dlpi_name);
    return 0;
}

/* Calls the reseeding functions of one loaded library.  NULL, or an error
 * naming what failed. */
static crac_error *reseed(const struct lib *l, const char *path)
{
    void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    crac_error *err = NULL;
    if (!h)
        return NULL; /* unloaded meanwhile: nothing to reseed */
    for (size_t k = 0; k < 2 && l->fns[k]; k++) {
        void *fn = dlsym(h, l->fns[k]);
        if (!fn)
            continue;
        if (!strcmp(l->fns[k], "RAND_poll")) {
            if (((int (*)(void))fn)() != 1)
                err = crac__error_src("crac", "%s: RAND_poll() failed: its random generator "
                                      "could not be reseeded after the restore", l->what);
        } else {
            ((void (*)(void))fn)();
        }
        crac__log("reseed: %s %s()", l->what, l->fns[k]);
    }
    dlclose(h);
    return err;
}

static unsigned long long gen_before;

static crac_error *before(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    gen_before = crac_generation();
    return NULL;
}

static crac_error *after(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    struct found f;
    crac_error *err = NULL;
    if (crac_generation() == gen_before)
        return NULL; /* the checkpoint failed or the process went on: no copy */
    memset(&f, 0, sizeof(f));
    dl_iterate_phdr(find_one, &f);
    for (size_t i = 0; i < NLIBS && !err; i++)
        if (f.path[i][0])
            err = reseed(&libs[i], f.path[i]);
    return err;
}

static crac_resource resource = {
    .name = "crac-reseed",
    .before_checkpoint = before,
    .after_restore = after,
};

int crac__reseed_arm(void)
{
    static bool armed;
    if (armed)
        return 0;
    int rc = crac__register_tier(CRAC__TIER_LIBRARY, &resource);
    if (rc == 0 || rc == -EEXIST)
        armed = true;
    return rc == -EEXIST ? 0 : rc;
}
