/* SPDX-License-Identifier: Apache-2.0 */
/* Preparing the destination and publishing the image atomically. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "native/dump.h"
#include "native/threads.h"
#include "native/fds.h"
#include "core/core.h"
#include "engine/engine.h"
#include "image/image.h"

/* Scratch layout (virtual sizes; only touched pages cost memory). */
#define MAPS_CAP (32UL << 20)
#define REGIONS_CAP (1UL << 17)
#define RUNS_CAP (1UL << 22)
#define FILES_CAP 8192UL
#define STRINGS_CAP (4UL << 20)
#define LABELS_CAP (64UL << 10)
#define NOTES_CAP (256UL << 10)
#define PAGEMAP_CAP (1UL << 16)
#define IOV_CAP 1024UL /* IOV_MAX */

static size_t page_up(size_t n)
{
    return (n + CRAC_PAGE - 1) & ~(CRAC_PAGE - 1);
}

/* The scratch mapping of the last checkpoint, kept for the next one.
 * Unmapping it at the end of a checkpoint cost ~60 us: the fsync helpers
 * ran on the other CPU, and freeing page tables then needs a TLB flush
 * there, which on a VM means waking an idle vCPU.  Kept only after a
 * checkpoint of modest size (its touched pages stay resident: ~100 KiB
 * for a small process). */
static struct crac__dump *spare;
#define SPARE_MAX_RUNS 16384 /* 512 KiB of run entries */

/* One private mapping holds the dumper's state and buffers: whatever
 * changes in it while memory is saved is left out of the image.  The
 * struct crac__dump itself comes first. */
static struct crac__dump *alloc_scratch(void)
{
    size_t sizes[] = {sizeof(struct crac__dump), MAPS_CAP,
                      REGIONS_CAP * sizeof(struct crac_img_region),
                      RUNS_CAP * sizeof(struct crac_img_run), FILES_CAP * sizeof(struct crac_img_file),
                      STRINGS_CAP, LABELS_CAP, PAGEMAP_CAP * sizeof(uint64_t),
                      IOV_CAP * sizeof(struct iovec),
                      CRAC_MAX_THREADS * sizeof(struct crac_img_thread), NOTES_CAP,
                      crac__fdscan_size(), sizeof(struct crac__parker)};
    size_t total = 0, off = 0;
    struct crac__dump *d;
    char *base;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        total += page_up(sizes[i]);
    if (spare) {
        base = spare->scratch;
        spare = NULL;
    } else {
        base = mmap(NULL, total, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED)
            return NULL;
    }
    d = (void *)base;
    memset(d, 0, sizeof(*d));
    d->scratch = base;
    d->scratch_len = total;
    off = page_up(sizes[0]);
#define CARVE(field, i) (d->field = (void *)(base + off), off += page_up(sizes[i]))
    CARVE(maps, 1);
    CARVE(regions, 2);
    CARVE(runs, 3);
    CARVE(files, 4);
    CARVE(strings, 5);
    CARVE(labels, 6);
    CARVE(pagemap, 7);
    CARVE(iov, 8);
    CARVE(threads, 9);
    CARVE(notes, 10);
    CARVE(fdscan, 11);
    CARVE(parker, 12);
#undef CARVE
    d->maps_cap = MAPS_CAP;
    d->regions_cap = REGIONS_CAP;
    d->runs_cap = RUNS_CAP;
    d->files_cap = FILES_CAP;
    d->strings_cap = STRINGS_CAP;
    d->labels_cap = LABELS_CAP;
    d->notes_cap = NOTES_CAP;
    d->pagemap_cap = PAGEMAP_CAP;
    d->iov_cap = IOV_CAP;
    d->strings[0] = 0; /* offset 0 is the empty string */
    d->strings_len = 1;
    d->meta_fd = d->pages_fd = d->pagemap_fd = d->lock_fd = -1;
    return d;
}

