/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a process's control socket lives: BASE/NAME/ctl, with BASE the first
 * usable of a fixed list and NAME made from the pid, so that `crac` finds it
 * from the pid alone.
 *
 * Security rests on the directory BASE/NAME: mode 0700, owned by the process's
 * user, checked (lstat: no symlinks) before use.  A base in a place anyone
 * can write (/tmp) must itself be private, or another user could have made
 * it first and watch or replace what we put in it.  The socket's peer
 * credentials are checked as well (control.c); the directory keeps other
 * users from even connecting.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control/control.h"

/* The initial pid namespace's inode number (the kernel's PROC_PID_INIT_INO). */
#define INIT_PIDNS_INO 0xEFFFFFFCUL

/* NAME: the pid; for a process in another pid namespace (`crac restore
 * --pid ns`, a container) the pid it has there and the namespace, since the
 * same pid in two namespaces must not name the same directory. */
static void make_name(char name[CRAC__CTL_NAME_MAX], long pid, unsigned long ns)
{
    if (ns && ns != INIT_PIDNS_INO)
        snprintf(name, CRAC__CTL_NAME_MAX, "%ld-ns%lu", pid, ns);
    else
        snprintf(name, CRAC__CTL_NAME_MAX, "%ld", pid);
}

/* 0 when unknown (no /proc, or the process is not ours to look at). */
static unsigned long pidns_of(const char *proc_dir)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "%s/ns/pid", proc_dir);
    return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* The directory name of process `pid` (0: this process): its pid, or for a
 * process in a pid namespace other than the initial one, "PID-nsINODE" with
 * the pid it has inside and the namespace's inode number. */
static void control_name(pid_t pid, char name[CRAC__CTL_NAME_MAX])
{
    char proc[32], line[256];
    long inner = pid;
    if (pid == 0) {
        make_name(name, getpid(), pidns_of("/proc/self"));
        return;
    }
    /* The pid the process sees itself as: the last of its NSpid list. */
    snprintf(proc, sizeof(proc), "/proc/%d/status", (int)pid);
    FILE *f = fopen(proc, "re");
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "NSpid:", 6) != 0)
            continue;
        for (char *s = line + 6, *e;; s = e) {
            long v = strtol(s, &e, 10);
            if (e == s)
                break;
            inner = v;
        }
        break;
    }
    if (f)
        fclose(f);
    snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
    make_name(name, inner, pidns_of(proc));
}

static void add_base(struct crac__ctl_bases *b, bool shared, const char *fmt,
                     const char *s, unsigned long u)
{
    char *dst = b->path[b->n];
    int n = s ? snprintf(dst, CRAC__CTL_PATH_MAX, fmt, s)
              : snprintf(dst, CRAC__CTL_PATH_MAX, fmt, u);
    /* Room must be left for "/PID/ctl" (at most 15 bytes) and the NUL. */
    if (n <= 0 || n >= CRAC__CTL_PATH_MAX - 16 || dst[0] != '/')
        return;
    b->shared[b->n++] = shared;
}

/* The base directories of `uid`, in lookup order (struct crac__ctl_bases). */
static void control_bases(uid_t uid, struct crac__ctl_bases *b)
{
    const char *env = secure_getenv("CRAC_CONTROL_DIR");
    const char *xdg = secure_getenv("XDG_RUNTIME_DIR");
    b->n = 0;
    if (env && *env)
        add_base(b, false, "%s", env, 0);
    add_base(b, true, "/run/crac", NULL, 0);
    if (xdg && *xdg)
        add_base(b, false, "%s/crac", xdg, 0);
    add_base(b, false, "/run/user/%lu/crac", NULL, (unsigned long)uid);
    add_base(b, false, "/tmp/crac-%lu", NULL, (unsigned long)uid);
}

/* ---- server side ---- */

/* A directory we may put our own directory in.  The shared base (/run/crac)
 * is made 0755 by whoever can write /run (root), and used when writable.
 * A private base must be ours and closed to others, except $CRAC_CONTROL_DIR
 * which the user chose (only its per-pid directory needs to be private). */
static int ensure_base(const char *path, bool shared, bool chosen, char *why,
                       size_t whylen)
{
    struct stat st;
    /* One level only: a missing $XDG_RUNTIME_DIR or /run/user/UID (made by
     * the login manager) is not ours to invent, and mkdir says ENOENT. */
    if (mkdir(path, shared ? 0755 : 0700) < 0 && errno != EEXIST)
        goto fail;
    if (lstat(path, &st) < 0)
        goto fail;
    errno = ENOTDIR;
    if (!S_ISDIR(st.st_mode))
        goto fail;
    errno = EACCES;
    if (access(path, W_OK | X_OK) < 0)
        goto fail;
    errno = EPERM; /* someone else's, or open to others: not private */
    if (!shared && !chosen && (st.st_uid != geteuid() || (st.st_mode & 077)))
        goto fail;
    return 0;
fail:
    snprintf(why + strlen(why), whylen - strlen(why), "%s%s: %s",
             *why ? "; " : "", path, strerror(errno));
    return -1;
}

/* BASE/PID, 0700 and ours.  A directory left by a dead process that had
 * our pid is taken back (same owner), with its stale socket removed. */
static int ensure_private(const char *dir, char *why, size_t whylen)
{
    struct stat st;
    char sock[CRAC__CTL_PATH_MAX + 8];
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        goto fail;
    if (lstat(dir, &st) < 0)
        goto fail;
    errno = EPERM;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        goto fail;
    if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) < 0)
        goto fail;
    snprintf(sock, sizeof(sock), "%s/" CRAC__CTL_SOCK, dir);
    if (unlink(sock) < 0 && errno != ENOENT)
        goto fail;
    return 0;
