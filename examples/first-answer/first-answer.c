/* SPDX-License-Identifier: Apache-2.0 */
/*
 * first-answer: starts a command and times it to its first HTTP answer.
 *
 * The demo measures a cold start and a restore "to the first response".  A
 * shell that forks a subshell, closes descriptors in a loop and polls with
 * /dev/tcp adds milliseconds of its own to a restore that takes ten, so the
 * timing is done here: the clock starts just before fork(), the command is
 * exec'ed with no descriptor above 2, and 127.0.0.1:PORT is polled every
 * 100 us with a plain GET until it answers 200.  This program stays the
 * command's parent until the command ends, so whoever stops it by pid gets
 * it reaped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: first-answer [--timeout S] [--log FILE] [--send TEXT --expect PREFIX]\n"
    "                    PORT PATH -- CMD [ARG...]\n"
    "\n"
    "Starts CMD (stdin /dev/null, stdout and stderr to FILE or /dev/null, no\n"
    "descriptor above 2) and polls http://127.0.0.1:PORT/PATH every 100 us\n"
    "until it answers 200.  With --send, the request is TEXT instead (\\r and\n"
    "\\n escapes; for servers that do not speak HTTP, such as redis or\n"
    "memcached; PATH is then ignored) and the answer must start with PREFIX.\n"
    "Then prints, and flushes:\n"
    "  pid=N      CMD's pid\n"
    "  us=N       microseconds from just before starting CMD to the whole answer\n"
    "  body=...   the answer's body (its first line)\n"
    "and stays CMD's parent until CMD ends, then exits with CMD's status.\n"
    "Exits 3 when CMD ends before answering, 4 after --timeout seconds\n"
    "(default 60; CMD is then killed), 2 on a usage error.\n";

static volatile pid_t child;

/* Whoever stops us stops the command (a demo stops what it started by
 * the pid it knows: ours). */
static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void close_from_3(void)
{
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
}

static pid_t start(char **argv, const char *log)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int in = open("/dev/null", O_RDONLY);
    int out = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    close_from_3();
    execvp(argv[0], argv);
    fprintf(stderr, "first-answer: %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* What to ask and what a good answer starts with. */
struct question {
    char req[512];
    size_t len;
    const char *expect; /* NULL: HTTP, any 200 */
};

static void http_question(struct question *q, const char *path)
{
    int n = snprintf(q->req, sizeof(q->req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    q->len = n > 0 && (size_t)n < sizeof(q->req) ? (size_t)n : 0;
    q->expect = NULL;
}

static void raw_question(struct question *q, const char *text, const char *expect)
{
    size_t n = 0;
    for (; *text && n < sizeof(q->req); text++) {
        if (*text == '\\' && (text[1] == 'r' || text[1] == 'n')) {
            q->req[n++] = *++text == 'r' ? '\r' : '\n';
        } else {
            q->req[n++] = *text;
        }
    }
    q->len = n;
    q->expect = expect;
}

static int good(const struct question *q, const char *buf)
{
    if (q->expect)
        return !strncmp(buf, q->expect, strlen(q->expect));
    return !strncmp(buf, "HTTP/1.1 200 ", 13) || !strncmp(buf, "HTTP/1.0 200 ", 13);
}

/* One question; the answer into buf (HTTP: all of it, the server closes;
 * raw: as soon as it holds as much as PREFIX).  1 with a good answer. */
static int ask(int port, const struct question *q, char *buf, size_t size)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    size_t got = 0, enough = q->expect ? strlen(q->expect) : size - 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        write(fd, q->req, q->len) == (ssize_t)q->len) {
        ssize_t r;
        while (got < enough && got < size - 1 && (r = read(fd, buf + got, size - 1 - got)) > 0)
            got += (size_t)r;
        buf[got] = 0;
        ok = good(q, buf);
    }
    close(fd);
    return ok;
}

static int exit_status(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    const char *log = NULL, *send = NULL, *expect = NULL;
    double timeout_s = 60;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            timeout_s = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--log") && i + 1 < argc) {
            log = argv[++i];
        } else if (!strcmp(argv[i], "--send") && i + 1 < argc) {
            send = argv[++i];
        } else if (!strcmp(argv[i], "--expect") && i + 1 < argc) {
            expect = argv[++i];
        } else {
            fprintf(stderr, "first-answer: unknown option %s\n%s", argv[i], usage);
            return 2;
        }
    }
    if (argc - i < 4 || strcmp(argv[i + 2], "--") || atoi(argv[i]) <= 0 || timeout_s <= 0 ||
        !send != !expect) {
        fputs(usage, stderr);
        return 2;
    }
    int port = atoi(argv[i]);
    struct question q;
    static char answer[1 << 16];
    if (send)
        raw_question(&q, send, expect);
    else
        http_question(&q, argv[i + 1]);
    int st;

    long long t0 = now_us(), deadline = t0 + (long long)(timeout_s * 1e6);
    struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    pid_t pid = start(argv + i + 3, log);
    if (pid < 0) {
        perror("first-answer: fork");
        return 1;
    }
    child = pid;
    for (;;) {
        if (ask(port, &q, answer, sizeof(answer)))
            break;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            printf("pid=%d\nexited=%d\n", (int)pid, exit_status(st));
            return 3;
        }
        if (now_us() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            printf("pid=%d\ntimeout=1\n", (int)pid);
            return 4;
        }
        usleep(100);
    }
    long long t1 = now_us();
    const char *body = send ? answer : strstr(answer, "\r\n\r\n");
    body = body ? body + (send ? 0 : 4) : "";
    printf("pid=%d\nus=%lld\nbody=%.*s\n", (int)pid, t1 - t0, (int)strcspn(body, "\r\n"), body);
    fflush(stdout);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 1;
    return exit_status(st);
}
