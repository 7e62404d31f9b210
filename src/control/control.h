/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket, shared by its two ends: the library's control thread
 * (control.c) and the crac command (src/cli/ctl_client.c).  The protocol
 * and the directory lookup are described in docs/control.md; keep the two
 * in step.
 */
#ifndef CRAC_CONTROL_H
#define CRAC_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* First line of every request and reply; the number is the version. */
#define CRAC__CTL_MAGIC "crac-control 1"
/* The socket's name inside the per-process directory. */
#define CRAC__CTL_SOCK "ctl"
/* A request is a few short lines; anything longer is refused. */
#define CRAC__CTL_REQUEST_MAX 4096
/* sizeof(struct sockaddr_un.sun_path): every path we use must fit in it. */
#define CRAC__CTL_PATH_MAX 108
/* "PID" or "PID-nsINODE", and the NUL. */
#define CRAC__CTL_NAME_MAX 40

/* The base directories, in lookup order (docs/control.md):
 *   $CRAC_CONTROL_DIR, /run/crac, $XDG_RUNTIME_DIR/crac,
 *   /run/user/UID/crac, /tmp/crac-UID
 * A process's socket is BASE/NAME/ctl (NAME: its pid, or "PID-nsINODE"). */
enum { CRAC__CTL_MAX_BASES = 5 };
struct crac__ctl_bases {
    int n;
    char path[CRAC__CTL_MAX_BASES][CRAC__CTL_PATH_MAX];
    bool shared[CRAC__CTL_MAX_BASES]; /* /run/crac: 0755, for every uid */
};


/* Server side: creates (or takes back from a dead process of the same name)
 * the private directory BASE/NAME, mode 0700, in the first base that can
 * hold it.  0 with `dir` set, or -1 with `why` saying what was tried. */
int crac__control_make_dir(char dir[CRAC__CTL_PATH_MAX], char *why, size_t whylen);

/* Client side: the socket of process `pid`, whose owner is `uid`.
 * 0 with `path` set; -ENOENT when there is none; -EACCES when one of the
 * places could not be searched by the caller (`why` names it). */
int crac__control_find(pid_t pid, uid_t uid, char path[CRAC__CTL_PATH_MAX],
                       char *why, size_t whylen);

/* ---- server side: a checkpoint's own settings (ctlopts.c) ----
 * `crac checkpoint --to DIR --keep-running --policies FILE` (and `crac
 * check --policies FILE`) apply to that cycle only: the options are set for
 * it and put back after it, in the original process and in every restored
 * one alike. */
struct crac_error;
struct crac__ctl_overrides {
    bool to_set, kr_set, pol_set;
    char *old_to, *old_opts, *old_pol;
    char kr_default[16];
};
/* What a request asks for its cycle: NULL (or false) for "as configured". */
struct crac__ctl_settings {
    const char *to;
    bool keep_running;
    const char *policies;
};
/* NULL, or why the settings cannot be made (nothing is changed then). */
struct crac_error *crac__ctl_overrides_apply(struct crac__ctl_overrides *ov,
                                             const struct crac__ctl_settings *want);
void crac__ctl_overrides_undo(struct crac__ctl_overrides *ov);
/* When the engine writes an image: reply lines "previous-image DEV:INO"
 * (or "none") and "checkpointing ABSDIR", malloc'd; else NULL.  The client
 * tells a published image by the directory's new identity. */
char *crac__ctl_destination_lines(void);


#endif
