/* core_internal.h — private to core: the table of campaign config keys
 * (src/core/config_opts.c) that config.c loads through. */
#ifndef LLM4HEP_CORE_INTERNAL_H
#define LLM4HEP_CORE_INTERNAL_H

#include "ytree.h"

/* Which struct a table row's field lives in, and where in the config file
 * such a struct is written. */
typedef enum {
    OPTS_CONFIG = 0, /* l4h_config: the top level, limits.*, sandbox.*, retry.* */
    OPTS_ENDPOINT,   /* l4h_endpoint: endpoints.<name>.* */
    OPTS_MODEL,      /* l4h_model_opts: model_defaults.*, models_config.<model>.* */
    OPTS_PRICE,      /* l4h_price: prices.<model>.* */
    OPTS_PAIR,       /* l4h_pair: pairs[].* */
    OPTS_SCOPES
} core_opts_scope;

/* Write the default of every row of scope into base (a struct of that
 * scope), strings as malloc'd copies (${VAR} expanded). Rows whose default
 * applies when a model is resolved (OPTS_MODEL) are left unset. Can't fail. */
void core_opts_defaults(core_opts_scope scope, void *base);

/* Load the mapping n, written at key path `path` ("" for the top level),
 * into base: an unknown key or a missing required one is an error, then
 * every row the table parses itself is read (sections such as limits
 * descended), in table order. Keys the table marks as loaded by config.c's
 * own code are allowed and left alone. 0, or -1 with c->err. */
int core_opts_load(const yctx *c, core_opts_scope scope, const ynode *n, const char *path,
                   void *base);

/* The default of row key of scope: its number (NAN when it has none) or
 * its text (NULL when none). */
double core_opts_num_default(core_opts_scope scope, const char *key);
const char *core_opts_text_default(core_opts_scope scope, const char *key);
/* The name of choice `value` of the enumerated row key ("http" for an
 * endpoint's provider 0); "?" when out of range. */
const char *core_opts_choice(core_opts_scope scope, const char *key, int value);

/* ---- {{placeholders}} (render.c): the one scanner and the one list of names */

/* One placeholder found in a template. */
typedef struct core_placeholder {
    const char *open; /* its "{{" */
    const char *name; /* its name (not NUL-terminated) */
    size_t len;       /* of the name */
    const char *end;  /* just past its "}}" */
} core_placeholder;

/* The first placeholder at or after s: "{{" NAME "}}" with optional spaces
 * inside the braces, NAME of letters, digits and '_'; any other "{{" is
 * plain text. 1 and *ph filled, or 0 when there is none. Can't fail. */
int core_placeholder_next(const char *s, core_placeholder *ph);
/* 0 when name[0..len) is a placeholder a template may use; else -1 with
 * msg = "unknown placeholder '{{NAME}}'" and either "; did you mean ...?"
 * or ": expected one of {{workspace}}, ...". */
int core_placeholder_known(const char *name, size_t len, char *msg, size_t size);

#endif
