/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clones that are unique (src/clone/, docs/uniqueness.md): every instance
 * restored from one image starts with the same memory, random generators
 * included.  The instance identity (identity.c) changes at every restore;
 * the random generators of libraries the process has loaded are reseeded
 * (reseed.c); memory marked MADV_WIPEONFORK is not saved at all
 * (src/native/wipe.c).
 */
#ifndef CRAC_CLONE_H
#define CRAC_CLONE_H

/* A new identity for this instance: 16 random bytes from the kernel and
 * the generation plus one.  System calls only: the native engine calls it
 * with the other threads parked, before any of them runs again. */
void crac__identity_renew(void);

/* Registers, once, the library-tier resource that reseeds the random
 * generators of OpenSSL, GnuTLS and libsodium when they are loaded, after
 * a restore (before the application's own after-restore callbacks). */
int crac__reseed_arm(void);

#endif
