/* exec_env.c — the command line and the environment of a run: the
 * launcher's limits, the child's credentials (see exec_internal.h for why),
 * the program for argv[0], and the code's clean environment. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec_internal.h"

/* The PATH the code sees, after the interpreter's own bin directory. */
#define SANDBOX_PATH "/usr/local/bin:/usr/bin:/bin"

/* Append a copy of s. Can't fail. */
void exec_argv_add(l4h_argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? 2 * a->cap : 32;
        a->v = l4h_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = l4h_xstrdup(s);
    a->v[a->n] = NULL;
}

/* Append a formatted word. Can't fail. */
void exec_argv_addf(l4h_argv *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof tmp) {
        exec_argv_add(a, tmp);
        return;
    }
    va_start(ap, fmt);
    char *big = l4h_xmalloc((size_t)n + 1);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    exec_argv_add(a, big);
    free(big);
}

/* Free the words and the array. */
void exec_argv_free(l4h_argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* The first executable dir/name for dir in the colon-separated list (only
 * absolute dirs), malloc'd; NULL if none. */
#ifndef LLM4HEP_LIFELINE_PATHS
#define LLM4HEP_LIFELINE_PATHS "" /* the build's and the install's, from CMake */
#endif

static char *search(const char *list, const char *name)
{
    char *copy = l4h_xstrdup(list), *save = NULL, *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = l4h_path_join(d, name);
        if (d[0] == '/' && access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

/* Search name in the system directories, then in $PATH (see header). */
char *exec_find_program(const char *name)
{
    char *p = search("/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin", name);
    if (!p && getenv("PATH"))
        p = search(getenv("PATH"), name);
    return p;
}

/* argv[0] → program path (see header). */
char *exec_program(const l4h_sandbox *sb, const char *argv0)
{
    if (strcmp(argv0, "python") == 0 || strcmp(argv0, "python3") == 0)
        return l4h_xstrdup(sb->python);
    if (argv0[0] == '/')
        return l4h_xstrdup(argv0);
    char *p = search(SANDBOX_PATH, argv0);
    return p ? p : l4h_xstrdup(argv0); /* let the exec fail with a clear message */
}

/* See exec_internal.h. CPU time gets the wall timeout plus one second
 * (soft; SIGXCPU), and one more second hard (SIGKILL). */
void exec_limits_word(const l4h_sandbox *sb, double timeout_s, char *out, size_t outsz)
{
    long long as = (long long)sb->limits.exec_memory_mb * 1024 * 1024;
    long long fsize = (long long)sb->limits.workspace_mb * 1024 * 1024;
    long long cpu = (long long)ceil(timeout_s) + 1;
    size_t n = 0;
    out[0] = '\0';
    if (as > 0)
        n += (size_t)snprintf(out + n, outsz - n, "as=%lld,", as);
    if (n < outsz)
        n += (size_t)snprintf(out + n, outsz - n, "cpu=%lld:%lld,", cpu, cpu + 1);
    if (fsize > 0 && n < outsz)
        n += (size_t)snprintf(out + n, outsz - n, "fsize=%lld,", fsize);
    if (n < outsz)
        snprintf(out + n, outsz - n, "nproc=%d,nofile=%d,core=0", L4H_SANDBOX_NPROC,
                 L4H_SANDBOX_NOFILE);
}

/* See exec_internal.h. */
void exec_child_credentials(const l4h_sandbox *sb, int suite_program, exec_child *c)
{
    c->no_new_privs = 1;
    c->die_with_parent = 1;
    c->switch_uid = sb->switch_uid;
    if (!sb->switch_uid)
        return;
    if (suite_program && sb->n_suite_groups > 0) {
        c->uid = L4H_SUITE_UID;
        c->gid = L4H_SUITE_UID;
        c->groups = sb->suite_groups;
        c->ngroups = sb->n_suite_groups == 2 && sb->suite_groups[1] != sb->suite_groups[0] ? 2 : 1;
    } else {
        c->uid = L4H_SANDBOX_UID;
        c->gid = L4H_SANDBOX_GID;
        c->groups = NULL;
        c->ngroups = 0;
    }
}

/* See exec_internal.h. */
void exec_env_set(char **env, const char *name, const char *value)
{
    size_t n = strlen(name);
    for (size_t i = 0; env && env[i]; i++) {
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=') {
            free(env[i]);
            size_t len = n + strlen(value) + 2;
            env[i] = l4h_xmalloc(len);
            snprintf(env[i], len, "%s=%s", name, value);
            return;
        }
    }
}

/* The code's environment (see exec.h's header comment and the issue): fixed
 * PATH, HOME in the workspace, Agg backend, fixed hash seed, one OpenMP
 * thread, UTC, unbuffered Python (so a killed run still returns its output),
 * the view paths. Nothing of our own environment. */
char **exec_env(const l4h_sandbox *sb, const char *ws_view, const char *data_view,
                     const char *ref_view, const char *token)
{
    l4h_argv e = {0};
    char *pydir = l4h_path_dir(sb->python);
    exec_argv_addf(&e, "PATH=%s:%s", pydir, SANDBOX_PATH);
    free(pydir);
    if (ws_view) {
        exec_argv_addf(&e, "HOME=%s/%s", ws_view, L4H_WS_HOME);
        exec_argv_addf(&e, "LLM4HEP_WORKSPACE=%s", ws_view);
    } else {
        exec_argv_add(&e, "HOME=/tmp");
    }
    if (data_view)
        exec_argv_addf(&e, "LLM4HEP_DATA=%s", data_view);
    if (ref_view)
        exec_argv_addf(&e, "LLM4HEP_REFERENCE=%s", ref_view);
    exec_argv_add(&e, "MPLBACKEND=Agg");
    exec_argv_add(&e, "PYTHONHASHSEED=0");
    exec_argv_add(&e, "PYTHONUNBUFFERED=1");
    exec_argv_add(&e, "PYTHONDONTWRITEBYTECODE=1");
    exec_argv_add(&e, "OMP_NUM_THREADS=1");
    exec_argv_add(&e, "TZ=UTC");
    exec_argv_add(&e, "LANG=C.UTF-8");
    exec_argv_add(&e, "TMPDIR=/tmp");
    if (token)
        exec_argv_addf(&e, "LLM4HEP_EXEC_TOKEN=%s", token);
    return e.v;
}
