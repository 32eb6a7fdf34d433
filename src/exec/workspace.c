/* workspace.c — one directory per task attempt in node-local scratch:
 * generated_code/, arrays/, plots/, logs/, the code's HOME (.home/), and the
 * step's staged inputs (reference outputs of earlier steps, read-only).
 *
 * Ownership when llm4hep runs as root (the code then runs as uid 65534): the
 * workspace and its directories belong to 65534; a directory holding staged
 * inputs stays root's with mode 1777 (sticky), so the code can add files
 * there but cannot delete, rename or rewrite the root-owned 0444 inputs.
 * Under bwrap the inputs are also bind-mounted read-only over themselves. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_internal.h"

static const char *const ws_dirs[] = {"generated_code", "arrays", "plots", "logs", L4H_WS_HOME};

/* Copy the regular file src to dst (created with mode). -1 with err. */
static int copy_file(const char *src, const char *dst, int mode, l4h_err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return l4h_err_set(err, 3, "%s: cannot open: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (out < 0) {
        int e = errno;
        close(in);
        return l4h_err_set(err, 3, "%s: cannot create: %s", dst, strerror(e));
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                rc = l4h_err_set(err, 3, "%s: cannot read: %s", src, strerror(errno));
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = l4h_err_set(err, 3, "%s: cannot write: %s", dst, strerror(errno));
                goto done;
            }
            off += w;
        }
    }
done:
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = l4h_err_set(err, 3, "%s: cannot write: %s", dst, strerror(errno));
    return rc;
}

/* When the code runs as another uid (we are root): every directory on the
 * way to path must be searchable by it, else bwrap cannot even mount it.
 * -1 (code 3) naming the directory and the fix. */
static int reachable(const char *what, const char *path, l4h_err *err)
{
    char *p = l4h_xstrdup(path);
    int rc = 0;
    for (;;) {
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & S_IXOTH) &&
            st.st_uid != L4H_SANDBOX_UID) {
            rc = l4h_err_set(err, 3,
                             "%s %s: directory %s is not searchable by uid %d, which runs the "
                             "code when llm4hep runs as root (chmod o+x %s, or use another path)",
                             what, path, p, L4H_SANDBOX_UID, p);
            break;
        }
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = '\0';
    }
    free(p);
    return rc;
}

/* Give path to the sandbox uid when we are root (no-op otherwise). */
static void give(const l4h_sandbox *sb, const char *path)
{
    if (sb && sb->switch_uid && chown(path, L4H_SANDBOX_UID, L4H_SANDBOX_GID) != 0) {
        /* harmless: the code then cannot write there and says so */
    }
}

