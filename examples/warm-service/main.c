/* SPDX-License-Identifier: Apache-2.0 */
/*
 * warm-service: a small HTTP server whose start-up does real work (it builds
 * an inverted index over a generated corpus), made to restore warm with crac.
 *
 * Two crac resources show what an application has to do:
 *  - "listening-socket" closes the listening socket before a checkpoint
 *    (an image may hold no open sockets) and opens it again, on the same
 *    address and port, after the restore;
 *  - "random-seed" re-seeds the per-instance random state after a restore,
 *    so that instances restored from one image do not share it.
 * A checkpoint is asked for with --checkpoint-after-warmup or POST /checkpoint;
 * either way crac_checkpoint_restore() is called from the main loop, never
 * from a signal handler.  Single-threaded on purpose.
 */
#include "service.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

struct options {
    unsigned port;
    uint32_t docs, words, cache_terms;
    uint64_t seed;
    bool checkpoint_after_warmup;
    bool dump_corpus;
};

static void usage(const char *prog)
{
    printf("usage: %s [options]\n"
           "A small HTTP server on 127.0.0.1 that warms up by indexing a generated\n"
           "corpus, and can be checkpointed and restored warm with crac.\n\n"
           "  --port N                  port to listen on (default 8080; 0: any free port)\n"
           "  --docs N                  documents in the corpus (default 300000)\n"
           "  --words N                 vocabulary size (default 60000)\n"
           "  --seed N                  corpus seed (default 42)\n"
           "  --cache-terms N           cache two-word queries over the N most frequent\n"
           "                            terms (default 128)\n"
           "  --checkpoint-after-warmup checkpoint once warm, before serving\n"
           "  --dump-corpus             print the corpus, one document a line, and exit\n"
           "  --help                    this text\n\n"
           "endpoints: GET /search?q=WORD[+WORD...] (documents with all, up to 4),\n"
           "           GET /lucky, GET /health, POST /checkpoint\n"
           "crac configuration comes from the environment (CRAC_ENGINE,\n"
           "CRAC_CHECKPOINT_TO, ...): see the crac documentation.\n",
           prog);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-')
        return -EINVAL;
    *out = v;
    return 0;
}

/* Parses a numeric option's value into *out; complains and returns -1 when
 * it is not a number in [min, max]. */
static int num_arg(const char *opt, uint64_t min, uint64_t max, uint64_t *out)
{
    if (parse_u64(optarg, max, out) == 0 && *out >= min)
        return 0;
    fprintf(stderr, "warm-service: bad value for --%s: %s\n", opt, optarg);
    return -1;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"docs", required_argument, NULL, 'd'},
        {"words", required_argument, NULL, 'w'},
        {"seed", required_argument, NULL, 's'},
        {"cache-terms", required_argument, NULL, 'k'},
        {"checkpoint-after-warmup", no_argument, NULL, 'c'},
        {"dump-corpus", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.port = 8080, .docs = 300000, .words = 60000, .seed = 42,
                          .cache_terms = 128};
    int c, bad = 0;
    uint64_t v = 0;
    while (!bad && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': bad = num_arg("port", 0, 65535, &v); o->port = (unsigned)v; break;
        case 'd': bad = num_arg("docs", 0, 5000000, &v); o->docs = (uint32_t)v; break;
        case 'w': bad = num_arg("words", 1, 10000000, &v); o->words = (uint32_t)v; break;
        case 's': bad = num_arg("seed", 0, UINT64_MAX, &v); o->seed = v; break;
        case 'k': bad = num_arg("cache-terms", 0, 4096, &v); o->cache_terms = (uint32_t)v; break;
        case 'c': o->checkpoint_after_warmup = true; break;
        case 'D': o->dump_corpus = true; break;
        case 'h': usage(argv[0]); exit(0);
        default: bad = -1; break;
        }
    }
    if (!bad && optind < argc) {
        fprintf(stderr, "warm-service: unexpected argument: %s\n", argv[optind]);
        bad = -1;
    }
    if (bad)
        fprintf(stderr, "try: %s --help\n", argv[0]);
    return bad ? -EINVAL : 0;
}

long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every line is flushed at once: the demo and the tests read stdout while we
 * run, and nothing may sit in the buffer at a checkpoint (each restored
 * instance would print it again). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

