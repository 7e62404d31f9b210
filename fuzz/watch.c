/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore-watch: runs `crac restore` of a mutated image under ptrace and
 * says how it ended, and where a crash happened, so that the differential
 * check (fuzz/restore-accepted.sh) can tell a refusal before the point of
 * no return from a death in the restorer or at the saved entry point.
 *
 *   restore-watch [-t SECONDS] -o LOG IMG -- COMMAND [ARGS...]
 *
 * COMMAND's output goes to LOG.  One line on stdout, the verdict:
 *   exit N                     COMMAND (or what it became) exited with N
 *   signal S in PHASE at RIP   a fatal signal; PHASE is
 *       crac-restore           crac restore's own code (its binary still
 *                              mapped: before the point of no return)
 *       restorer               after crac restore's code was unmapped, in
 *                              code that is neither saved nor the vDSO:
 *                              the blob's
 *       entry                  at a thread's saved instruction pointer
 *       program                elsewhere: in saved code (named, with its
 *                              offset in its file), the vDSO, or nowhere
 *                              (a jump from the program's own code)
 *   timeout                    still running after SECONDS (killed)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include "image/image.h"

static pid_t child;
static struct crac_img img;
static char exe[4096];

static void on_alarm(int sig)
{
    (void)sig;
    kill(child, SIGKILL);
    printf("timeout\n");
    fflush(stdout);
    _exit(0);
}

/* The line of pid's maps that holds addr ("" when none), and whether
 * crac restore's own binary is still mapped. */
static int read_maps(pid_t pid, unsigned long long addr, char *hit, size_t size)
{
    char path[64], line[4608];
    int exe_mapped = 0;
    snprintf(path, sizeof(path), "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    *hit = 0;
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long long s, e;
        char *p = strchr(line, '/');
        line[strcspn(line, "\n")] = 0;
        exe_mapped |= p && !strcmp(p, exe);
        if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s <= addr && addr < e)
            snprintf(hit, size, "%s", line);
    }
    if (f)
        fclose(f);
    return exe_mapped;
}

/* Where a fatal signal at rip happened (see the top of this file). */
static const char *phase(pid_t pid, unsigned long long rip, char *where, size_t size)
{
    const struct crac_img_vdso *v = &img.proc->vdso;
    const struct crac_img_region *r = crac__img_region_at(&img, rip);
    char line[4608];
    if (read_maps(pid, rip, line, sizeof(line)))
        return "crac-restore";
    for (size_t i = 0; i < img.nthreads; i++)
        if (img.threads[i].ctx.rip == rip)
            return "entry";
    if (r) {
        snprintf(where, size, " (%s+%#llx)", crac__img_str(&img, r->name),
                 rip - r->start + r->file_offset);
        return "program";
    }
    /* mapped code that is neither saved nor the vDSO: the blob's area */
    if (*line && !(rip >= v->vdso_start && rip < v->vdso_end))
        return "restorer";
    return "program"; /* a jump to nowhere, from the program's own code */
}

static int fatal(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT ||
           sig == SIGSYS || sig == SIGTRAP;
}

/* Follows every thread until the traced process ends; prints the verdict. */
static void trace(void)
{
    int status, reported = 0;
    pid_t p;
    while ((p = waitpid(-1, &status, __WALL)) > 0) {
        if (p == child && (WIFEXITED(status) || WIFSIGNALED(status))) {
            if (!reported)
                WIFEXITED(status) ? printf("exit %d\n", WEXITSTATUS(status))
                                  : printf("signal %d\n", WTERMSIG(status));
            return;
        }
        if (!WIFSTOPPED(status))
            continue;
        int sig = WSTOPSIG(status), deliver = sig;
        if (status >> 16 || sig == SIGSTOP) /* a ptrace event, or a new thread's first stop */
            deliver = 0;
        else if (fatal(sig) && !reported) {
            struct user_regs_struct r;
            char where[4400] = "";
            ptrace(PTRACE_GETREGS, p, 0, &r);
            const char *ph = phase(p, r.rip, where, sizeof(where));
            printf("signal %d in %s at %#llx%s\n", sig, ph, r.rip, where);
            reported = 1;
        }
        ptrace(PTRACE_CONT, p, 0, deliver);
    }
}

int main(int argc, char **argv)
{
    const char *log = NULL;
    crac_error *err = NULL;
    int opt, timeout = 10;
    while ((opt = getopt(argc, argv, "t:o:")) != -1)
        if (opt == 't')
            timeout = atoi(optarg);
        else if (opt == 'o')
            log = optarg;
    if (!log || optind + 2 > argc || crac__img_open(argv[optind], &img, &err)) {
        fprintf(stderr, "usage: restore-watch [-t SECONDS] -o LOG IMG -- COMMAND [ARGS...]%s%s\n",
                err ? ": " : "", err ? crac_error_message(err) : "");
        return 2;
    }
    char **cmd = argv + optind + 1;
    if (!realpath(cmd[0], exe))
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    child = fork();
    if (child == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
            _exit(125); /* no ptrace here: reported as "exit 125" */
        raise(SIGSTOP);
        execv(cmd[0], cmd);
        _exit(126);
    }
    waitpid(child, NULL, __WALL); /* its SIGSTOP */
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL |
                                            PTRACE_O_TRACEEXEC);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)timeout);
    ptrace(PTRACE_CONT, child, 0, 0);
    trace();
    return 0;
}