/* Counts directory entries other than "." and ".."; -errno on failure. */
static long count_entries(const char *dir, int *has_ours)
{
    DIR *dh = opendir(dir);
    struct dirent *e;
    long entries = 0;
    if (!dh)
        return -errno;
    *has_ours = 0;
    while ((e = readdir(dh)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            entries++;
            *has_ours += !strcmp(e->d_name, CRAC_IMG_META) || !strcmp(e->d_name, CRAC_IMG_PAGES);
        }
    closedir(dh);
    return entries;
}

/* An existing destination may be replaced only when it is empty or an image:
 * never delete a directory the user keeps other things in.
 * 0: does not exist, 1: exists and may be replaced, -1: refused. */
static int check_existing(const char *dest, crac_error **err)
{
    struct stat st;
    long n;
    int ours = 0;
    if (stat(dest, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        *err = crac__error_src("engine", "checkpoint destination %s: %s", dest, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        *err = crac__error_src("engine", "checkpoint destination %s exists and is not a directory",
                               dest);
        return -1;
    }
    n = count_entries(dest, &ours);
    if (n < 0 || n != ours) {
        *err = crac__error_src("engine", "checkpoint destination %s exists and holds files that "
                               "are not a crac image; refusing to replace it", dest);
        return -1;
    }
    return 1;
}

static void remove_image_dir(const char *dir)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/" CRAC_IMG_META, dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/" CRAC_IMG_PAGES, dir);
    unlink(path);
    rmdir(dir);
}

static int split_dest(struct crac__dump *d, const char *dest, crac_error **err)
{
    char *slash;
    const char *base;
    if (strlen(dest) >= sizeof(d->dest) - 64 || !*dest) {
        *err = crac__error_src("engine", "checkpoint destination '%s' is empty or too long", dest);
        return -1;
    }
    strcpy(d->dest, dest);
    while (strlen(d->dest) > 1 && d->dest[strlen(d->dest) - 1] == '/')
        d->dest[strlen(d->dest) - 1] = 0;
    strcpy(d->parent, d->dest);
    slash = strrchr(d->parent, '/');
    if (!slash) {
        strcpy(d->parent, ".");
        base = d->dest;
    } else {
        base = d->dest + (slash - d->parent) + 1;
        if (slash == d->parent)
            slash[1] = 0;
        else
            *slash = 0;
    }
    snprintf(d->tmp, sizeof(d->tmp), "%s/.%s.tmp.%d", d->parent, base, (int)getpid());
    return 0;
}

/* Read and write: the dumper hashes page data from the file's own pages. */
int crac__dump_open_new(const char *dir, const char *name)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* Temporary directories of earlier checkpoints to the same destination,
 * ".NAME.tmp.PID", whose checkpoint is over: killed with -9, or by a crash,
 * they stay forever and fill the disk.  A checkpoint holds an exclusive
 * flock on its directory while it writes, and the kernel drops it when the
 * process dies, whatever its pid namespace or a pid reused since: a
 * directory we can lock is left over; one we cannot is a checkpoint in
 * progress, left alone.  Only directories of our own user, holding nothing
 * but an image's files (rmdir fails otherwise), are removed. */
static void remove_leftovers(const char *parent, const char *base)
{
    char prefix[NAME_MAX + 8], path[PATH_MAX];
    size_t plen = (size_t)snprintf(prefix, sizeof(prefix), ".%s.tmp.", base);
    DIR *dh = opendir(parent);
    struct dirent *e;
    if (!dh)
        return;
    while ((e = readdir(dh))) {
        struct stat st;
        if (strncmp(e->d_name, prefix, plen) || !e->d_name[plen] ||
            strspn(e->d_name + plen, "0123456789") != strlen(e->d_name + plen))
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) >= sizeof(path))
            continue;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && flock(fd, LOCK_EX | LOCK_NB) == 0) {
            crac__log("removing %s, left by a checkpoint that did not finish", path);
            remove_image_dir(path);
        }
        close(fd);
    }
    closedir(dh);
}

/* 0700 (files 0600): images hold process memory, secrets included.  Locked
 * while we write it (remove_leftovers).  The lock's descriptor, or -1. */
