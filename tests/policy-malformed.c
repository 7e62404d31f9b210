/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A policies file with a mistake fails the checkpoint with an error naming
 * the file and the line, before any resource is notified (like any other
 * configuration mistake).  A file that cannot be read says so.  Comments,
 * blank lines and quoted values are fine.
 */
#include "checkutil.h"

static int notified;

static crac_error *before(crac_resource *r, crac_context *ctx)
{
    (void)r, (void)ctx;
    notified++;
    return NULL;
}

/* Line 3 of the file is `bad`; the error must say "policies PATH:3: want". */
static void bad_line(const char *bad, const char *want)
{
    const char *p = write_policies("policies", "# two good lines first\nfile close path=/x\n%s\n"
                                   "pipe close\n", bad);
    char expect[4400];
    snprintf(expect, sizeof(expect), "policies %s:3: %s", p, want);
    CHECK(crac_set_option("policies", p) == 0, "set policies");
    crac_error *err = NULL;
    CHECK(crac_checkpoint_restore(&err) < 0, "'%s' must be refused", bad);
    CHECK(crac_error_cause_count(err) == 1, "one problem");
    const crac_error *c = crac_error_cause(err, 0);
    CHECK(!strcmp(crac_error_message(c), expect), "'%s':\n  got  %s\n  want %s", bad,
          crac_error_message(c), expect);
    CHECK(!strcmp(crac_error_source(c), "crac"), "source crac");
    crac_error_free(err);
    CHECK(notified == 0, "no resource may be notified for a bad policies file");
}

int main(void)
{
    setenv("CRAC_ENGINE", "sim", 1);
    static crac_resource r = {.name = "r", .before_checkpoint = before};
    CHECK(crac_context_register(crac_global_context(), &r) == 0, "register");

    bad_line("file reopn", "unknown action 'reopn' (error, close, reopen, ignore or drop)");
    bad_line("fiel close", "unknown type 'fiel' (types: fd, file, dir, pipe, socket, device, "
             "eventfd, epoll, timerfd, signalfd, inotify, memfd, io_uring, pidfd, anon, child, "
             "timer, mapping)");
    bad_line("file", "'file' has no action (error, close, reopen, ignore or drop)");
    bad_line("file close pth=/x", "unknown key 'pth' (keys: path, fd, family, socktype, proto, "
             "listening, local-addr, local-port, remote-addr, remote-port, warn)");
    bad_line("file close path", "'path' is not KEY=VALUE");
    bad_line("file close path=", "path has no value");
    bad_line("file close path=/a path=/b", "path is given twice");
    bad_line("file close path=\"/a b", "a quote is not closed");
    bad_line("pipe reopen", "reopen applies to files, directories and listening sockets, not to pipe");
    bad_line("child close", "close applies to descriptors; a child can only be error or ignore");
    bad_line("file close local-port=80", "local-port applies to sockets (types socket and fd), not to file");
    bad_line("socket close local-port=70000", "local-port wants a number or a range N-M within 0-65535, got '70000'");
    bad_line("socket close remote-port=9-3", "remote-port wants a number or a range N-M within 0-65535, got '9-3'");
    bad_line("socket close local-addr=1.2.3", "local-addr: '1.2.3' is not an IPv4 or IPv6 address");
    bad_line("socket close remote-addr=10.0.0.0/33", "remote-addr: prefix length '33' is not within 0-32");
    bad_line("socket close family=ipx", "family: unknown value 'ipx' (one of: unix, ipv4, ipv6, inet, netlink, packet)");
    bad_line("socket close listening=maybe", "listening wants true or false, got 'maybe'");
    bad_line("file close warn=sometimes", "warn wants true or false, got 'sometimes'");
    bad_line("timer ignore fd=3", "fd applies to descriptors, not to timer");
    bad_line("timer ignore path=/x", "path does not apply to timers");

    /* a file that is not there */
    char missing[4200];
    snprintf(missing, sizeof(missing), "%s/no-such-policies", test_tmp());
    CHECK(crac_set_option("policies", missing) == 0, "set policies");
    crac_error *err = NULL;
    CHECK(crac_checkpoint_restore(&err) < 0, "a missing file must be refused");
    char want[4400];
    snprintf(want, sizeof(want), "policies %s: cannot read it: No such file or directory", missing);
    CHECK(!strcmp(crac_error_message(crac_error_cause(err, 0)), want), "got %s",
          crac_error_message(crac_error_cause(err, 0)));
    crac_error_free(err);
    CHECK(notified == 0, "not notified");

    /* comments, blank lines, quotes, every key: fine */
    const char *p = write_policies("good",
        "# comment\n\n   \t\n"
        "file reopen path=\"/tmp/a b/*\" warn=false  # trailing comment\n"
        "file close path=\"/tmp/q\\\"uote\"\n"
        "socket close family=ipv6 socktype=stream proto=tcp listening=false "
        "local-addr=[::1] local-port=8000-8999 remote-addr=::ffff:10.0.0.0/104 remote-port=5432\n"
        "fd ignore fd=3-9\n"
        "child ignore path=/usr/bin/*\n"
        "timer error\n"
        "mapping ignore path=/SYSV*\n");
    CHECK(crac_set_option("policies", p) == 0, "set policies");
    int rc = crac_checkpoint_restore(&err);
    if (rc < 0)
        free(show(err));
    CHECK(rc == 0 && notified == 1, "a good file must be accepted");
    printf("policy-malformed: ok\n");
    return 0;
}
