/* SPDX-License-Identifier: Apache-2.0 */
/*
 * floor: the plain operations a checkpoint and a restore are compared with.
 *
 * This VM's memory and disk are noisy (the same 64 MiB read into fresh
 * memory took 18 to 300 ms within one minute), so bench/run.sh measures
 * these floors interleaved with the real thing and reports ratios.
 *
 *   floor read FILE         map fresh anonymous memory of FILE's size and
 *                           read() FILE into it (the image's pages file,
 *                           just written, so from the page cache)
 *   floor write DIR BYTES   write BYTES to a new file in DIR, fsync it and
 *                           DIR (what a durable new file needs, as the
 *                           checkpoint needs it), then remove it
 *   floor warm MIB          touch MIB of fresh memory and exit: memory just
 *                           freed is quick to fault in again, memory free
 *                           for seconds is not (the VM hands it back to the
 *                           host), so run.sh evens out the steps with this
 *
 * The data to write is in memory before the clock starts.  Inside the
 * timing: mapping the memory to read into (a restore maps its memory too)
 * and creating the new file (a checkpoint creates its files too).
 * Outside: opening the file to read, removing the written one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

static const char usage[] =
    "usage: floor read FILE\n"
    "       floor write DIR BYTES\n"
    "       floor warm MIB\n"
    "\n"
    "read:  maps fresh anonymous memory of FILE's size, read()s FILE into it;\n"
    "       prints read_ns= and read_bytes=\n"
    "write: writes BYTES (non-zero data already in memory) to a new file in\n"
    "       DIR, fsyncs the file and DIR, removes the file; prints write_ns=\n"
    "warm:  touches MIB of fresh memory (huge pages where it can) and exits,\n"
    "       freeing it; prints warm_ns=\n";

static int die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    return 1;
}

static int do_read(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        return die(path);
    size_t len = (size_t)st.st_size;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    /* plain: no MAP_POPULATE, no huge-page advice; what a program gets */
    char *mem = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return die("mmap");
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, mem + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return die(path);
        done += (size_t)n;
    }
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    printf("read_ns=%llu\nread_bytes=%zu\n", (unsigned long long)(t1 - t0), len);
    return 0;
}

static int do_write(const char *dir, const char *bytes_s)
{
    char *end;
    unsigned long long bytes = strtoull(bytes_s, &end, 10);
    if (*end || !*bytes_s) {
        fprintf(stderr, "floor: BYTES must be a number, got '%s'\n", bytes_s);
        return 2;
    }
    char *buf = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (buf == MAP_FAILED)
        return die("mmap");
    for (unsigned long long i = 0; i < bytes; i += 8)
        *(uint64_t *)(buf + i) = (i + 1) * 0x9e3779b97f4a7c15ULL;
    char path[4096];
    snprintf(path, sizeof(path), "%s/floor-write.%d", dir, (int)getpid());
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return die(dir);

    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return die(path);
    for (unsigned long long done = 0; done < bytes;) {
        ssize_t n = write(fd, buf + done, bytes - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            unlink(path);
            errno = e;
            return die(path);
        }
        done += (unsigned long long)n;
    }
    if (fsync(fd) < 0 || fsync(dfd) < 0) {
        int e = errno;
        unlink(path);
        errno = e;
        return die("fsync");
    }
    close(fd);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    unlink(path);
    printf("write_ns=%llu\n", (unsigned long long)(t1 - t0));
    return 0;
}

/* Huge pages: they take the large free blocks, which are the ones the host
 * took back; small pages alone would leave those cold for the next step. */
static int do_warm(const char *mib_s)
{
    size_t huge = 2UL << 20, len = (size_t)strtoull(mib_s, NULL, 10) << 20;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    char *mem = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return die("mmap");
    mem = (char *)(((uintptr_t)mem + huge - 1) & ~(huge - 1));
    madvise(mem, len, MADV_HUGEPAGE);
    for (size_t i = 0; i < len; i += 4096)
        mem[i] = 1;
    printf("warm_ns=%llu\n", (unsigned long long)(now_ns(CLOCK_MONOTONIC) - t0));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "read"))
        return do_read(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "warm"))
        return do_warm(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "write"))
        return do_write(argv[2], argv[3]);
    fputs(usage, stderr);
    return 2;
}
