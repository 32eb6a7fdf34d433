/* manifest.c — the reference's manifest (agent.h: L4H_MANIFEST): the suite's
 * hash, every data file's and reference file's size and SHA-256, so a
 * campaign can refuse a reference built from another suite or other data. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent_internal.h"

typedef struct mlist {
    l4h_fentry *v;
    size_t n;
} mlist;

/* SHA-256 of an open file, streamed; closes fd. -1 with err (code 3). */
static int fd_sha256(int fd, const char *path, char out[65], l4h_err *err)
{
    l4h_sha256 s;
    l4h_sha256_init(&s);
    static char buf[1 << 20];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        l4h_sha256_update(&s, buf, (size_t)n);
    int bad = n < 0;
    close(fd);
    if (bad)
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: read error", path);
    l4h_sha256_final(&s, out);
    return 0;
}

/* SHA-256 of a file, streamed. -1 with err (code 3) when it cannot be read. */
static int file_sha256(const char *path, char out[65], l4h_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot open: %m", path);
    return fd_sha256(fd, path, out, err);
}

static void mlist_free(mlist *l)
{
    agent_fentries_free(l->v, l->n);
    memset(l, 0, sizeof *l);
}

/* Every regular file under root (sorted, hashed). -1 with err. */
static int scan(const char *root, mlist *l, l4h_err *err)
{
    l->n = agent_list_files(root, 0, &l->v, NULL);
    /* the manifest does not describe itself */
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].rel, L4H_MANIFEST)) {
            free(l->v[i].rel);
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof *l->v);
            l->n--;
            break;
        }
    for (size_t i = 0; i < l->n; i++) {
        char *p = l4h_path_join(root, l->v[i].rel);
        int rc = file_sha256(p, l->v[i].sha256, err);
        free(p);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static cJSON *files_json(const mlist *l)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < l->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", l->v[i].rel);
        cJSON_AddNumberToObject(o, "size", (double)l->v[i].size);
        cJSON_AddStringToObject(o, "sha256", l->v[i].sha256);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* Write <reference_dir>/manifest.json for the suite as it is now. */
int agent_manifest_write(const l4h_suite *suite, l4h_err *err)
{
    mlist data = {0}, ref = {0};
    if (scan(suite->data_dir, &data, err) != 0 || scan(suite->reference_dir, &ref, err) != 0) {
        mlist_free(&data);
        mlist_free(&ref);
        return -1;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "format", 1);
    cJSON_AddStringToObject(m, "suite", suite->name ? suite->name : "");
    cJSON_AddStringToObject(m, "suite_sha256", suite->sha256);
    char utc[32];
    l4h_utc_string(l4h_now(), utc);
    cJSON_AddStringToObject(m, "created_utc", utc);
    cJSON_AddItemToObject(m, "data", files_json(&data));
    cJSON_AddItemToObject(m, "reference", files_json(&ref));
    char *text = cJSON_Print(m);
    cJSON_Delete(m);
    mlist_free(&data);
    mlist_free(&ref);
    char *path = l4h_path_join(suite->reference_dir, L4H_MANIFEST);
    l4h_buf b = {0};
    l4h_buf_printf(&b, "%s\n", text);
    free(text);
    int rc = l4h_write_file(path, b.data, b.len, err);
    l4h_buf_free(&b);
    free(path);
    return rc;
}

/* Compare a manifest array with the files on disk; -1 (code 2) naming the
 * first difference. */
static int compare(const cJSON *arr, const mlist *disk, const char *what, const char *root,
                   l4h_err *err)
{
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr))
        return l4h_err_set(err, L4H_EXIT_USAGE, "the manifest has no \"%s\" list", what);
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(arr, i);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "path");
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o, "size");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "sha256");
        if (!cJSON_IsString(p) || !cJSON_IsNumber(sz) || !cJSON_IsString(h))
            return l4h_err_set(err, L4H_EXIT_USAGE, "the manifest's %s entry %d lacks path, size or sha256",
                               what, i + 1);
        const l4h_fentry *f = NULL;
        for (size_t k = 0; k < disk->n && !f; k++)
            if (!strcmp(disk->v[k].rel, p->valuestring))
                f = &disk->v[k];
        if (!f)
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s file %s/%s is in the manifest but missing", what,
                               root, p->valuestring);
        if (f->size != (long long)sz->valuedouble || strcmp(f->sha256, h->valuestring))
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "%s file %s/%s changed since the reference was built (size %lld, was %lld)",
                               what, root, f->rel, f->size, (long long)sz->valuedouble);
    }
    if ((size_t)n != disk->n)
        for (size_t k = 0; k < disk->n; k++) {
            int found = 0;
            for (int i = 0; i < n && !found; i++) {
                const cJSON *p = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, i), "path");
                found = cJSON_IsString(p) && !strcmp(p->valuestring, disk->v[k].rel);
            }
            if (!found)
                return l4h_err_set(err, L4H_EXIT_USAGE, "%s file %s/%s is not in the manifest", what,
                                   root, disk->v[k].rel);
        }
    return 0;
}

