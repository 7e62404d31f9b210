/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket: a library thread that lets `crac checkpoint`, `crac
 * check` (and any tool speaking docs/control.md) ask this process for a
 * checkpoint, a dry run or its status, and get the result back, errors
 * included.
 *
 * Threads.  The checkpoint asked from outside runs on the control thread
 * itself (the API says so), since no other thread can be interrupted safely
 * to run it.  A checkpoint the application asks for itself, on another
 * thread, must not find the control thread in the way: its resource (in the
 * library tier, notified before the checker runs) stops and joins the
 * thread, and after-restore starts a new one.  So the control thread never
 * adds a thread to a checkpoint it does not run.
 *
 * Sockets.  The listening socket (and the thread's wake-up eventfd) are
 * closed before every checkpoint and made anew after it, in the restored
 * process under its new pid's name: descriptors do not survive a native
 * restore, and the old name belongs to the old pid.  The connection of the
 * client that asked for the checkpoint stays open through the cycle; after
 * a restore its fd number means nothing (the restored process has the fds
 * of `crac restore`), so it is recognised by its inode and forgotten.
 *
 * Every descriptor here is claimed (crac__fd_claim), so the checker never
 * reports it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "native/threads.h" /* CRAC_SAFEPOINT_SIGNAL */
#include "control/control.h"
#include "core/core.h"

/* Guards the state below; held only for moments, never across a callback
 * or a cycle. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool started;        /* resource registered, handlers installed */
static bool thread_alive;   /* a control thread exists (joinable) */
static bool thread_busy;    /* it committed to running a cycle */
static bool stop_asked;     /* a cycle on another thread wants it gone */
static pthread_t thread;
static int listen_fd = -1, wake_fd = -1;
static pid_t owner_pid;     /* the process that made sock_dir */
static char sock_dir[CRAC__CTL_PATH_MAX];
static char sock_path[CRAC__CTL_PATH_MAX];
/* The signal mask of the thread that started us: callbacks run with it, so
 * threads they create do not inherit the control thread's full mask. */
static sigset_t app_mask;

static __thread bool tl_control; /* we are the control thread */
static __thread bool tl_dry;     /* ... and it runs a dry run */

static void *control_main(void *arg);

/* For what nobody else will hear of: a control socket that could not be
 * made, a failure in a restored process that has no client any more. */
static void warn(const char *what, const crac_error *e)
{
    char *text = e ? crac_error_format(e) : NULL;
    if (e)
        fprintf(stderr, "crac: %s%s", what, text ? text : "out of memory\n");
    free(text);
}

/* ---- the listening socket ---- */

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        crac__fd_release(*fd);
        close(*fd);
        *fd = -1;
    }
}

/* Closes the listening socket and removes its name.  With `lock` held. */
static void close_socket_locked(bool wake_too)
{
    close_fd(&listen_fd);
    if (wake_too)
        close_fd(&wake_fd);
    /* A forked child must not remove its parent's socket. */
    if (sock_path[0] && owner_pid == getpid()) {
        unlink(sock_path);
        rmdir(sock_dir);
    }
    sock_path[0] = sock_dir[0] = '\0';
}

