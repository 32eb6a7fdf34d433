/* workspace.c — one directory per task attempt in node-local scratch.
 *
 * Layout: <scratch>/llm4hep-<key>-<pid>-XXXXXX/ is ours (mode 0711) and holds
 *   ws/    the code's workspace (ws->host): generated_code/, arrays/, plots/,
 *          logs/, the code's HOME (.home/) and the step's staged inputs;
 *   host/  our own records (ws->records, mode 0700): generated_code/iter_N.py
 *          and logs/iter_N.stdout|stderr as the host wrote them.
 * The code can write ws/ but not the directory holding it, so it cannot
 * rename, remove or replace its workspace root, and it never reaches host/.
 * Every host access to ws/ goes through a directory fd and the fd-relative
 * functions of core.h (l4h_fs_*): no path string through a directory the
 * code can write, no link followed.
 *
 * Ownership when llm4hep runs as root (the code then runs as uid 65534): ws/
 * and its directories belong to 65534; a directory holding staged inputs
 * stays root's with mode 1777 (sticky), so the code can add files there but
 * cannot delete, rename or rewrite the root-owned 0444 inputs. Under bwrap
 * the inputs are also bind-mounted read-only over themselves. Whatever the
 * code still does to them (as an ordinary user under rlimit, or by renaming
 * their directory), l4h_workspace_restore puts them back before the next run. */
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

#define WS_CODE_DIR "ws"
#define WS_RECORDS_DIR "host"