/* Does the manifest match the suite and data (agent.h)? */
int l4h_reference_verify(const l4h_suite *suite, l4h_err *err)
{
    char *path = l4h_path_join(suite->reference_dir, L4H_MANIFEST);
    char *text = NULL;
    size_t len = 0;
    l4h_err e = {0};
    if (l4h_read_file(path, &text, &len, &e) != 0) {
        l4h_err_set(err, L4H_EXIT_USAGE,
                    "%s: no reference manifest; build the reference first: llm4hep reference %s", path,
                    suite->path ? suite->path : "SUITE");
        free(path);
        return -1;
    }
    cJSON *m = cJSON_ParseWithLength(text, len);
    free(text);
    int rc = 0;
    mlist data = {0}, ref = {0};
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(m, "suite_sha256");
    if (!m || !cJSON_IsString(h)) {
        rc = l4h_err_set(err, L4H_EXIT_USAGE, "%s: not a reference manifest (expected JSON with suite_sha256)",
                         path);
    } else if (strcmp(h->valuestring, suite->sha256)) {
        rc = l4h_err_set(err, L4H_EXIT_USAGE,
                         "%s: built for another version of the suite (suite_sha256 %.12s..., the suite "
                         "is now %.12s...); rebuild it: llm4hep reference %s",
                         path, h->valuestring, suite->sha256, suite->path ? suite->path : "SUITE");
    } else if (scan(suite->data_dir, &data, err) != 0 || scan(suite->reference_dir, &ref, err) != 0) {
        rc = -1;
    } else if (compare(cJSON_GetObjectItemCaseSensitive(m, "data"), &data, "data", suite->data_dir, err) != 0 ||
               compare(cJSON_GetObjectItemCaseSensitive(m, "reference"), &ref, "reference",
                       suite->reference_dir, err) != 0) {
        rc = l4h_err_prefix(err, "%s", path);
    }
    cJSON_Delete(m);
    mlist_free(&data);
    mlist_free(&ref);
    free(path);
    return rc;
}

/* See agent.h. */
char *l4h_manifest_recorded_step(const char *dir)
{
    l4h_workspace w = {.host = (char *)dir};
    l4h_err e = {0};
    int fd = l4h_workspace_open(&w, "task.json", &e);
    if (fd < 0)
        return NULL;
    l4h_buf b = {0};
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 && b.len < (64u << 20))
        l4h_buf_add(&b, buf, (size_t)n);
    close(fd);
    cJSON *j = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
    l4h_buf_free(&b);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "step");
    char *out = cJSON_IsString(st) ? l4h_xstrdup(st->valuestring) : NULL;
    cJSON_Delete(j);
    return out;
}

/* 1 when DIR/rel is a regular file (no link followed) with the same bytes
 * as the reference's rel; 0 when not or absent; -1 with err when the
 * reference file cannot be read. */
static int unchanged_copy(const l4h_suite *suite, const char *dir, const char *rel, l4h_err *err)
{
    l4h_workspace w = {.host = (char *)dir};
    l4h_err e = {0};
    int fd = l4h_workspace_open(&w, rel, &e);
    if (fd < 0)
        return 0;
    char have[65], want[65];
    if (fd_sha256(fd, rel, have, &e) != 0)
        return 0;
    char *ref = l4h_path_join(suite->reference_dir, rel);
    int rc = file_sha256(ref, want, err);
    free(ref);
    if (rc != 0)
        return -1;
    return strcmp(have, want) == 0;
}

/* Is DIR's content the output of step's code? (agent.h) */
int l4h_manifest_foreign_outputs(const l4h_suite *suite, const l4h_step *step, const char *dir,
                                 char **why, l4h_err *err)
{
    *why = NULL;
    char *name = l4h_manifest_recorded_step(dir);
    if (!name)
        return 0;
    const l4h_step *ran = l4h_suite_step(suite, name);
    l4h_buf copies = {0};
    int rc = 0;
    /* the staged inputs of the task that left DIR, still as staged */
    for (size_t i = 0; ran && i < ran->n_stage && rc >= 0; i++) {
        int same = unchanged_copy(suite, dir, ran->stage[i], err);
        if (same < 0)
            rc = -1;
        else if (same)
            l4h_buf_printf(&copies, "%s%s", copies.len ? ", " : "", ran->stage[i]);
    }
    if (rc < 0) {
        l4h_buf_free(&copies);
        free(name);
        return -1;
    }
    l4h_buf msg = {0};
    if (strcmp(name, step->name) != 0) {
        l4h_buf_printf(&msg, "%s is the workspace of a task of step %s (its task.json), not of step %s: "
                             "no file in it was written by %s's code",
                       dir, name, step->name, step->name);
        if (copies.len)
            l4h_buf_printf(&msg, " (%s: inputs staged for %s from the reference, copied out unchanged)",
                           copies.data, name);
    } else {
        for (size_t i = 0; i < step->n_checks; i++) {
            const char *f = step->checks[i].file;
            if (!f || step->checks[i].kind == L4H_CHECK_COMMAND)
                continue;
            for (size_t k = 0; k < step->n_stage; k++)
                if (!strcmp(f, step->stage[k]) && unchanged_copy(suite, dir, f, err) == 1)
                    l4h_buf_printf(&msg, "%s%s is an input staged from the reference, left unchanged: "
                                         "not an output of step %s's code",
                                   msg.len ? "; " : "", f, step->name);
        }
    }
    l4h_buf_free(&copies);
    free(name);
    if (!msg.len)
        return 0;
    *why = l4h_buf_take(&msg);
    return 1;
}
