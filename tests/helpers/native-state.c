/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test program for the native engine: sets up a kind of state, checkpoints
 * itself (CRAC_ENGINE=native, CRAC_CHECKPOINT_TO from the test), and after a
 * restore verifies that the state came back.  Prints "RESTORED OK" and exits
 * 0 when everything matches; prints what differs and exits 1 otherwise.
 *
 *   native-state memory            heap, mmap'ed regions of every protection,
 *                                  a dirty private file mapping, stack, TLS,
 *                                  globals, stdio, vDSO clock, pid/tid, signals
 *   native-state env               prints CRAC_TEST_ENV after restore
 *   native-state refuse KIND       holds state v1 cannot save (fd, shared,
 *                                  sysv, deleted, child, seccomp); expects the
 *                                  checkpoint to fail naming it, exits 3
 *   native-state clock             after restore, CLOCK_MONOTONIC is not
 *                                  behind where it was ("CLOCK OK")
 *   native-state keep              keep_running: checkpoints twice, prints
 *                                  the restore count and a heap check on
 *                                  both sides
 *   native-state spin              after restore, loops until killed (for
 *                                  concurrency tests), printing OK first
 *   native-state again DIR2        checkpoint; after the restore, delete the
 *                                  first image and checkpoint again into
 *                                  DIR2; after that restore, check the heap
 */
#include <crac.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"

static uint64_t pattern(uint64_t i)
{
    return i * 0x9e3779b97f4a7c15ULL ^ (i >> 7);
}

static void fill(void *p, size_t len, uint64_t seed)
{
    uint64_t *w = p;
    for (size_t i = 0; i < len / 8; i++)
        w[i] = pattern(i + seed);
}

static int check(const void *p, size_t len, uint64_t seed)
{
    const uint64_t *w = p;
    for (size_t i = 0; i < len / 8; i++)
        if (w[i] != pattern(i + seed))
            return 0;
    return 1;
}

static int checkpoint(void)
{
    crac_error *err = NULL;
    if (crac_checkpoint_restore(&err) < 0) {
        char *s = crac_error_format(err);
        printf("CHECKPOINT FAILED\n%s", s);
        free(s);
        crac_error_free(err);
        return -1;
    }
    return 0;
}

/* ---- memory ---- */
static char global_data[8192] = {1};
static char global_bss[3 * 4096];
static __thread uint64_t tls_value = 77;
static volatile sig_atomic_t got_signal;

static void on_usr1(int sig)
{
    (void)sig;
    got_signal++;
}

