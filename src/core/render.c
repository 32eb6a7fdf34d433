/* render.c — fill {{placeholders}} in prompt and command templates. A
 * placeholder is "{{" NAME "}}" with optional spaces, NAME of letters, digits
 * and '_'; any other "{{" is ordinary text (so code in prompts survives). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llm4hep/core.h"

/* The value of placeholder name[0..n) in vars: 1 found (value may be NULL),
 * 0 unknown. */
static int lookup(const l4h_vars *v, const char *name, size_t n, const char **val)
{
    static const struct {
        const char *name;
        size_t off;
    } map[] = {{"workspace", offsetof(l4h_vars, workspace)},
               {"data_dir", offsetof(l4h_vars, data_dir)},
               {"reference_dir", offsetof(l4h_vars, reference_dir)},
               {"step", offsetof(l4h_vars, step)},
               {"step_number", offsetof(l4h_vars, step_number)},
               {"inputs", offsetof(l4h_vars, inputs)},
               {"files", offsetof(l4h_vars, files)}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i].name) == n && !strncmp(map[i].name, name, n)) {
            *val = v ? *(const char *const *)((const char *)v + map[i].off) : NULL;
            return 1;
        }
    return 0;
}

/* Render tmpl into *out (caller frees). An unknown placeholder or one whose
 * value is NULL is -1 (code 2) naming it; *out is then NULL. */
int l4h_render(const char *tmpl, const l4h_vars *vars, char **out, l4h_err *err)
{
    l4h_buf b = {0};
    l4h_buf_add(&b, "", 0);
    *out = NULL;
    const char *p = tmpl;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            l4h_buf_puts(&b, p);
            break;
        }
        l4h_buf_add(&b, p, (size_t)(open - p));
        const char *q = open + 2;
        while (*q == ' ')
            q++;
        const char *name = q;
        while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
               *q == '_')
            q++;
        size_t n = (size_t)(q - name);
        while (*q == ' ')
            q++;
        if (!n || q[0] != '}' || q[1] != '}') {
            l4h_buf_add(&b, open, 1); /* not a placeholder: keep the '{' and go on */
            p = open + 1;
            continue;
        }
        const char *val = NULL;
        if (!lookup(vars, name, n, &val)) {
            l4h_buf_free(&b);
            return l4h_err_set(err, 2,
                               "unknown placeholder '{{%.*s}}': expected one of {{workspace}}, "
                               "{{data_dir}}, {{reference_dir}}, {{step}}, {{step_number}}, "
                               "{{inputs}}, {{files}}",
                               (int)(n > 60 ? 60 : n), name);
        }
        if (!val) {
            l4h_buf_free(&b);
            return l4h_err_set(err, 2, "placeholder '{{%.*s}}' has no value here", (int)n, name);
        }
        l4h_buf_puts(&b, val);
        p = q + 2;
    }
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
        if (argv[i][0] == '/' && l4h_input_verify(argv[i], err) < 0)
            return -1;
    return 0;
}
