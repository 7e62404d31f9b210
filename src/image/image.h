/* SPDX-License-Identifier: Apache-2.0 */
/* Reading and writing the image format: shared by the dumper, the restorer
 * and `crac image`.  Functions return 0 or -1 with *err set (source "image"). */
#ifndef CRAC_IMAGE_H
#define CRAC_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "crac.h"
#include "image/format.h"

/* An image: opened for reading (the meta file validated and in memory), or
 * the parts the dumper is about to write. */
struct crac_img {
    char *dir;
    void *meta; /* malloc'd copy of the meta file */
    const struct crac_img_header *hdr;
    const struct crac_img_proc *proc;
    const struct crac_img_region *regions;
    size_t nregions;
    const struct crac_img_run *runs;
    size_t nruns;
    const struct crac_img_file *files;
    size_t nfiles;
    const char *strings;
    size_t strings_len;
    const char *labels;
    size_t labels_len;
    const struct crac_img_thread *threads;
    size_t nthreads;
    const char *notes;
    size_t notes_len;
    const struct crac_img_fd *fds; /* ascending fd numbers */
    size_t nfds;
    const uint8_t *fddata;
    size_t fddata_len;
    int pages_fd;
};

/* Writes the meta file to fd (from offset 0) from the proc, regions, runs,
 * files, strings and labels of `p` (dir, meta and hdr unused).  Uses no heap
 * memory, so the dumper may call it while the heap is being saved.
 * 0 or -errno. */
/* pwritev() of all n iovecs at off, short writes resumed (the iovecs are
 * consumed).  0 or -errno. */
int crac__pwritev_all(int fd, struct iovec *iov, int n, off_t off);
int crac__img_write_meta(int fd, const struct crac_img *p, uint64_t pages_size);

/* Opens DIR, checks magic, version, sizes and every meta checksum, then
 * the meaning of every field (check*.c: each against everything it must
 * agree with).  Page data is not read. */
int crac__img_open(const char *dir, struct crac_img *img, crac_error **err);
void crac__img_close(struct crac_img *img);
/* Sets *err to "DIR: <what>" (source "image") and returns -1: a refusal of
 * the image that names the entry, the field and the problem. */
int crac__img_refuse(const struct crac_img *img, crac_error **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The saved region holding addr, or NULL (in an opened image). */
const struct crac_img_region *crac__img_region_at(const struct crac_img *img, uint64_t addr);
/* Whether [addr, addr + len) is saved memory, without a gap, with at least
 * the protection prot (0: any) everywhere (len 0: addr is saved memory). */
bool crac__img_mem_has(const struct crac_img *img, uint64_t addr, uint64_t len, uint32_t prot);
/* A string of the image's string table ("" for a bad offset). */
const char *crac__img_str(const struct crac_img *img, uint32_t off);
/* Reads every run of page data and compares its checksum. */
int crac__img_verify_pages(const struct crac_img *img, crac_error **err);
/* "DIR: WHAT in the page data at ADDR (...)" for run k. */
crac_error *crac__img_run_error(const struct crac_img *img, size_t k, const char *what);
/* XXH3-64 of a whole file of `size` bytes, read through a mapping.  0 or -errno. */
int crac__file_hash(int fd, uint64_t size, uint64_t *hash);
/* Every mapped file unchanged (size, mtime, build-id; then the same inode
 * and change time, or the same content)?  One cause per file. */
int crac__img_check_files(const struct crac_img *img, crac_error **err);
/* CPU features and kernel (vDSO) of this machine compatible with the image? */
int crac__img_check_host(const struct crac_img *img, crac_error **err);

/* ---- helpers shared with the dumper ---- */
/* ELF build-id of an open file into out (max bytes); its length, 0 if none. */
uint32_t crac__elf_build_id(int fd, uint8_t *out, uint32_t max);
/* This CPU's feature words. */
void crac__cpu_features(struct crac_img_cpu *c);
/* The [vvar]/[vvar_vclock]/[vdso] layout and vDSO hash of this process.
 * 0, or -ENOENT when there is no vDSO. */
int crac__vdso_layout(struct crac_img_vdso *v);
/* The same from a copy of /proc/self/maps already read (no heap). */
int crac__vdso_layout_in(const char *maps, size_t len, struct crac_img_vdso *v);
const char *crac__region_kind_name(uint32_t kind);

/* ---- descriptors (fds.c) ---- */
/* Every field of the descriptor sections in range (called by crac__img_open). */
int crac__img_check_fds(const struct crac_img *img, crac_error **err);
/* The saved descriptor with number fd, or NULL. */
const struct crac_img_fd *crac__img_fd(const struct crac_img *img, int fd);
/* The record that carries the object of f (f itself, or the one it shares
 * an open file description with). */
const struct crac_img_fd *crac__img_fd_object(const struct crac_img *img,
                                              const struct crac_img_fd *f);
/* "pipe", "eventfd", ... */
const char *crac__img_fd_kind_name(uint32_t kind);
/* What it is, for people: "TCP/IPv4 socket listening on 127.0.0.1:80",
 * "eventfd, count 3", ... into buf. */
void crac__img_fd_describe(const struct crac_img *img, const struct crac_img_fd *f, char *buf,
                           size_t size);
/* Whether st (of the file at f's path now) is the file f saw: a device by
 * its number; a directory or a log (O_APPEND: it grows) by device and
 * inode; a file read from also by size and modification time. */
struct stat;
bool crac__img_fd_same_file(const struct crac_img_fd *f, const struct stat *st);
/* Every file behind a saved descriptor still that file?  One cause each. */
int crac__img_check_fd_files(const struct crac_img *img, crac_error **err);
/* The socket description of a SOCKET or SOCKETPAIR record (checked). */
const struct crac_img_sock *crac__img_fd_sock(const struct crac_img *img,
                                              const struct crac_img_fd *f);
/* The value of label `key` in the image, or NULL. */
const char *crac__img_label(const struct crac_img *img, const char *key);

#endif
