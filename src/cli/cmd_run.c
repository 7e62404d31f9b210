/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `crac run [OPTIONS] -- PROG [ARGS]`: becomes PROG (exec, so PROG keeps
 * this pid) with crac loaded through LD_PRELOAD=libcrac-preload.so and
 * configured through the CRAC_* environment.  The preload library starts the
 * control socket, so `crac check PID` and `crac checkpoint PID` reach it.
 *
 * Descriptors above 2 inherited from our caller are closed first, as the
 * reference does at start-up: a program started from a shell, a test harness
 * or make would otherwise hold descriptors it never opened (make's
 * jobserver pipe, a CI runner's log), and the checker would rightly refuse
 * to checkpoint it for them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/util.h"

#define PRELOAD_NAME "libcrac-preload.so"
#define MAX_KEEP 64

static const char usage[] =
    "Usage: crac run [OPTIONS] [--] PROG [ARGS...]\n"
    "\n"
    "Runs PROG with crac loaded and configured, in place of this command\n"
    "(PROG keeps this pid).  A program not linked with libcrac gets it through\n"
    "LD_PRELOAD=" PRELOAD_NAME " (found next to crac, in ../lib, or at\n"
    "$CRAC_PRELOAD); the preload library starts the control socket, so that\n"
    "`crac check PID` and `crac checkpoint PID` reach the program.\n"
    "Descriptors above 2 inherited from the caller are closed first, so PROG\n"
    "is not refused a checkpoint for descriptors it never opened.\n"
    "\n"
    "Options:\n"
    "  --checkpoint-to DIR        where checkpoints write their image\n"
    "                             (CRAC_CHECKPOINT_TO)\n"
    "  --policies FILE            the checker's policies (CRAC_POLICIES)\n"
    "  --engine E                 native (default), pause or sim (CRAC_ENGINE)\n"
    "  --engine-options K=V,...   the engine's options (CRAC_ENGINE_OPTIONS;\n"
    "                             \"help\" lists them)\n"
    "  --keep-fd N                keep descriptor N open (repeatable)\n"
    "  -h, --help                 show this help\n"
    "\n"
    "Relative paths are made absolute here, since PROG may change directory.\n"
    "Programs started by PROG inherit the environment, hence crac too.\n"
    "\n"
    "Exit status: PROG's, since crac becomes PROG; 1 when crac cannot start\n"
    "it (no preload library, unreadable policies); 2 usage error; 126 PROG\n"
    "cannot be executed; 127 PROG not found.\n";

struct run_opts {
    const char *to, *policies, *engine, *engine_opts;
    int keep[MAX_KEEP];
    int nkeep;
    char **prog;
};

static int parse_keep(struct run_opts *o, const char *v)
{
    unsigned long n;
    if (crac__parse_ulong(v, INT_MAX, &n) < 0)
        return crac__usage_error("run", "--keep-fd wants a descriptor number, "
                                 "got '%s'", v);
    if (o->nkeep == MAX_KEEP)
        return crac__usage_error("run", "at most %d --keep-fd", MAX_KEEP);
    o->keep[o->nkeep++] = (int)n;
    return 0;
}

static int parse(int argc, char **argv, struct run_opts *o)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (crac__is_help(a))
            return -1;
#define VALUE(name, field)                                                     \
    if ((r = crac__opt_value("run", name, argc, argv, &i, &v)) != 0) {         \
        if (r < 0)                                                             \
            return CRAC__EXIT_USAGE;                                           \
        o->field = v;                                                          \
        continue;                                                              \
    }
        VALUE("checkpoint-to", to)
        VALUE("policies", policies)
        VALUE("engine", engine)
        VALUE("engine-options", engine_opts)
#undef VALUE
        if ((r = crac__opt_value("run", "keep-fd", argc, argv, &i, &v)) != 0) {
            if (r < 0 || parse_keep(o, v))
                return CRAC__EXIT_USAGE;
            continue;
        }
        return crac__bad_option("run", a);
    }
    if (i >= argc)
        return crac__usage_error("run", "expected a program to run");
    o->prog = argv + i;
    return 0;
}

/* Checks --engine and --engine-options here, where the mistake can be
 * told at once, rather than at the program's first checkpoint. */
static int check_engine(const struct run_opts *o)
{
    if (o->engine && crac_set_option("engine", o->engine) < 0)
        return crac__usage_error("run", "unknown engine '%s' (native, pause or "
                                 "sim)", o->engine);
    if (o->engine_opts && strcmp(o->engine_opts, "help") == 0) {
        crac_set_option("engine_options", "help"); /* prints them */
        return -1;
    }
    if (o->engine_opts && crac_set_option("engine_options", o->engine_opts) < 0)
        return crac__usage_error("run", "invalid engine options '%s' for engine "
            "'%s' (--engine-options help lists them)", o->engine_opts,
            crac_get_option("engine"));
    return 0;
}

/* The preload library: $CRAC_PRELOAD, or beside the crac binary (build/),
 * or in ../lib (an installed PREFIX/bin/crac). */
static char *find_preload(void)
{
    const char *env = getenv("CRAC_PRELOAD");
    char exe[PATH_MAX], cand[PATH_MAX + 32];
    if (env && *env)
        return realpath(env, NULL);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    static const char *const rel[] = { "/", "/../lib/", "/../lib64/" };
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        snprintf(cand, sizeof(cand), "%s%s" PRELOAD_NAME, exe, rel[i]);
        if (access(cand, R_OK) == 0)
            return realpath(cand, NULL);
    }
    return NULL;
}

