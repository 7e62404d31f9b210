/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every corrupted or truncated image is refused with a message, never
 * trusted and never a crash: takes a real image (written by a child that
 * checkpoints itself with the native engine), then for every byte of its
 * metadata flips one bit, and for many lengths truncates it, and checks
 * that opening the image (what `crac restore` and `crac image` do first)
 * fails with an error naming the image.  Flips in the page data are caught
 * by the per-run checksums (crac__img_verify_pages).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "image/image.h"
#include "testutil.h"

static char *slurp(const char *path, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    char *buf;
    CHECK(fd >= 0 && fstat(fd, &st) == 0, "open %s: %s", path, strerror(errno));
    buf = malloc((size_t)st.st_size);
    CHECK(buf && read(fd, buf, (size_t)st.st_size) == st.st_size, "read %s", path);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static void spill(const char *path, const char *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && write(fd, buf, len) == (ssize_t)len, "write %s", path);
    close(fd);
}

/* Opening must fail with a message that names the image directory. */
static void expect_refused(const char *dir, const char *what, size_t at)
{
    struct crac_img img;
    crac_error *err = NULL;
    if (crac__img_open(dir, &img, &err) == 0) {
        crac__img_close(&img);
        fprintf(stderr, "accepted an image with %s at %zu\n", what, at);
        exit(1);
    }
    CHECK(err && strstr(crac_error_message(err), dir), "%s at %zu: error without the image's name",
          what, at);
    crac_error_free(err);
}

int main(void)
{
    char img[4096], meta[4200], pages[4200], self[4096];
    const char *tmp = test_tmp();
    size_t len, plen;
    char *orig, *buf, *porig;
    pid_t pid;
    int status;
    struct crac_img ok;
    crac_error *err = NULL;

    if (test_sanitized())
        SKIP("an ASan-built process cannot be checkpointed by the native engine");
    snprintf(img, sizeof(img), "%s/img", tmp);
    snprintf(meta, sizeof(meta), "%s/meta", img);
    snprintf(pages, sizeof(pages), "%s/pages", img);
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CHECK(n > 0, "readlink");
    self[n] = 0;
    /* The child checkpoints itself (and exits 0 when the image is written). */
    pid = fork();
    if (pid == 0) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        crac_set_option("engine", "native");
        crac_set_option("checkpoint_to", img);
        crac_error *e = NULL;
        _exit(crac_checkpoint_restore(&e) == 0 ? 0 : 3);
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "checkpoint child failed (status %d)", status);
    CHECK(crac__img_open(img, &ok, &err) == 0, "the good image is refused: %s",
          err ? crac_error_message(err) : "?");
    crac__img_close(&ok);

    orig = slurp(meta, &len);
    buf = malloc(len);
    for (size_t at = 0; at < len; at++) {
        memcpy(buf, orig, len);
        buf[at] ^= (char)(1u << (at % 8));
        spill(meta, buf, len);
        expect_refused(img, "a flipped bit in meta", at);
    }
    for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
        spill(meta, orig, cut);
        expect_refused(img, "meta truncated", cut);
    }
    spill(meta, orig, len);

    /* Page data: every run's checksum catches a flip in it. */
    porig = slurp(pages, &plen);
    for (size_t at = 0; at < plen; at += 4096 + 17) {
        CHECK(crac__img_open(img, &ok, &err) == 0, "reopen");
        char c = porig[at] ^ 0x10;
        int fd = open(pages, O_WRONLY);
        CHECK(pwrite(fd, &c, 1, (off_t)at) == 1, "pwrite");
        CHECK(crac__img_verify_pages(&ok, &err) < 0, "page data flip at %zu not detected", at);
        CHECK(strstr(crac_error_message(err), "checksum mismatch"), "message: %s",
              crac_error_message(err));
        crac_error_free(err);
        err = NULL;
        CHECK(pwrite(fd, &porig[at], 1, (off_t)at) == 1, "pwrite back");
        close(fd);
        crac__img_close(&ok);
    }
    printf("%zu bit flips and truncations of meta refused; page data flips detected\n", len);
    free(orig);
    free(buf);
    free(porig);
    return 0;
}
