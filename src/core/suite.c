/* suite.c — load a benchmark suite (suite.yml, docs/design.md's contract): steps,
 * prompts, staged inputs, tools and hidden checks, with every problem named
 * as FILE:LINE:COL: key 'PATH': expected ..., got ... (exit code 2). */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core_internal.h"

static const char *const suite_keys[] = {"name",     "data_dir", "reference_dir", "generate",
                                         "solution", "requires", "prompts",       "steps",
                                         "validity", NULL};
static const char *const prompt_keys[] = {"supervisor_first", "supervisor", "coder", NULL};
static const char *const step_keys[] = {"name", "prompt", "stage", "tools", "checks", NULL};
static const char *const tool_keys[] = {"name", "description", "parameters", "command", NULL};
static const char *const array_keys[] = {"type", "file", "sig_digits", "zero_floor", NULL};
static const char *const text_keys[] = {"type", "file", "patterns", NULL};
static const char *const command_keys[] = {"type", "run", "expect", NULL};
static const char *const bound_keys[] = {"min", "max", NULL};

static void step_free(l4h_step *s)
{
    free(s->name);
    free(s->prompt_path);
    free(s->prompt);
    l4h_strv_free(s->stage);
    for (size_t i = 0; i < s->n_tools; i++) {
        free(s->tools[i].name);
        free(s->tools[i].description);
        free(s->tools[i].parameters_json);
        l4h_strv_free(s->tools[i].command);
    }
    free(s->tools);
    for (size_t i = 0; i < s->n_checks; i++) {
        l4h_check_spec *c = &s->checks[i];
        free(c->name);
        free(c->file);
        l4h_strv_free(c->patterns);
        l4h_strv_free(c->run);
        for (size_t j = 0; j < c->n_expect; j++)
            free(c->expect[j].key);
        free(c->expect);
    }
    free(s->checks);
}

/* Free a suite and everything it owns. NULL is fine. */
void l4h_suite_free(l4h_suite *s)
{
    if (!s)
        return;
    free(s->path);
    free(s->dir);
    free(s->name);
    free(s->data_dir);
    free(s->reference_dir);
    free(s->validity_dir);
    l4h_strv_free(s->generate);
    l4h_strv_free(s->solution);
    l4h_strv_free(s->requires);
    free(s->prompt_supervisor_first);
    free(s->prompt_supervisor);
    free(s->prompt_coder);
    for (size_t i = 0; i < s->n_steps; i++)
        step_free(&s->steps[i]);
    free(s->steps);
    free(s);
}

/* The step called name_or_number, or numbered so (1-based decimal). */
const l4h_step *l4h_suite_step(const l4h_suite *suite, const char *name_or_number)
{
    if (!suite || !name_or_number || !*name_or_number)
        return NULL;
    for (size_t i = 0; i < suite->n_steps; i++)
        if (!strcmp(suite->steps[i].name, name_or_number))
            return &suite->steps[i];
    const char *p = name_or_number;
    size_t k = 0;
    while (*p >= '0' && *p <= '9' && k < 100000)
        k = k * 10 + (size_t)(*p++ - '0');
    if (*p || k < 1 || k > suite->n_steps)
        return NULL;
    return &suite->steps[k - 1];
}

/* Suite-load state: the context and the running hash of named files. */
typedef struct sload {
    yctx c;
    l4h_sha256 hash;
} sload;

/* Hash a file the suite names: "\0rel\0" + its sha256, so a changed prompt,
 * program or check changes the suite's hash. */
static void hash_named(sload *L, const char *rel, const char *text, size_t len)
{
    char hex[65];
    l4h_sha256_hex(text, len, hex);
    l4h_sha256_update(&L->hash, "\0", 1);
    l4h_sha256_update(&L->hash, rel, strlen(rel));
    l4h_sha256_update(&L->hash, "\0", 1);
    l4h_sha256_update(&L->hash, hex, 64);
}

/* Hash every argv word that names an existing file beside the suite
 * (soln.py, checks/x.py...). Words with placeholders or options are skipped. */
