/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native engine: the process saves itself into an image directory
 * (dump.c, walk.c) and `crac restore` brings it back (src/restore/).  The
 * checkpoint call "returns twice": once here after writing the image, and
 * once more in every process restored from it.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "native/dump.h"
#include "native/threads.h"
#include "native/fds.h"
#include "engine/engine.h"
#include "core/core.h"
#include "image/restore_info.h"

static const struct crac__engine_option native_options[] = {
    {"keep_running", "false", "true: after writing the image the process goes on (no restore); "
                              "false: it exits with status 0, as the reference does"},
    {"safepoint_timeout_ms", "5000", "how long other threads may take to stop for the "
                                     "checkpoint before it fails, naming them"},
    {NULL, NULL, NULL},
};

/* The options, with their defaults.  Initialized, so in .data rather
 * than .bss: they are set when the first checkpoint reads the
 * configuration, and .data's page is written anyway (relocations, the
 * library's first globals), while a zero page of .bss written then would
 * be saved in the image as one more page. */
static struct {
    long safepoint_timeout_ms;
    bool keep_running;
} opt = {.safepoint_timeout_ms = 5000, .keep_running = false};

static int native_configure(const char *key, const char *value, crac_error **err)
{
    if (!strcmp(key, "keep_running")) {
        if (!strcmp(value, "true") || !strcmp(value, "1"))
            opt.keep_running = true;
        else if (!strcmp(value, "false") || !strcmp(value, "0"))
            opt.keep_running = false;
        else {
            *err = crac__error_src("engine", "keep_running wants true or false, got '%s'", value);
            return -EINVAL;
        }
        return 0;
    }
    if (!strcmp(key, "safepoint_timeout_ms")) {
        char *end;
        long v = strtol(value, &end, 10);
        if (*value == 0 || *end || v <= 0 || v > 3600000) {
            *err = crac__error_src("engine", "safepoint_timeout_ms wants milliseconds (1..3600000), "
                                   "got '%s'", value);
            return -EINVAL;
        }
        opt.safepoint_timeout_ms = v;
        return 0;
    }
    *err = crac__error_src("engine", "native engine has no option '%s' (options: keep_running, "
                           "safepoint_timeout_ms)", key);
    return -EINVAL;
}

static void native_check(crac_error *problems)
{
    crac__dump_refusals(problems);
}

static crac_error *dump_error(const struct crac__dump *d, int rc)
{
    if (rc == -ECANCELED) /* a descriptor that cannot be restored, named in err_what */
        return crac__error_src("engine", "checkpoint to %s refused while %s; no image was "
                               "written", d->dest, d->err_what);
    return crac__error_src("engine", "checkpoint to %s failed while %s: %s; no image was written",
                           d->dest, d->err_what ? d->err_what : "writing the image", strerror(-rc));
}

/* Whether `crac restore --policies` gave rules (passed in the --env list). */
static bool restore_policies_given(const struct crac_restore_info *info)
{
    const char *env = (const char *)info + info->env_off;
    for (uint32_t i = 0, off = 0; i < info->env_count && off < info->env_len; i++) {
        if (!strncmp(env + off, "CRAC_RESTORE_POLICIES=", 22))
            return true;
        off += (uint32_t)strlen(env + off) + 1;
    }
    return false;
}

/* Runs in the restored process on the checkpointing thread, right after
 * the blob's jump.  Other threads are still parked (one may hold the
 * allocator's or stdio's lock): only system calls until they are released.
 * The process state comes from the restore information (the restorer's
 * copy of the image's process section), valid until the blob's area is
 * unmapped at the end. */
static int restored(const struct crac_restore_info *info, const struct crac__cp_hooks *hooks)
{
    const struct crac_img_proc *saved = (const void *)((const char *)info + info->proc_off);
    if (info->version != CRAC_RESTORE_INFO_VERSION || info->proc_size != sizeof(*saved)) {
        /* Nothing sensible to do: the restorer and the library disagree. */
        static const char msg[] = "crac: restore information of an unknown version\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(127);
    }
    crac__dump_forget_spare();
    crac__thread_apply(crac__thread_self_record(), saved->rseq_offset, saved->rseq_size);
    crac__lazy_uffd_set(info->flags & CRAC_RI_LAZY ? info->uffd : -1);
    crac__proc_apply(saved, info);
    hooks->restored();
    hooks->before_release(restore_policies_given(info));
    crac__proc_apply_env(info);
    crac__safepoint_resume_restored();
    if (info->flags & CRAC_RI_VERBOSE) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(stderr, "crac restore: running again after %.3f ms (pid %d, %u thread%s%s)\n",
                ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec - info->started_ns) / 1e6,
                (int)getpid(), saved->nthreads, saved->nthreads == 1 ? "" : "s",
                info->flags & CRAC_RI_TIDS_CHANGED ? "; some saved thread ids were taken, "
                                                     "those threads have new ids" : "");
    }
    munmap((void *)info->blob_base, info->blob_len);
    return CRAC__CP_RESTORED;
}

