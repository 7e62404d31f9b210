/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP endpoints of the warm-service:
 *   GET  /search?q=WORDS  documents containing all WORDS (1 to 4), occurrences,
 *                         best (one word) or first (more) documents
 *   GET  /lucky           a random word (per-instance random state)
 *   GET  /health          restore count, uptime, warm-up time, instance id
 *   POST /checkpoint      checkpoint from the main loop once answered
 */
#include "service.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define JSON "application/json"

static void reply(int fd, int status, const char *body)
{
    /* A client that hung up is its own problem; nothing to do here. */
    (void)http_respond(fd, status, JSON, body, strlen(body));
}

static void reply_result(int fd, const char *q, size_t qlen, const struct query_result *r)
{
    char body[512];
    int n = snprintf(body, sizeof(body),
                     "{\"q\":\"%.*s\",\"docs\":%u,\"occurrences\":%llu,\"cached\":%s,\"top\":[",
                     (int)qlen, q, r->docs, (unsigned long long)r->occurrences,
                     r->cached ? "true" : "false");
    for (uint32_t i = 0; i < r->ntop; i++)
        n += snprintf(body + n, sizeof(body) - (size_t)n, "%s%u", i ? "," : "", r->top[i]);
    snprintf(body + n, sizeof(body) - (size_t)n, "]}\n");
    reply(fd, 200, body);
}

/* Splits q into distinct words of a-z (a repeated word would count its
 * occurrences twice).  The number of terms, or -1 when q is not valid. */
static int parse_words(const struct service *s, char *q, const struct term **terms)
{
    int n = 0;
    for (char *w = strtok(q, " "); w; w = strtok(NULL, " ")) {
        size_t len = strlen(w);
        /* Only a-z: the corpus has nothing else, and it keeps the JSON simple. */
        if (strspn(w, "abcdefghijklmnopqrstuvwxyz") != len || n == QUERY_MAX_TERMS)
            return -1;
        const struct term *t = index_lookup(&s->ix, w, len);
        bool seen = false;
        for (int i = 0; i < n && t; i++)
            seen |= terms[i] == t;
        if (!seen)
            terms[n++] = t; /* NULL for an unknown word: nothing matches */
    }
    return n;
}

static void get_search(struct service *s, int fd, const struct request *req)
{
    char q[128], words[128];
    const struct term *terms[QUERY_MAX_TERMS];
    int n = -1;
    if (http_query_param(req->query, "q", q, sizeof(q)) == 1) {
        strcpy(words, q);
        n = parse_words(s, words, terms);
    }
    if (n <= 0) {
        reply(fd, 400, "{\"error\":\"q must be 1 to 4 words of letters a-z\"}\n");
        return;
    }
    struct query_result r;
    query_and(&s->ix, &s->pairs, terms, n, &r);
    reply_result(fd, q, strlen(q), &r);
}

static void get_lucky(struct service *s, int fd)
{
    if (s->ix.nterms == 0) {
        reply(fd, 404, "{\"error\":\"empty index\"}\n");
        return;
    }
    const struct term *t = &s->ix.terms[ws_rand_next(&s->rng) % s->ix.nterms];
    struct query_result r;
    query_and(&s->ix, &s->pairs, &t, 1, &r);
    reply_result(fd, s->ix.names + t->name_off, t->name_len, &r);
}

static void get_health(struct service *s, int fd)
{
    unsigned restored = crac_restore_count();
    long long up = restored ? crac_uptime_since_restore_ms() : now_ms() - s->start_ms;
    char body[512];
    snprintf(body, sizeof(body),
             "{\"status\":\"ok\",\"restored\":%u,\"uptime_ms\":%lld,\"warm_ms\":%lld,"
             "\"pid\":%d,\"instance\":\"%016llx\",\"docs\":%u,\"terms\":%u,"
             "\"index_bytes\":%zu}\n",
             restored, up, s->warm_ms, (int)getpid(), (unsigned long long)s->instance_id,
             s->ix.ndocs, s->ix.nterms, index_bytes(&s->ix));
    reply(fd, 200, body);
}

void route_request(struct service *s, int fd, const struct request *req)
{
    bool get = strcmp(req->method, "GET") == 0;
    if (strcmp(req->path, "/search") == 0 && get)
        get_search(s, fd, req);
    else if (strcmp(req->path, "/lucky") == 0 && get)
        get_lucky(s, fd);
    else if (strcmp(req->path, "/health") == 0 && get)
        get_health(s, fd);
    else if (strcmp(req->path, "/checkpoint") == 0 && strcmp(req->method, "POST") == 0) {
        /* Answered now: at checkpoint time this connection must be closed
         * (only fds 0-2 and the listening socket may stay open). */
        s->checkpoint_requested = true;
        reply(fd, 202, "{\"checkpoint\":\"started\"}\n");
    } else if (strcmp(req->path, "/search") == 0 || strcmp(req->path, "/lucky") == 0 ||
               strcmp(req->path, "/health") == 0 || strcmp(req->path, "/checkpoint") == 0)
        reply(fd, 405, "{\"error\":\"method not allowed\"}\n");
    else
        reply(fd, 404, "{\"error\":\"not found\"}\n");
}