static void hash_argv_files(sload *L, char *const *argv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (argv[i][0] == '-' || strstr(argv[i], "{{") || !*argv[i])
            continue;
        char *p = l4h_path_join(L->c.dir, argv[i]);
        if (l4h_input_is_file(p)) {
            char *text;
            size_t len;
            if (l4h_input_read(p, &text, &len, NULL) == 0) {
                hash_named(L, argv[i], text, len);
                free(text);
            }
        }
        free(p);
    }
}

/* Read a prompt template named by node n: resolved path into *path (may be
 * NULL), text into *text; UTF-8 and placeholders checked. */
static int load_prompt(sload *L, const ynode *n, const char *key, char **path, char **text)
{
    char *p = NULL, *rel = NULL;
    if (core_yget_path(&L->c, n, key, &p) < 0 || core_yget_str(&L->c, n, key, &rel) < 0)
        goto fail;
    size_t len;
    if (core_yread_named(&L->c, n, key, p, text, &len) < 0)
        goto fail;
    if (core_ycheck_placeholders(p, 1, 1, *text, NULL, L->c.err) < 0) {
        free(*text);
        *text = NULL;
        goto fail;
    }
    hash_named(L, rel, *text, len);
    free(rel);
    if (path)
        *path = p;
    else
        free(p);
    return 0;
fail:
    free(p);
    free(rel);
    return -1;
}

/* An argv template: a non-empty list of strings whose placeholders are known. */
static int load_argv(sload *L, const ynode *n, const char *key, char ***out, size_t *count)
{
    char got[80];
    if (n->kind != Y_SEQ || n->n == 0)
        return core_yfail(&L->c, n, key, "expected a command as a non-empty list of strings, got %s",
                     n->kind == Y_SEQ ? "an empty list" : core_ydescribe(n, got, sizeof got));
    if (core_yget_strlist(&L->c, n, key, out, count) < 0)
        return -1;
    for (size_t i = 0; i < n->n; i++) {
        const ynode *it = n->items[i];
        char ip[256];
        core_ypath_index(ip, key, i);
        if (core_ycheck_placeholders(L->c.file, it->line, it->col + (it->plain ? 0 : 1), (*out)[i], ip,
                                L->c.err) < 0)
            return -1;
    }
    hash_argv_files(L, *out, *count);
    return 0;
}

/* A path inside the workspace: relative, without "..". */
static int load_relpath(sload *L, const ynode *n, const char *key, char **out)
{
    if (core_yget_str(&L->c, n, key, out) < 0)
        return -1;
    const char *s = *out;
    int bad = !*s || s[0] == '/' || !strcmp(s, "..") || !strncmp(s, "../", 3) ||
              strstr(s, "/../") || (strlen(s) >= 3 && !strcmp(s + strlen(s) - 3, "/.."));
    if (bad)
        return core_yfail(&L->c, n, key, "expected a path relative to the workspace (no leading '/', "
                                    "no '..'), got '%s'", s);
    return 0;
}

static int load_tool(sload *L, const ynode *n, const char *key, l4h_tool_spec *t)
{
    char kp[256];
    if (core_ycheck_keys(&L->c, n, key, tool_keys) < 0)
        return -1;
    const char *req[] = {"name", "description", "command"};
    for (int i = 0; i < 3; i++)
        if (!core_ymap_get(n, req[i]))
            return core_yfail(&L->c, n, core_ypath_key(kp, key, req[i]), "missing required key");
    const ynode *nm = core_ymap_get(n, "name");
    if (core_yget_str(&L->c, nm, core_ypath_key(kp, key, "name"), &t->name) < 0)
        return -1;
    if (!core_yname_ok(t->name, 0) || strlen(t->name) > 64)
        return core_yfail(&L->c, nm, kp, "expected a tool name of 1 to 64 letters, digits, '_' or '-', "
                                    "got '%s'", t->name);
    if (core_yget_str(&L->c, core_ymap_get(n, "description"), core_ypath_key(kp, key, "description"),
                 &t->description) < 0)
        return -1;
    const ynode *par = core_ymap_get(n, "parameters");
    if (par) {
        char got[80];
        if (par->kind != Y_MAP)
            return core_yfail(&L->c, par, core_ypath_key(kp, key, "parameters"),
                         "expected a JSON schema as a mapping, got %s", core_ydescribe(par, got, sizeof got));
        t->parameters_json = core_ytree_to_json(par);
    } else {
        t->parameters_json = l4h_xstrdup("{\"type\":\"object\",\"properties\":{}}");
    }
    return load_argv(L, core_ymap_get(n, "command"), core_ypath_key(kp, key, "command"), &t->command,
                     &t->n_command);
}

