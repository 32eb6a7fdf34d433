/* keep.c — keep_outputs: the files a step's checks judged, copied out of a
 * finished (hostile) workspace, gzip-compressed, into
 * <results>.outputs/<key>-a<attempt>/ with a MANIFEST.json (path, size and
 * SHA-256 of each file as judged); and the way back for `rescore`.
 *
 * Every workspace access goes through the workspace's directory fd with no
 * link followed (l4h_fs_open: openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
 * else an O_NOFOLLOW walk); only regular files are read, and at most the
 * size found. A task child writes its directory under a temporary name and
 * renames it into place when the manifest is in it: a kept directory under
 * its final name is whole, and the manifest's sizes and hashes are verified
 * on the way back (a damaged or planted file is refused, never restored). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check_internal.h"

#define KEEP_MAX_FILES 4096
#define MANIFEST "MANIFEST.json"
#define MANIFEST_MAX (4u << 20)
#define CHUNK 65536

char *l4h_outputs_dir(const char *results_path)
{
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s.outputs", results_path ? results_path : "");
    return l4h_buf_take(&b);
}

/* The kept directory's name of one task attempt into out. Can't fail. */
static void kept_name(const char *key, int attempt, char out[64])
{
    snprintf(out, 64, "%.16s-a%d", key, attempt);
}

/* ------------------------------------------------------ which files */

typedef struct file_list {
    char **v;
    size_t n, cap;
    int too_many;
} file_list;

static void list_add(file_list *l, const char *rel)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], rel))
            return;
    if (l->n >= KEEP_MAX_FILES) {
        l->too_many = 1;
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = l4h_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = l4h_xstrdup(rel);
}

static void list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int is_staged(const l4h_workspace *ws, const char *rel)
{
    for (size_t i = 0; i < ws->n_staged; i++)
        if (!strcmp(ws->staged[i], rel))
            return 1;
    return 0;
}

typedef struct walk_ctx {
    const l4h_workspace *ws;
    file_list *files;
} walk_ctx;

/* A command check's program may read any output: every regular file the
 * code left, but not the staged inputs (the reference's), its home or its
 * code (in /execs already). Links, FIFOs and devices are never kept. */
static int walk_visit(void *vctx, const l4h_fs_entry *e)
{
    walk_ctx *c = vctx;
    if (e->depth == 1 && (!strcmp(e->name, ".home") || !strcmp(e->name, "generated_code")))
        return 1;
    if (S_ISREG(e->st->st_mode) && !is_staged(c->ws, e->rel))
        list_add(c->files, e->rel);
    return 0;
}

/* The files the step's checks judge: each array and text check's file, and
 * for a command check every output file. */
static void judged_files(const l4h_workspace *ws, int dfd, const l4h_step *step, file_list *out)
{
    int walked = 0;
    for (size_t i = 0; i < step->n_checks; i++) {
        const l4h_check_spec *s = &step->checks[i];
        if ((s->kind == L4H_CHECK_ARRAY || s->kind == L4H_CHECK_TEXT) && s->file)
            list_add(out, s->file);
        else if (s->kind == L4H_CHECK_COMMAND && !walked) {
            walk_ctx c = {ws, out};
            l4h_err e = {0};
            l4h_fs_walk(dfd, L4H_WS_MAX_DEPTH, walk_visit, &c, &e);
            walked = 1;
        }
    }
}

/* ------------------------------------------------------- keeping */

/* Compress everything readable from in (at most max bytes) into out as
 * gzip; *n the bytes read, hex the SHA-256 of them. 0, or -1 with err. */
static int gzip_fd(int in, int out, int64_t max, int64_t *n, char hex[65], l4h_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 4, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return l4h_err_set(err, L4H_EXIT_INFRA, "zlib: cannot start compressing");
    static unsigned char ib[CHUNK], ob[CHUNK];
    l4h_sha256 sh;
    l4h_sha256_init(&sh);
    *n = 0;
    int rc = 0, flush = Z_NO_FLUSH;
    while (!rc && flush != Z_FINISH) {
        ssize_t got = read(in, ib, sizeof ib);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = l4h_err_set(err, L4H_EXIT_INFRA, "read: %s", strerror(errno));
            break;
        }
        if (*n + got > max) {
            rc = l4h_err_set(err, 1, "grew beyond the %" PRId64 " bytes it had", max);
            break;
        }
        *n += got;
        l4h_sha256_update(&sh, ib, (size_t)got);
        flush = got == 0 ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = ib;
        z.avail_in = (uInt)got;
        do {
            z.next_out = ob;
            z.avail_out = sizeof ob;
            deflate(&z, flush);
            size_t have = sizeof ob - z.avail_out;
            if (have && write(out, ob, have) != (ssize_t)have) {
                rc = l4h_err_set(err, L4H_EXIT_INFRA, "write: %s", strerror(errno));
                break;
            }
        } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    l4h_sha256_final(&sh, hex);
    return rc;
}

