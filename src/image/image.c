/* SPDX-License-Identifier: Apache-2.0 */
/* The image format: writing the meta file, and opening + validating an image. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "image/check.h"
#include "image/hash.h"
#include "image/image.h"
#include "core/core.h"

int crac__pwritev_all(int fd, struct iovec *iov, int n, off_t off)
{
    while (n) {
        ssize_t w = pwritev(fd, iov, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        off += w;
        while (n && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* The whole file in one system call: the header (which holds every
 * section's checksum, so it is computed first), then the sections, each
 * padded to 8 bytes. */
int crac__img_write_meta(int fd, const struct crac_img *p, uint64_t pages_size)
{
    static const char zeros[8];
    struct crac_img_header h;
    struct {
        uint32_t type, entsize;
        const void *data;
        size_t size;
    } secs[CRAC_SEC_MAX] = {
        {CRAC_SEC_PROC, sizeof(*p->proc), p->proc, sizeof(*p->proc)},
        {CRAC_SEC_REGIONS, sizeof(*p->regions), p->regions, p->nregions * sizeof(*p->regions)},
        {CRAC_SEC_RUNS, sizeof(*p->runs), p->runs, p->nruns * sizeof(*p->runs)},
        {CRAC_SEC_FILES, sizeof(*p->files), p->files, p->nfiles * sizeof(*p->files)},
        {CRAC_SEC_STRINGS, 0, p->strings, p->strings_len},
        {CRAC_SEC_LABELS, 0, p->labels, p->labels_len},
        {CRAC_SEC_THREADS, sizeof(*p->threads), p->threads, p->nthreads * sizeof(*p->threads)},
        {CRAC_SEC_NOTES, 0, p->notes, p->notes_len},
        {CRAC_SEC_FDS, sizeof(*p->fds), p->fds, p->nfds * sizeof(*p->fds)},
        {CRAC_SEC_FDDATA, 0, p->fddata, p->fddata_len},
    };
    struct iovec iov[1 + 2 * CRAC_SEC_MAX];
    int niov = 1;
    uint64_t off = sizeof(h);

    memset(&h, 0, sizeof(h));
    memcpy(h.magic, CRAC_IMG_MAGIC, 8);
    h.version = CRAC_IMG_VERSION;
    h.header_size = sizeof(h);
    h.nsections = CRAC_SEC_MAX;
    h.pages_size = pages_size;
    iov[0] = (struct iovec){&h, sizeof(h)};
    for (int i = 0; i < CRAC_SEC_MAX; i++) {
        struct crac_img_section *s = &h.sections[i];
        size_t pad = ((secs[i].size + 7) & ~7ULL) - secs[i].size;
        s->type = secs[i].type;
        s->entsize = secs[i].entsize;
        s->offset = off;
        s->size = secs[i].size;
        s->hash = crac__hash(secs[i].data, secs[i].size);
        if (secs[i].size)
            iov[niov++] = (struct iovec){(void *)secs[i].data, secs[i].size};
        if (pad)
            iov[niov++] = (struct iovec){(void *)zeros, pad};
        off += secs[i].size + pad;
    }
    h.meta_size = off;
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        h.created_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    }
    h.header_hash = 0;
    h.header_hash = crac__hash(&h, sizeof(h));
    return crac__pwritev_all(fd, iov, niov, 0);
}

/* ---- reading ---- */

static crac_error *bad(const char *dir, const char *what)
{
    return crac__error_src("image", "%s: %s", dir, what);
}

static int read_meta(struct crac_img *img, crac_error **err)
{
    char path[4096];
    struct stat st;
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/" CRAC_IMG_META, img->dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = crac__error_src("image", "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct crac_img_header) ||
        st.st_size > (1L << 30)) {
        close(fd);
        *err = crac__error_src("image", "%s: truncated or not an image (%lld bytes)", path,
                               (long long)st.st_size);
        return -1;
    }
    img->meta = malloc((size_t)st.st_size);
    if (!img->meta) {
        close(fd);
        *err = crac__error_src("image", "out of memory");
        return -1;
    }
    /* One call faults a large buffer in, rather than a fault per page
     * inside the read (a 1 GiB image has 400 KiB of meta; measured on
     * memory the host had taken back: 0.07 ms less before the jump). */
    if (st.st_size >= (64 << 10)) {
        uintptr_t at = (uintptr_t)img->meta & ~(uintptr_t)(CRAC_PAGE - 1);
        madvise((void *)at, (size_t)st.st_size + ((uintptr_t)img->meta - at), MADV_POPULATE_WRITE);
    }
    n = pread(fd, img->meta, (size_t)st.st_size, 0);
    close(fd);
    if (n != st.st_size) {
        *err = crac__error_src("image", "%s: short read", path);
        return -1;
    }
    img->hdr = img->meta;
    if (memcmp(img->hdr->magic, CRAC_IMG_MAGIC, 8) != 0) {
        *err = bad(img->dir, "not a crac image (bad magic in meta)");
        return -1;
    }
    if (img->hdr->version != CRAC_IMG_VERSION) {
        *err = crac__error_src("image", "%s: image format version %u, this crac reads version %u",
                               img->dir, img->hdr->version, CRAC_IMG_VERSION);
        return -1;
    }
    {
        struct crac_img_header h = *img->hdr;
        h.header_hash = 0;
        if (h.header_size != sizeof(h) || crac__hash(&h, sizeof(h)) != img->hdr->header_hash) {
            *err = bad(img->dir, "meta header checksum mismatch (corrupted image)");
            return -1;
        }
    }
    if (img->hdr->meta_size != (uint64_t)st.st_size) {
        *err = crac__error_src("image", "%s: meta is %lld bytes, header says %llu (truncated image)",
                               img->dir, (long long)st.st_size,
                               (unsigned long long)img->hdr->meta_size);
        return -1;
    }
    return 0;
}