/* Check names: "array:FILE", "text:FILE", "command:SCRIPT" (the first word
 * after `python`, else the program); "#2", "#3" for repeats in a step. */
static char *check_name(const l4h_step *st, const l4h_check_spec *c)
{
    l4h_buf b = {0};
    if (c->kind == L4H_CHECK_COMMAND) {
        const char *prog = c->run[0];
        if (c->n_run > 1 && (!strcmp(prog, "python") || !strcmp(prog, "python3")))
            prog = c->run[1];
        l4h_buf_printf(&b, "command:%s", prog);
    } else {
        l4h_buf_printf(&b, "%s:%s", c->kind == L4H_CHECK_ARRAY ? "array" : "text", c->file);
    }
    int same = 0;
    for (size_t i = 0; i < st->n_checks; i++)
        if (st->checks[i].name && !strncmp(st->checks[i].name, b.data, b.len) &&
            (st->checks[i].name[b.len] == '\0' || st->checks[i].name[b.len] == '#'))
            same++;
    if (same)
        l4h_buf_printf(&b, "#%d", same + 1);
    return l4h_buf_take(&b);
}

static int load_check(sload *L, const ynode *n, const char *key, l4h_step *st, l4h_check_spec *c)
{
    char kp[256], got[80];
    if (!n || n->kind != Y_MAP)
        return core_yfail(&L->c, n, key, "expected a check (a mapping with a type), got %s",
                     core_ydescribe(n, got, sizeof got));
    const ynode *ty = core_ymap_get(n, "type");
    if (!ty)
        return core_yfail(&L->c, n, core_ypath_key(kp, key, "type"),
                     "missing required key, expected array, text or command");
    char *type = NULL;
    if (core_yget_str(&L->c, ty, core_ypath_key(kp, key, "type"), &type) < 0)
        return -1;
    const char *const *keys;
    if (!strcmp(type, "array"))
        c->kind = L4H_CHECK_ARRAY, keys = array_keys;
    else if (!strcmp(type, "text"))
        c->kind = L4H_CHECK_TEXT, keys = text_keys;
    else if (!strcmp(type, "command"))
        c->kind = L4H_CHECK_COMMAND, keys = command_keys;
    else {
        core_yfail(&L->c, ty, kp, "expected array, text or command, got '%s'", type);
        free(type);
        return -1;
    }
    free(type);
    c->where.file = L->c.file;
    c->where.line = n->line;
    c->where.col = n->col;
    c->sig_digits = 4;
    c->zero_floor = 1e-9;
    if (core_ycheck_keys(&L->c, n, key, keys) < 0)
        return -1;
    const char *need = c->kind == L4H_CHECK_COMMAND ? "run" : "file";
    if (!core_ymap_get(n, need))
        return core_yfail(&L->c, n, core_ypath_key(kp, key, need), "missing required key for a %s check",
                     c->kind == L4H_CHECK_ARRAY ? "array" : c->kind == L4H_CHECK_TEXT ? "text" : "command");
    if (c->kind != L4H_CHECK_COMMAND &&
        load_relpath(L, core_ymap_get(n, "file"), core_ypath_key(kp, key, "file"), &c->file) < 0)
        return -1;
    if (c->kind == L4H_CHECK_ARRAY) {
        int64_t sd = 4;
        if (core_yget_int(&L->c, core_ymap_get(n, "sig_digits"), core_ypath_key(kp, key, "sig_digits"), 1, 17,
                     &sd) < 0 ||
            core_yget_num(&L->c, core_ymap_get(n, "zero_floor"), core_ypath_key(kp, key, "zero_floor"), 0, 0,
                     &c->zero_floor) < 0)
            return -1;
        c->sig_digits = (int)sd;
    } else if (c->kind == L4H_CHECK_TEXT) {
        const ynode *pn = core_ymap_get(n, "patterns");
        core_ypath_key(kp, key, "patterns");
        if (!pn)
            return core_yfail(&L->c, n, kp, "missing required key for a text check");
        if (core_yget_list(&L->c, pn, kp, "regular expressions") < 0 ||
            core_yget_strlist(&L->c, pn, kp, &c->patterns, &c->n_patterns) < 0)
            return -1;
        for (size_t i = 0; i < c->n_patterns; i++) {
            regex_t re;
            int rc = regcomp(&re, c->patterns[i], REG_EXTENDED | REG_NOSUB);
            if (rc) {
                char why[160], ip[256];
                regerror(rc, &re, why, sizeof why);
                return core_yfail(&L->c, pn->items[i], core_ypath_index(ip, kp, i),
                             "expected a POSIX extended regular expression, got '%s' (%s)",
                             c->patterns[i], why);
            }
            regfree(&re);
        }
    } else {
        if (load_argv(L, core_ymap_get(n, "run"), core_ypath_key(kp, key, "run"), &c->run, &c->n_run) < 0)
            return -1;
        const ynode *ex = core_ymap_get(n, "expect");
        if (ex) {
            core_ypath_key(kp, key, "expect");
            if (ex->kind != Y_MAP)
                return core_yfail(&L->c, ex, kp, "expected a mapping of output keys to {min, max}, got %s",
                             core_ydescribe(ex, got, sizeof got));
            c->expect = l4h_xcalloc(ex->n ? ex->n : 1, sizeof *c->expect);
            for (size_t i = 0; i < ex->n; i++) {
                l4h_expect *e = &c->expect[c->n_expect++];
                e->key = l4h_xstrdup(ex->keys[i]->value);
                char ep[256], bp[256];
                core_ypath_key(ep, kp, e->key);
                const ynode *b = ex->items[i];
                if (core_ycheck_keys(&L->c, b, ep, bound_keys) < 0)
                    return -1;
                if (!core_ymap_get(b, "min") && !core_ymap_get(b, "max"))
                    return core_yfail(&L->c, b, ep, "expected min, max or both, got neither");
                e->has_min = core_ymap_get(b, "min") != NULL;
                e->has_max = core_ymap_get(b, "max") != NULL;
                if (core_yget_num(&L->c, core_ymap_get(b, "min"), core_ypath_key(bp, ep, "min"), -1e308, 0, &e->min) < 0 ||
                    core_yget_num(&L->c, core_ymap_get(b, "max"), core_ypath_key(bp, ep, "max"), -1e308, 0, &e->max) < 0)
                    return -1;
                if (e->has_min && e->has_max && e->max < e->min)
                    return core_yfail(&L->c, core_ymap_get(b, "max"), bp, "expected a number >= min (%g), got '%g'",
                                 e->min, e->max);
            }
        }
    }
    c->name = check_name(st, c);
    return 0;
}