/* Sets VAR to the absolute form of PATH. */
static int set_abs(const char *var, const char *path)
{
    char cwd[PATH_MAX], *abs = NULL;
    if (path[0] == '/')
        return setenv(var, path, 1);
    if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, path) < 0)
        return -1;
    int r = setenv(var, abs, 1);
    free(abs);
    return r;
}

static int set_environment(const struct run_opts *o, const char *preload)
{
    const char *old = getenv("LD_PRELOAD");
    char *list = NULL;
    if (old && strstr(old, preload))
        list = strdup(old);
    else if (asprintf(&list, "%s%s%s", preload, old && *old ? ":" : "",
                      old ? old : "") < 0)
        list = NULL;
    int r = list ? setenv("LD_PRELOAD", list, 1) : -1;
    free(list);
    if (r == 0 && o->to)
        r = set_abs("CRAC_CHECKPOINT_TO", o->to);
    if (r == 0 && o->policies)
        r = set_abs("CRAC_POLICIES", o->policies);
    if (r == 0 && o->engine) {
        r = setenv("CRAC_ENGINE", o->engine, 1);
        /* As with crac_set_option(): another engine, no old options. */
        if (r == 0 && !o->engine_opts)
            r = unsetenv("CRAC_ENGINE_OPTIONS");
    }
    if (r == 0 && o->engine_opts)
        r = setenv("CRAC_ENGINE_OPTIONS", o->engine_opts, 1);
    return r;
}

/* Closes [lo, hi]; close_range() where the kernel has it (5.9), else one
 * by one from /proc/self/fd. */
static void close_between(int lo, int hi)
{
    if (lo > hi || close_range((unsigned)lo, (unsigned)hi, 0) == 0)
        return;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        long fd = strtol(e->d_name, NULL, 10);
        if (e->d_name[0] != '.' && fd >= lo && fd <= hi && fd != dirfd(d))
            close((int)fd);
    }
    closedir(d);
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void close_inherited(struct run_opts *o)
{
    int from = 3;
    qsort(o->keep, (size_t)o->nkeep, sizeof(int), cmp_int);
    for (int i = 0; i < o->nkeep; i++) {
        int k = o->keep[i];
        if (k < from)
            continue;
        close_between(from, k - 1);
        /* Kept means kept across the exec too. */
        int fl = fcntl(k, F_GETFD);
        if (fl >= 0)
            fcntl(k, F_SETFD, fl & ~FD_CLOEXEC);
        from = k + 1;
    }
    close_between(from, INT_MAX);
}

/* The file execvp() would run for `prog`: itself when it has a slash,
 * else the first executable match in PATH.  NULL when none. */
static char *which(const char *prog)
{
    if (strchr(prog, '/'))
        return strdup(prog);
    const char *path = getenv("PATH");
    char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin"), *save = NULL;
    for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir; dir = strtok_r(NULL, ":", &save)) {
        char *cand;
        if (asprintf(&cand, "%s/%s", *dir ? dir : ".", prog) < 0)
            break;
        if (access(cand, X_OK) == 0) {
            free(copy);
            return cand;
        }
        free(cand);
    }
    free(copy);
    return NULL;
}

/* The loader ignores LD_PRELOAD (and the CRAC_* variables are ignored)
 * in a program that runs set-user-ID or set-group-ID: crac would not be
 * loaded, and it must not be steered by the caller's environment anyway.
 * Say so rather than start a program that cannot be checkpointed.  0, or
 * the exit status. */
static int refuse_setid(const char *prog)
{
    struct stat st;
    char *file = which(prog);
    int r = 0;
    if (file && stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
        (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
         ((st.st_mode & S_ISGID) && st.st_gid != getegid())))
        r = crac__fail("run", "%s is set-%s-ID (%s %u): the dynamic loader ignores LD_PRELOAD "
                       "for such a program, so crac would not be loaded into it (and crac ignores "
                       "its CRAC_* variables: docs/security.md); run it as its %s, or link it "
                       "with libcrac and set its options in its code", file, st.st_mode & S_ISUID ? "user" : "group",
                       st.st_mode & S_ISUID ? "owner uid" : "group gid",
                       st.st_mode & S_ISUID ? (unsigned)st.st_uid : (unsigned)st.st_gid,
                       st.st_mode & S_ISUID ? "owner" : "group");
    free(file);
    return r;
}

int crac__cmd_run(int argc, char **argv)
{
    struct run_opts o = { 0 };
    int r = parse(argc, argv, &o);
    if (r < 0)
        return crac__print_usage(usage);
    if (r)
        return r;
    r = check_engine(&o);
    if (r)
        return r < 0 ? CRAC__EXIT_OK : r;
    if ((r = refuse_setid(o.prog[0])))
        return r;
    if (o.policies && access(o.policies, R_OK) < 0)
        return crac__fail("run", "cannot read policies file %s: %s", o.policies,
                          strerror(errno));
    char *preload = find_preload();
    if (!preload)
        return crac__fail("run", "cannot find " PRELOAD_NAME " next to the crac "
                          "command or in ../lib (set CRAC_PRELOAD=PATH)");
    r = set_environment(&o, preload);
    free(preload);
    if (r < 0)
        return crac__fail("run", "cannot set the environment: %s",
                          strerror(errno));
    close_inherited(&o);
    execvp(o.prog[0], o.prog);
    int e = errno;
    crac__fail("run", "cannot run %s: %s", o.prog[0], strerror(e));
    return e == ENOENT ? 127 : 126;
}