/* Copy one judged file into the kept directory kd as <rel>.gz and add it to
 * the manifest. 0 kept, 1 not there or not a regular file (left out: the
 * checks judged it missing or refused it, and will again), -1 with err. */
static int keep_one(int wdfd, int kd, const char *rel, int64_t max, cJSON *files, int64_t *bytes,
                    l4h_err *err)
{
    l4h_err e = {0};
    int in = l4h_fs_open(wdfd, rel, O_RDONLY | O_NONBLOCK, 0, &e);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (in >= 0)
            close(in);
        return 1;
    }
    l4h_buf gz = {0};
    l4h_buf_printf(&gz, "%s.gz", rel);
    const char *slash = strrchr(gz.data, '/');
    int rc = 0, out = -1;
    if (slash) {
        char *parent = l4h_xstrdup(gz.data);
        parent[slash - gz.data] = '\0';
        int pd = l4h_fs_mkdirs(kd, parent, 0755, err);
        free(parent);
        if (pd < 0)
            rc = -1;
        else
            close(pd);
    }
    if (!rc && (out = l4h_fs_open(kd, gz.data, O_WRONLY | O_CREAT | O_EXCL, 0644, err)) < 0)
        rc = -1;
    int64_t n = 0;
    char hex[65];
    if (!rc && gzip_fd(in, out, max < st.st_size ? max : st.st_size, &n, hex, err) != 0)
        rc = -1;
    if (!rc) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", rel);
        cJSON_AddNumberToObject(f, "size", (double)n);
        cJSON_AddStringToObject(f, "sha256", hex);
        cJSON_AddItemToArray(files, f);
        *bytes += n;
    }
    if (rc)
        l4h_err_prefix(err, "%s", rel);
    if (out >= 0)
        close(out);
    close(in);
    l4h_buf_free(&gz);
    return rc;
}

/* Put the finished temporary directory tmp in place as name in od (an
 * earlier attempt of the same number — a run killed before it journaled
 * the task — is replaced: its outputs were never counted). 0 or -1. */
static int put_in_place(int od, const char *tmp, const char *name, l4h_err *err)
{
    if (renameat(od, tmp, od, name) == 0)
        return 0;
    if (errno != ENOTEMPTY && errno != EEXIST)
        return l4h_err_set(err, L4H_EXIT_INFRA, "rename %s: %s", name, strerror(errno));
    char old[128];
    snprintf(old, sizeof old, ".old-%s-%ld", name, (long)getpid());
    if (renameat(od, name, od, old) != 0 || renameat(od, tmp, od, name) != 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "replace %s: %s", name, strerror(errno));
    l4h_fs_remove(od, old, NULL);
    return 0;
}

