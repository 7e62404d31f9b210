/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who could have written an image: the ownership and modes of its files
 * and of every directory above it (trust.h).  Paths are checked with
 * lstat(): a file of the image that is a symbolic link is refused, since
 * whoever owns the link's directory decides what it points to.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "restore/trust.h"

static const char *owner_kind(uid_t owner, uid_t uid)
{
    return owner == 0 ? "root" : owner == uid ? "you" : "another user";
}

/* One path: owned by uid or root, not writable by group or others (a
 * sticky directory may be, when root owns it: others cannot rename or
 * remove what is ours in it). */
static int check_one(const char *path, uid_t uid, int want_dir, crac_error **err)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT && want_dir <= 0)
            return 0; /* a file that is not there: the image reader says so */
        *err = crac__error_src("trust", "%s: %s", path, strerror(errno));
        return -1;
    }
    if (want_dir > 0 ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        *err = crac__error_src("trust", "%s is not a %s (a symbolic link?): refused",
                               path, want_dir > 0 ? "directory" : "regular file");
        return -1;
    }
    if (st.st_uid != uid && st.st_uid != 0) {
        *err = crac__error_src("trust", "%s is owned by uid %u (%s), not by you (uid %u) or root: "
                               "its owner could have written the image (--insecure, or a "
                               "signed image and --trust-key, to restore it anyway)",
                               path, (unsigned)st.st_uid, owner_kind(st.st_uid, uid), (unsigned)uid);
        return -1;
    }
    bool sticky_ok = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && st.st_uid == 0;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_ok) {
        *err = crac__error_src("trust", "%s is writable by %s (mode %04o): someone else could "
                               "have written the image (--insecure, or a signed image and "
                               "--trust-key, to restore it anyway)", path,
                               st.st_mode & S_IWOTH ? "everyone" : "its group",
                               (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

int crac__trust_owner(const char *dir, uid_t uid, crac_error **err)
{
    static const char *files[] = {CRAC_IMG_META, CRAC_IMG_PAGES, "signature"};
    char real[PATH_MAX], path[PATH_MAX + 32];
    if (!realpath(dir, real)) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0; /* nothing there: the image reader says so */
        *err = crac__error_src("trust", "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (check_one(real, uid, 1, err))
        return -1;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", real, files[i]);
        if (check_one(path, uid, i == 2 ? -1 : 0, err))
            return -1;
    }
    /* every directory above: whoever may write one could swap the image */
    for (char *slash = strrchr(real, '/'); slash; slash = strrchr(real, '/')) {
        *slash = '\0';
        if (check_one(slash == real ? "/" : real, uid, 1, err))
            return -1;
        if (slash == real)
            break;
    }
    return 0;
}