static const char *const ws_dirs[] = {"generated_code", "arrays", "plots", "logs", L4H_WS_HOME};

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
            rc = l4h_err_set(err, L4H_EXIT_INFRA,
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

/* Mark err as the code's doing (code 1): what it left in its workspace
 * stopped the harness. */
static void code_did_it(l4h_err *err)
{
    if (err)
        err->code = L4H_EXIT_FAILED;
}

/* mkdir -p rel beneath dfd, replacing whatever is in the way (a link, a file:
 * the code's doing) by a directory. The directory's fd, or -1 with err. */
static int mkdirs_repair(int dfd, const char *rel, l4h_err *err)
{
    l4h_err first = {0, ""};
    int fd = l4h_fs_mkdirs(dfd, rel, 0755, &first);
    if (fd >= 0 || first.code != 1) {
        if (fd < 0 && err)
            *err = first;
        return fd;
    }
    /* remove each obstacle on the way, then try again */
    char *copy = l4h_xstrdup(rel), *save = NULL;
    int cur = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    for (char *part = strtok_r(copy, "/", &save); part && cur >= 0;
         part = strtok_r(NULL, "/", &save)) {
        struct stat st;
        if (fstatat(cur, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
            (void)unlinkat(cur, part, 0);
        (void)mkdirat(cur, part, 0755);
        int next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(cur);
        cur = next;
    }
    free(copy);
    if (cur >= 0)
        close(cur);
    return l4h_fs_mkdirs(dfd, rel, 0755, err);
}

/* Copy the regular file open at in to name in dir (a new file renamed over
 * name: never written through). -1 with err. */
static int copy_fd_at(int in, int dir, const char *name, int mode, l4h_err *err)
{
    l4h_buf b = {0};
    char chunk[65536];
    for (;;) {
        ssize_t n = read(in, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            l4h_buf_free(&b);
            return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot read: %s", name, strerror(errno));
        }
        if (n == 0)
            break;
        l4h_buf_add(&b, chunk, (size_t)n);
    }
    int rc = l4h_fs_write(dir, name, b.data ? b.data : "", b.len, mode, err);
    l4h_buf_free(&b);
    return rc;
}

/* Copy the reference file src to rel beneath the workspace fd ws_fd, 0444,
 * with the source's modification time (the stamp restore compares). -1 with
 * err. */
static int stage_one(const l4h_sandbox *sb, int ws_fd, const char *src, const char *rel,
                     l4h_err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (in >= 0)
            close(in);
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "staged input %s not found in the reference dir (%s); build it "
                           "with `llm4hep reference SUITE`", rel, src);
    }
    char *dir = l4h_path_dir(rel);
    int dfd = mkdirs_repair(ws_fd, strcmp(dir, ".") ? dir : "", err);
    free(dir);
    if (dfd < 0) {
        close(in);
        return -1;
    }
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    struct stat old;
    if (fstatat(dfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(old.st_mode))
        (void)l4h_fs_remove(dfd, base, NULL); /* a directory the code put at the name */
    int rc = copy_fd_at(in, dfd, base, 0444, err);
    if (rc == 0) {
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        (void)utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW);
        /* root's and sticky: the code (uid 65534) adds files there but cannot
         * delete, rename or rewrite the root-owned 0444 inputs */
        if (sb && sb->switch_uid && fchown(dfd, 0, 0) == 0)
            (void)fchmod(dfd, 01777);
    }
    close(in);
    close(dfd);
    return rc;
}

/* Is the staged input rel in place, as staged from src: a regular 0444 file
 * (reached through directories only) with the source's size and time? */
static int staged_intact(int ws_fd, const char *src, const char *rel)
{
    struct stat s, w;
    int fd = l4h_fs_open(ws_fd, rel, O_RDONLY | O_NONBLOCK, 0, NULL);
    if (fd < 0)
        return 0;
    int ok = fstat(fd, &w) == 0 && stat(src, &s) == 0 && S_ISREG(w.st_mode) &&
             (w.st_mode & 07777) == 0444 && w.st_size == s.st_size &&
             w.st_mtim.tv_sec == s.st_mtim.tv_sec && w.st_mtim.tv_nsec == s.st_mtim.tv_nsec &&
             w.st_nlink == 1;
    close(fd);
    return ok;
}

/* Copy the step's staged inputs from ws->stage_host (the reference dir
 * unless `run --chain` gave its own), read-only. */
static int stage_inputs(const l4h_sandbox *sb, const l4h_step *step, l4h_workspace *ws,
                        int ws_fd, l4h_err *err)
{
    ws->staged = l4h_xcalloc(step->n_stage + 1, sizeof(char *));
    for (size_t i = 0; i < step->n_stage; i++) {
        const char *rel = step->stage[i];
        if (rel[0] == '/' || strstr(rel, ".."))
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "step %s: stage entry '%s' must be a relative path "
                               "inside the reference dir", step->name, rel);
        if (!ws->stage_host)
            return l4h_err_set(err, L4H_EXIT_INFRA,
                               "step %s: stage %s needs the suite's reference_dir",
                               step->name, rel);
        char *src = l4h_path_join(ws->stage_host, rel);
        int rc = stage_one(sb, ws_fd, src, rel, err);
        free(src);
        if (rc != 0)
            return l4h_err_prefix(err, "step %s", step->name);
        ws->staged[ws->n_staged++] = l4h_xstrdup(rel);
    }
    return 0;
}

/* Create a workspace (see exec.h and the layout above). */
int l4h_workspace_create(const l4h_config *cfg, const l4h_sandbox *sb, const char *task_key,
                         const l4h_step *step, l4h_workspace *ws, l4h_err *err)
{
    return l4h_workspace_create_from(cfg, sb, task_key, step, NULL, ws, err);
}