fail:
    snprintf(why + strlen(why), whylen - strlen(why), "%s%s: %s",
             *why ? "; " : "", dir, strerror(errno));
    return -1;
}

/* Directories of our user's processes that died without cleaning up (a
 * kill -9 runs no exit handler).  A directory touched in the last seconds
 * is left alone: its pid may just have been given to a process that is
 * making it anew. */
static void sweep(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *e;
    time_t now = time(NULL);
    unsigned long own_ns = pidns_of("/proc/self");
    pid_t self = getpid();
    if (!d)
        return;
    if (!own_ns)
        own_ns = INIT_PIDNS_INO;
    while ((e = readdir(d))) {
        char *end, path[CRAC__CTL_PATH_MAX + 300];
        struct stat st;
        long pid = strtol(e->d_name, &end, 10);
        unsigned long ns = INIT_PIDNS_INO;
        if (strncmp(end, "-ns", 3) == 0)
            ns = strtoul(end + 3, &end, 10);
        /* Only pids of our own namespace can be asked about. */
        if (*end || pid <= 0 || ns != own_ns || pid == self ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || now - st.st_mtime < 5)
            continue;
        snprintf(path, sizeof(path), "%s/%s/" CRAC__CTL_SOCK, base, e->d_name);
        unlink(path);
        snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
        rmdir(path);
    }
    closedir(d);
}

/* When every base failed, for instance because another user made
 * /tmp/crac-UID first: a fresh private directory /tmp/crac-UID.XXXXXX of
 * our own.  Clients find it through /proc/net/unix (crac__control_find). */
static int fallback_dir(char dir[CRAC__CTL_PATH_MAX], const char *name, char *why, size_t whylen)
{
    char base[48]; /* "/tmp/crac-UID.XXXXXX": short, room for "/NAME/ctl" */
    snprintf(base, sizeof(base), "/tmp/crac-%lu.XXXXXX", (unsigned long)geteuid());
    if (!mkdtemp(base)) {
        snprintf(why + strlen(why), whylen - strlen(why), "%s%s: %s", *why ? "; " : "", base,
                 strerror(errno));
        return -1;
    }
    snprintf(dir, CRAC__CTL_PATH_MAX, "%s/%s", base, name);
    return ensure_private(dir, why, whylen);
}

int crac__control_make_dir(char dir[CRAC__CTL_PATH_MAX], char *why, size_t whylen)
{
    struct crac__ctl_bases b;
    char name[CRAC__CTL_NAME_MAX];
    control_name(0, name);
    const char *env = secure_getenv("CRAC_CONTROL_DIR");
    control_bases(geteuid(), &b);
    why[0] = '\0';
    for (int i = 0; i < b.n; i++) {
        bool chosen = env && *env && strcmp(b.path[i], env) == 0;
        if (ensure_base(b.path[i], b.shared[i], chosen, why, whylen) < 0)
            continue;
        sweep(b.path[i]);
        snprintf(dir, CRAC__CTL_PATH_MAX, "%s/%s", b.path[i], name);
        if (ensure_private(dir, why, whylen) == 0)
            return 0;
    }
    return fallback_dir(dir, name, why, whylen);
}

/* ---- client side ---- */

/* A socket that only the process's user (or root) could have put there:
 * the socket and its directory owned by that user, the directory closed to
 * others.  Another user may have made /tmp/crac-UID, or a directory named
 * after the pid, to have us talk to a socket of theirs. */
static bool owned_socket(const char *sock, uid_t uid)
{
    struct stat st, dst;
    char dir[CRAC__CTL_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", sock);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return false;
    *slash = '\0';
    return lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == uid &&
           lstat(dir, &dst) == 0 && S_ISDIR(dst.st_mode) && dst.st_uid == uid &&
           !(dst.st_mode & 022);
}

/* Last resort when the process was given another CRAC_CONTROL_DIR than
 * ours: the kernel lists every bound unix socket of this network namespace
 * in /proc/net/unix.  Only paths that look like ours are taken. */
static int find_in_proc(const char *name, uid_t uid, char path[CRAC__CTL_PATH_MAX])
{
    FILE *f = fopen("/proc/net/unix", "re");
    char line[512], tail[CRAC__CTL_NAME_MAX + 8];
    int found = -1;
    if (!f)
        return -1;
    int tl = snprintf(tail, sizeof(tail), "/%s/" CRAC__CTL_SOCK, name);
    while (found < 0 && fgets(line, sizeof(line), f)) {
        char *p = strchr(line, '/');
        size_t n;
        if (!p)
            continue;
        n = strcspn(p, "\n");
        p[n] = '\0';
        if (n >= CRAC__CTL_PATH_MAX || n < (size_t)tl ||
            strcmp(p + n - tl, tail) != 0 || !strstr(p, "crac"))
            continue;
        if (owned_socket(p, uid)) {
            memcpy(path, p, n + 1);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

int crac__control_find(pid_t pid, uid_t uid, char path[CRAC__CTL_PATH_MAX],
                       char *why, size_t whylen)
{
    struct crac__ctl_bases b;
    char name[CRAC__CTL_NAME_MAX];
    bool denied = false;
    control_bases(uid, &b);
    control_name(pid, name);
    why[0] = '\0';
    for (int i = 0; i < b.n; i++) {
        struct stat st;
        snprintf(path, CRAC__CTL_PATH_MAX, "%s/%s/" CRAC__CTL_SOCK, b.path[i],
                 name);
        if (owned_socket(path, uid))
            return 0;
        if (lstat(path, &st) < 0 && errno == EACCES && !denied) {
            denied = true;
            snprintf(why, whylen, "%s/%s: permission denied", b.path[i], name);
        }
    }
    if (find_in_proc(name, uid, path) == 0)
        return 0;
    return denied ? -EACCES : -ENOENT;
}
