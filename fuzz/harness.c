/* SPDX-License-Identifier: Apache-2.0 */
/* The seed, the work directory and the checks (harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz/harness.h"
#include "image/image.h"
#include "restore/restore.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    struct stat st;
    uint8_t *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) &&
        read(fd, buf, (size_t)st.st_size) == st.st_size) {
        *len = (size_t)st.st_size;
    } else {
        free(buf);
        buf = NULL;
    }
    if (fd >= 0)
        close(fd);
    return buf;
}

int fz_setup(struct fz_harness *h, const char *seed_dir, const char *work_dir)
{
    char path[4200], pages[4200];
    size_t len = 0;
    uint8_t *meta;
    memset(h, 0, sizeof(*h));
    snprintf(h->seed_dir, sizeof(h->seed_dir), "%s", seed_dir);
    snprintf(h->dir, sizeof(h->dir), "%s/img", work_dir);
    snprintf(path, sizeof(path), "%s/meta", seed_dir);
    if (!(meta = slurp(path, &len)) || fz_meta_load(&h->seed, meta, len)) {
        fprintf(stderr, "fuzz: %s: cannot read the seed image's meta\n", path);
        free(meta);
        return -1;
    }
    free(meta);
    snprintf(path, sizeof(path), "%s/pages", seed_dir);
    snprintf(pages, sizeof(pages), "%s/pages", h->dir);
    if (path[0] != '/' || (mkdir(work_dir, 0700) && errno != EEXIST) ||
        (mkdir(h->dir, 0700) && errno != EEXIST) || (unlink(pages) && errno != ENOENT) ||
        symlink(path, pages)) {
        fprintf(stderr, "fuzz: cannot make %s (the seed must be an absolute path): %s\n",
                h->dir, strerror(errno));
        return -1;
    }
    return 0;
}

void fz_teardown(struct fz_harness *h)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/meta", h->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/pages", h->dir);
    unlink(path);
    rmdir(h->dir);
    fz_meta_free(&h->seed);
}

int fz_make(struct fz_harness *h, const uint8_t *data, size_t size)
{
    struct fz_edit edits[FZ_MAX_EDITS];
    struct fz_meta m;
    size_t n = fz_decode(data, size, edits), len = 0;
    char path[4200];
    uint8_t *out = NULL;
    int fd, rc = -1;
    if (fz_meta_copy(&m, &h->seed) == 0) {
        for (size_t i = 0; i < n; i++)
            fz_apply(&m, &edits[i]);
        out = fz_meta_build(&m, &len);
    }
    fz_meta_free(&m);
    snprintf(path, sizeof(path), "%s/meta", h->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out && fd >= 0 && write(fd, out, len) == (ssize_t)len)
        rc = 0;
    if (fd >= 0)
        close(fd);
    free(out);
    return rc;
}

/* What `crac image info` and restore errors read of an accepted image. */
static void exercise(const struct crac_img *img)
{
    char buf[512];
    for (size_t i = 0; i < img->nfds; i++) {
        crac__img_fd_describe(img, &img->fds[i], buf, sizeof(buf));
        (void)crac__img_fd_kind_name(crac__img_fd_object(img, &img->fds[i])->kind);
    }
    for (size_t i = 0; i < img->nregions; i++)
        snprintf(buf, sizeof(buf), "%s %s", crac__region_kind_name(img->regions[i].kind),
                 crac__img_str(img, img->regions[i].name));
    if (img->nruns)
        crac_error_free(crac__img_run_error(img, img->nruns - 1, "checked"));
    (void)crac__img_label(img, "seed");
}

int fz_check(const struct fz_harness *h, bool exercise_it, crac_error **errp)
{
    struct crac_img img;
    crac_error *err = NULL;
    int rc = -1;
    if (crac__img_open(h->dir, &img, &err) == 0) {
        if (exercise_it)
            exercise(&img);
        rc = crac__restore_validate(&img, true, &err) || crac__img_check_host(&img, &err) ||
                     crac__img_check_files(&img, &err) || crac__img_check_fd_files(&img, &err) ||
                     crac__img_verify_pages(&img, &err)
                 ? -1 : 0;
        crac__img_close(&img);
    }
    if (errp)
        *errp = err;
    else
        crac_error_free(err);
    return rc;
}