/* Create a workspace staging from stage_dir (see exec.h). */
int l4h_workspace_create_from(const l4h_config *cfg, const l4h_sandbox *sb, const char *task_key,
                              const l4h_step *step, const char *stage_dir, l4h_workspace *ws,
                              l4h_err *err)
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
        l4h_err_set(err, L4H_EXIT_INFRA,
                    "scratch %s: cannot create a workspace: %s", scratch, strerror(e));
        free(tmpl);
        return -1;
    }
    ws->top = tmpl;
    ws->host = l4h_path_join(tmpl, WS_CODE_DIR);
    ws->records = l4h_path_join(tmpl, WS_RECORDS_DIR);
    int top_fd = -1, ws_fd = -1;
    if ((top_fd = l4h_fs_dir_open(ws->top, err)) < 0)
        goto fail;
    if (fchmod(top_fd, 0711) != 0 || mkdirat(top_fd, WS_CODE_DIR, 0755) != 0 ||
        mkdirat(top_fd, WS_RECORDS_DIR, 0700) != 0) {
        l4h_err_set(err, L4H_EXIT_INFRA,
                    "%s: cannot create the workspace: %s", ws->top, strerror(errno));
        goto fail;
    }
    if ((ws_fd = l4h_fs_open(top_fd, WS_CODE_DIR, O_RDONLY | O_DIRECTORY, 0, err)) < 0)
        goto fail;
    (void)fchmod(ws_fd, 0755); /* umask */
    for (size_t i = 0; i < sizeof ws_dirs / sizeof *ws_dirs; i++) {
        if (mkdirat(ws_fd, ws_dirs[i], 0755) != 0) {
            l4h_err_set(err, L4H_EXIT_INFRA,
                        "%s/%s: cannot create: %s", ws->host, ws_dirs[i], strerror(errno));
            goto fail;
        }
        if (sb && sb->switch_uid)
            (void)fchownat(ws_fd, ws_dirs[i], L4H_SANDBOX_UID, L4H_SANDBOX_GID, AT_SYMLINK_NOFOLLOW);
    }
    if (sb && sb->switch_uid)
        (void)fchown(ws_fd, L4H_SANDBOX_UID, L4H_SANDBOX_GID);
    const l4h_suite *suite = cfg->suite;
    if (suite && suite->data_dir)
        ws->data_host = l4h_xstrdup(suite->data_dir);
    if (suite && suite->reference_dir)
        ws->ref_host = l4h_xstrdup(suite->reference_dir);
    ws->stage_host = l4h_xstrdup(stage_dir ? stage_dir : ws->ref_host);
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
    if (step && stage_inputs(sb, step, ws, ws_fd, err) != 0)
        goto fail;
    if (!ws->staged)
        ws->staged = l4h_xcalloc(1, sizeof(char *));
    close(top_fd);
    close(ws_fd);
    return 0;
fail:
    if (top_fd >= 0)
        close(top_fd);
    if (ws_fd >= 0)
        close(ws_fd);
    l4h_workspace_remove(ws, NULL);
    return -1;
}

/* Open the workspace root (see exec.h). */
int l4h_workspace_dir(const l4h_workspace *ws, l4h_err *err)
{
    if (!ws || !ws->host)
        return l4h_err_set(err, L4H_EXIT_INFRA, "no workspace");
    int fd = l4h_fs_dir_open(ws->host, err);
    if (fd < 0 && ws->top && errno == EACCES) {
        /* the code (our uid) chmod'ed its root 000: the root is ours to fix */
        int top = open(ws->top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top >= 0 && fchmodat(top, WS_CODE_DIR, 0755, 0) == 0)
            fd = l4h_fs_dir_open(ws->host, err);
        if (top >= 0)
            close(top);
    }
    if (fd < 0)
        return l4h_err_prefix(err, "workspace");
    return fd;
}

/* Put the workspace back in the state the harness needs (see
 * exec_internal.h). */
