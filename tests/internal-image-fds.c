/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The descriptor sections are validated field by field, not only by their
 * checksums: a crafted image (checksums made right again after the change)
 * with a descriptor number out of range or repeated, an unknown kind, a
 * duplicate that points nowhere, data outside the data section, an epoll
 * entry naming an unsaved descriptor, a pipe without its group, a socket
 * pair whose ends disagree, or a socket address too long, is refused with
 * a message naming the image.  The image comes from a child that holds
 * one descriptor of each such kind and checkpoints itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include "image/hash.h"
#include "image/image.h"
#include "testutil.h"

static char *meta_buf;
static size_t meta_len;

static void load(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && fstat(fd, &st) == 0, "open %s", path);
    meta_len = (size_t)st.st_size;
    meta_buf = malloc(meta_len);
    CHECK(meta_buf && read(fd, meta_buf, meta_len) == (ssize_t)meta_len, "read %s", path);
    close(fd);
}

/* A copy of the meta file with its descriptors changed by `edit`, every
 * checksum made right again, written to path. */
typedef void edit_fn(struct crac_img_fd *fds, size_t n, uint8_t *data);
static void craft(const char *path, edit_fn *edit)
{
    char *m = malloc(meta_len);
    memcpy(m, meta_buf, meta_len);
    struct crac_img_header *h = (void *)m;
    struct crac_img_section *s = &h->sections[CRAC_SEC_FDS - 1];
    struct crac_img_section *d = &h->sections[CRAC_SEC_FDDATA - 1];
    edit((void *)(m + s->offset), s->size / sizeof(struct crac_img_fd), (void *)(m + d->offset));
    s->hash = crac__hash(m + s->offset, s->size);
    d->hash = crac__hash(m + d->offset, d->size);
    h->header_hash = 0;
    h->header_hash = crac__hash(h, sizeof(*h));
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, m, meta_len) == (ssize_t)meta_len, "write %s", path);
    close(fd);
    free(m);
}

static struct crac_img_fd *find(struct crac_img_fd *f, size_t n, uint32_t kind)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].kind == kind && f[i].same_as < 0)
            return &f[i];
    CHECK(0, "no descriptor of kind %u in the image", kind);
    return NULL;
}

#define EDIT(name, body)                                                       \
    static void name(struct crac_img_fd *f, size_t n, uint8_t *data)           \
    {                                                                          \
        (void)n, (void)data;                                                   \
        body;                                                                  \
    }
EDIT(fd_low, f[0].fd = 2)
EDIT(fd_high, f[n - 1].fd = CRAC_IMG_FD_LIMIT)
EDIT(fd_repeated, f[1].fd = f[0].fd)
EDIT(kind_unknown, f[0].kind = CRAC_FDK_MAX + 1)
EDIT(same_as_nowhere, f[n - 1].same_as = 1000)
EDIT(data_outside, f[0].data_off = 1ULL << 40; f[0].data_len = 8)
EDIT(data_unaligned, find(f, n, CRAC_FDK_EPOLL)->data_off += 4)
EDIT(accmode, f[0].flags |= O_ACCMODE)
EDIT(pipe_group, find(f, n, CRAC_FDK_PIPE)->u.pipe.group = 999)
EDIT(pair_peer, find(f, n, CRAC_FDK_SOCKETPAIR)->u.pair.peer = find(f, n, CRAC_FDK_EVENTFD)->fd)
EDIT(timer_clock, find(f, n, CRAC_FDK_TIMERFD)->u.timerfd.clockid = 3)
EDIT(path_outside, find(f, n, CRAC_FDK_FILE)->path = 1u << 30)
EDIT(epoll_entry, ((struct crac_img_epoll_entry *)(data + find(f, n, CRAC_FDK_EPOLL)->data_off))
                      ->file_fd = 4000)
EDIT(sock_addr_len, ((struct crac_img_sock *)(data + find(f, n, CRAC_FDK_SOCKETPAIR)->data_off))
                        ->addr_len = 4096)

/* Holds one descriptor of each kind the edits change, and checkpoints. */
static void child(const char *img)
{
    int p[2], sv[2], ep = epoll_create1(0), ev = eventfd(3, 0), f = open("/etc/hostname", O_RDONLY);
    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 1};
    CHECK(pipe(p) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && f >= 0 && t >= 0 &&
          epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) == 0 && dup(ev) > 0, "setup");
    crac_set_option("engine", "native");
    crac_set_option("checkpoint_to", img);
    crac_error *err = NULL;
    _exit(crac_checkpoint_restore(&err) == 0 ? 0 : 3);
}

int main(void)
{
    static const struct { const char *what; edit_fn *edit; } cases[] = {
        {"fd 2", fd_low}, {"fd at the limit", fd_high}, {"a repeated fd", fd_repeated},
        {"an unknown kind", kind_unknown}, {"a dup of nothing", same_as_nowhere},
        {"data outside", data_outside}, {"unaligned data", data_unaligned},
        {"a bad access mode", accmode}, {"a pipe without its group", pipe_group},
        {"a socket pair's peer", pair_peer}, {"a timer's clock", timer_clock},
        {"a path outside the strings", path_outside}, {"an epoll entry", epoll_entry},
        {"a socket address length", sock_addr_len},
    };
    char img[4096], meta[4200];
    struct crac_img ok;
    crac_error *err = NULL;
    int status;
    if (test_sanitized())
        SKIP("an ASan-built process cannot be checkpointed by the native engine");
    snprintf(img, sizeof(img), "%s/img", test_tmp());
    snprintf(meta, sizeof(meta), "%s/meta", img);
    pid_t pid = fork();
    if (pid == 0) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        child(img);
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "checkpoint child failed (status %d)", status);
    CHECK(crac__img_open(img, &ok, &err) == 0, "the good image is refused: %s",
          err ? crac_error_message(err) : "?");
    CHECK(ok.nfds >= 8, "%zu descriptors saved", ok.nfds);
    crac__img_close(&ok);
    load(meta);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        craft(meta, cases[i].edit);
        err = NULL;
        CHECK(crac__img_open(img, &ok, &err) < 0, "accepted an image with %s", cases[i].what);
        CHECK(strstr(crac_error_message(err), "inconsistent") &&
                  strstr(crac_error_message(err), img),
              "%s: %s", cases[i].what, crac_error_message(err));
        crac_error_free(err);
    }
    printf("%zu crafted descriptor sections refused\n", sizeof(cases) / sizeof(cases[0]));
    free(meta_buf);
    return 0;
}
