/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client end of the control socket: find the process's socket, send one
 * request, read the reply until the process closes the connection.  Used by
 * `crac checkpoint` and `crac check`.  No timeout: a checkpoint takes as long
 * as its callbacks do (with the pause engine, until `crac resume`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/ctl_client.h"
#include "cli/util.h"
#include "control/control.h"

/* Where the socket of `pid` is; 0, or 1 after printing why there is none. */
static int locate(const char *cmd, pid_t pid, char path[CRAC__CTL_PATH_MAX])
{
    char proc[32], why[256];
    struct stat st;
    snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
    if (stat(proc, &st) < 0)
        return crac__fail(cmd, "no process with pid %d", (int)pid);
    int r = crac__control_find(pid, st.st_uid, path, why, sizeof(why));
    if (r == -EACCES)
        return crac__fail(cmd, "cannot reach the control socket of pid %d: %s; "
                          "only its user (uid %u) and root may control it",
                          (int)pid, why, (unsigned)st.st_uid);
    if (r < 0)
        return crac__fail(cmd, "pid %d has no crac control socket: start it "
                          "with `crac run`, or set CRAC_CONTROL=1 for a program "
                          "linked with libcrac (see docs/control.md)", (int)pid);
    return 0;
}

/* The process at the other end must be pid itself: a socket file can be
 * moved by whoever owns it, and an answer from anyone else is a lie. */
static int peer_is(const char *cmd, int fd, pid_t pid, const char *path)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.pid == pid)
        return 0;
    close(fd);
    crac__fail(cmd, "%s is not served by pid %d (but by pid %d): refused", path, (int)pid,
               len == sizeof(cr) ? (int)cr.pid : -1);
    return -1;
}

static int connect_to(const char *cmd, pid_t pid, const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
        return peer_is(cmd, fd, pid, path) < 0 ? -1 : fd;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (e == ECONNREFUSED)
        crac__fail(cmd, "nothing listens on %s: pid %d exited, or is taking a "
                   "checkpoint right now", path, (int)pid);
    else
        crac__fail(cmd, "cannot connect to %s: %s", path, strerror(e));
    return -1;
}

static int send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until EOF into a NUL-terminated buffer.  NULL when out of memory. */
static char *read_all(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    while (buf) {
        if (cap - len < 1024) {
            char *b = realloc(buf, cap *= 2);
            if (!b)
                break;
            buf = b;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            buf[len] = '\0';
            return buf;
        }
        len += (size_t)r;
    }
    free(buf);
    return NULL;
}

/* Splits the header into lines in place. */
static int parse(struct crac__ctl_reply *r)
{
    char *end = strstr(r->buf, "\n\n");
    r->complete = end != NULL;
    r->body = end ? end + 2 : "";
    if (end)
        end[1] = '\0';
    size_t n = 0;
    for (char *p = r->buf; *p; p++)
        n += *p == '\n';
    r->lines = calloc(n + 1, sizeof(char *));
    if (!r->lines)
        return -1;
    char *save = NULL, *line = strtok_r(r->buf, "\n", &save);
    if (!line || strcmp(line, CRAC__CTL_MAGIC) != 0)
        return line ? -1 : 0; /* nothing at all: the process went away */
    while ((line = strtok_r(NULL, "\n", &save)))
        r->lines[r->nlines++] = line;
    return 0;
}

static void reply_free(struct crac__ctl_reply *r)
{
    free(r->buf);
    free(r->lines);
    memset(r, 0, sizeof(*r));
}

/* Sends one request to process `pid` (`request`: its lines after the first,
 * each ending in "\n", without the final empty line) and reads the reply
 * until the process closes the connection.  0 with *r filled (r->complete is
 * false when the connection ended before the whole header); otherwise prints
 * "crac CMD: ..." naming what went wrong and returns 1. */
static int ctl_call(const char *cmd, pid_t pid, const char *request,
                   struct crac__ctl_reply *r)
{
    char path[CRAC__CTL_PATH_MAX];
    memset(r, 0, sizeof(*r));
    if (locate(cmd, pid, path))
        return CRAC__EXIT_FAIL;
    int fd = connect_to(cmd, pid, path);
    if (fd < 0)
        return CRAC__EXIT_FAIL;
    char *msg = NULL;
    if (asprintf(&msg, CRAC__CTL_MAGIC "\n%s\n", request) < 0)
        msg = NULL;
    if (!msg) {
        close(fd);
        return crac__fail(cmd, "out of memory");
    }
    /* A failed send is not the end: the process may have answered already
     * (a refusal), and the answer says more than EPIPE. */
    int sent = send_all(fd, msg, strlen(msg)), send_errno = errno;
    free(msg);
    /* Our half is done; the process answers and closes its half. */
    shutdown(fd, SHUT_WR);
    r->buf = read_all(fd);
    close(fd);
    if (sent < 0 && (!r->buf || !*r->buf)) {
        reply_free(r);
        return crac__fail(cmd, "cannot send the request to pid %d: %s",
                          (int)pid, strerror(send_errno));
    }
    if (!r->buf || parse(r) < 0) {
        reply_free(r);
        return crac__fail(cmd, "pid %d sent a reply that is not %s", (int)pid,
                          CRAC__CTL_MAGIC);
    }
    return CRAC__EXIT_OK;
}

const char *crac__ctl_get(const struct crac__ctl_reply *r, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < r->nlines; i++)
        if (strncmp(r->lines[i], key, n) == 0 && r->lines[i][n] == ' ')
            return r->lines[i] + n + 1;
    return NULL;
}


void crac__ctl_print_tree(FILE *f, const char *cmd, pid_t pid, const char *what,
                          const char *text)
{
    size_t len = strlen(text);
    bool multi = len && memchr(text, '\n', len - 1) != NULL;
    fprintf(f, "crac %s: pid %d%s%s%s", cmd, (int)pid, what ? ": " : "",
            what ? what : "", multi ? ":\n" : ": ");
    fputs(text, f);
    if (!len || text[len - 1] != '\n')
        fputc('\n', f);
}

int crac__ctl_command(const char *cmd, const char *pid_text, const char *request,
                      int (*report)(pid_t, const struct crac__ctl_reply *))
{
    pid_t pid;
    struct crac__ctl_reply r;
    int rc = crac__pid_arg(cmd, pid_text, &pid);
    if (rc)
        return rc;
    rc = ctl_call(cmd, pid, request, &r);
    if (rc == CRAC__EXIT_OK) {
        rc = report(pid, &r);
        reply_free(&r);
    }
    return rc;
}