static int mode_memory(const char *tmp)
{
    size_t big = 8 << 20;
    char *small = malloc(1000), *large = malloc(big); /* large: mmap'ed by malloc */
    char *ro = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *none = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *sparse = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char path[4096], stack_buf[20000];
    struct timespec before, after;
    int fd;
    char *file;
    pid_t pid0 = getpid();

    fill(small, 1000 & ~7, 1);
    fill(large, big, 2);
    fill(ro, 3 * 4096, 3);
    mprotect(ro, 3 * 4096, PROT_READ);
    fill(none, 2 * 4096, 4);
    mprotect(none, 2 * 4096, PROT_NONE);
    sparse[0] = 1;
    sparse[(32 << 20) + 5] = 2; /* two pages touched in 64 MiB */
    fill(stack_buf, sizeof(stack_buf) & ~7, 5);
    fill(global_data, sizeof(global_data), 6);
    fill(global_bss, sizeof(global_bss), 7);
    tls_value = 0x1234567890ULL;
    /* a private file mapping with one dirty page (and one zeroed) over file data */
    snprintf(path, sizeof(path), "%s/mapped-file", tmp);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    {
        char page[4096];
        for (int i = 0; i < 4; i++) {
            memset(page, 'a' + i, sizeof(page));
            if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
                return 1;
        }
    }
    file = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    memset(file + 4096, 'X', 4096);
    memset(file + 2 * 4096, 0, 4096);
    signal(SIGUSR1, on_usr1);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    printf("stdio before checkpoint, no newline yet:");
    clock_gettime(CLOCK_MONOTONIC, &before);
    if (checkpoint())
        return 1;
    printf(" then after\n");
    clock_gettime(CLOCK_MONOTONIC, &after);
    EXPECT(crac_restore_count() == 1, "count %u", crac_restore_count());
    EXPECT(check(small, 1000 & ~7, 1), "small heap");
    EXPECT(check(large, big, 2), "large heap");
    EXPECT(check(ro, 3 * 4096, 3), "read-only mapping");
    EXPECT(mprotect(none, 2 * 4096, PROT_READ) == 0 && check(none, 2 * 4096, 4), "PROT_NONE data");
    EXPECT(sparse[0] == 1 && sparse[(32 << 20) + 5] == 2 && sparse[4096] == 0, "sparse");
    EXPECT(check(stack_buf, sizeof(stack_buf) & ~7, 5), "stack");
    EXPECT(check(global_data, sizeof(global_data), 6), "data");
    EXPECT(check(global_bss, sizeof(global_bss), 7), "bss");
    EXPECT(tls_value == 0x1234567890ULL, "tls %llx", (unsigned long long)tls_value);
    EXPECT(file[0] == 'a' && file[4096] == 'X' && file[2 * 4096] == 0 && file[3 * 4096] == 'd',
           "file mapping %c %c %d %c", file[0], file[4096], file[2 * 4096], file[3 * 4096]);
    EXPECT(after.tv_sec >= before.tv_sec, "monotonic clock went backwards");
    EXPECT(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs lost");
    EXPECT(getpid() == syscall(SYS_getpid), "getpid");
    EXPECT(gettid() == getpid(), "gettid %d getpid %d", gettid(), getpid());
    EXPECT(getpid() != pid0 || 1, "pid");
    /* raise() uses the thread id glibc caches: wrong after restore unless patched */
    EXPECT(raise(SIGUSR1) == 0 && got_signal == 1, "raise: handler ran %d times", (int)got_signal);
    {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = 0;
        EXPECT(strstr(exe, "native-state") != NULL, "/proc/self/exe is %s", exe);
    }
    {
        char *p = malloc(100000); /* the allocator still works */
        EXPECT(p != NULL, "malloc after restore");
        free(p);
        free(large);
    }
    if (failures)
        return 1;
    printf("RESTORED OK\n");
    return 0;
}

/* ---- refusals ---- */
static int mode_refuse(const char *kind, const char *tmp)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/held-file", tmp);
    if (!strcmp(kind, "fd")) {
        if (open(path, O_RDWR | O_CREAT, 0600) < 0)
            return 1;
    } else if (!strcmp(kind, "shared")) {
        if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
            return 1;
    } else if (!strcmp(kind, "sysv")) {
        int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        if (id < 0 || shmat(id, NULL, 0) == (void *)-1)
            return 1;
        shmctl(id, IPC_RMID, NULL);
    } else if (!strcmp(kind, "deleted")) {
        int fd = open(path, O_RDWR | O_CREAT, 0600);
        if (fd < 0 || ftruncate(fd, 4096) < 0 ||
            mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
            return 1;
        close(fd);
        unlink(path);
    } else if (!strcmp(kind, "seccomp")) {
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, allow};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
            return 1;
    } else if (!strcmp(kind, "child")) {
        if (fork() == 0) {
            sleep(30);
            _exit(0);
        }
    } else {
        fprintf(stderr, "unknown kind %s\n", kind);
        return 2;
    }
    if (checkpoint() == 0) {
        printf("CHECKPOINT UNEXPECTEDLY PASSED\n");
        return 1;
    }
    printf("PROCESS CONTINUES\n");
    return 3;
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("CRAC_TEST_TMP") ? getenv("CRAC_TEST_TMP") : "/tmp";
    setvbuf(stdout, NULL, _IOFBF, 1 << 16); /* buffered even on a terminal */
    if (argc >= 2 && !strcmp(argv[1], "memory"))
        return mode_memory(tmp);
    if (argc >= 2 && !strcmp(argv[1], "env")) {
        if (checkpoint())
            return 1;
        printf("CRAC_TEST_ENV=%s\n", getenv("CRAC_TEST_ENV") ? getenv("CRAC_TEST_ENV") : "(unset)");
        printf("CRAC_TEST_ENV2=%s\n", getenv("CRAC_TEST_ENV2") ? getenv("CRAC_TEST_ENV2") : "(unset)");
        /* the environment still works as usual afterwards */
        setenv("CRAC_TEST_LATER", "set", 1);
        unsetenv("CRAC_TEST_ENV2");
        printf("later=%s env2=%s\n", getenv("CRAC_TEST_LATER"),
               getenv("CRAC_TEST_ENV2") ? "still" : "gone");
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "refuse"))
        return mode_refuse(argv[2], tmp);
    if (argc >= 2 && !strcmp(argv[1], "clock")) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (checkpoint())
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%s %lld -> %lld\n", b.tv_sec >= a.tv_sec ? "CLOCK OK" : "CLOCK BACKWARDS",
               (long long)a.tv_sec, (long long)b.tv_sec);
        return b.tv_sec >= a.tv_sec ? 0 : 1;
    }
    if (argc >= 2 && !strcmp(argv[1], "keep")) {
        /* Twice in one process: the second checkpoint reuses the first's
         * scratch mapping and replaces its image; the image restores to
         * the second call, with the heap as it was then. */
        size_t n = 4 << 20;
        char *heap = malloc(n);
        fill(heap, n, 5);
        if (checkpoint())
            return 1;
        if (crac_restore_count() == 0) {
            heap[7] ^= 1;
            if (checkpoint())
                return 1;
            heap[7] ^= 1;
        }
        printf("COUNT %u %s\n", crac_restore_count(), check(heap, n, 5) ? "HEAP OK" : "HEAP BAD");
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "again")) {
        size_t n = 16 << 20;
        char *heap = malloc(n), first[4096], path[4200];
        fill(heap, n, 11);
        if (checkpoint())
            return 1;
        if (!check(heap, n, 11)) {
            printf("MISMATCH after the first restore\n");
            return 1;
        }
        /* the first image goes away: a lazily restored process still runs */
        snprintf(first, sizeof(first), "%s", getenv("CRAC_CHECKPOINT_TO"));
        snprintf(path, sizeof(path), "%s/meta", first);
        unlink(path);
        snprintf(path, sizeof(path), "%s/pages", first);
        unlink(path);
        rmdir(first);
        heap[5] ^= 1; /* a page that changed since */
        crac_set_option("checkpoint_to", argv[2]);
        if (checkpoint())
            return 1;
        heap[5] ^= 1;
        printf("%s %u\n", check(heap, n, 11) ? "RESTORED TWICE OK" : "MISMATCH after the second restore",
               crac_restore_count());
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "spin")) {
        uint64_t *heap = malloc(1 << 20);
        fill(heap, 1 << 20, 9);
        if (checkpoint())
            return 1;
        printf("%s %d\n", check(heap, 1 << 20, 9) ? "SPIN OK" : "SPIN BAD", getpid());
        fflush(stdout);
        for (;;)
            pause();
    }
    fprintf(stderr, "usage: native-state memory|env|keep|spin|refuse KIND\n");
    return 2;
}
