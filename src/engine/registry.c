/* SPDX-License-Identifier: Apache-2.0 */
/* The engines built into the library, by name. */
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

static const struct crac__engine *const engines[] = {
    &crac__engine_native,
    &crac__engine_pause,
    &crac__engine_sim,
};

const struct crac__engine *crac__engine_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
        if (engines[i]->abi == CRAC__ENGINE_ABI &&
            strcmp(engines[i]->name, name) == 0)
            return engines[i];
    return NULL;
}

void crac__engine_print_options(const struct crac__engine *e, FILE *f)
{
    fprintf(f, "engine %s: %s\n", e->name, e->description);
    if (e->writes_image)
        fputs("  writes an image: needs checkpoint_to (CRAC_CHECKPOINT_TO)\n", f);
    const struct crac__engine_option *o = e->options;
    if (!o || !o->key) {
        fputs("  no options\n", f);
        return;
    }
    fputs("options (engine_options / CRAC_ENGINE_OPTIONS: key=value,...):\n", f);
    for (; o->key; o++) {
        fprintf(f, "  %-14s %s", o->key, o->help);
        if (o->def)
            fprintf(f, " (default: %s)", o->def);
        fputc('\n', f);
    }
}
