/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Just enough HTTP/1.1 for the demo: a listening socket on 127.0.0.1 that
 * can be closed and opened again on the same port, reading one request head,
 * and writing one response (always "Connection: close").
 */
#ifndef WARM_HTTP_H
#define WARM_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct listener {
    int fd;         /* -1 while closed */
    uint16_t port;  /* 0 asks the kernel; then the port it gave, kept for reopening */
};

/* socket + SO_REUSEADDR + bind to 127.0.0.1:port, not yet listening (so
 * connections are refused until listener_listen).  0 or -errno. */
int listener_bind(struct listener *l);
/* 0 or -errno. */
int listener_listen(struct listener *l);
/* bind and listen. 0 or -errno (closed again on failure). */
int listener_open(struct listener *l);
void listener_close(struct listener *l);

struct request {
    char method[8];
    char path[256];
    char query[512]; /* after '?', without it; "" when none */
};

/* Reads one request head (up to the blank line) from a connected socket.
 * 0, -EMSGSIZE (head too large), -EBADMSG (not HTTP), -EAGAIN (timed out),
 * or another -errno. */
int http_read_request(int fd, struct request *req);
/* Writes a whole response.  0 or -errno. */
int http_respond(int fd, int status, const char *content_type, const char *body, size_t len);
/* Copies the URL-decoded value of query parameter `key` into out.
 * 1 found, 0 absent, -ENAMETOOLONG when it does not fit. */
int http_query_param(const char *query, const char *key, char *out, size_t cap);

#endif
