/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interfaces of libcrac shared between its layers (not exported). */
#ifndef CRAC_INTERNAL_H
#define CRAC_INTERNAL_H

#include <stdbool.h>
#include <stdarg.h>
#include "crac.h"

/* ---- errors (error.c) ---- */
/* A new error whose source is `source` (copied; may be NULL). Never NULL. */
crac_error *crac__error_src(const char *source, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
crac_error *crac__error_vsrc(const char *source, const char *fmt, va_list ap);
/* Replaces the source (copied). */
void crac__error_set_source(crac_error *e, const char *source);
/* Marks a top-level error as a restore error (crac_error_is_restore() == 1). */
void crac__error_set_restore(crac_error *e, bool restore);

/* ---- file descriptors the library owns (never reported by the checker) ---- */
void crac__fd_claim(int fd);
void crac__fd_release(int fd);
bool crac__fd_is_library(int fd);

/* ---- restore bookkeeping (checkpoint.c) ---- */
/* Called by the coordination layer when an engine reports CRAC__CP_RESTORED. */
void crac__note_restored(void);

/* ---- logging: CRAC_LOG=1 (or "debug") prints the library's steps to stderr ---- */
void crac__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
