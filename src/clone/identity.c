/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crac_instance_id() and crac_generation() (docs/api.md, "Instance
 * identity").  The id is written at a restore while the other threads are
 * parked or still running (engines that do not park them): a sequence
 * counter lets readers retry instead of taking a lock that a parked thread
 * could hold.  Readers never block, and crac_generation() is one atomic
 * load, safe in a signal handler.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

#include "clone/clone.h"
#include "crac.h"

static _Atomic unsigned seq;                 /* odd while the id is written */
static unsigned char id[CRAC_INSTANCE_ID_SIZE];
static _Atomic unsigned long long generation;

/* getrandom() from the kernel's pool; it never blocks once the pool was
 * initialised, which it was long before any restore. */
static void draw(unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno != EINTR)
            break; /* cannot happen on a supported kernel; keep what we have */
    }
}

/* The only writer: at load, and then at each restore (one at a time). */
static void write_id(void)
{
    unsigned char fresh[CRAC_INSTANCE_ID_SIZE];
    draw(fresh, sizeof(fresh));
    atomic_fetch_add_explicit(&seq, 1, memory_order_acq_rel);
    memcpy(id, fresh, sizeof(id));
    atomic_fetch_add_explicit(&seq, 1, memory_order_acq_rel);
}

/* The first id is drawn when the library is loaded, before the program
 * can have threads or take a checkpoint: readers then never write, and a
 * thread parked half-way through a first draw cannot bring the same bytes
 * into every instance. */
__attribute__((constructor)) static void identity_init(void)
{
    write_id();
}

void crac__identity_renew(void)
{
    write_id();
    atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
}

void crac_instance_id(unsigned char out[CRAC_INSTANCE_ID_SIZE])
{
    for (;;) {
        unsigned before = atomic_load_explicit(&seq, memory_order_acquire);
        if (before & 1)
            continue;
        memcpy(out, id, sizeof(id));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&seq, memory_order_relaxed) == before)
            return;
    }
}

unsigned long long crac_generation(void)
{
    return atomic_load_explicit(&generation, memory_order_acquire);
}