void l4h_outputs_keep(const l4h_workspace *ws, const l4h_step *step, const char *dir,
                      const char *key, int attempt, int64_t cap_bytes, char *note, size_t note_n)
{
    l4h_err e = {0};
    file_list files = {0};
    int wdfd = l4h_workspace_dir(ws, &e), od = -1, kd = -1;
    char tmp[128] = "", name[64];
    kept_name(key, attempt, name);
    if (wdfd < 0) {
        snprintf(note, note_n, "not kept: the workspace is gone (%.80s)", e.msg);
        return;
    }
    judged_files(ws, wdfd, step, &files);
    int64_t total = 0;
    size_t present = 0;
    for (size_t i = 0; i < files.n; i++) {
        struct stat st;
        int fd = l4h_fs_open(wdfd, files.v[i], O_RDONLY | O_NONBLOCK, 0, &e);
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            total = l4h_add_sat_i64(total, st.st_size);
            present++;
        }
        if (fd >= 0)
            close(fd);
    }
    if (files.too_many)
        snprintf(note, note_n, "not kept: more than %d output files", KEEP_MAX_FILES);
    else if (total > cap_bytes)
        snprintf(note, note_n, "not kept: the checked files are %.1f MiB, above keep_outputs_mb "
                 "= %" PRId64 " (raise it in the config)", total / 1048576.0, cap_bytes >> 20);
    else if (present == 0)
        snprintf(note, note_n, "none: no checked file was written");
    if (note[0])
        goto out;
    /* outputs dir: ours, beside the results file (never in the workspace) */
    if (l4h_mkdirs(dir, 0755, &e) != 0 || (od = l4h_fs_dir_open(dir, &e)) < 0) {
        snprintf(note, note_n, "not kept: %.100s", e.msg);
        goto out;
    }
    snprintf(tmp, sizeof tmp, ".tmp-%s-%ld", name, (long)getpid());
    l4h_fs_remove(od, tmp, NULL);
    if (mkdirat(od, tmp, 0755) != 0 || (kd = l4h_fs_open(od, tmp, O_RDONLY | O_DIRECTORY, 0, &e)) < 0) {
        snprintf(note, note_n, "not kept: cannot create %s in %.60s: %s", tmp, dir, strerror(errno));
        goto out;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "key", key);
    cJSON_AddNumberToObject(m, "attempt", attempt);
    cJSON *arr = cJSON_AddArrayToObject(m, "files");
    int64_t bytes = 0;
    int rc = 0;
    for (size_t i = 0; i < files.n && rc >= 0; i++)
        rc = keep_one(wdfd, kd, files.v[i], cap_bytes - bytes, arr, &bytes, &e);
    char *js = cJSON_PrintUnformatted(m);
    int kept = cJSON_GetArraySize(arr);
    cJSON_Delete(m);
    if (rc >= 0 && l4h_fs_write(kd, MANIFEST, js, strlen(js), 0644, &e) == 0 &&
        fsync(kd) == 0 && put_in_place(od, tmp, name, &e) == 0)
        snprintf(note, note_n, "kept %d files, %" PRId64 " bytes", kept, bytes);
    else
        snprintf(note, note_n, "not kept: %.110s", e.msg[0] ? e.msg : strerror(errno));
    free(js);
    if (strncmp(note, "kept", 4) != 0)
        l4h_fs_remove(od, tmp, NULL);
out:
    if (kd >= 0)
        close(kd);
    if (od >= 0)
        close(od);
    close(wdfd);
    list_free(&files);
}

size_t l4h_outputs_remove_partial(const char *dir)
{
    l4h_err e = {0};
    int od = l4h_fs_dir_open(dir, &e);
    if (od < 0)
        return 0;
    int fd = dup(od);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (!strncmp(de->d_name, ".tmp-", 5) || !strncmp(de->d_name, ".old-", 5))
            n += l4h_fs_remove(od, de->d_name, NULL) == 0;
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    close(od);
    return n;
}

/* ------------------------------------------------------ restoring */

/* Inflate in (gzip) into out: exactly `size` bytes whose SHA-256 is `sha`.
 * -1 (code 1, "damaged") when the stream is bad, longer or shorter, or its
 * hash differs; code 3 on I/O errors. */
static int gunzip_fd(int in, int out, int64_t size, const char *sha, l4h_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return l4h_err_set(err, L4H_EXIT_INFRA, "zlib: cannot start decompressing");
    static unsigned char ib[CHUNK], ob[CHUNK];
    l4h_sha256 sh;
    l4h_sha256_init(&sh);
    int64_t n = 0;
    int rc = 0, zr = Z_OK;
    while (!rc && zr != Z_STREAM_END) {
        ssize_t got = read(in, ib, sizeof ib);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = got < 0 ? l4h_err_set(err, L4H_EXIT_INFRA, "read: %s", strerror(errno))
                         : l4h_err_set(err, 1, "damaged: the compressed stream ends early");
            break;
        }
        z.next_in = ib;
        z.avail_in = (uInt)got;
        while (!rc && z.avail_in > 0 && zr != Z_STREAM_END) {
            z.next_out = ob;
            z.avail_out = sizeof ob;
            zr = inflate(&z, Z_NO_FLUSH);
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
                rc = l4h_err_set(err, 1, "damaged: not a gzip stream (%s)", z.msg ? z.msg : "?");
                break;
            }
            size_t have = sizeof ob - z.avail_out;
            if (n + (int64_t)have > size) {
                rc = l4h_err_set(err, 1, "damaged: decompresses to more than the %" PRId64
                                         " bytes the manifest records", size);
                break;
            }
            n += (int64_t)have;
            l4h_sha256_update(&sh, ob, have);
            if (have && write(out, ob, have) != (ssize_t)have)
                rc = l4h_err_set(err, L4H_EXIT_INFRA, "write: %s", strerror(errno));
        }
    }
    inflateEnd(&z);
    char hex[65];
    l4h_sha256_final(&sh, hex);
    if (!rc && (n != size || strcmp(hex, sha) != 0))
        rc = l4h_err_set(err, 1, "damaged: %" PRId64 " bytes with SHA-256 %.12s..., the manifest "
                                 "records %" PRId64 " bytes and %.12s...", n, hex, size, sha);
    return rc;
}

