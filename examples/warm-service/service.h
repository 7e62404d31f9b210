/* SPDX-License-Identifier: Apache-2.0 */
/* The warm-service's state, shared by main.c (start-up, crac, main loop)
 * and routes.c (the HTTP endpoints). */
#ifndef WARM_SERVICE_H
#define WARM_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <crac.h>

#include "http.h"
#include "index.h"
#include "query.h"

struct service {
    struct listener lis;
    bool listening;          /* listen() done on lis.fd */
    bool was_listening;      /* across a checkpoint */
    struct index ix;
    struct pair_cache pairs;
    long long start_ms;      /* CLOCK_MONOTONIC at start-up */
    long long warm_ms;       /* start-up to index built */
    /* Per-instance randomness (/lucky and the instance id).  Seeded from the
     * kernel, and again after every restore: see reseed() in main.c. */
    uint64_t rng;
    uint64_t instance_id;
    bool checkpoint_requested; /* by POST /checkpoint, served by the main loop */
    /* A checkpoint asked from outside (`crac checkpoint PID`) runs the
     * callbacks on crac's control thread while the main loop may sit in
     * accept() on the socket about to be closed: the callbacks pause the
     * main loop first and let it go on after the restore. */
    pthread_t main_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool pausing;            /* asked by socket_before, under mu */
    bool paused;             /* the main loop waits, under mu */
    crac_resource socket_res;
    crac_resource random_res;
};

/* Milliseconds on CLOCK_MONOTONIC. */
long long now_ms(void);
/* Answers one request on a connected socket (routes.c). */
void route_request(struct service *s, int fd, const struct request *req);

#endif
