/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine interface: a versioned table of functions.  The coordination
 * layer (src/core/cycle.c) runs the before-checkpoint callbacks and the
 * checker, then hands over to the configured engine with one request that
 * carries everything the engine needs; whatever the engine returns decides
 * whether after-restore counts as a restore.  Engines call nothing above
 * them: what they need from the library comes in the request.
 */
#ifndef CRAC_ENGINE_H
#define CRAC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "crac.h"

/* Bumped whenever struct crac__engine or its request changes incompatibly. */
#define CRAC__ENGINE_ABI 4

/* What engine->checkpoint() returns. */
enum crac__cp_result {
    CRAC__CP_FAILED = -1,   /* *err set; no image; the process continues */
    CRAC__CP_CONTINUED = 0, /* image written, process kept running (no restore) */
    CRAC__CP_RESTORED = 1,  /* we are in a restored process (or sim/pause resume) */
};

struct crac__engine_option {
    const char *key;
    const char *def; /* default value as text, NULL when none */
    const char *help;
};

/* What the library does at the points only an engine that parks the other
 * threads can reach (engine->parks_threads).  Both run with the other
 * threads stopped, so they use system calls only (a parked thread may hold
 * the allocator's or stdio's lock). */
struct crac__cp_hooks {
    /* The other threads are parked, the image is not written yet: close
     * the descriptors the policies prepared for closing. */
    void (*threads_parked)(void);
    /* This process is a restored instance and the other threads are still
     * parked: give it its own identity before any of them runs. */
    void (*restored)(void);
    /* Restored (or the image is written and the process goes on), the
     * other threads not yet released: reopen what the policies closed.
     * `restore_rules`: `crac restore --policies` gave rules, which need
     * the heap: the after-restore callbacks apply them instead. */
    void (*before_release)(bool restore_rules);
};

/* Everything an engine needs for one checkpoint. */
struct crac__cp_request {
    const char *dest;   /* checkpoint_to, NULL when not configured */
    bool dry_run;       /* check only: report problems, write nothing */
    const char *labels; /* the "labels" option, "K=V,K=V"; NULL: none */
    /* For the image: "key=value\0" items (resource=NAME for each resource
     * notified, policy=... for each descriptor the policies acted on). */
    const char *notes;
    size_t notes_len;
    const struct crac__cp_hooks *hooks; /* never NULL */
    /* Descriptors a `drop` rule names: the process keeps them; the image
     * holds, on their numbers, sockets whose peer has closed. */
    const int *dropped;
    size_t ndropped;
};

/* What an engine that brings descriptors back itself says of one. */
/* What the rules made of a descriptor, for engine->fds_check(). */
enum crac__fd_fate {
    CRAC__FATE_ENGINE = 0,  /* no rule: the engine brings it back if it can */
    CRAC__FATE_CLOSED = 1,  /* the policies close it before the checkpoint */
    CRAC__FATE_DROPPED = 2, /* kept open; an instance gets it back closed by its peer */
};

struct crac__fd_verdict {
    bool saved;     /* restored exactly: same number, same flags, same state */
    char why[256];  /* if not, why ("its read end is held by another process") */
};

struct crac__engine {
    unsigned abi; /* CRAC__ENGINE_ABI */
    const char *name;
    const char *description;
    bool writes_image; /* needs a destination */
    /* Stops the other threads for the checkpoint and calls the request's
     * hooks while they are stopped, so the FD tier only prepares and reports. */
    bool parks_threads;
    const struct crac__engine_option *options; /* NULL-key terminated */
    /* Sets one engine option.  0, or -EINVAL with *err naming the problem. */
    int (*configure)(const char *key, const char *value, crac_error **err);
    /* Adds one cause to `problems` for each thing the engine cannot save
     * (checker stage).  May be NULL. */
    void (*check)(crac_error *problems);
    /* Engines that bring the process's descriptors back themselves
     * (native): for each of fds[0..n) (ascending), whether it would be
     * saved, the descriptors with gone[i] set being closed by the policies
     * first (they may be the other end of a pipe, or watched by an epoll).
     * The checkpoint then saves exactly these.  NULL: the engine keeps no
     * descriptor of its own accord. */
    void (*fds_check)(const int *fds, const uint8_t *fate, size_t n, struct crac__fd_verdict *out);
    /* Takes the checkpoint.  Returns an enum crac__cp_result. */
    int (*checkpoint)(const struct crac__cp_request *req, crac_error **err);
};

/* The name of the pause engine's thread while it waits for SIGCONT: how
 * `crac resume PID` recognises a paused process (/proc/PID/task/T/comm). */
#define CRAC__PAUSED_THREAD_NAME "crac-paused"

/* Engines built into the library. */
extern const struct crac__engine crac__engine_sim;
extern const struct crac__engine crac__engine_pause;
extern const struct crac__engine crac__engine_native;

/* Looks an engine up by name; NULL when unknown. */
const struct crac__engine *crac__engine_find(const char *name);
/* Prints an engine's options (for engine_options=help) to `f`. */
void crac__engine_print_options(const struct crac__engine *e, FILE *f);

#endif
