/* opts.c — the one option parser of every verb (cli_internal.h: cli_parse). Each
 * verb declares its options in a table; the rules live here, once:
 *   - "--name VALUE" and "--name=VALUE" are the same;
 *   - a CLI_SWITCH takes no value, a CLI_ONE one value, once; repeating
 *     either is an error naming the flag (nothing is silently dropped:
 *     `--step 2 --step 3` never means "step 3");
 *   - a CLI_MANY accumulates its values in order;
 *   - a value that is itself one of the verb's options is a missing value
 *     (`--step --model M` is not step "--model");
 *   - anything else starting with '-' is an unknown option, and positional
 *     arguments beyond the verb's count are an error naming the extra one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"
#include "cli_internal.h"

/* The option spelled s (up to '=' when has_eq), or -1. */
static int find_opt(const cli_opt *opts, const char *s, size_t n)
{
    for (int k = 0; opts[k].name; k++)
        if (strlen(opts[k].name) == n && !strncmp(opts[k].name, s, n))
            return k;
    return -1;
}

static const char *kind_text(cli_kind k)
{
    return k == CLI_SWITCH ? "it takes no value and counts once"
                           : "it takes one value; give it once";
}

/* Print "llm4hep VERB: <msg> (llm4hep VERB --help)"; returns -1. */
static int fail(const char *verb, const char *fmt, const char *a, const char *b, const char *c)
{
    fprintf(stderr, "llm4hep %s: ", verb);
    fprintf(stderr, fmt, a, b, c);
    fprintf(stderr, " (llm4hep %s --help)\n", verb);
    return -1;
}

/* Parse argv[1..argc) against opts (see cli_internal.h). */
int cli_parse(const char *verb, const cli_opt *opts, const char *what_pos, size_t max_pos,
              int argc, char **argv, cli_args *out)
{
    memset(out, 0, sizeof *out);
    size_t n_opts = 0;
    while (opts[n_opts].name)
        n_opts++;
    out->opts = opts;
    out->vals = l4h_xcalloc(n_opts + 1, sizeof *out->vals);
    out->n = l4h_xcalloc(n_opts + 1, sizeof *out->n);
    out->pos = l4h_xcalloc((size_t)argc + 1, sizeof *out->pos);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (out->n_pos >= max_pos) {
                if (max_pos == 1)
                    fail(verb, "a second %s '%s': expected one %s", what_pos, a, what_pos);
                else
                    fail(verb, "unexpected argument '%s': expected %s%s", a, what_pos, "");
                goto bad;
            }
            out->pos[out->n_pos++] = a;
            continue;
        }
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        int k = find_opt(opts, a, len);
        if (k < 0) {
            fprintf(stderr, "llm4hep %s: unknown option '%.*s': ", verb, (int)(len < 120 ? len : 120), a);
            if (n_opts == 0)
                fprintf(stderr, "it takes none");
            else
                fprintf(stderr, "expected ");
            for (size_t j = 0; j < n_opts; j++)
                fprintf(stderr, "%s%s%s%s", j == 0 ? "" : j + 1 == n_opts ? " or " : ", ", opts[j].name,
                        opts[j].metavar ? " " : "", opts[j].metavar ? opts[j].metavar : "");
            fprintf(stderr, " (llm4hep %s --help)\n", verb);
            goto bad;
        }
        const cli_opt *o = &opts[k];
        const char *v = NULL;
        if (o->kind == CLI_SWITCH) {
            if (eq) {
                fail(verb, "%s takes no value (got '%s')%s", o->name, eq + 1, "");
                goto bad;
            }
            v = a;
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 >= argc || (argv[i + 1][0] == '-' &&
                                     find_opt(opts, argv[i + 1], strcspn(argv[i + 1], "=")) >= 0)) {
            fail(verb, "%s needs a value%s%s", o->name, "", "");
            goto bad;
        } else {
            v = argv[++i];
        }
        if (o->kind != CLI_MANY && out->n[k] > 0) {
            if (o->kind == CLI_SWITCH)
                fail(verb, "%s given twice: %s%s", o->name, kind_text(o->kind), "");
            else
                fail(verb, "%s given twice ('%s', then '%s'): it takes one value; give it once",
                     o->name, out->vals[k][0], v);
            goto bad;
        }
        out->vals[k] = l4h_xrealloc(out->vals[k], (out->n[k] + 1) * sizeof **out->vals);
        out->vals[k][out->n[k]++] = v;
    }
    return 0;
bad:
    cli_args_free(out);
    return -1;
}

static int index_of(const cli_args *a, const char *name)
{
    for (int k = 0; a->opts && a->opts[k].name; k++)
        if (!strcmp(a->opts[k].name, name))
            return k;
    return -1;
}

/* The value of a CLI_ONE option, NULL when absent (see cli_internal.h). */
const char *cli_one(const cli_args *a, const char *name)
{
    int k = index_of(a, name);
    return k >= 0 && a->n[k] ? a->vals[k][0] : NULL;
}

/* 1 when the option was given (see cli_internal.h). */
int cli_has(const cli_args *a, const char *name)
{
    int k = index_of(a, name);
    return k >= 0 && a->n[k] > 0;
}

/* The values of a CLI_MANY option in order (see cli_internal.h). */
size_t cli_many(const cli_args *a, const char *name, const char *const **vals)
{
    int k = index_of(a, name);
    *vals = k >= 0 ? a->vals[k] : NULL;
    return k >= 0 ? a->n[k] : 0;
}

/* Free what cli_parse allocated (see cli_internal.h). */
void cli_args_free(cli_args *a)
{
    for (int k = 0; a->opts && a->opts[k].name; k++)
        free(a->vals[k]);
    free(a->vals);
    free(a->n);
    free(a->pos);
    memset(a, 0, sizeof *a);
}