int exec_workspace_restore(const l4h_sandbox *sb, const l4h_workspace *ws, l4h_err *err)
{
    int fd = l4h_workspace_dir(ws, err);
    if (fd < 0) {
        code_did_it(err);
        return l4h_err_prefix(err, "the code removed or replaced its workspace");
    }
    struct stat st;
    /* the root is not the code's to chmod: give back what it took (a root
     * holding staged inputs is root's 01777 and stays so) */
    if (fstat(fd, &st) == 0 && (st.st_mode & 0755) != 0755)
        (void)fchmod(fd, (st.st_mode & 07777) | 0755);
    int rc = 0;
    /* HOME and the directories bwrap shows as /tmp and /dev/shm: real
     * directories (bwrap resolves these host paths; nothing of the code
     * runs between two runs, so what we check here is what it mounts) */
    static const char *const home_dirs[] = {L4H_WS_HOME, L4H_WS_TMP, L4H_WS_SHM};
    for (size_t i = 0; ws->top && rc == 0 && i < sizeof home_dirs / sizeof *home_dirs; i++) {
        int d = mkdirs_repair(fd, home_dirs[i], err);
        if (d < 0) {
            code_did_it(err);
            rc = l4h_err_prefix(err, "restoring %s", home_dirs[i]);
            break;
        }
        if (sb && sb->switch_uid)
            (void)fchown(d, L4H_SANDBOX_UID, L4H_SANDBOX_GID);
        close(d);
    }
    for (size_t i = 0; rc == 0 && i < ws->n_staged; i++) {
        char *src = ws->stage_host ? l4h_path_join(ws->stage_host, ws->staged[i]) : NULL;
        if (src && !staged_intact(fd, src, ws->staged[i])) {
            rc = stage_one(sb, fd, src, ws->staged[i], err);
            if (rc != 0) {
                code_did_it(err);
                l4h_err_prefix(err, "restoring the staged input %s the code changed",
                               ws->staged[i]);
            }
        }
        free(src);
    }
    close(fd);
    return rc;
}

/* Write rel in the workspace and keep our own copy in the records (see
 * exec.h). */
int l4h_workspace_write(const l4h_workspace *ws, const char *rel, const char *data, size_t len,
                        l4h_err *err)
{
    int fd = l4h_workspace_dir(ws, err);
    if (fd < 0) {
        code_did_it(err);
        return l4h_err_prefix(err, "the code removed or replaced its workspace");
    }
    char *dir = l4h_path_dir(rel);
    int dfd = mkdirs_repair(fd, strcmp(dir, ".") ? dir : "", err);
    free(dir);
    int rc = -1;
    if (dfd >= 0) {
        const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        struct stat st;
        /* a directory the code put at the name is moved out of the way */
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            (void)l4h_fs_remove(dfd, base, NULL);
        rc = l4h_fs_write(dfd, base, data, len, 0644, err);
        close(dfd);
    }
    close(fd);
    if (rc != 0) {
        code_did_it(err);
        return l4h_err_prefix(err, "the code's workspace does not let %s be written", rel);
    }
    return l4h_workspace_record(ws, rel, data, len, err);
}

/* Write rel in the records only (see exec.h). */
int l4h_workspace_record(const l4h_workspace *ws, const char *rel, const char *data, size_t len,
                         l4h_err *err)
{
    if (!ws->records)
        return 0;
    int fd = l4h_fs_dir_open(ws->records, err);
    if (fd < 0)
        return l4h_err_prefix(err, "workspace records");
    int rc = l4h_fs_write(fd, rel, data, len, 0644, err);
    close(fd);
    return rc;
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

/* 0 when the directory open at fd is empty, else -1 (code 2) saying what
 * to do: a reused out-dir would mix two tasks' files. */
static int outdir_check_empty(int fd, const char *dir, l4h_err *err)
{
    int dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
    DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
    if (!d) {
        if (dup >= 0)
            close(dup);
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "--out-dir %s: cannot read: %s", dir, strerror(errno));
    }
    struct dirent *de;
    size_t n = 0;
    char first[256] = "";
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && n++ == 0)
            snprintf(first, sizeof first, "%s", de->d_name);
    closedir(d);
    if (n == 0)
        return 0;
    return l4h_err_set(err, L4H_EXIT_USAGE,
                       "--out-dir %s is not empty (%zu entries, e.g. %s): a reused "
                       "out-dir would mix two tasks' files; give a new or empty "
                       "directory (e.g. %s/<step>-<trial>), or remove it first",
                       dir, n, first, dir);
}