static int load_step(sload *L, const ynode *n, const char *key, l4h_suite *s, l4h_step *st)
{
    char kp[256], got[80];
    if (core_ycheck_keys(&L->c, n, key, step_keys) < 0)
        return -1;
    const ynode *nm = core_ymap_get(n, "name");
    if (!nm)
        return core_yfail(&L->c, n, core_ypath_key(kp, key, "name"), "missing required key");
    if (core_yget_str(&L->c, nm, core_ypath_key(kp, key, "name"), &st->name) < 0)
        return -1;
    int digits = strspn(st->name, "0123456789") == strlen(st->name);
    if (!core_yname_ok(st->name, 1) || digits)
        return core_yfail(&L->c, nm, kp, "expected a step name of letters, digits, '_', '-' or '.' "
                                    "(not only digits), got '%s'", st->name);
    for (size_t i = 0; i + 1 < s->n_steps; i++)
        if (!strcmp(s->steps[i].name, st->name))
            return core_yfail(&L->c, nm, kp, "expected a unique step name, got '%s' again (step %zu)",
                         st->name, i + 1);
    const ynode *pr = core_ymap_get(n, "prompt");
    if (!pr)
        return core_yfail(&L->c, n, core_ypath_key(kp, key, "prompt"), "missing required key");
    if (load_prompt(L, pr, core_ypath_key(kp, key, "prompt"), &st->prompt_path, &st->prompt) < 0)
        return -1;
    const ynode *sg = core_ymap_get(n, "stage");
    if (sg) {
        core_ypath_key(kp, key, "stage");
        if (sg->kind != Y_SEQ && !core_yis_null(sg))
            return core_yfail(&L->c, sg, kp, "expected a list of workspace paths, got %s",
                         core_ydescribe(sg, got, sizeof got));
        size_t k = sg->kind == Y_SEQ ? sg->n : 0;
        st->stage = l4h_xcalloc(k + 1, sizeof *st->stage);
        for (size_t i = 0; i < k; i++) {
            char ip[256];
            if (load_relpath(L, sg->items[i], core_ypath_index(ip, kp, i), &st->stage[i]) < 0)
                return -1;
            st->n_stage++;
        }
    }
    const ynode *tl = core_ymap_get(n, "tools");
    if (tl && !core_yis_null(tl)) {
        core_ypath_key(kp, key, "tools");
        if (tl->kind != Y_SEQ)
            return core_yfail(&L->c, tl, kp, "expected a list of tools, got %s", core_ydescribe(tl, got, sizeof got));
        st->tools = l4h_xcalloc(tl->n ? tl->n : 1, sizeof *st->tools);
        for (size_t i = 0; i < tl->n; i++) {
            char ip[256];
            st->n_tools++;
            if (load_tool(L, tl->items[i], core_ypath_index(ip, kp, i), &st->tools[i]) < 0)
                return -1;
            for (size_t j = 0; j < i; j++)
                if (!strcmp(st->tools[j].name, st->tools[i].name))
                    return core_yfail(&L->c, core_ymap_get(tl->items[i], "name"), core_ypath_key(kp, ip, "name"),
                                 "expected a unique tool name, got '%s' again", st->tools[i].name);
        }
    }
    const ynode *ck = core_ymap_get(n, "checks");
    core_ypath_key(kp, key, "checks");
    if (!ck)
        return core_yfail(&L->c, n, kp, "missing required key: a step needs at least one hidden check");
    if (core_yget_list(&L->c, ck, kp, "checks") < 0)
        return -1;
    st->checks = l4h_xcalloc(ck->n, sizeof *st->checks);
    for (size_t i = 0; i < ck->n; i++) {
        char ip[256];
        st->n_checks++;
        if (load_check(L, ck->items[i], core_ypath_index(ip, kp, i), st, &st->checks[i]) < 0)
            return -1;
    }
    return 0;
}