static bool zero_bytes(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int load_sections(struct crac_img *img, crac_error **err)
{
    const struct crac_img_header *h = img->hdr;
    const char *base = img->meta;
    static const char *names[] = {"",      "process", "regions", "runs",        "files",
                                  "strings", "labels", "threads", "notes", "descriptors",
                                  "descriptor data"};
    if (h->nsections != CRAC_SEC_MAX) {
        *err = bad(img->dir, "unexpected section count");
        return -1;
    }
    uint64_t at = sizeof(struct crac_img_header);
    for (unsigned i = 0; i < h->nsections; i++) {
        const struct crac_img_section *s = &h->sections[i];
        /* Sections follow each other as the writer lays them out; the
         * padding between them is zero: no byte escapes a check. */
        uint64_t padded = (s->size + 7) & ~7ULL;
        if (s->type != i + 1 || s->offset != at || s->size > h->meta_size ||
            padded > h->meta_size - s->offset ||
            !zero_bytes(base + s->offset + s->size, padded - s->size)) {
            *err = bad(img->dir, "section table out of bounds (corrupted image)");
            return -1;
        }
        at = s->offset + padded;
        if (crac__hash(base + s->offset, s->size) != s->hash) {
            *err = crac__error_src("image", "%s: checksum mismatch in section '%s' (corrupted image)",
                                   img->dir, names[s->type]);
            return -1;
        }
    }
    if (at != h->meta_size) {
        *err = bad(img->dir, "meta has bytes outside its sections (corrupted image)");
        return -1;
    }
#define SEC(t) (&h->sections[(t) - 1])
    if (SEC(CRAC_SEC_PROC)->size != sizeof(struct crac_img_proc) ||
        SEC(CRAC_SEC_REGIONS)->entsize != sizeof(struct crac_img_region) ||
        SEC(CRAC_SEC_RUNS)->entsize != sizeof(struct crac_img_run) ||
        SEC(CRAC_SEC_FILES)->entsize != sizeof(struct crac_img_file) ||
        SEC(CRAC_SEC_THREADS)->entsize != sizeof(struct crac_img_thread) ||
        SEC(CRAC_SEC_FDS)->entsize != sizeof(struct crac_img_fd) || h->flags) {
        *err = bad(img->dir, "section sizes do not match this image format");
        return -1;
    }
    for (unsigned i = 0; i < h->nsections; i++)
        if (h->sections[i].entsize ? h->sections[i].size % h->sections[i].entsize
                                   : h->sections[i].type != CRAC_SEC_STRINGS &&
                                         h->sections[i].type != CRAC_SEC_LABELS &&
                                         h->sections[i].type != CRAC_SEC_NOTES &&
                                         h->sections[i].type != CRAC_SEC_FDDATA) {
            *err = crac__error_src("image", "%s: section '%s' is not a whole number of entries",
                                   img->dir, names[h->sections[i].type]);
            return -1;
        }
    img->proc = (const void *)(base + SEC(CRAC_SEC_PROC)->offset);
    img->regions = (const void *)(base + SEC(CRAC_SEC_REGIONS)->offset);
    img->nregions = SEC(CRAC_SEC_REGIONS)->size / sizeof(struct crac_img_region);
    img->runs = (const void *)(base + SEC(CRAC_SEC_RUNS)->offset);
    img->nruns = SEC(CRAC_SEC_RUNS)->size / sizeof(struct crac_img_run);
    img->files = (const void *)(base + SEC(CRAC_SEC_FILES)->offset);
    img->nfiles = SEC(CRAC_SEC_FILES)->size / sizeof(struct crac_img_file);
    img->strings = base + SEC(CRAC_SEC_STRINGS)->offset;
    img->strings_len = SEC(CRAC_SEC_STRINGS)->size;
    img->labels = base + SEC(CRAC_SEC_LABELS)->offset;
    img->labels_len = SEC(CRAC_SEC_LABELS)->size;
    img->threads = (const void *)(base + SEC(CRAC_SEC_THREADS)->offset);
    img->nthreads = SEC(CRAC_SEC_THREADS)->size / sizeof(struct crac_img_thread);
    img->notes = base + SEC(CRAC_SEC_NOTES)->offset;
    img->notes_len = SEC(CRAC_SEC_NOTES)->size;
    img->fds = (const void *)(base + SEC(CRAC_SEC_FDS)->offset);
    img->nfds = SEC(CRAC_SEC_FDS)->size / sizeof(struct crac_img_fd);
    img->fddata = (const void *)(base + SEC(CRAC_SEC_FDDATA)->offset);
    img->fddata_len = SEC(CRAC_SEC_FDDATA)->size;
#undef SEC
    if (img->strings_len == 0 || img->strings[img->strings_len - 1] != 0 ||
        (img->labels_len && img->labels[img->labels_len - 1] != 0) ||
        (img->notes_len && img->notes[img->notes_len - 1] != 0)) {
        *err = bad(img->dir, "string table not terminated");
        return -1;
    }
    return 0;
}

int crac__img_open(const char *dir, struct crac_img *img, crac_error **err)
{
    char path[4096];
    struct stat st;

    memset(img, 0, sizeof(*img));
    img->pages_fd = -1;
    img->dir = strdup(dir);
    if (!img->dir || read_meta(img, err) || load_sections(img, err))
        goto fail;
    if (crac__img_check(img, err))
        goto fail;
    snprintf(path, sizeof(path), "%s/" CRAC_IMG_PAGES, dir);
    img->pages_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (img->pages_fd < 0) {
        *err = crac__error_src("image", "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(img->pages_fd, &st) < 0 || (uint64_t)st.st_size != img->hdr->pages_size) {
        *err = crac__error_src("image", "%s: page data is %lld bytes, meta says %llu (%s)", dir,
                               (long long)st.st_size, (unsigned long long)img->hdr->pages_size,
                               (uint64_t)st.st_size < img->hdr->pages_size
                                   ? "truncated image"
                                   : "too long: data was added, or it belongs to another image");
        goto fail;
    }
    return 0;
fail:
    if (!*err)
        *err = crac__error_src("image", "%s: out of memory", dir);
    crac__img_close(img);
    return -1;
}

void crac__img_close(struct crac_img *img)
{
    if (img->pages_fd >= 0)
        close(img->pages_fd);
    free(img->meta);
    free(img->dir);
    memset(img, 0, sizeof(*img));
    img->pages_fd = -1;
}

const char *crac__img_str(const struct crac_img *img, uint32_t off)
{
    return off < img->strings_len ? img->strings + off : "";
}

/* Which region holds run k (for messages). */
static const struct crac_img_region *run_region(const struct crac_img *img, size_t k)
{
    for (size_t i = 0; i < img->nregions; i++)
        if (k >= img->regions[i].runs_first && k - img->regions[i].runs_first < img->regions[i].runs_count)
            return &img->regions[i];
    return NULL;
}

crac_error *crac__img_run_error(const struct crac_img *img, size_t k, const char *what)
{
    const struct crac_img_region *r = run_region(img, k);
    const struct crac_img_run *run = &img->runs[k];
    return crac__error_src("image", "%s: page data at %llx (%s%s%llu pages at offset %llu): %s",
                           img->dir, (unsigned long long)run->addr, r ? crac__img_str(img, r->name) : "",
                           r && *crac__img_str(img, r->name) ? ", " : "",
                           (unsigned long long)run->npages, (unsigned long long)run->file_off, what);
}

int crac__img_verify_pages(const struct crac_img *img, crac_error **err)
{
    char *buf = malloc(CRAC_RUN_MAX_PAGES * CRAC_PAGE);
    if (!buf) {
        *err = crac__error_src("image", "out of memory");
        return -1;
    }
    for (size_t k = 0; k < img->nruns; k++) {
        const struct crac_img_run *run = &img->runs[k];
        size_t n = run->npages * CRAC_PAGE;
        if (pread(img->pages_fd, buf, n, (off_t)run->file_off) != (ssize_t)n) {
            *err = crac__img_run_error(img, k, "short read (truncated image)");
            break;
        }
        if (crac__hash(buf, n) != run->hash) {
            *err = crac__img_run_error(img, k, "checksum mismatch (corrupted image)");
            break;
        }
    }
    free(buf);
    return *err ? -1 : 0;
}

const char *crac__img_label(const struct crac_img *img, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < img->labels_len; i += strlen(img->labels + i) + 1)
        if (!strncmp(img->labels + i, key, klen) && img->labels[i + klen] == '=')
            return img->labels + i + klen + 1;
    return NULL;
}
