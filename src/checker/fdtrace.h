/* SPDX-License-Identifier: Apache-2.0 */
/* Between fdtrace.c (records, GOT patching) and fdtrace_hooks.c (wrappers). */
#ifndef CRAC_FDTRACE_H
#define CRAC_FDTRACE_H

/* Records where `fd` was just made by `func` (a static string). */
void crac__fdtrace_record(int fd, const char *func);
/* `fd` is being closed: its record no longer applies. */
void crac__fdtrace_forget(int fd);
/* The wrapper for an imported function name, NULL when it is not traced
 * (or its real function was not found). */
void *crac__fdtrace_hook_for(const char *name);
/* Looks the real functions up.  0, or -1 when the essential ones are missing. */
int crac__fdtrace_resolve(void);
/* Redirects the traced calls in every loaded object (again after dlopen). */
void crac__fdtrace_patch_all(void);

#endif