/* Copy the workspace out (see exec.h). */
int l4h_workspace_copy_out(const l4h_workspace *ws, const char *dir, l4h_err *err)
{
    if (l4h_mkdirs(dir, 0755, err) != 0)
        return l4h_err_prefix(err, "--out-dir");
    int dst = l4h_fs_dir_open(dir, err);
    if (dst < 0)
        return l4h_err_prefix(err, "--out-dir");
    int rc = outdir_check_empty(dst, dir, err);
    int src = rc == 0 ? l4h_workspace_dir(ws, err) : -1;
    l4h_fs_copied skipped = {0, 0};
    if (src >= 0) {
        rc = l4h_fs_copy_tree(src, dst, L4H_WS_HOME, L4H_WS_MAX_DEPTH, &skipped, err);
        close(src);
        int rec = rc == 0 && ws->records ? l4h_fs_dir_open(ws->records, err) : -1;
        if (rec >= 0) { /* our records win over whatever the code left at their names */
            rc = l4h_fs_copy_tree(rec, dst, NULL, L4H_WS_MAX_DEPTH, NULL, err);
            close(rec);
        } else if (rc == 0 && ws->records) {
            rc = -1;
        }
    } else {
        rc = -1;
    }
    close(dst);
    if (rc != 0)
        return l4h_err_prefix(err, "copying the workspace to %s", dir);
    return 0;
}

/* Open rel beneath the workspace, no link followed (see exec.h). */
int l4h_workspace_open(const l4h_workspace *ws, const char *rel, l4h_err *err)
{
    if (!rel || !rel[0] || rel[0] == '/')
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "workspace file '%s': expected a relative path", rel ? rel : "");
    int dfd = l4h_workspace_dir(ws, err);
    if (dfd < 0)
        return -1;
    /* O_NONBLOCK: a FIFO planted at the name must not hang us */
    int fd = l4h_fs_open(dfd, rel, O_RDONLY | O_NONBLOCK, 0, err);
    close(dfd);
    if (fd < 0) {
        if (err && err->code == L4H_EXIT_USAGE)
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "workspace file '%s': expected a path inside the workspace",
                               rel);
        return l4h_err_prefix(err, "workspace file");
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return l4h_err_set(err, L4H_EXIT_FAILED, "workspace file %s: not a regular file", rel);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

/* Remove the workspace's files and free its strings (see exec.h). */
int l4h_workspace_remove(l4h_workspace *ws, l4h_err *err)
{
    const char *path = ws->top ? ws->top : ws->host;
    int rc = path ? l4h_remove_tree(path, err) : 0; /* through its parent's fd */
    if (rc != 0)
        l4h_err_prefix(err, "removing the workspace %s (left in scratch)", path);
    l4h_workspace_release(ws);
    return rc;
}

/* Free the strings, keep the files. */
void l4h_workspace_release(l4h_workspace *ws)
{
    free(ws->top);
    free(ws->host);
    free(ws->records);
    free(ws->view);
    free(ws->data_host);
    free(ws->data_view);
    free(ws->ref_host);
    free(ws->ref_view);
    free(ws->stage_host);
    l4h_strv_free(ws->staged);
    memset(ws, 0, sizeof *ws);
}

/* See exec.h. */
int l4h_workspace_outdir_check(const char *dir, l4h_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return l4h_err_set(err, L4H_EXIT_USAGE, "--out-dir %s: %s", dir,
                           errno == ENOTDIR ? "exists and is not a directory" : strerror(errno));
    }
    int rc = outdir_check_empty(fd, dir, err);
    close(fd);
    return rc;
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
        if (l4h_fs_remove(dirfd(d), n, NULL) == 0)
            removed++;
    }
    closedir(d);
    free(sorted);
    return removed;
}
