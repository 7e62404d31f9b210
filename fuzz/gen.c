/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-gen: makes mutated images that every check before the point of no
 * return accepts, for the differential check (fuzz/restore-accepted.sh),
 * which then restores each for real.
 *
 *   fuzz-gen [--count N] [--tries M] [--seed S] [--edits K] SEED OUT [INPUT...]
 *
 * With INPUTs (files of edits: the fuzzer's corpus), each input's image;
 * without, up to M random lists of 1..K edits (default 2000, 2).  Keeps
 * the first N accepted (default 200) as OUT/NNNN/ (meta, pages, the edits
 * in `edits` and described in `what`), and prints what it did.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz/harness.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* One edit, biased toward values that could fit (near the saved regions,
 * small steps, boundaries) so that some images are accepted. */
static void random_edit(uint8_t *d)
{
    static const uint8_t ops[] = {FZ_ADD, FZ_ADD, FZ_FLIP, FZ_INTERESTING, FZ_INTERESTING,
                                  FZ_COPY, FZ_ADDR, FZ_ADDR, FZ_ADDR, FZ_SET, FZ_DELETE,
                                  FZ_DUPLICATE, FZ_SWAP, FZ_BYTE};
    uint64_t r = next(), v = next();
    d[0] = ops[r % sizeof(ops)];
    d[1] = (uint8_t)((r >> 8) % (CRAC_SEC_MAX + 1));
    memcpy(d + 2, (uint8_t *)&r + 2, 6);
    if (d[0] == FZ_ADD) /* a step of up to 16 pages, either way, or a few bytes */
        v = (v & 1 ? 1 : -1) * (int64_t)((v >> 1) & 1 ? ((v >> 2) % 16 + 1) * CRAC_PAGE
                                                      : (v >> 2) % 64 + 1);
    memcpy(d + 8, &v, 8);
}

static int copy(const char *from_dir, const char *to_dir, const char *name)
{
    char from[4300], to[4300], buf[65536];
    ssize_t n = 0;
    snprintf(from, sizeof(from), "%s/%s", from_dir, name);
    snprintf(to, sizeof(to), "%s/%s", to_dir, name);
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            n = -1;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return in < 0 || out < 0 || n < 0 ? -1 : 0;
}

/* The image with a copy of the seed's pages (a restore needs its own),
 * the edits, and what they are in words. */
static int keep(const struct fz_harness *h, const char *out, unsigned n, const uint8_t *edits,
                size_t len)
{
    char dir[4200], path[4300], what[256];
    struct fz_edit e[FZ_MAX_EDITS];
    size_t ne = fz_decode(edits, len, e);
    snprintf(dir, sizeof(dir), "%s/%04u", out, n);
    if ((mkdir(dir, 0700) && errno != EEXIST) || copy(h->dir, dir, "meta") ||
        copy(h->seed_dir, dir, "pages"))
        return -1;
    snprintf(path, sizeof(path), "%s/edits", dir);
    FILE *f = fopen(path, "w");
    if (!f || fwrite(edits, 1, len, f) != len || fclose(f))
        return -1;
    snprintf(path, sizeof(path), "%s/what", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    for (size_t i = 0; i < ne; i++) {
        fz_describe(&h->seed, &e[i], what, sizeof(what));
        fprintf(f, "%s\n", what);
    }
    return fclose(f);
}

static int read_input(const char *path, uint8_t *buf, size_t *len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, FZ_MAX_EDITS * FZ_EDIT_SIZE) : -1;
    if (fd >= 0)
        close(fd);
    *len = n > 0 ? (size_t)n : 0;
    return n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"count", 1, 0, 'n'}, {"tries", 1, 0, 't'},
                                       {"seed", 1, 0, 's'}, {"edits", 1, 0, 'e'}, {0, 0, 0, 0}};
    unsigned count = 200, tries = 2000, edits = 2, kept = 0, tried = 0;
    struct fz_harness h;
    char work[4200];
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        unsigned long v = strtoul(optarg, NULL, 0);
        switch (c) {
        case 'n': count = (unsigned)v; break;
        case 't': tries = (unsigned)v; break;
        case 's': rng ^= v * 0x2545f4914f6cdd1dULL; break;
        case 'e': edits = v ? (unsigned)v : 1; break;
        default: return 2;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "usage: fuzz-gen [--count N] [--tries M] [--seed S] [--edits K] SEED "
                        "OUT [INPUT...]\n");
        return 2;
    }
    const char *out = argv[optind + 1];
    snprintf(work, sizeof(work), "%s/.work", out);
    if ((mkdir(out, 0700) && errno != EEXIST) || fz_setup(&h, argv[optind], work))
        return 1;
    int inputs = argc - optind - 2;
    for (unsigned i = 0; kept < count && (inputs ? i < (unsigned)inputs : i < tries); i++) {
        uint8_t buf[FZ_MAX_EDITS * FZ_EDIT_SIZE];
        size_t len = (1 + next() % edits) * FZ_EDIT_SIZE;
        if (inputs ? read_input(argv[optind + 2 + i], buf, &len) : 0)
            continue;
        for (size_t k = 0; !inputs && k < len; k += FZ_EDIT_SIZE)
            random_edit(buf + k);
        tried++;
        if (fz_make(&h, buf, len) == 0 && fz_check(&h, false, NULL) == 0 &&
            keep(&h, out, kept, buf, len) == 0)
            kept++;
    }
    fz_teardown(&h);
    rmdir(work);
    printf("fuzz-gen: %u images made, %u accepted by every check before the point of no "
           "return\n", tried, kept);
    return 0;
}