/* Fill s from the parsed root. */
static int load_suite_tree(sload *L, const ynode *root, l4h_suite *s)
{
    if (!root)
        return core_yfail(&L->c, NULL, NULL, "empty file: expected a suite mapping with name, data_dir, "
                                        "reference_dir, prompts and steps");
    if (core_ycheck_keys(&L->c, root, "", suite_keys) < 0)
        return -1;
    const char *req[] = {"name", "data_dir", "reference_dir", "prompts", "steps"};
    for (int i = 0; i < 5; i++)
        if (!core_ymap_get(root, req[i]))
            return core_yfail(&L->c, root, req[i], "missing required key");
    const ynode *nm = core_ymap_get(root, "name");
    if (core_yget_str(&L->c, nm, "name", &s->name) < 0)
        return -1;
    if (!core_yname_ok(s->name, 1))
        return core_yfail(&L->c, nm, "name", "expected a suite name of letters, digits, '_', '-' or '.', "
                                        "got '%s'", s->name);
    if (core_yget_path(&L->c, core_ymap_get(root, "data_dir"), "data_dir", &s->data_dir) < 0 ||
        core_yget_path(&L->c, core_ymap_get(root, "reference_dir"), "reference_dir", &s->reference_dir) < 0)
        return -1;
    /* validity: the directory of the suite's validity cases (`llm4hep selftest`);
     * optional, not part of the suite's hash (cases never change the reference) */
    const ynode *va = core_ymap_get(root, "validity");
    if (va && !core_yis_null(va)) {
        if (core_yget_path(&L->c, va, "validity", &s->validity_dir) < 0)
            return -1;
        struct stat vst;
        if (stat(s->validity_dir, &vst) != 0 || !S_ISDIR(vst.st_mode))
            return core_yfail(&L->c, va, "validity", "expected a directory of validity cases (relative to "
                                                "the suite file), %s is not one", s->validity_dir);
    }
    const ynode *g = core_ymap_get(root, "generate");
    if (g && !core_yis_null(g) && load_argv(L, g, "generate", &s->generate, &s->n_generate) < 0)
        return -1;
    const ynode *so = core_ymap_get(root, "solution");
    if (so && !core_yis_null(so) && load_argv(L, so, "solution", &s->solution, &s->n_solution) < 0)
        return -1;
    if (core_yget_strlist(&L->c, core_ymap_get(root, "requires"), "requires", &s->requires, &s->n_requires) < 0)
        return -1;
    const ynode *pr = core_ymap_get(root, "prompts");
    if (core_ycheck_keys(&L->c, pr, "prompts", prompt_keys) < 0)
        return -1;
    char kp[256];
    char **dst[] = {&s->prompt_supervisor_first, &s->prompt_supervisor, &s->prompt_coder};
    for (int i = 0; i < 3; i++) {
        const ynode *p = core_ymap_get(pr, prompt_keys[i]);
        core_ypath_key(kp, "prompts", prompt_keys[i]);
        if (!p)
            return core_yfail(&L->c, pr, kp, "missing required key");
        if (load_prompt(L, p, kp, NULL, dst[i]) < 0)
            return -1;
    }
    const ynode *st = core_ymap_get(root, "steps");
    if (core_yget_list(&L->c, st, "steps", "steps") < 0)
        return -1;
    s->steps = l4h_xcalloc(st->n, sizeof *s->steps);
    for (size_t i = 0; i < st->n; i++) {
        char ip[256];
        s->n_steps++;
        s->steps[i].number = (int)i + 1;
        if (load_step(L, st->items[i], core_ypath_index(ip, "steps", i), s, &s->steps[i]) < 0)
            return -1;
    }
    return 0;
}

/* Load a suite from path (see core.h). */
int l4h_suite_load(const char *path, l4h_suite **out, l4h_err *err)
{
    *out = NULL;
    char *text;
    size_t len;
    if (l4h_input_read(path, &text, &len, err) < 0)
        return -1;
    l4h_suite *s = l4h_xcalloc(1, sizeof *s);
    s->path = l4h_xstrdup(path);
    s->dir = core_path_dir_abs(path);
    sload L = {.c = {.file = s->path, .dir = s->dir, .err = err}};
    l4h_sha256_init(&L.hash);
    l4h_sha256_update(&L.hash, text, len);
    ynode *root = NULL;
    int rc = core_ytree_parse(path, text, len, &root, err);
    free(text);
    if (rc == 0)
        rc = load_suite_tree(&L, root, s);
    core_ytree_free(root);
    if (rc < 0) {
        l4h_suite_free(s);
        return -1;
    }
    l4h_sha256_final(&L.hash, s->sha256);
    *out = s;
    return 0;
}
