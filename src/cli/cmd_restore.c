/* SPDX-License-Identifier: Apache-2.0 */
/* `crac restore DIR`: validate everything, stage, then become the saved process. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "core/core.h"
#include "restore/lazy.h"
#include "restore/restore.h"
#include "restore/trust.h"

static const char usage[] =
    "usage: crac restore [options] DIR\n"
    "\n"
    "Starts the process saved in the image DIR, in place of this command: it\n"
    "keeps this command's pid, stdin, stdout and stderr, and its exit status\n"
    "is the restored program's.  Everything is checked before anything is\n"
    "changed: the image's checksums, this machine's CPU features and kernel,\n"
    "every file the image maps, and every saved descriptor (made on its\n"
    "number: a file that changed or an address taken is named); on a problem\n"
    "crac says what and exits 1.\n"
    "\n"
    "options:\n"
    "  --env K=V      set K in the restored process's environment before its\n"
    "                 after-restore callbacks run (repeatable)\n"
    "  --pid MODE     the restored process's pid and thread ids:\n"
    "                   keep  the saved ones (needs CAP_CHECKPOINT_RESTORE)\n"
    "                   ns    the saved ones, in a new pid namespace with its own\n"
    "                         /proc (needs CAP_SYS_ADMIN)\n"
    "                   new   this command's pid; threads get new ids\n"
    "                   auto  keep if the ids are free and allowed, else ns if\n"
    "                         allowed, else new (default)\n"
    "                 With keep and ns, crac restore waits for the restored\n"
    "                 process, forwards SIGTERM, SIGINT and SIGHUP to it and\n"
    "                 exits with its status.\n"
    "  --policies F   policies for this restore, before the image's own: they\n"
    "                 decide what is reopened, and which saved descriptors are\n"
    "                 made again: close keeps one closed (an address taken\n"
    "                 here, say), reopen opens a saved file by its path even\n"
    "                 if it changed, error refuses (docs/policies.md)\n"
    "  --require-label K=V\n"
    "                 refuse the image unless it carries label K with value V\n"
    "                 (labels come from CRAC_LABELS at checkpoint; repeatable)\n"
    "  --eager        read every page before the restored process runs.  By\n"
    "                 default (as root, or with CAP_SYS_PTRACE) large anonymous\n"
    "                 regions are served while it already runs: crac restore,\n"
    "                 its parent (a process of its own with --pid new),\n"
    "                 fills them in the background, 2 MiB at a time, the\n"
    "                 pages a fault touches first, each run checked before\n"
    "                 use; the restore then takes about the same time\n"
    "                 whatever the image's size (docs/native-engine.md).\n"
    "                 Memory behaves exactly as\n"
    "                 eagerly restored memory (MADV_DONTNEED reads zeros, fork,\n"
    "                 mremap...).  Page data found corrupted later stops the\n"
    "                 process (crac restore names the run and exits 1; with\n"
    "                 --pid new the process is killed)\n"
    "  --lazy         the default, by its name\n"
    "  --trust-key PUB\n"
    "                 restore an image signed with the key whose public half\n"
    "                 is in PUB (crac image keygen, crac image sign), whoever\n"
    "                 owns its files; every page is checked against the\n"
    "                 signature before it is used\n"
    "  --insecure     restore the image even if someone other than you or root\n"
    "                 could have written it (by default its files and every\n"
    "                 directory above them must be yours or root's and writable\n"
    "                 by nobody else: an image is code that runs as you)\n"
    "  --huge-pages   read dense regions into transparent huge pages (implies\n"
    "                 --eager): faster when the machine has free memory at\n"
    "                 hand, much slower in VMs whose host takes free memory\n"
    "                 back (default: off)\n"
    "  -v, --verbose  print each step and its time to stderr\n"
    "  -h, --help     this text\n"
    "\n"
    "exit status: the restored program's; 1 when the image cannot be restored;\n"
    "2 for a usage error; 127 when the restore failed past the point of no return.\n";

static uint64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int fail(crac_error *e)
{
    char *s = crac_error_format(e);
    fprintf(stderr, "crac restore: %s", s ? s : crac_error_message(e));
    if (s && s[0] && s[strlen(s) - 1] != '\n')
        fputc('\n', stderr);
    free(s);
    crac_error_free(e);
    return 1;
}

static int parse(int argc, char **argv, struct crac__restore_opts *o)
{
    static const struct option longopts[] = {
        {"env", required_argument, NULL, 'e'},
        {"verbose", no_argument, NULL, 'v'},
        {"pid", required_argument, NULL, 'p'},
        {"lazy", no_argument, NULL, 'l'},
        {"eager", no_argument, NULL, 'E'},
        {"huge-pages", no_argument, NULL, 'H'},
        {"policies", required_argument, NULL, 'P'},
        {"require-label", required_argument, NULL, 'L'},
        {"trust-key", required_argument, NULL, 'T'},
        {"insecure", no_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    o->env = calloc((size_t)argc + 1, sizeof(char *));
    o->labels = calloc((size_t)argc + 1, sizeof(char *));
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                fprintf(stderr, "crac restore: --env wants K=V, got '%s'\n", optarg);
                return 2;
            }
            o->env[o->nenv++] = optarg;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'l': /* the default */
            break;
        case 'E':
            o->eager = true;
            break;
        case 'H':
            o->huge_pages = true;
            break;
        case 'T':
            o->trust_key = optarg;
            break;
        case 'I':
            o->insecure = true;
            break;
        case 'P': {
            /* The restored process runs in its saved cwd: pass an absolute path. */
            char *abs = realpath(optarg, NULL), *kv;
            if (!abs || asprintf(&kv, "CRAC_RESTORE_POLICIES=%s", abs) < 0) {
                fprintf(stderr, "crac restore: --policies %s: %s\n", optarg, strerror(errno));
                free(abs);
                return 2;
            }
            o->policies = abs; /* lives as long as the process; so does kv */
            o->env[o->nenv++] = kv;
            break;
        }
        case 'L':
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                fprintf(stderr, "crac restore: --require-label wants K=V, got '%s'\n", optarg);
                return 2;
            }
            o->labels[o->nlabels++] = optarg;
            break;
        case 'p':
            if (crac__pid_mode_parse(optarg, &o->pid_mode)) {
                fprintf(stderr, "crac restore: --pid wants auto, keep, ns or new, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "crac restore: unknown option '%s' (see crac restore --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "crac restore: %s (see crac restore --help)\n",
                optind >= argc ? "missing image directory" : "too many arguments");
        return 2;
    }
    o->dir = argv[optind];
    return -1;
}