/* Copy the step's staged inputs from the reference dir, read-only. */
static int stage_inputs(const l4h_sandbox *sb, const l4h_step *step, l4h_workspace *ws,
                        l4h_err *err)
{
    ws->staged = l4h_xcalloc(step->n_stage + 1, sizeof(char *));
    for (size_t i = 0; i < step->n_stage; i++) {
        const char *rel = step->stage[i];
        if (rel[0] == '/' || strstr(rel, ".."))
            return l4h_err_set(err, 2, "step %s: stage entry '%s' must be a relative path "
                                       "inside the reference dir", step->name, rel);
        if (!ws->ref_host)
            return l4h_err_set(err, 3, "step %s: stage %s needs the suite's reference_dir",
                               step->name, rel);
        char *src = l4h_path_join(ws->ref_host, rel);
        char *dst = l4h_path_join(ws->host, rel);
        char *dir = l4h_path_dir(dst);
        struct stat st;
        int rc = 0;
        if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
            rc = l4h_err_set(err, 3, "step %s: staged input %s not found in the reference dir "
                                     "(%s); build it with `llm4hep reference SUITE`",
                             step->name, rel, src);
        else if (l4h_mkdirs(dir, 0755, err) == 0 && copy_file(src, dst, 0444, err) == 0)
            ws->staged[ws->n_staged++] = l4h_xstrdup(rel);
        else
            rc = -1;
        if (rc == 0 && sb && sb->switch_uid && chown(dir, 0, 0) == 0)
            chmod(dir, 01777); /* root's and sticky: the code adds files, can't remove inputs */
        free(src);
        free(dst);
        free(dir);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Create a workspace (see exec.h). */
int l4h_workspace_create(const l4h_config *cfg, const l4h_sandbox *sb, const char *task_key,
                         const l4h_step *step, l4h_workspace *ws, l4h_err *err)
{
    memset(ws, 0, sizeof *ws);
    const char *scratch = cfg->scratch && cfg->scratch[0] ? cfg->scratch : "/tmp";
    if (l4h_mkdirs(scratch, 0755, err) != 0)
        return l4h_err_prefix(err, "scratch");
    char leaf[128];
    snprintf(leaf, sizeof leaf, "llm4hep-%.40s-%d-XXXXXX", task_key && task_key[0] ? task_key : "task",
             (int)getpid());
    char *tmpl = l4h_path_join(scratch, leaf);
    if (!mkdtemp(tmpl)) {
        int e = errno;
        l4h_err_set(err, 3, "scratch %s: cannot create a workspace: %s", scratch, strerror(e));
        free(tmpl);
        return -1;
    }
    ws->host = tmpl;
    for (size_t i = 0; i < sizeof ws_dirs / sizeof *ws_dirs; i++) {
        char *d = l4h_path_join(ws->host, ws_dirs[i]);
        if (mkdir(d, 0755) != 0) {
            l4h_err_set(err, 3, "%s: cannot create: %s", d, strerror(errno));
            free(d);
            goto fail;
        }
        give(sb, d);
        free(d);
    }
    give(sb, ws->host);
    const l4h_suite *suite = cfg->suite;
    if (suite && suite->data_dir)
        ws->data_host = l4h_xstrdup(suite->data_dir);
    if (suite && suite->reference_dir)
        ws->ref_host = l4h_xstrdup(suite->reference_dir);
    const l4h_sandbox_ops *ops = sb && sb->ops ? sb->ops : NULL;
    ws->view = ops ? ops->view_path("workspace", ws->host) : l4h_xstrdup(ws->host);
    if (ws->data_host)
        ws->data_view = ops ? ops->view_path("data", ws->data_host) : l4h_xstrdup(ws->data_host);
    if (ws->ref_host)
        ws->ref_view = ops ? ops->view_path("reference", ws->ref_host) : l4h_xstrdup(ws->ref_host);
    struct stat st;
    if (sb && sb->switch_uid &&
        (reachable("workspace", ws->host, err) != 0 ||
         (ws->data_host && reachable("data_dir", ws->data_host, err) != 0) ||
         (ws->ref_host && !sb->reference_closed && stat(ws->ref_host, &st) == 0 &&
          reachable("reference_dir", ws->ref_host, err) != 0)))
        goto fail;
    if (step && stage_inputs(sb, step, ws, err) != 0)
        goto fail;
    if (!ws->staged)
        ws->staged = l4h_xcalloc(1, sizeof(char *));
    return 0;
fail:
    l4h_workspace_remove(ws);
    return -1;
}

/* Placeholders (see exec.h). Borrowed pointers; can't fail. */
void l4h_workspace_vars(const l4h_workspace *ws, const l4h_step *step, l4h_vars *vars,
                        char number_buf[16])
{
    memset(vars, 0, sizeof *vars);
    vars->workspace = ws->view;
    vars->data_dir = ws->data_view;
    vars->reference_dir = ws->ref_view;
    if (step) {
        vars->step = step->name;
        snprintf(number_buf, 16, "%d", step->number);
        vars->step_number = number_buf;
    }
}

/* Copy the tree at src into dst: directories, regular files, symbolic links
 * as links (never followed). Skips the code's HOME at the top level. */
static int copy_tree(const char *src, const char *dst, int top, l4h_err *err)
{
    if (l4h_mkdirs(dst, 0755, err) != 0)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return l4h_err_set(err, 3, "%s: cannot read: %s", src, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            (top && strcmp(de->d_name, L4H_WS_HOME) == 0))
            continue;
        char *s = l4h_path_join(src, de->d_name);
        char *t = l4h_path_join(dst, de->d_name);
        struct stat st;
        if (lstat(s, &st) != 0) {
            /* vanished: skip */
        } else if (S_ISDIR(st.st_mode)) {
            rc = copy_tree(s, t, 0, err);
        } else if (S_ISREG(st.st_mode)) {
            rc = copy_file(s, t, 0644, err);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlink(s, target, sizeof target - 1);
            if (n > 0) {
                target[n] = '\0';
                unlink(t);
                if (symlink(target, t) != 0)
                    rc = l4h_err_set(err, 3, "%s: cannot create link: %s", t, strerror(errno));
            }
        }
        free(s);
        free(t);
    }
    closedir(d);
    return rc;
}

/* Copy the workspace out (see exec.h). -1 (code 3) naming the path. */
int l4h_workspace_copy_out(const l4h_workspace *ws, const char *dir, l4h_err *err)
{
    if (copy_tree(ws->host, dir, 1, err) != 0)
        return l4h_err_prefix(err, "copying the workspace to %s", dir);
    return 0;
}

/* Open rel beneath the workspace, no link followed (see exec.h). */
int l4h_workspace_open(const l4h_workspace *ws, const char *rel, l4h_err *err)
{
    if (!rel || !rel[0] || rel[0] == '/')
        return l4h_err_set(err, 2, "workspace file '%s': expected a relative path", rel ? rel : "");
    char *copy = l4h_xstrdup(rel), *save = NULL;
    int dfd = open(ws->host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        free(copy);
        return l4h_err_set(err, 3, "workspace %s: cannot open: %s", ws->host, strerror(errno));
    }
    int rc = -1;
    char *part = strtok_r(copy, "/", &save);
    while (part) {
        char *next = strtok_r(NULL, "/", &save);
        if (strcmp(part, "..") == 0) {
            l4h_err_set(err, 2, "workspace file '%s': expected a path inside the workspace", rel);
            break;
        }
        int fd = openat(dfd, part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (next ? O_DIRECTORY : 0));
        if (fd < 0) {
            int e = errno;
            l4h_err_set(err, e == ENOENT || e == ELOOP || e == ENOTDIR ? 1 : 3,
                        "workspace file %s: %s", rel,
                        e == ELOOP    ? "is a symbolic link (not followed)"
                        : e == ENOTDIR ? "a part of the path is a symbolic link or not a directory"
                        : e == ENOENT ? "not found"
                                      : strerror(e));
            break;
        }
        close(dfd);
        dfd = fd;
        if (!next) {
            struct stat st;
            if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
                l4h_err_set(err, 1, "workspace file %s: not a regular file", rel);
                break;
            }
            rc = fd;
            dfd = -1;
        }
        part = next;
    }
    if (dfd >= 0)
        close(dfd);
    free(copy);
    return rc;
}