/* Read the manifest of the kept directory kd (bounded). cJSON or NULL. */
static cJSON *read_manifest(int kd, l4h_err *err)
{
    int fd = l4h_fs_open(kd, MANIFEST, O_RDONLY | O_NONBLOCK, 0, err);
    struct stat st;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MANIFEST_MAX) {
        close(fd);
        l4h_err_set(err, 1, "%s is not a regular file of at most %u bytes", MANIFEST, MANIFEST_MAX);
        return NULL;
    }
    char *buf = l4h_xmalloc((size_t)st.st_size + 1);
    ssize_t got = st.st_size ? check_pread(fd, buf, (size_t)st.st_size, 0) : 0;
    close(fd);
    cJSON *m = got == 0 ? cJSON_ParseWithLength(buf, (size_t)st.st_size) : NULL;
    free(buf);
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "files"))) {
        cJSON_Delete(m);
        l4h_err_set(err, 1, "%s does not parse", MANIFEST);
        return NULL;
    }
    return m;
}

/* Restore one manifest entry into dst. 0 or -1 with err. */
static int restore_one(int kd, int dst, const cJSON *f, int64_t *left, l4h_err *err)
{
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
    const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "sha256"));
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive(f, "size");
    if (!path || !*path || !sha || strlen(sha) != 64 || !cJSON_IsNumber(sz) ||
        sz->valuedouble < 0 || sz->valuedouble > (double)*left)
        return l4h_err_set(err, 1, "a manifest entry without path, size (within the cap) or "
                                   "sha256");
    int64_t size = (int64_t)sz->valuedouble;
    *left -= size;
    l4h_buf gz = {0};
    l4h_buf_printf(&gz, "%s.gz", path);
    int in = l4h_fs_open(kd, gz.data, O_RDONLY | O_NONBLOCK, 0, err), out = -1, rc = 0;
    struct stat st;
    if (in < 0)
        rc = -1;
    else if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
        rc = l4h_err_set(err, 1, "%s: not a plain regular file", gz.data);
    const char *slash = strrchr(path, '/');
    if (!rc && slash) {
        char *parent = l4h_xstrdup(path);
        parent[slash - path] = '\0';
        int pd = l4h_fs_mkdirs(dst, parent, 0755, err);
        free(parent);
        if (pd < 0)
            rc = -1;
        else
            close(pd);
    }
    if (!rc && (out = l4h_fs_open(dst, path, O_WRONLY | O_CREAT | O_EXCL, 0644, err)) < 0)
        rc = -1;
    if (!rc)
        rc = gunzip_fd(in, out, size, sha, err);
    if (!rc && fchmod(out, 0444) != 0)
        rc = l4h_err_set(err, L4H_EXIT_INFRA, "chmod: %s", strerror(errno));
    if (rc)
        l4h_err_prefix(err, "%s", path);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    l4h_buf_free(&gz);
    return rc;
}

int l4h_outputs_restore(const char *dir, const char *key, int attempt, int dst, int64_t cap_bytes,
                        l4h_err *err)
{
    char name[64];
    kept_name(key, attempt, name);
    int od = l4h_fs_dir_open(dir, err);
    if (od < 0)
        return l4h_err_set(err, 1, "no kept outputs: %s is missing", dir);
    int kd = l4h_fs_open(od, name, O_RDONLY | O_DIRECTORY, 0, err);
    close(od);
    if (kd < 0)
        return l4h_err_set(err, 1, "no kept outputs: %s/%s is missing or not a directory", dir,
                           name);
    cJSON *m = read_manifest(kd, err);
    int rc = m ? 0 : -1;
    const cJSON *mk = cJSON_GetObjectItemCaseSensitive(m, "attempt");
    if (m && (!cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "key")) ||
              strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "key")), key) ||
              !cJSON_IsNumber(mk) || mk->valuedouble != attempt))
        rc = l4h_err_set(err, 1, "%s names another task attempt than %s", MANIFEST, name);
    const cJSON *f;
    int64_t left = cap_bytes;
    if (m)
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(m, "files"))
            if (!rc)
                rc = restore_one(kd, dst, f, &left, err);
    cJSON_Delete(m);
    close(kd);
    if (rc && err && err->code == 2)
        err->code = 1; /* a manifest path that is absolute or climbs out: damaged */
    if (rc)
        l4h_err_prefix(err, "kept outputs %s/%s", dir, name);
    return rc;
}
