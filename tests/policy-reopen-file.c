/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy `reopen` for files and directories (sim engine): closed before the
 * checkpoint, opened again after the "restore" on the same descriptor
 * number, with the same path, access mode, status flags, offset and
 * close-on-exec flag.  A deleted file cannot be reopened by its path: the
 * checkpoint is refused, naming the rule and why.
 */
#include <errno.h>
#include <sys/stat.h>

#include "checkutil.h"

static void same_file(int fd, const struct stat *before, const char *what)
{
    struct stat st;
    CHECK(fstat(fd, &st) == 0, "%s: fd %d is not open after the restore", what, fd);
    CHECK(st.st_ino == before->st_ino && st.st_dev == before->st_dev, "%s: another file", what);
}

int main(void)
{
    char data[4200], log[4200], gone[4200];
    const char *tmp = test_tmp();
    setenv("CRAC_ENGINE", "sim", 1);
    snprintf(data, sizeof(data), "%s/data", tmp);
    snprintf(log, sizeof(log), "%s/app.log", tmp);
    snprintf(gone, sizeof(gone), "%s/gone.log", tmp);

    int f = open(data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    CHECK(f >= 0 && write(f, "abcdef", 6) == 6 && lseek(f, 3, SEEK_SET) == 3, "data");
    int g = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, 0600);
    CHECK(g >= 0 && write(g, "1", 1) == 1, "log");
    int d = open(tmp, O_RDONLY | O_DIRECTORY);
    struct stat sf, sg, sd;
    CHECK(fstat(f, &sf) == 0 && fstat(g, &sg) == 0 && fstat(d, &sd) == 0, "stat");

    const char *pol = write_policies("policies", "file reopen path=%s/**\ndir reopen\n", tmp);
    CHECK(crac_set_option("policies", pol) == 0, "set policies");
    capture_stderr();
    crac_error *err = NULL;
    int rc = crac_checkpoint_restore(&err);
    const char *out = stderr_text();
    if (rc < 0)
        free(show(err));
    CHECK(rc == 0 && crac_restore_count() == 1, "the checkpoint must go through");

    same_file(f, &sf, "data");
    CHECK((fcntl(f, F_GETFL) & O_ACCMODE) == O_RDWR, "data: access mode");
    CHECK(fcntl(f, F_GETFD) == FD_CLOEXEC, "data: close-on-exec must be kept");
    CHECK(lseek(f, 0, SEEK_CUR) == 3, "data: offset %lld, want 3", (long long)lseek(f, 0, SEEK_CUR));
    char buf[16] = "";
    CHECK(write(f, "X", 1) == 1 && pread(f, buf, sizeof(buf) - 1, 0) == 6 && !strcmp(buf, "abcXef"),
          "data: content '%s', want abcXef (not truncated, written at the offset)", buf);

    same_file(g, &sg, "log");
    int fl = fcntl(g, F_GETFL);
    CHECK((fl & O_ACCMODE) == O_WRONLY && (fl & O_APPEND) && (fl & O_NONBLOCK), "log: flags %#o", fl);
    CHECK(fcntl(g, F_GETFD) == 0, "log: no close-on-exec, as before");
    CHECK(write(g, "2", 1) == 1 && pread(open(log, O_RDONLY), buf, sizeof(buf) - 1, 0) == 2 &&
          !strncmp(buf, "12", 2), "log: appended");

    same_file(d, &sd, "dir");
    char line[4400];
    snprintf(line, sizeof(line), "crac: fd %d reopened after the restore (policy %s:1): regular "
             "file %s (O_RDWR, offset 3 of 6 bytes)", f, pol, data);
    CHECK(strstr(out, line), "no line '%s'", line);

    /* deleted: it cannot be reopened by its path */
    int h = open(gone, O_WRONLY | O_CREAT, 0600);
    CHECK(h >= 0 && unlink(gone) == 0, "gone");
    CHECK(crac_checkpoint_restore(&err) < 0, "a deleted file cannot be reopened");
    free(show(err));
    char want[200];
    snprintf(want, sizeof(want), " (deleted) (O_WRONLY, offset 0 of 0 bytes) [policy %s:1: it was "
             "deleted, so it cannot be opened again by its path]", pol);
    EXPECT_FD(err, h, want);
    CHECK(crac_error_cause_count(err) == 1, "only the deleted file");
    crac_error_free(err);
    CHECK(fcntl(h, F_GETFD) >= 0 && fcntl(f, F_GETFD) >= 0, "still open after the refusal");
    printf("policy-reopen-file: ok\n");
    return 0;
}