static int check_labels(const struct crac_img *img, const struct crac__restore_opts *o,
                        crac_error **err)
{
    crac_error *top = NULL;
    for (size_t i = 0; i < o->nlabels; i++) {
        const char *want = o->labels[i], *eq = strchr(want, '=');
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - want), want);
        const char *have = crac__img_label(img, key);
        if (have && !strcmp(have, eq + 1))
            continue;
        if (!top)
            top = crac__error_src("restore", "%s: the image does not carry the required labels",
                                  o->dir);
        crac_error_add_cause(top, have ? crac__error_src("label", "label %s is '%s', required '%s'",
                                                         key, have, eq + 1)
                                       : crac__error_src("label", "no label %s (required '%s')",
                                                         key, eq + 1));
    }
    *err = top;
    return top ? -1 : 0;
}

/* Whether this restore can be lazy: asked for (not --eager or
 * --huge-pages: lazily filled memory is in small pages) and a region worth
 * it.  The restored process finds out whether the kernel allows it
 * (lazy.c). */
static void lazy_plan(const struct crac_img *img, const struct crac__restore_opts *o,
                      struct crac__lazy *lz)
{
    if (o->eager || o->huge_pages)
        lz->why_not = o->eager ? "--eager" : "--huge-pages";
    else if (!crac__lazy_any(img))
        lz->why_not = NULL; /* nothing large: nothing to say */
    else
        crac__lazy_prepare(lz);
}

int crac__cmd_restore(int argc, char **argv)
{
    struct crac__restore_opts o = {0};
    struct crac_img img;
    struct crac__stage st;
    crac_error *err = NULL;
    enum crac__pid_mode mode;
    struct crac__lazy lz = {.sock = {-1, -1}, .uffd = -1};
    uint8_t *run_hashes = NULL; /* lives as long as the process */
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), t1;
    int rc;

    o.started_ns = now_ns(CLOCK_REALTIME);
    rc = parse(argc, argv, &o);
    if (rc >= 0) {
        free(o.env);
        free(o.labels);
        return rc;
    }
    /* Who could have written it, before reading a byte of it. */
    if (!o.insecure && !o.trust_key && crac__trust_owner(o.dir, geteuid(), &err))
        return fail(err);
    if (crac__img_open(o.dir, &img, &err) ||
        (o.trust_key && crac__sign_verify(&img, o.trust_key, &run_hashes, &err)) ||
        check_labels(&img, &o, &err) || crac__img_check_host(&img, &err) ||
        crac__img_check_files(&img, &err))
        return fail(err);
    o.run_hashes = run_hashes;
    if (crac__pid_mode_choose(&img, o.pid_mode, &mode, &err) ||
        crac__restore_validate(&img, mode != PID_NEW, &err))
        return fail(err);
    lazy_plan(&img, &o, &lz);
    if (crac__pid_mode_enter(&img, &mode, o.pid_mode == PID_AUTO, &o, &lz, &err))
        return fail(err);
    o.pid_mode = mode;
    if (mode == PID_NEW && lz.on && crac__pager_spawn(&img, &o, &lz) < 0) {
        lz.why_not = "cannot start the pager process";
        crac__lazy_drop(&lz);
    }
    if (lz.on)
        crac__lazy_start(&lz);
    t1 = now_ns(CLOCK_MONOTONIC);
    if (o.verbose)
        fprintf(stderr, "crac restore: image valid, host and files match (%.3f ms); "
                "%zu thread%s, pid mode %s\n", (t1 - t0) / 1e6, img.nthreads,
                img.nthreads == 1 ? "" : "s", crac__pid_mode_name(mode));
    if (crac__stage_regions(&img, &st, &o, lz.on, &err))
        return fail(err);
    if (o.verbose) {
        fprintf(stderr, "crac restore: %zu regions staged, %llu pages read and checked, "
                "%llu to be served by the pager (%.3f ms); pid %d\n", img.nregions,
                (unsigned long long)(img.proc->pages_total - st.pages_lazy),
                (unsigned long long)st.pages_lazy,
                (now_ns(CLOCK_MONOTONIC) - t1) / 1e6, (int)getpid());
        if (!lz.on && lz.why_not)
            fprintf(stderr, "crac restore: eager restore: %s\n", lz.why_not);
    }
    crac__launch(&img, &st, &o, &lz, &err);
    return fail(err);
}