static int listen_on(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    /* 0600 as well: the directory keeps others out, this says so twice. */
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(path, 0600) < 0 ||
        listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Makes the socket for the current pid.  With `lock` held.  NULL or an
 * error saying where it could not listen. */
static crac_error *open_socket_locked(void)
{
    char why[512], dir[CRAC__CTL_PATH_MAX];
    pid_t pid = getpid();
    if (crac__control_make_dir(dir, why, sizeof(why)) < 0)
        return crac__error_src("crac", "control socket: no usable directory "
                               "(%s)", why);
    snprintf(sock_dir, sizeof(sock_dir), "%s", dir);
    /* crac__control_make_dir() left room for the name. */
    if (snprintf(sock_path, sizeof(sock_path), "%s/" CRAC__CTL_SOCK, dir) >=
        (int)sizeof(sock_path))
        return crac__error_src("crac", "control socket: %s: path too long", dir);
    owner_pid = pid;
    listen_fd = listen_on(sock_path);
    if (listen_fd < 0) {
        crac_error *e = crac__error_src("crac", "control socket: cannot listen "
                                        "on %s: %s", sock_path, strerror(errno));
        rmdir(sock_dir);
        sock_path[0] = sock_dir[0] = '\0';
        return e;
    }
    crac__fd_claim(listen_fd);
    if (wake_fd < 0) {
        wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        crac__fd_claim(wake_fd);
    }
    crac__log("control socket: listening on %s", sock_path);
    return NULL;
}

/* ---- the thread ---- */

/* With `lock` held. */
static int start_thread_locked(void)
{
    sigset_t all, old;
    pthread_attr_t attr;
    int r;
    /* The thread is born with every signal blocked, so that signals meant
     * for the application are not run on it while it idles; but the
     * safepoint's: a dry run on another thread checks whether each thread
     * can be stopped, and a process that cannot be traced could stop it
     * by that signal only (a real checkpoint stops the thread first). */
    sigfillset(&all);
    sigdelset(&all, CRAC_SAFEPOINT_SIGNAL);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    r = pthread_create(&thread, &attr, control_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r == 0) {
        thread_alive = true;
        pthread_setname_np(thread, "crac-control");
    } else
        crac__log("control socket: cannot start its thread: %s", strerror(r));
    return -r;
}

/* Stops the control thread from another thread, unless it has committed to
 * a cycle: then it is waiting for the cycle lock the caller holds, and
 * joining would never end.  The checker then reports it as a running
 * thread, which is the truth. */
static void stop_thread(void)
{
    pthread_mutex_lock(&lock);
    stop_asked = true;
    bool join = thread_alive && !thread_busy;
    if (join) {
        uint64_t one = 1;
        (void)!write(wake_fd, &one, sizeof(one));
    }
    pthread_mutex_unlock(&lock);
    if (!join)
        return;
    pthread_join(thread, NULL);
    pthread_mutex_lock(&lock);
    thread_alive = false;
    pthread_mutex_unlock(&lock);
}

/* The connection being served; `dev`/`ino` recognise it after a restore. */
struct conn {
    int fd;
    dev_t dev;
    ino_t ino;
    bool dead; /* the client went away, or we were restored */
};

static bool conn_is_ours(struct conn *c)
{
    struct stat st;
    if (c->fd < 0)
        return false;
    if (fstat(c->fd, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
        return true;
    crac__fd_release(c->fd); /* a number from before the restore */
    c->fd = -1;
    c->dead = true;
    return false;
}

static void put(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct conn *c, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    for (int off = 0; n > 0 && !c->dead && off < n;) {
        /* MSG_NOSIGNAL: a client that went away must not kill us (SIGPIPE). */
        ssize_t w = send(c->fd, s + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            c->dead = true;
        else
            off += (int)w;
    }
    free(n >= 0 ? s : NULL);
}

/* ---- requests ---- */

enum req_kind { REQ_STATUS, REQ_CHECK, REQ_CHECKPOINT };
struct request {
    enum req_kind kind;
    struct crac__ctl_settings set; /* to, keep-running (checkpoint); policies (both) */
};

/* Reads one request (up to an empty line) into buf.  0, or -1 when the
 * client was too slow, too long, or we were asked to stop. */
static int read_request(struct conn *c, char *buf, size_t size)
{
    size_t len = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (len + 1 < size) {
        struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { wake_fd, POLLIN, 0 } };
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = 5000 - ((now.tv_sec - t0.tv_sec) * 1000 +
                            (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(p, 2, (int)left) == 0)
            return -1;
        if (p[1].revents)
            return -1;
        ssize_t r = recv(c->fd, buf + len, size - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\n\n"))
            return 0;
    }
    return -1;
}

/* Parses a request in place.  NULL, or what is wrong with it. */
static const char *parse_request(char *buf, struct request *rq)
{
    static char bad[128];
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    bool have_kind = false;
    if (!line || strcmp(line, CRAC__CTL_MAGIC) != 0)
        return "not a crac control request (expected \"" CRAC__CTL_MAGIC "\")";
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *val = strchr(line, ' ');
        if (val)
            *val++ = '\0';
        if (strcmp(line, "request") == 0 && val) {
            have_kind = true;
            if (strcmp(val, "status") == 0)
                rq->kind = REQ_STATUS;
            else if (strcmp(val, "check") == 0)
                rq->kind = REQ_CHECK;
            else if (strcmp(val, "checkpoint") == 0)
                rq->kind = REQ_CHECKPOINT;
            else
                have_kind = false;
        } else if (strcmp(line, "to") == 0 && val && val[0] == '/') {
            rq->set.to = val;
        } else if (strcmp(line, "keep-running") == 0 && val &&
                   strcmp(val, "true") == 0) {
            rq->set.keep_running = true;
        } else if (strcmp(line, "policies") == 0 && val && val[0] == '/') {
            rq->set.policies = val;
        } else {
            /* Strict: a newer client's option must not be silently dropped. */
            snprintf(bad, sizeof(bad), "unsupported request line '%.60s%s%.40s'",
                     line, val ? " " : "", val ? val : "");
            return bad;
        }
    }
    return have_kind ? NULL : "no known request (status, check or checkpoint)";
}

static void put_status(struct conn *c)
{
    const char *dest = crac_get_option("checkpoint_to");
    const char *opts = crac_get_option("engine_options");
    const char *pol = crac_get_option("policies");
    put(c, "uid %u\nversion %s\nengine %s\nrestore-count %u\n",
        (unsigned)geteuid(), crac_version(), crac_get_option("engine"),
        crac_restore_count());
    if (opts && *opts)
        put(c, "engine-options %s\n", opts);
    if (dest && *dest)
        put(c, "destination %s\n", dest);
    if (pol && *pol)
        put(c, "policies %s\n", pol);
    /* A set-user-ID or set-group-ID program (AT_SECURE) reads no CRAC_*
     * variable: the caller's environment must not steer it. */
    if (getauxval(AT_SECURE))
        put(c, "secure-mode yes: set-user-ID or set-group-ID, CRAC_* variables ignored\n");
    pthread_mutex_lock(&lock);
    char path[CRAC__CTL_PATH_MAX];
    snprintf(path, sizeof(path), "%s", sock_path);
    pthread_mutex_unlock(&lock);
    if (path[0])
        put(c, "socket %s\n", path);
}

/* The result line, the status, the end of the header, and the error tree. */
static void put_result(struct conn *c, const char *result, const crac_error *e)
{
    put(c, "result %s\n", result);
    put_status(c);
    put(c, "\n");
    char *text = e ? crac_error_format(e) : NULL;
    if (text)
        put(c, "%s", text);
    free(text);
}

/* Runs one cycle on this thread, unless a cycle on another thread asked us
 * to stop (we would wait for it, and it for us). */
static int run_cycle(bool dry_run, crac_error **err)
{
    sigset_t idle;
    pthread_mutex_lock(&lock);
    bool go = !stop_asked;
    thread_busy = go;
    pthread_mutex_unlock(&lock);
    if (!go) {
        *err = crac__error_src("crac", "the process is taking a checkpoint of "
                               "its own; try again when it is done");
        return -1;
    }
    /* Callbacks run with the application's signal mask, not ours. */
    pthread_sigmask(SIG_SETMASK, &app_mask, &idle);
    tl_dry = dry_run;
    int r = crac__checkpoint_restore_opts(dry_run, err);
    tl_dry = false;
    pthread_sigmask(SIG_SETMASK, &idle, NULL);
    pthread_mutex_lock(&lock);
    thread_busy = false;
    pthread_mutex_unlock(&lock);
    return r;
}

static void do_checkpoint(struct conn *c, const struct request *rq)
{
    struct crac__ctl_overrides ov;
    crac_error *err = crac__ctl_overrides_apply(&ov, &rq->set);
    if (err) {
        put_result(c, "failed", err);
        crac_error_free(err);
        return;
    }
    /* The native engine exits once the image is published, without a
     * word: tell the client where to look, and what was there before. */
    char *where = crac__ctl_destination_lines();
    if (where)
        put(c, "%s", where);
    free(where);
    int r = run_cycle(false, &err);
    crac__ctl_overrides_undo(&ov);
    if (!conn_is_ours(c)) {
        /* A restored process: nobody to answer.  Its stderr is that of
         * `crac restore`'s caller, the one place a failure can be seen. */
        if (r < 0)
            warn("after the checkpoint asked over the control socket: ", err);
        crac_error_free(err);
        return;
    }
    put_result(c, r == 0 ? "ok" : "failed", err);
    crac_error_free(err);
}

static void dispatch(struct conn *c, char *buf)
{
    struct request rq = { .kind = REQ_STATUS };
    const char *bad = parse_request(buf, &rq);
    crac_error *err = NULL;
    if (bad) {
        err = crac__error_src("crac", "%s", bad);
        put_result(c, "error", err);
    } else if (rq.kind == REQ_STATUS) {
        put_result(c, "ok", NULL);
    } else if (rq.kind == REQ_CHECK) {
        struct crac__ctl_overrides ov;
        struct crac__ctl_settings only_pol = {.policies = rq.set.policies};
        if (!(err = crac__ctl_overrides_apply(&ov, &only_pol))) {
            int r = run_cycle(true, &err);
            crac__ctl_overrides_undo(&ov);
            put_result(c, r == 0 ? "ok" : "failed", err);
        } else {
            put_result(c, "failed", err);
        }
    } else {
        do_checkpoint(c, &rq);
    }
    crac_error_free(err);
}

/* Only our own user and root may control us. */
static bool refuse_peer(struct conn *c)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    uid_t me = geteuid();
    if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
        (cr.uid == me || cr.uid == 0))
        return false;
    crac_error *e = crac__error_src("crac", "uid %ld may not control process "
        "%d: it runs as uid %u, and only that user and root may",
        len == sizeof(cr) ? (long)cr.uid : -1L, (int)getpid(), (unsigned)me);
    put(c, CRAC__CTL_MAGIC "\npid %d\nresult refused\n\n", (int)getpid());
    char *text = crac_error_format(e);
    if (text)
        put(c, "%s", text);
    free(text);
    crac_error_free(e);
    crac__log("control socket: refused a client of uid %ld",
              len == sizeof(cr) ? (long)cr.uid : -1L);
    return true;
}

static void serve(int fd)
{
    struct conn c = { .fd = fd };
    struct stat st;
    char buf[CRAC__CTL_REQUEST_MAX];
    crac__fd_claim(fd);
    if (fstat(fd, &st) == 0) {
        c.dev = st.st_dev;
        c.ino = st.st_ino;
    }
    /* A client that stops reading must not hold the thread for ever. */
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    /* The request is read before a stranger is refused too: closing with
     * unread data would reset the connection, and the refusal with it. */
    int got = read_request(&c, buf, sizeof(buf));
    if (!refuse_peer(&c)) {
        if (got == 0) {
            put(&c, CRAC__CTL_MAGIC "\npid %d\n", (int)getpid());
            dispatch(&c, buf);
        } else {
            put(&c, CRAC__CTL_MAGIC "\npid %d\nresult error\n\n"
                "[crac] no complete request within 5 s (or the process is "
                "taking a checkpoint of its own)\n", (int)getpid());
        }
    }
    if (conn_is_ours(&c)) {
        crac__fd_release(fd);
        close(fd);
    }
}

static void *control_main(void *arg)
{
    (void)arg;
    tl_control = true;
    for (;;) {
        pthread_mutex_lock(&lock);
        int lfd = listen_fd, wfd = wake_fd;
        bool stop = stop_asked;
        pthread_mutex_unlock(&lock);
        if (stop || wfd < 0)
            break;
        /* lfd may be -1 (no socket could be made): then only wait to stop. */
        struct pollfd p[2] = { { lfd, POLLIN, 0 }, { wfd, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                serve(fd);
        }
    }
    return NULL;
}

/* ---- the resource in the library tier ---- */

static crac_error *ctl_before(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    if (tl_dry)
        return NULL; /* a dry run changes nothing, our socket included */
    if (!tl_control)
        stop_thread();
    pthread_mutex_lock(&lock);
    close_socket_locked(!thread_alive || tl_control);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static crac_error *ctl_after(crac_resource *self, crac_context *ctx)
{
    (void)self, (void)ctx;
    if (tl_dry)
        return NULL;
    pthread_mutex_lock(&lock);
    stop_asked = false;
    crac_error *e = listen_fd < 0 ? open_socket_locked() : NULL;
    if (!thread_alive && wake_fd >= 0)
        start_thread_locked();
    pthread_mutex_unlock(&lock);
    /* Not the application's failure: its restore goes on without us. */
    warn("", e);
    crac_error_free(e);
    return NULL;
}

static crac_resource ctl_resource = {
    .name = "crac-control",
    .before_checkpoint = ctl_before,
    .after_restore = ctl_after,
};

/* ---- process events ---- */

static void on_exit_cleanup(void)
{
    pthread_mutex_lock(&lock);
    if (sock_path[0] && owner_pid == getpid()) {
        unlink(sock_path);
        rmdir(sock_dir);
    }
    pthread_mutex_unlock(&lock);
}

static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&lock); }

/* The child has no control thread and must not answer on its parent's
 * socket: it drops both.  It gets its own after its first checkpoint. */
static void after_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    thread_alive = thread_busy = stop_asked = false;
    if (listen_fd >= 0)
        close(listen_fd);
    if (wake_fd >= 0)
        close(wake_fd);
    crac__fd_release(listen_fd);
    crac__fd_release(wake_fd);
    listen_fd = wake_fd = -1;
    sock_path[0] = sock_dir[0] = '\0';
}

/* Starts the control thread and its socket, once; later calls do nothing.
 * Registers a resource in the library tier that closes the socket before a
 * checkpoint and reopens it (under the new pid) after. */
static void control_start(void)
{
    pthread_mutex_lock(&lock);
    if (started) {
        pthread_mutex_unlock(&lock);
        return;
    }
    started = true;
    pthread_sigmask(SIG_SETMASK, NULL, &app_mask);
    crac_error *e = open_socket_locked();
    if (!e)
        start_thread_locked();
    pthread_mutex_unlock(&lock);
    warn("", e);
    crac_error_free(e);
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    atexit(on_exit_cleanup);
    crac__register_tier(CRAC__TIER_LIBRARY, &ctl_resource);
}

/* Whether libcrac-preload.so brought the library into this program (it
 * is named in LD_PRELOAD: `crac run` puts it there).  The shim has no code
 * of its own, so the library decides for it, and being the only copy in
 * the process, it always answers for the program's own crac_* calls. */
static bool preloaded(void)
{
    const char *list = secure_getenv("LD_PRELOAD");
    return list && strstr(list, "libcrac-preload.so");
}

/* The control socket at load: on with CRAC_CONTROL=1; for a program
 * started through the preload library, also when CRAC_CONTROL is unset
 * (CRAC_CONTROL=0 turns it off). */
__attribute__((constructor)) static void control_init(void)
{
    const char *want = secure_getenv("CRAC_CONTROL");
    bool on = want ? strcmp(want, "1") == 0 : preloaded();
    if (!on)
        return;
    /* Read the environment now: the program may change it later, and a
     * bad CRAC_ENGINE is then kept for the first checkpoint to report. */
    (void)crac_get_option("engine");
    control_start();
}
