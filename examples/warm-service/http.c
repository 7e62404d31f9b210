/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal HTTP/1.1 over one socket at a time (see http.h). */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int listener_bind(struct listener *l)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* After a restore the port may still have connections in TIME_WAIT from
     * the checkpointed process: without SO_REUSEADDR the bind would fail. */
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(l->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    l->port = ntohs(a.sin_port);
    l->fd = fd;
    return 0;
}

int listener_listen(struct listener *l)
{
    return listen(l->fd, 128) < 0 ? -errno : 0;
}

int listener_open(struct listener *l)
{
    int rc = listener_bind(l);
    if (rc == 0 && (rc = listener_listen(l)) < 0)
        listener_close(l);
    return rc;
}

void listener_close(struct listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

/* Splits "METHOD TARGET HTTP/1.x" into req. */
static int parse_request_line(const char *line, struct request *req)
{
    char target[sizeof(req->path) + sizeof(req->query)];
    char version[16];
    if (sscanf(line, "%7s %767s %15s", req->method, target, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0 || target[0] != '/')
        return -EBADMSG;
    char *q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    if (strlen(target) >= sizeof(req->path) || (q && strlen(q) >= sizeof(req->query)))
        return -EMSGSIZE;
    strcpy(req->path, target);
    strcpy(req->query, q ? q : "");
    return 0;
}

int http_read_request(int fd, struct request *req)
{
    char buf[8192];
    size_t len = 0;
    for (;;) {
        if (len == sizeof(buf) - 1)
            return -EMSGSIZE;
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        if (n == 0)
            return -EBADMSG; /* closed before the head was complete */
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
            break;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return parse_request_line(buf, req);
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 431: return "Request Header Fields Too Large";
    default: return "Internal Server Error";
    }
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        /* MSG_NOSIGNAL: a client that went away must not kill the server. */
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int http_respond(int fd, int status, const char *content_type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason(status), content_type, len);
    int rc = send_all(fd, head, (size_t)n);
    return rc < 0 ? rc : send_all(fd, body, len);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* URL-decodes src[0..n) into out ('+' is a space, %XX a byte). */
static int url_decode(const char *src, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '+')
            c = ' ';
        else if (c == '%' && i + 2 < n && hexval(src[i + 1]) >= 0 &&
                 hexval(src[i + 2]) >= 0) {
            c = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            i += 2;
        }
        if (o + 1 >= cap)
            return -ENAMETOOLONG;
        out[o++] = c;
    }
    out[o] = '\0';
    return 1;
}

int http_query_param(const char *query, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    for (const char *p = query; *p;) {
        size_t n = strcspn(p, "&");
        if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=')
            return url_decode(p + klen + 1, n - klen - 1, out, cap);
        if (n == klen && strncmp(p, key, klen) == 0)
            return url_decode(p, 0, out, cap);
        p += n;
        if (*p == '&')
            p++;
    }
    return 0;
}