static int make_tmp_dir(const char *tmp)
{
    if (mkdir(tmp, 0700) < 0) {
        if (errno != EEXIST)
            return -1;
        remove_image_dir(tmp); /* ours from a killed checkpoint with our pid */
        if (mkdir(tmp, 0700) < 0)
            return -1;
    }
    int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

struct crac__dump *crac__dump_prepare(const char *dest, crac_error **err)
{
    struct crac__dump *d = alloc_scratch();
    int rc;
    if (!d) {
        *err = crac__error_src("engine", "cannot map the dumper's memory: %s", strerror(errno));
        return NULL;
    }
    if (split_dest(d, dest, err) || (rc = check_existing(d->dest, err)) < 0) {
        crac__dump_free(d);
        return NULL;
    }
    d->replace = rc == 1;
    const char *base = strrchr(d->dest, '/');
    remove_leftovers(d->parent, base ? base + 1 : d->dest);
    if ((d->lock_fd = make_tmp_dir(d->tmp)) < 0) {
        *err = crac__error_src("engine", "cannot create %s: %s", d->tmp, strerror(errno));
        crac__dump_free(d);
        return NULL;
    }
    d->pages_fd = crac__dump_open_new(d->tmp, CRAC_IMG_PAGES);
    d->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (d->pages_fd < 0 || d->pagemap_fd < 0) {
        *err = crac__error_src("engine", "cannot open image files in %s: %s", d->tmp, strerror(errno));
        crac__dump_finish(d, -1);
        crac__dump_free(d);
        return NULL;
    }
    return d;
}

void crac__dump_free(struct crac__dump *d)
{
    if (!d)
        return;
    if (!spare && d->nruns <= SPARE_MAX_RUNS)
        spare = d;
    else
        munmap(d->scratch, d->scratch_len);
}

void crac__dump_forget_spare(void)
{
    spare = NULL;
}

/* The files, the image directory (their names) and its parent (the
 * image's name), all at once (src/dump/fsyncs.c says why). */
static int sync_all(struct crac__dump *d)
{
    int dir = open(d->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int parent = open(d->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = dir < 0 || parent < 0 ? -errno : 0;
    if (!rc) {
        int fds[] = {d->meta_fd, dir, parent};
        rc = crac__fsync_all(fds, 3);
    }
    if (dir >= 0)
        close(dir);
    if (parent >= 0)
        close(parent);
    return rc;
}

/* The page data's fsync, started by the writing phase (or now). */
static int pages_synced(struct crac__dump *d)
{
    if (!d->pages_sync_started)
        return fsync(d->pages_fd) < 0 ? -errno : 0;
    d->pages_sync_started = false;
    return crac__fsync_finish(&d->pages_sync);
}

/* The image appears under its name complete or not at all: both files are
 * fully written before the rename.  The rename comes before the fsyncs so
 * that one journal commit makes files, directory and name durable at once
 * (a rename after them costs a commit of its own); a machine crash before
 * that commit can leave a torn image under the name, which every restore
 * refuses by its checksums and sizes.  When syncing fails, the old state
 * comes back: the previous image, or no image. */
static int publish(struct crac__dump *d)
{
    int rc;
    if (d->replace) {
        /* Swap atomically: the old image stays valid until the new one is in place. */
        if (renameat2(AT_FDCWD, d->tmp, AT_FDCWD, d->dest, RENAME_EXCHANGE) < 0)
            return -errno;
    } else if (rename(d->tmp, d->dest) < 0) {
        return -errno;
    }
    rc = sync_all(d);
    int p = pages_synced(d);
    rc = rc ? rc : p;
    if (rc == 0) {
        if (d->replace)
            remove_image_dir(d->tmp);
        return 0;
    }
    if (d->replace)
        renameat2(AT_FDCWD, d->tmp, AT_FDCWD, d->dest, RENAME_EXCHANGE);
    else
        rename(d->dest, d->tmp);
    return rc;
}

int crac__dump_finish(struct crac__dump *d, int rc)
{
    if (rc == 0) {
        int p = publish(d);
        if (p < 0) {
            rc = p;
            d->err_what = "publishing the image";
        }
    }
    /* After a failed dump or publish the page data's fsync may still run:
     * its helper uses the scratch mapping, which goes away after this. */
    if (d->pages_sync_started)
        pages_synced(d);
    if (d->meta_fd >= 0)
        close(d->meta_fd);
    if (d->pages_fd >= 0)
        close(d->pages_fd);
    if (d->pagemap_fd >= 0)
        close(d->pagemap_fd);
    d->meta_fd = d->pages_fd = d->pagemap_fd = -1;
    if (rc != 0)
        remove_image_dir(d->tmp);
    if (d->lock_fd >= 0)
        close(d->lock_fd); /* after the removal: nobody else removes it meanwhile */
    d->lock_fd = -1;
    return rc;
}

/* Appends "text\0" to a NUL-separated list; 0, or -1 when it is full. */
static int add_item(char *buf, size_t *len, size_t cap, const char *prefix, const char *text,
                    size_t n)
{
    size_t p = strlen(prefix);
    if (p + n + 1 > cap - *len)
        return -1;
    memcpy(buf + *len, prefix, p);
    memcpy(buf + *len + p, text, n);
    buf[*len + p + n] = 0;
    *len += p + n + 1;
    return 0;
}

int crac__dump_labels_notes(struct crac__dump *d, const struct crac__cp_request *req,
                            crac_error **err)
{
    for (const char *s = req->labels; s && *s;) {
        size_t n = strcspn(s, ",");
        const char *eq = memchr(s, '=', n);
        if (n && (!eq || eq == s || add_item(d->labels, &d->labels_len, d->labels_cap, "", s, n))) {
            *err = crac__error_src("engine", "labels: '%.*s' is not KEY=VALUE (or too long)",
                                   (int)n, s);
            return -1;
        }
        s += n + (s[n] == ',');
    }
    /* Whole items only: the request's notes are "key=value\0" items. */
    size_t len = req->notes ? req->notes_len : 0;
    if (len > d->notes_cap) {
        const char *end = memrchr(req->notes, 0, d->notes_cap);
        len = end ? (size_t)(end + 1 - req->notes) : 0;
    }
    if (len)
        memcpy(d->notes, req->notes, len);
    d->notes_len = len;
    return 0;
}

uint32_t crac__dump_str(struct crac__dump *d, const char *s, size_t len)
{
    uint32_t off = (uint32_t)d->strings_len;
    if (len + 1 > d->strings_cap - d->strings_len)
        return 0;
    memcpy(d->strings + off, s, len);
    d->strings[off + len] = 0;
    d->strings_len += len + 1;
    return off;
}

int crac__dump_file(struct crac__dump *d, const char *path, size_t len, uint64_t ino)
{
    struct crac_img_file *f;
    if (len >= PATH_MAX)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < d->nfiles; i++) {
        const char *known = d->strings + d->files[i].path;
        if (!strncmp(known, path, len) && !known[len])
            return (int)i;
    }
    if (d->nfiles == d->files_cap)
        return -E2BIG;
    f = &d->files[d->nfiles];
    memset(f, 0, sizeof(*f));
    f->ino = ino;
    f->path = crac__dump_str(d, path, len);
    return (int)d->nfiles++;
}

int crac__dump_identify_files(struct crac__dump *d)
{
    for (size_t i = 0; i < d->nfiles; i++) {
        struct crac_img_file *f = &d->files[i];
        const char *path = d->strings + f->path;
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
        if (fd < 0)
            rc = -errno;
        else if (fstat(fd, &st) < 0)
            rc = -errno;
        else if (f->ino && st.st_ino != f->ino)
            rc = -ESTALE; /* replaced on disk since it was mapped */
        if (rc) {
            snprintf(d->err_text, sizeof(d->err_text), "checking the mapped file %s", path);
            d->err_what = d->err_text;
            if (fd >= 0)
                close(fd);
            return rc;
        }
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->size = (uint64_t)st.st_size;
        f->mtime_sec = st.st_mtim.tv_sec;
        f->mtime_nsec = st.st_mtim.tv_nsec;
        f->mode = st.st_mode;
        f->ctime_sec = st.st_ctim.tv_sec;
        f->ctime_nsec = st.st_ctim.tv_nsec;
        f->build_id_len = crac__elf_build_id(fd, f->build_id, sizeof(f->build_id));
        /* Compared at restore only where the inode or its change time
         * differ; computed now, while the disk flushes the page data.
         * Not for root's files that only root may write (the system's
         * libraries): root can change anything, ctime included, and
         * hashing them cost a third of a small checkpoint (0.4-0.6 ms
         * for libc, ld.so and the library); a change in place still
         * shows in their change time. */
        f->content_hash = 0;
        f->uid = (uint32_t)st.st_uid;
        f->hashed = st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH));
        if (f->hashed)
            rc = crac__file_hash(fd, f->size, &f->content_hash);
        close(fd);
        if (rc) {
            snprintf(d->err_text, sizeof(d->err_text), "reading the mapped file %s", path);
            d->err_what = d->err_text;
            return rc;
        }
    }
    return 0;
}
