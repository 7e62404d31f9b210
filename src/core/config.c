/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Options: checkpoint_to, engine, engine_options, policies, labels.
 *
 * The environment gives the defaults, read once on first use, so a program
 * may setenv() before it first calls the library.  A bad CRAC_ENGINE or
 * CRAC_ENGINE_OPTIONS cannot be reported at that point (nobody asked), so
 * it is kept and reported by the next checkpoint, before any resource is
 * notified.  crac_set_option() reports its problems at once (-EINVAL).
 *
 * Engine options are applied to the engine chosen when they are set; the
 * engine keeps them (each engine holds its own settings), and choosing
 * another engine clears the stored engine_options text, since options of
 * one engine mean nothing to another.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "core/coord.h"
#include "core/core.h"

#define DEFAULT_ENGINE "native"

enum opt { OPT_CHECKPOINT_TO, OPT_ENGINE, OPT_ENGINE_OPTIONS, OPT_POLICIES,
           OPT_LABELS, OPT_COUNT };
static const char *const opt_keys[OPT_COUNT] = {
    "checkpoint_to", "engine", "engine_options", "policies", "labels",
};
static const char *const opt_env[OPT_COUNT] = {
    "CRAC_CHECKPOINT_TO", "CRAC_ENGINE", "CRAC_ENGINE_OPTIONS", "CRAC_POLICIES",
    "CRAC_LABELS",
};

/* Guards everything below.  A cycle holds the options while it reads them
 * (crac__config_hold): crac_set_option() then changes nothing. */
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static bool held;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char *values[OPT_COUNT];
static const struct crac__engine *engine; /* NULL: env_error says why */
static crac_error *env_error;

static int find_key(const char *key)
{
    for (int i = 0; key && i < OPT_COUNT; i++)
        if (strcmp(key, opt_keys[i]) == 0)
            return i;
    return -1;
}

/* Replaces a stored value (NULL unsets it).  0 or -ENOMEM. */
static int store(enum opt o, const char *value)
{
    char *copy = NULL;
    if (value && !(copy = strdup(value)))
        return -ENOMEM;
    free(values[o]);
    values[o] = copy;
    return 0;
}

static bool known_option(const struct crac__engine *e, const char *key)
{
    for (const struct crac__engine_option *o = e->options; o && o->key; o++)
        if (strcmp(o->key, key) == 0)
            return true;
    return false;
}

/* Applies "k=v,k=v" to engine `e`.  0, or -EINVAL/-ENOMEM with *err. */
static int apply_engine_options(const struct crac__engine *e, const char *text,
                                crac_error **err)
{
    char *copy = strdup(text), *save = NULL;
    if (!copy) {
        *err = crac__error_src("crac", "out of memory");
        return -ENOMEM;
    }
    int ret = 0;
    for (char *kv = strtok_r(copy, ",", &save); kv && ret == 0;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            *err = crac__error_src("crac", "engine option '%s' is not KEY=VALUE",
                                   kv);
            ret = -EINVAL;
            break;
        }
        *eq = '\0';
        if (!known_option(e, kv)) {
            *err = crac__error_src("crac", "engine '%s' has no option '%s' "
                                   "(engine_options=help lists them)",
                                   e->name, kv);
            ret = -EINVAL;
        } else if (e->configure) {
            ret = e->configure(kv, eq + 1, err);
            if (ret < 0 && !*err)
                *err = crac__error_src("crac", "bad value for engine option "
                                       "'%s'", kv);
        }
    }
    free(copy);
    return ret;
}

static bool is_help(const char *v)
{
    return v && strcmp(v, "help") == 0;
}

static void init_from_env(void)
{
    for (int i = 0; i < OPT_COUNT; i++) {
        const char *v = secure_getenv(opt_env[i]);
        if (v && *v && i != OPT_ENGINE_OPTIONS)
            store(i, v);
    }
    const char *name = values[OPT_ENGINE] ? values[OPT_ENGINE] : DEFAULT_ENGINE;
    engine = crac__engine_find(name);
    if (!engine) {
        env_error = crac__error_src("crac", "unknown engine '%s' (from "
                                    "CRAC_ENGINE; known: native, pause, sim)",
                                    name);
        return;
    }
    const char *opts = secure_getenv("CRAC_ENGINE_OPTIONS");
    if (is_help(opts))
        crac__engine_print_options(engine, stderr);
    else if (opts && *opts) {
        crac_error *e = NULL;
        if (apply_engine_options(engine, opts, &e) < 0) {
            env_error = crac__error_src("crac", "CRAC_ENGINE_OPTIONS: %s",
                                        crac_error_message(e));
            crac_error_free(e);
        } else
            store(OPT_ENGINE_OPTIONS, opts);
    }
}

static void init(void)
{
    pthread_once(&env_once, init_from_env);
}

/* A new engine: stale environment problems and options go with the old. */
static int set_engine(const char *name)
{
    const struct crac__engine *e = crac__engine_find(name ? name : DEFAULT_ENGINE);
    if (!e) {
        crac__log("unknown engine '%s'", name);
        return -EINVAL;
    }
    int ret = store(OPT_ENGINE, name);
    if (ret == 0) {
        engine = e;
        crac_error_free(env_error);
        env_error = NULL;
        store(OPT_ENGINE_OPTIONS, NULL);
    }
    return ret;
}

static int set_engine_options(const char *text)
{
    if (!engine)
        return -EINVAL; /* the environment named an unknown engine */
    if (is_help(text)) {
        crac__engine_print_options(engine, stderr);
        return 0;
    }
    crac_error *e = NULL;
    int ret = text ? apply_engine_options(engine, text, &e) : 0;
    if (ret < 0) {
        char *msg = crac_error_format(e);
        crac__log("engine_options: %s", msg ? msg : "invalid");
        free(msg);
        crac_error_free(e);
        return ret;
    }
    ret = store(OPT_ENGINE_OPTIONS, text);
    if (ret == 0) {
        /* Good options replace bad ones from the environment. */
        crac_error_free(env_error);
        env_error = NULL;
    }
    return ret;
}

int crac_set_option(const char *key, const char *value)
{
    int o = find_key(key);
    if (o < 0)
        return -EINVAL;
    init();
    pthread_mutex_lock(&cfg_lock);
    int ret;
    if (held)
        ret = -EBUSY; /* a cycle reads the options while it runs */
    else if (o == OPT_ENGINE)
        ret = set_engine(value);
    else if (o == OPT_ENGINE_OPTIONS)
        ret = set_engine_options(value);
    else
        ret = store(o, value);
    pthread_mutex_unlock(&cfg_lock);
    return ret;
}

void crac__config_hold(bool hold)
{
    pthread_mutex_lock(&cfg_lock);
    held = hold;
    pthread_mutex_unlock(&cfg_lock);
}

const char *crac_get_option(const char *key)
{
    int o = find_key(key);
    if (o < 0)
        return NULL;
    init();
    pthread_mutex_lock(&cfg_lock);
    const char *v = values[o];
    if (!v && o == OPT_ENGINE)
        v = DEFAULT_ENGINE;
    pthread_mutex_unlock(&cfg_lock);
    return v;
}

const struct crac__engine *crac__config_engine(crac_error **err)
{
    init();
    pthread_mutex_lock(&cfg_lock);
    const struct crac__engine *e = env_error ? NULL : engine;
    /* A copy: the stored problem is reported again by the next cycle. */
    if (!e && err)
        *err = crac__error_src("crac", "%s", crac_error_message(env_error));
    pthread_mutex_unlock(&cfg_lock);
    return e;
}
