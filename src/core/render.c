/* render.c — fill {{placeholders}} in prompt and command templates. A
 * placeholder is "{{" NAME "}}" with optional spaces, NAME of letters, digits
 * and '_'; any other "{{" is ordinary text (so code in prompts survives). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core_internal.h"

/* Every name a template may use and where its value sits in l4h_vars. */
static const struct {
    const char *name;
    size_t off;
} vars_map[] = {{"workspace", offsetof(l4h_vars, workspace)},
                {"data_dir", offsetof(l4h_vars, data_dir)},
                {"reference_dir", offsetof(l4h_vars, reference_dir)},
                {"step", offsetof(l4h_vars, step)},
                {"step_number", offsetof(l4h_vars, step_number)},
                {"inputs", offsetof(l4h_vars, inputs)},
                {"files", offsetof(l4h_vars, files)}};
#define N_VARS (sizeof vars_map / sizeof vars_map[0])

/* The index of name[0..n) in vars_map, or -1. */
static int var_index(const char *name, size_t n)
{
    for (size_t i = 0; i < N_VARS; i++)
        if (strlen(vars_map[i].name) == n && !strncmp(vars_map[i].name, name, n))
            return (int)i;
    return -1;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* See core_internal.h. */
int core_placeholder_next(const char *s, core_placeholder *ph)
{
    for (const char *open = strstr(s, "{{"); open; open = strstr(open + 1, "{{")) {
        const char *q = open + 2;
        while (*q == ' ')
            q++;
        const char *name = q;
        while (name_char(*q))
            q++;
        size_t n = (size_t)(q - name);
        while (*q == ' ')
            q++;
        if (n && q[0] == '}' && q[1] == '}') {
            *ph = (core_placeholder){open, name, n, q + 2};
            return 1;
        }
    }
    return 0;
}

/* See core_internal.h. */
int core_placeholder_known(const char *name, size_t len, char *msg, size_t size)
{
    if (var_index(name, len) >= 0)
        return 0;
    char nm[64];
    snprintf(nm, sizeof nm, "%.*s", (int)(len < 60 ? len : 60), name);
    const char *names[N_VARS];
    for (size_t i = 0; i < N_VARS; i++)
        names[i] = vars_map[i].name;
    const char *near = core_yclosest(nm, names, N_VARS);
    if (near) {
        snprintf(msg, size, "unknown placeholder '{{%s}}'; did you mean '{{%s}}'?", nm, near);
        return -1;
    }
    l4h_buf b = {0};
    for (size_t i = 0; i < N_VARS; i++)
        l4h_buf_printf(&b, "%s{{%s}}", i ? ", " : "", names[i]);
    snprintf(msg, size, "unknown placeholder '{{%s}}': expected one of %s", nm, b.data);
    l4h_buf_free(&b);
    return -1;
}

/* Render tmpl into *out (caller frees). An unknown placeholder or one whose
 * value is NULL is -1 (code 2) naming it; *out is then NULL. */
int l4h_render(const char *tmpl, const l4h_vars *vars, char **out, l4h_err *err)
{
    l4h_buf b = {0};
    l4h_buf_add(&b, "", 0);
    *out = NULL;
    const char *p = tmpl;
    core_placeholder ph;
    while (core_placeholder_next(p, &ph)) {
        l4h_buf_add(&b, p, (size_t)(ph.open - p));
        char msg[512];
        if (core_placeholder_known(ph.name, ph.len, msg, sizeof msg) < 0) {
            l4h_buf_free(&b);
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s", msg);
        }
        const char *val = vars ? *(const char *const *)((const char *)vars +
                                                         vars_map[var_index(ph.name, ph.len)].off)
                               : NULL;
        if (!val) {
            l4h_buf_free(&b);
            return l4h_err_set(err, L4H_EXIT_USAGE, "placeholder '{{%.*s}}' has no value here",
                               (int)ph.len, ph.name);
        }
        l4h_buf_puts(&b, val);
        p = ph.end;
    }
    l4h_buf_puts(&b, p);
    *out = l4h_buf_take(&b);
    return 0;
}

/* Render each of the n words of an argv template; *out is NULL-terminated
 * (free with l4h_strv_free). -1 with err naming the word on failure. */
int l4h_render_argv(char *const *tmpl, size_t n, const l4h_vars *vars, char ***out, l4h_err *err)
{
    char **v = l4h_xcalloc(n + 1, sizeof *v);
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (l4h_render(tmpl[i], vars, &v[i], err) < 0) {
            l4h_err_prefix(err, "command word %zu '%s'", i + 1, tmpl[i]);
            l4h_strv_free(v);
            return -1;
        }
    }
    *out = v;
    return 0;
}

int l4h_suite_resolve_argv(char **argv, const char *suite_dir, l4h_err *err)
{
    for (size_t i = 1; suite_dir && argv && argv[i]; i++) {
        if (argv[i][0] == '/' || argv[i][0] == '-')
            continue;
        char *p = l4h_path_join(suite_dir, argv[i]);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            free(argv[i]);
            argv[i] = p;
        } else {
            free(p);
        }
    }
    return l4h_suite_verify_argv(argv, err);
}

int l4h_suite_verify_argv(char *const *argv, l4h_err *err)
{
    for (size_t i = 1; argv && argv[i]; i++)
        if (argv[i][0] == '/' && core_input_verify(argv[i], err) < 0)
            return -1;
    return 0;
}