/* ---- the per-instance random state ---- */

/* Seeds from the kernel.  Why again after a restore: the random state is part
 * of the image, so every instance restored from one image would otherwise
 * draw the same "random" numbers (and show the same instance id). */
static void reseed(struct service *s)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32); /* weak, but distinct */
    s->rng = seed;
    s->instance_id = ws_rand_next(&s->rng);
}

static crac_error *random_before(crac_resource *r, crac_context *ctx)
{
    (void)ctx;
    struct service *s = container_of(r, struct service, random_res);
    s->rng = 0; /* keep the seed out of the image */
    return NULL;
}

static crac_error *random_after(crac_resource *r, crac_context *ctx)
{
    (void)ctx;
    reseed(container_of(r, struct service, random_res));
    return NULL;
}

/* ---- the listening socket ---- */

static int start_listening(struct service *s)
{
    int rc = listener_listen(&s->lis);
    if (rc < 0)
        return rc;
    s->listening = true;
    say("listening on 127.0.0.1:%u\n", (unsigned)s->lis.port);
    return 0;
}

/* On another thread than the main loop's: make it stop using the socket and
 * wait in pause_point() until socket_after lets it go on.  shutdown() wakes
 * an accept() blocked on a listening socket (it returns EINVAL). */
static void pause_main_loop(struct service *s)
{
    if (pthread_equal(pthread_self(), s->main_thread))
        return; /* the main loop itself asked for the checkpoint */
    pthread_mutex_lock(&s->mu);
    s->pausing = true;
    if (s->lis.fd >= 0)
        shutdown(s->lis.fd, SHUT_RDWR);
    while (!s->paused)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static void resume_main_loop(struct service *s)
{
    pthread_mutex_lock(&s->mu);
    s->pausing = false;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Where the main loop waits while a checkpoint from outside is under way
 * (a checkpoint parks it here and a restore brings it back here). */
static void pause_point(struct service *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->pausing) {
        s->paused = true;
        pthread_cond_broadcast(&s->cv);
        while (s->pausing)
            pthread_cond_wait(&s->cv, &s->mu);
        s->paused = false;
    }
    pthread_mutex_unlock(&s->mu);
}

static crac_error *socket_before(crac_resource *r, crac_context *ctx)
{
    (void)ctx;
    struct service *s = container_of(r, struct service, socket_res);
    pause_main_loop(s);
    s->was_listening = s->listening;
    s->listening = false;
    listener_close(&s->lis);
    return NULL;
}

/* Also runs when the checkpoint failed, and whatever before_checkpoint got
 * done: an open socket is left alone. */
static crac_error *socket_after(crac_resource *r, crac_context *ctx)
{
    (void)ctx;
    struct service *s = container_of(r, struct service, socket_res);
    int rc = 0;
    if (s->lis.fd < 0) {
        rc = listener_bind(&s->lis);
        if (rc == 0 && s->was_listening && (rc = start_listening(s)) < 0)
            listener_close(&s->lis);
    }
    resume_main_loop(s);
    if (rc < 0)
        return crac_error_new("cannot open 127.0.0.1:%u again: %s", (unsigned)s->lis.port,
                              strerror(-rc));
    return NULL;
}

static int register_resources(struct service *s)
{
    s->socket_res = (crac_resource){.name = "listening-socket",
                                    .before_checkpoint = socket_before,
                                    .after_restore = socket_after};
    s->random_res = (crac_resource){.name = "random-seed",
                                    .before_checkpoint = random_before,
                                    .after_restore = random_after};
    int rc = crac_context_register(crac_global_context(), &s->socket_res);
    if (rc == 0)
        rc = crac_context_register(crac_global_context(), &s->random_res);
    return rc;
}

/* ---- checkpoint, from the main loop ---- */

static void print_error(const char *what, crac_error *err)
{
    char *text = err ? crac_error_format(err) : NULL;
    say("%s: %s%s", what, text ? text : err ? crac_error_message(err) : "unknown error",
        text && text[0] && text[strlen(text) - 1] == '\n' ? "" : "\n");
    free(text);
}

/* Returns 0 to go on serving, -1 when the service cannot serve any more. */
static int checkpoint_now(struct service *s)
{
    unsigned before = crac_restore_count();
    crac_error *err = NULL;
    fflush(NULL);
    int rc = crac_checkpoint_restore(&err);
    if (rc == 0 && crac_restore_count() > before)
        say("restored (count %u)\n", crac_restore_count());
    else if (rc == 0)
        say("checkpoint written, still running\n");
    else
        print_error(crac_error_is_restore(err) ? "restore failed" : "checkpoint failed", err);
    crac_error_free(err);
    if (s->lis.fd < 0) {
        say("cannot serve: the listening socket is closed\n");
        return -1;
    }
    return 0;
}

/* ---- start-up and the main loop ---- */

static int warm_up(struct service *s, const struct options *o)
{
    struct corpus c;
    int rc = corpus_generate(&c, o->seed, o->docs, o->words);
    if (rc < 0)
        return rc;
    rc = index_build(&s->ix, &c);
    corpus_free(&c); /* the index keeps its own copy of every term */
    if (rc == 0)
        rc = pair_cache_build(&s->pairs, &s->ix, o->cache_terms);
    return rc;
}

static void serve_one(struct service *s, int fd)
{
    /* One client at a time: a silent one must not stall the others for long. */
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct request req;
    int rc = http_read_request(fd, &req);
    if (rc == 0)
        route_request(s, fd, &req);
    else if (rc == -EMSGSIZE)
        http_respond(fd, 431, "text/plain", "request too large\n", 18);
    else if (rc == -EBADMSG)
        http_respond(fd, 400, "text/plain", "bad request\n", 12);
    close(fd);
}

static int serve(struct service *s)
{
    for (;;) {
        pause_point(s);
        if (s->lis.fd < 0) {
            say("cannot serve: the listening socket is closed\n");
            return -1;
        }
        int fd = accept4(s->lis.fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            /* A client that gave up before we accepted is not our failure;
             * EINVAL/EBADF: a checkpoint from outside shut the socket down. */
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if ((errno == EINVAL || errno == EBADF) && __atomic_load_n(&s->pausing, __ATOMIC_ACQUIRE))
                continue;
            say("accept failed: %s\n", strerror(errno));
            return -1;
        }
        serve_one(s, fd); /* closes fd: no client is open at a checkpoint */
        if (s->checkpoint_requested) {
            s->checkpoint_requested = false;
            if (checkpoint_now(s) < 0)
                return -1;
        }
    }
}

static int dump_corpus(const struct options *o)
{
    struct corpus c;
    int rc = corpus_generate(&c, o->seed, o->docs, o->words);
    if (rc == 0)
        rc = corpus_dump(&c, stdout);
    corpus_free(&c);
    if (rc < 0)
        fprintf(stderr, "dump-corpus: %s\n", strerror(-rc));
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    static struct service s; /* registered resources live in it: never on a stack */
    struct options o;
    if (parse_options(argc, argv, &o) < 0)
        return 2;
    if (o.dump_corpus)
        return dump_corpus(&o);
    s.start_ms = now_ms();
    s.lis = (struct listener){.fd = -1, .port = (uint16_t)o.port};
    s.main_thread = pthread_self();
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    reseed(&s);
    /* Bound now, so a taken port fails at once; listening only once warm. */
    int rc = listener_bind(&s.lis);
    if (rc < 0) {
        say("cannot bind 127.0.0.1:%u: %s\n", o.port, strerror(-rc));
        return 1;
    }
    if ((rc = register_resources(&s)) < 0) {
        say("cannot register crac resources: %s\n", strerror(-rc));
        return 1;
    }
    if ((rc = warm_up(&s, &o)) < 0) {
        say("warm-up failed: %s\n", strerror(-rc));
        return 1;
    }
    s.warm_ms = now_ms() - s.start_ms;
    say("warm in %lld ms\n", s.warm_ms);
    say("index: %u documents, %u terms, %.1f MiB\n", s.ix.ndocs, s.ix.nterms,
        index_bytes(&s.ix) / 1048576.0);
    if (o.checkpoint_after_warmup && checkpoint_now(&s) < 0)
        return 1;
    if (!s.listening && (rc = start_listening(&s)) < 0) {
        say("cannot listen on 127.0.0.1:%u: %s\n", (unsigned)s.lis.port, strerror(-rc));
        return 1;
    }
    return serve(&s) < 0 ? 1 : 0;
}