/* Buffered output would be printed again by every restored instance: it
 * is written out now.  Not with fflush(NULL), which waits for each
 * stream's lock, and a thread blocked in a read (fgets on stdin) holds
 * its stream's lock for as long as it waits.  With every other thread
 * parked, the list of streams cannot change under us and needs no lock
 * (its lock cannot be tried, and a thread parked in fflush(NULL) holds
 * it); a stream whose lock a parked thread holds is left as it is (the
 * thread is in the middle of using it).  So are streams without a file
 * (open_memstream, fopencookie: their writing may allocate, and nothing
 * of them is printed twice) and streams whose locking the program does
 * itself (FSETLOCKING_BYCALLER: no lock says whether a parked thread is
 * using them).  And so is a stream whose descriptor takes no writing now
 * (a full pipe nobody reads, a stopped terminal): waiting for its reader
 * could last forever; its output is printed again by restored instances,
 * which beats a checkpoint that never ends. */
static void flush_stdio(void)
{
    extern FILE *_IO_list_all; /* glibc's list of open streams, linked by _chain */
    for (FILE *f = _IO_list_all; f; f = f->_chain) {
        struct pollfd p = {.fd = fileno_unlocked(f), .events = POLLOUT};
        if (p.fd < 0 || __fsetlocking(f, FSETLOCKING_QUERY) == FSETLOCKING_BYCALLER ||
            ftrylockfile(f) != 0)
            continue;
        if (__fpending(f) > 0 && poll(&p, 1, 0) == 1 && p.revents == POLLOUT)
            fflush_unlocked(f);
        funlockfile(f);
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int native_checkpoint(const struct crac__cp_request *req, crac_error **err)
{
    /* The dumper's state, the process state it writes included, lives in
     * its own mapping, left out of the image: it changes while memory is
     * saved, and a restored process gets the process state from the
     * restorer instead. */
    struct crac__dump *d;
    uint64_t info, t[6];
    int rc;

    if (req->dry_run)
        return CRAC__CP_CONTINUED;
    t[0] = now_ns();
    /* Memory still served lazily from the last restore's image comes in
     * first: its absent pages are not "never touched". */
    if ((rc = crac__lazy_settle()) < 0) {
        *err = crac__error_src("engine", "checkpoint to %s failed while bringing in the memory "
                               "of the last restore: %s; no image was written", req->dest,
                               strerror(-rc));
        return CRAC__CP_FAILED;
    }
    if (!(d = crac__dump_prepare(req->dest, err)))
        return CRAC__CP_FAILED;
    d->dropped = req->dropped;
    d->ndropped = req->ndropped;
    /* The safepoint takes a signal: its action is recorded first.  The
     * rest of the process state is recorded once the page data is
     * written, while the disk works on it. */
    crac__proc_capture_signals(&d->proc);
    if (crac__dump_labels_notes(d, req, err)) {
        crac__dump_finish(d, -1);
        crac__dump_free(d);
        return CRAC__CP_FAILED;
    }
    /* Free heap pages need not be saved.  malloc_trim() takes each arena's
     * lock, so before the other threads are parked (a thread parked inside
     * malloc holds one).  glibc holds an arena lock only across short work
     * that never waits for another thread, so this waits at most for a
     * running thread to finish a malloc; the one exception, malloc_stats()
     * writing to a stderr nobody reads, stops the program's own mallocs
     * as well. */
    malloc_trim(0);
    t[1] = now_ns();
    if (crac__safepoint_enter(opt.safepoint_timeout_ms, d->parker, err)) {
        crac__dump_finish(d, -1);
        crac__dump_free(d);
        return CRAC__CP_FAILED;
    }
    flush_stdio();
    /* Descriptors policies close go now, while no other thread can be
     * using them (and none can open another on their numbers). */
    req->hooks->threads_parked();
    info = crac__ctx_save(&crac__thread_self_record()->ctx);
    if (info)
        return restored((const struct crac_restore_info *)info, req->hooks);
    t[2] = now_ns();
    /* Descriptors first: nothing in memory refers to the scan, and a
     * descriptor that cannot be restored spares writing the pages. */
    if ((rc = crac__fds_capture(d)) == 0)
        rc = crac__dump_write(d, &d->proc);
    t[3] = now_ns();
    rc = crac__dump_finish(d, rc);
    t[4] = now_ns();
    if (rc == 0 && !opt.keep_running)
        _exit(0); /* the image is the process now; nobody else runs again */
    req->hooks->before_release(false);
    crac__safepoint_leave();
    if (rc < 0)
        *err = dump_error(d, rc);
    else
        crac__log("image written to %s (%llu pages): prepare %.3f ms, safepoint %.3f ms, "
                  "write %.3f ms, sync and publish %.3f ms", d->dest,
                  (unsigned long long)d->proc.pages_total, (t[1] - t[0]) / 1e6, (t[2] - t[1]) / 1e6,
                  (t[3] - t[2]) / 1e6, (t[4] - t[3]) / 1e6);
    crac__dump_free(d);
    return rc < 0 ? CRAC__CP_FAILED : CRAC__CP_CONTINUED;
}

const struct crac__engine crac__engine_native = {
    .abi = CRAC__ENGINE_ABI,
    .name = "native",
    .description = "saves the process into an image directory; `crac restore DIR` starts it again",
    .writes_image = true,
    .parks_threads = true,
    .options = native_options,
    .configure = native_configure,
    .check = native_check,
    .fds_check = crac__fds_check,
    .checkpoint = native_checkpoint,
};