/* Make every directory under path writable by us again (the code may have
 * chmod'ed some 0500), so that removal can proceed. */
static void unlock_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return;
    chmod(path, 0700);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *s = l4h_path_join(path, de->d_name);
        unlock_tree(s);
        free(s);
    }
    closedir(d);
}

/* Remove the workspace's files and free its strings. */
void l4h_workspace_remove(l4h_workspace *ws)
{
    if (ws->host && l4h_remove_tree(ws->host, NULL) != 0) {
        unlock_tree(ws->host);
        l4h_remove_tree(ws->host, NULL);
    }
    l4h_workspace_release(ws);
}

/* Free the strings, keep the files. */
void l4h_workspace_release(l4h_workspace *ws)
{
    free(ws->host);
    free(ws->view);
    free(ws->data_host);
    free(ws->data_view);
    free(ws->ref_host);
    free(ws->ref_view);
    l4h_strv_free(ws->staged);
    memset(ws, 0, sizeof *ws);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* See exec.h. */
size_t l4h_workspace_remove_leftovers(const char *scratch, char *const *keys, size_t n_keys)
{
    DIR *d = opendir(scratch && scratch[0] ? scratch : "/tmp");
    if (!d || n_keys == 0) {
        if (d)
            closedir(d);
        return 0;
    }
    char **sorted = l4h_xmalloc(n_keys * sizeof *sorted);
    memcpy(sorted, keys, n_keys * sizeof *sorted);
    qsort(sorted, n_keys, sizeof *sorted, cmp_key);
    size_t removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* llm4hep-<16 hex key>-<pid>-XXXXXX */
        const char *n = e->d_name;
        if (strncmp(n, "llm4hep-", 8) != 0 || strlen(n) < 8 + 16 + 1 || n[8 + 16] != '-')
            continue;
        char key[17];
        memcpy(key, n + 8, 16);
        key[16] = '\0';
        char *kp = key;
        if (!bsearch(&kp, sorted, n_keys, sizeof *sorted, cmp_key))
            continue;
        char *path = l4h_path_join(scratch && scratch[0] ? scratch : "/tmp", n);
        if (l4h_remove_tree(path, NULL) == 0)
            removed++;
        free(path);
    }
    closedir(d);
    free(sorted);
    return removed;
}
