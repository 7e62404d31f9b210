/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the crac subcommands (see util.h). */
#include "cli/util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* "crac" or "crac CMD": the prefix of every message and of "see ... --help". */
static void put_prefix(const char *cmd)
{
    if (cmd && *cmd)
        fprintf(stderr, "crac %s", cmd);
    else
        fputs("crac", stderr);
}

static void put_see_help(const char *cmd)
{
    fputs(" (see ", stderr);
    put_prefix(cmd);
    fputs(" --help)\n", stderr);
}

int crac__is_help(const char *arg)
{
    return arg && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0);
}

int crac__print_usage(const char *usage)
{
    fputs(usage, stdout);
    return CRAC__EXIT_OK;
}

int crac__bad_option(const char *cmd, const char *opt)
{
    put_prefix(cmd);
    fprintf(stderr, ": unknown option '%s'", opt ? opt : "");
    put_see_help(cmd);
    return CRAC__EXIT_USAGE;
}

/* "crac CMD: MESSAGE", without the end of the line. */
static void put_message(const char *cmd, const char *fmt, va_list ap)
{
    put_prefix(cmd);
    fputs(": ", stderr);
    vfprintf(stderr, fmt, ap);
}

int crac__usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    put_message(cmd, fmt, ap);
    va_end(ap);
    put_see_help(cmd);
    return CRAC__EXIT_USAGE;
}

int crac__fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    put_message(cmd, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CRAC__EXIT_FAIL;
}

int crac__fail_error(const char *cmd, const crac_error *e)
{
    char *text = e ? crac_error_format(e) : NULL;

    put_prefix(cmd);
    if (!text) {
        fputs(e ? ": out of memory\n" : ": unknown error\n", stderr);
        return CRAC__EXIT_FAIL;
    }
    /* A one-line error stays on the prefix's line; a tree starts below it. */
    size_t len = strlen(text);
    int multi = memchr(text, '\n', len ? len - 1 : 0) != NULL;
    fputs(multi ? ":\n" : ": ", stderr);
    fputs(text, stderr);
    if (len == 0 || text[len - 1] != '\n')
        fputc('\n', stderr);
    free(text);
    return CRAC__EXIT_FAIL;
}

int crac__parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;

    /* strtoul would accept spaces, a sign and trailing text: do it by hand. */
    if (!s || !*s)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned long d = (unsigned long)(*p - '0');
        if (d > max || v > (max - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Parses a process id strictly: decimal digits only (no sign, no spaces, no
 * trailing text), greater than 0, at most INT_MAX.  0, or -EINVAL (bad text)
 * or -ERANGE (0 or too large); *pid is set only on success. */
static int parse_pid(const char *s, pid_t *pid)
{
    unsigned long v;
    int r = crac__parse_ulong(s, INT_MAX, &v);

    if (r < 0)
        return r;
    if (v == 0) /* 0 means "the caller's group" to kill(): never a target */
        return -ERANGE;
    *pid = (pid_t)v;
    return 0;
}

int crac__pid_arg(const char *cmd, const char *s, pid_t *pid)
{
    if (parse_pid(s, pid) < 0)
        return crac__usage_error(cmd, "invalid PID '%s'", s ? s : "");
    return 0;
}

int crac__opt_value(const char *cmd, const char *name, int argc, char **argv,
                    int *i, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);

    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, n) != 0)
        return 0;
    if (arg[2 + n] == '=') {
        *value = arg + 3 + n;
        return 1;
    }
    if (arg[2 + n] != '\0')
        return 0; /* a longer option that starts with the same letters */
    if (*i + 1 >= argc) {
        crac__usage_error(cmd, "option '--%s' needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int crac__one_arg(const char *cmd, const char *usage, int argc, char **argv, const char **arg)
{
    bool only_args = false;
    *arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_args && crac__is_help(a))
            return crac__print_usage(usage);
        if (!only_args && strcmp(a, "--") == 0)
            only_args = true;
        else if (!only_args && a[0] == '-')
            return crac__bad_option(cmd, a);
        else if (*arg)
            return crac__usage_error(cmd, "expected one PID");
        else
            *arg = a;
    }
    if (!*arg)
        return crac__usage_error(cmd, "expected one PID");
    return -1;
}

char *crac__policies_line(const char *cmd, const char *file)
{
    char *abs, *line = NULL;
    if (!file)
        return strdup("");
    if (!(abs = realpath(file, NULL)) || strchr(abs, '\n')) {
        crac__fail(cmd, "--policies %s: %s", file, abs ? "a newline in the path" : strerror(errno));
        free(abs);
        return NULL;
    }
    if (asprintf(&line, "policies %s\n", abs) < 0)
        line = NULL;
    free(abs);
    return line;
}
