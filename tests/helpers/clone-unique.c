/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For tests/clone-unique.sh: a program whose instances must differ.  It
 * uses OpenSSL's and GnuTLS's generators, marks two pages MADV_WIPEONFORK
 * (filled with 0xab) and keeps one ordinary page (0xcd), then checkpoints
 * (CRAC_CHECKPOINT_TO).  Every restored instance prints one line:
 *   openssl=HEX thread=HEX gnutls=HEX id=HEX gen=N wipe=BYTES keep=BYTE forkwipe=ok|bad
 * (thread: RAND_bytes in a thread started after the restore; wipe: the
 * first and last bytes of the wiped pages; forkwipe: a child forked by the
 * instance finds the pages zeroed again, as the flag is set anew).  With
 * CLONE_AGAIN=DIR in its environment (crac restore --env), the instance
 * checkpoints once more, to DIR, after printing; the instances of that
 * image print their line too.
 */
#include <crac.h>
#include <gnutls/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void hex(char *out, const unsigned char *b, int n)
{
    for (int i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void *thread_draw(void *out)
{
    unsigned char b[16];
    RAND_bytes(b, sizeof(b));
    hex(out, b, sizeof(b));
    return NULL;
}

/* A child of this instance must find the pages zeroed again. */
static const char *fork_wipes(unsigned char *w)
{
    memset(w, 0x11, 8192);
    pid_t p = fork();
    if (p == 0)
        _exit(w[0] == 0 && w[8191] == 0 ? 0 : 1);
    int st;
    return p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "bad";
}

/* One line about this instance (see the top of the file). */
static void report(unsigned char *w, const unsigned char *keep)
{
    unsigned char b[16], raw[16];
    char o[33], th[33], g[33], id[33];
    pthread_t t;
    RAND_bytes(b, sizeof(b));
    hex(o, b, 16);
    pthread_create(&t, NULL, thread_draw, th);
    pthread_join(t, NULL);
    gnutls_rnd(GNUTLS_RND_NONCE, b, sizeof(b));
    hex(g, b, 16);
    crac_instance_id(raw);
    hex(id, raw, 16);
    unsigned first = w[0], last = w[8191]; /* before fork_wipes() writes them */
    printf("openssl=%s thread=%s gnutls=%s id=%s gen=%llu wipe=%02x%02x keep=%02x forkwipe=%s\n",
           o, th, g, id, crac_generation(), first, last, keep[0], fork_wipes(w));
    fflush(stdout);
}

static int checkpoint(void)
{
    crac_error *err;
    if (crac_checkpoint_restore(&err) == 0)
        return 0;
    char *t = crac_error_format(err);
    fprintf(stderr, "%s", t);
    free(t);
    crac_error_free(err);
    return 1;
}

int main(void)
{
    unsigned char b[16], id1[16], id2[16];
    char id[33];
    RAND_bytes(b, sizeof(b));
    gnutls_rnd(GNUTLS_RND_NONCE, b, sizeof(b));
    unsigned char *w = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *keep = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (w == MAP_FAILED || keep == MAP_FAILED || madvise(w, 8192, MADV_WIPEONFORK))
        return 2;
    memset(w, 0xab, 8192);
    memset(keep, 0xcd, 4096);
    crac_instance_id(id1);
    crac_instance_id(id2);
    hex(id, id1, 16);
    printf("before gen=%llu id=%s same=%s\n", crac_generation(), id,
           memcmp(id1, id2, 16) ? "no" : "yes");
    fflush(stdout);
    if (checkpoint())
        return 1;

    for (;;) {
        report(w, keep);
        const char *again = getenv("CLONE_AGAIN");
        if (!again || !*again)
            return 0;
        /* once: the next image's instances only report */
        crac_set_option("checkpoint_to", again);
        unsetenv("CLONE_AGAIN");
        if (checkpoint())
            return 1;
    }
}
