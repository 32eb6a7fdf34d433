/* store.c — the writer: l4h_store_open / begin_run / add / checkpoint /
 * close, l4h_store_annotate and store_rebuild. The journal is written
 * first (fsync'd); the HDF5 file follows at checkpoints (sync.c). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pieces.h"
#include "store_internal.h"

#define DEFER_MAX_S 60.0 /* a reader holding the file delays updates at most this long */
#define COPY_SHARE 20.0  /* ... and at least this many times what its last copy-aside took,
                            so copying the whole file costs at most 1/20 of the time */

struct l4h_store {
    char *h5path, *jpath;
    char campaign[256];
    int lock_fd, jfd;
    sync_state sync;
    int run;              /* current /runs row, 0 before begin_run */
    int64_t dropped;
    double last_update;   /* monotonic time of the last file update */
    char *meaning;        /* what this run's tasks are measured with (meaning_json) */
    int input_series;     /* 1, +1 at each resume that accepted changed inputs */
    char meaning_sha256[65];
    piece_seen pieces;    /* request pieces this process wrote to the journal (pieces.h) */
};

/* Is path one of the files that only list what to run (the config itself,
 * models_file, supervisors_file, coders_file)? Their changes extend or
 * shrink the plan; what they set that matters is in the meaning itself. */
static int plan_list_file(const l4h_config *cfg, const char *path)
{
    if (cfg->suite_path && !strcmp(path, cfg->suite_path))
        return 0;
    for (size_t i = 0; i < cfg->n_files; i++)
        if (!strcmp(cfg->files[i], path))
            return 1;
    return cfg->path && !strcmp(cfg->path, path);
}

/* A model's options that shape its answers, as JSON. */
static cJSON *model_json(const l4h_config *cfg, const char *name)
{
    cJSON *o = cJSON_CreateObject();
    l4h_model_resolved m;
    l4h_err e = {0};
    if (l4h_config_model(cfg, name, &m, &e) < 0)
        return o;
    static const char *const prov[] = {"http", "scripted", "replay"};
    cJSON_AddStringToObject(o, "endpoint", m.endpoint->name);
    cJSON_AddStringToObject(o, "provider", prov[m.endpoint->provider]);
    const l4h_opt_num *num[] = {&m.temperature, &m.max_tokens, &m.seed};
    static const char *const names[] = {"temperature", "max_tokens", "seed"};
    for (int i = 0; i < 3; i++) {
        if (num[i]->state == L4H_OPT_SET)
            cJSON_AddNumberToObject(o, names[i], num[i]->value);
        else if (num[i]->state == L4H_OPT_NULL)
            cJSON_AddNullToObject(o, names[i]);
    }
    /* the chat-API options, only when set: a config without them keeps its meaning */
    if (m.max_tokens_param && strcmp(m.max_tokens_param, "max_tokens"))
        cJSON_AddStringToObject(o, "max_tokens_param", m.max_tokens_param);
    if (m.reasoning_effort)
        cJSON_AddStringToObject(o, "reasoning_effort", m.reasoning_effort);
    if (m.extra_body)
        cJSON_AddStringToObject(o, "extra_body", m.extra_body);
    return o;
}

/* The meaning of a finished task as JSON and its SHA-256: campaign, suite
 * hash, max_iterations, task limits, each model's options ("models") and the
 * SHA-256 of every input file the tasks are measured with ("files": the
 * snapshot but the plan lists). Caller frees the JSON. */
static char *meaning_json(const l4h_config *cfg, const l4h_inputs *inputs, char sha[65])
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "campaign", cfg->name ? cfg->name : "");
    cJSON_AddStringToObject(m, "suite_sha256", cfg->suite ? cfg->suite->sha256 : "");
    cJSON_AddNumberToObject(m, "max_iterations", cfg->max_iterations);
    cJSON *l = cJSON_AddObjectToObject(m, "limits");
    cJSON_AddNumberToObject(l, "task_wall_s", cfg->limits.task_wall_s);
    cJSON_AddNumberToObject(l, "exec_timeout_s", cfg->limits.exec_timeout_s);
    cJSON_AddNumberToObject(l, "exec_memory_mb", (double)cfg->limits.exec_memory_mb);
    cJSON_AddNumberToObject(l, "workspace_mb", (double)cfg->limits.workspace_mb);
    cJSON_AddNumberToObject(l, "output_bytes", (double)cfg->limits.output_bytes);
    cJSON_AddNumberToObject(l, "task_tokens", (double)cfg->limits.task_tokens);
    if (inputs) {
        cJSON *models = cJSON_AddObjectToObject(m, "models");
        for (size_t i = 0; i < cfg->n_pairs; i++) {
            const char *two[2] = {cfg->pairs[i].supervisor, cfg->pairs[i].coder};
            for (int k = 0; k < 2; k++)
                if (!cJSON_GetObjectItemCaseSensitive(models, two[k]))
                    cJSON_AddItemToObject(models, two[k], model_json(cfg, two[k]));
        }
        cJSON *files = cJSON_AddObjectToObject(m, "files");
        for (size_t i = 0; i < l4h_inputs_count(inputs); i++) {
            const l4h_input_file *f = l4h_inputs_file(inputs, i);
            if (!plan_list_file(cfg, f->path))
                cJSON_AddStringToObject(files, f->path, f->sha256);
        }
    }
    char *s = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    l4h_sha256_hex(s, strlen(s), sha);
    return s;
}

/* Append to out a description of how meaning old differs from new, the
 * members "models" and "files" left out (see describe_inputs). prefix: NULL
 * at the top level (members new to the meaning are no change), else the
 * dotted path of the nested object ("" for none). */
static void describe_change(l4h_buf *out, const cJSON *old, const cJSON *new, const char *prefix)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, old)
    {
        if (!prefix && (!strcmp(o->string, "models") || !strcmp(o->string, "files") ||
                        (!strcmp(o->string, "suite_sha256") &&
                         cJSON_GetObjectItemCaseSensitive(old, "files") &&
                         cJSON_GetObjectItemCaseSensitive(new, "files"))))
            continue; /* the files say which part of the suite changed */
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(new, o->string);
        if (cJSON_IsObject(o) && cJSON_IsObject(n)) {
            describe_change(out, o, n, o->string);
            continue;
        }
        if (n && cJSON_Compare(o, n, 1))
            continue;
        char *a = cJSON_PrintUnformatted(o), *b = n ? cJSON_PrintUnformatted(n) : NULL;
        l4h_buf_printf(out, "%s%s%s%s was %s, now %s", out->len ? "; " : "", prefix ? prefix : "",
                       prefix && *prefix ? "." : "", o->string, a, b ? b : "absent");
        free(a);
        free(b);
    }
    if (!prefix)
        return; /* a top-level member new to this version of the meaning is no change */
    const cJSON *n;
    cJSON_ArrayForEach(n, new)
    {
        if (cJSON_GetObjectItemCaseSensitive(old, n->string))
            continue;
        char *b = cJSON_PrintUnformatted(n);
        l4h_buf_printf(out, "%s%s%s%s was absent, now %s", out->len ? "; " : "", prefix,
                       *prefix ? "." : "", n->string, b);
        free(b);
    }
}

/* Does one of the n argv words, resolved against the suite's directory,
 * name path? */
static int argv_names(const l4h_suite *s, char *const *argv, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        char *p = l4h_path_join(s->dir, argv[i]);
        int same = !strcmp(p, path);
        free(p);
        if (same)
            return 1;
    }
    return 0;
}

/* What a file is to the campaign, for messages: "the prompt of step double
 * (/path/double.txt)", "a check program of step fit (...)", "the tool
 * program 'significance' of step categorize (...)", "the suite (...)", or
 * the path. */
static void name_file(l4h_buf *out, const l4h_config *cfg, const char *path)
{
    const l4h_suite *s = cfg->suite;
    for (size_t i = 0; s && i < s->n_steps; i++) {
        const l4h_step *st = &s->steps[i];
        if (st->prompt_path && !strcmp(st->prompt_path, path)) {
            l4h_buf_printf(out, "the prompt of step %s (%s)", st->name, path);
            return;
        }
        for (size_t k = 0; k < st->n_checks; k++)
            if (st->checks[k].kind == L4H_CHECK_COMMAND &&
                argv_names(s, st->checks[k].run, st->checks[k].n_run, path)) {
                l4h_buf_printf(out, "a check program of step %s (%s)", st->name, path);
                return;
            }
        for (size_t k = 0; k < st->n_tools; k++)
            if (argv_names(s, st->tools[k].command, st->tools[k].n_command, path)) {
                l4h_buf_printf(out, "the tool program '%s' of step %s (%s)", st->tools[k].name,
                               st->name, path);
                return;
            }
    }
    if (s && s->path && !strcmp(s->path, path)) {
        l4h_buf_printf(out, "the suite (%s)", path);
        return;
    }
    for (size_t i = 0; i < cfg->n_pairs; i++) {
        const char *two[2] = {cfg->pairs[i].supervisor, cfg->pairs[i].coder};
        for (int k = 0; k < 2; k++) {
            l4h_model_resolved m;
            l4h_err e = {0};
            if (l4h_config_model(cfg, two[k], &m, &e) < 0 ||
                m.endpoint->provider != L4H_PROVIDER_SCRIPTED || !m.endpoint->dir)
                continue;
            size_t dl = strlen(m.endpoint->dir);
            if (strncmp(path, m.endpoint->dir, dl) != 0 || path[dl] != '/')
                continue;
            const char *rel = path + dl + 1;
            size_t ml = strlen(two[k]);
            int own = !strncmp(rel, two[k], ml) &&
                      (!strcmp(rel + ml, ".yml") || !strcmp(rel + ml, ".yaml"));
            if (own)
                l4h_buf_printf(out, "the script of scripted model %s (%s)", two[k], path);
            else
                l4h_buf_printf(out, "a scripted answer file of endpoint %s (%s)",
                               m.endpoint->name, path);
            return;
        }
    }
    l4h_buf_printf(out, "%s", path);
}

/* Changes of what finished tasks were measured with (into changed) and of
 * what only extends or shrinks the plan (into extended): models and input
 * files present in both meanings with different options or bytes are
 * changes; added or dropped ones are extensions. */
static void describe_inputs(l4h_buf *changed, l4h_buf *extended, const cJSON *old,
                            const cJSON *new, const l4h_config *cfg)
{
    const cJSON *om = cJSON_GetObjectItemCaseSensitive(old, "models");
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(new, "models");
    const cJSON *o;
    cJSON_ArrayForEach(o, om) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(nm, o->string);
        if (!n)
            continue;
        l4h_buf d = {0};
        describe_change(&d, o, n, "");
        if (d.len)
            l4h_buf_printf(changed, "%smodel %s: %s", changed->len ? "; " : "", o->string, d.data);
        l4h_buf_free(&d);
    }
    const cJSON *n;
    cJSON_ArrayForEach(n, nm)
        if (om && !cJSON_GetObjectItemCaseSensitive(om, n->string))
            l4h_buf_printf(extended, "%smodel %s added", extended->len ? "; " : "", n->string);
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(old, "files");
    const cJSON *nf = cJSON_GetObjectItemCaseSensitive(new, "files");
    cJSON_ArrayForEach(o, of) {
        n = cJSON_GetObjectItemCaseSensitive(nf, o->string);
        if (!n || !cJSON_IsString(o) || !cJSON_IsString(n) ||
            !strcmp(o->valuestring, n->valuestring))
            continue;
        l4h_buf_printf(changed, "%s", changed->len ? "; " : "");
        name_file(changed, cfg, o->string);
        l4h_buf_printf(changed, " changed (sha256 %.12s... -> %.12s...)", o->valuestring,
                       n->valuestring);
    }
    cJSON_ArrayForEach(n, nf)
        if (of && !cJSON_GetObjectItemCaseSensitive(of, n->string))
            l4h_buf_printf(extended, "%s%s added", extended->len ? "; " : "", n->string);
}

/* Compare the meaning the finished tasks were measured with (the last run's,
 * or the journal header's for a journal without one) with cfg's and the
 * snapshot's. A change is -1 (code 2) unless accept (then a warning); an
 * extension (a model, step or trial added) is a note. */
static int check_meaning(l4h_store *st, const char *header, const l4h_config *cfg,
                         const l4h_inputs *inputs, int accept, l4h_err *err)
{
    char sha[65];
    char *now = meaning_json(cfg, inputs, sha);
    cJSON *h = cJSON_Parse(header);
    cJSON *last = st->sync.last_run_json ? cJSON_Parse(st->sync.last_run_json) : NULL;
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(last, "meaning");
    int run = (int)st->sync.n_runs;
    const cJSON *ser = cJSON_GetObjectItemCaseSensitive(last, "input_series");
    st->input_series = cJSON_IsNumber(ser) && ser->valuedouble >= 1 ? (int)ser->valuedouble : 1;
    if (!cJSON_IsObject(base)) {
        base = cJSON_GetObjectItemCaseSensitive(h, "meaning");
        run = 0;
    }
    int rc = 0;
    cJSON *n = cJSON_Parse(now);
    l4h_buf d = {0}, ext = {0};
    describe_change(&d, base, n, NULL);
    describe_inputs(&d, &ext, base, n, cfg);
    char since[64] = "it began";
    if (run > 0)
        snprintf(since, sizeof since, "run %d", run);
    if (ext.len)
        fprintf(stderr, "llm4hep sweep: since %s: %s (the plan grows; finished tasks are kept)\n",
                since, ext.data);
    if (d.len && st->sync.n_tasks > 0 && !accept) {
        rc = l4h_err_set(err, L4H_EXIT_USAGE,
                         "%s: what finished tasks were measured with changed since %s: %s. "
                         "Finished and new tasks would not be comparable: restore the inputs, "
                         "start over with --fresh (the old files are kept aside), write to "
                         "another output, or pass --accept-changed-inputs to go on with the "
                         "changed inputs (the report then shows the runs apart)",
                         st->jpath, since, d.data);
    } else if (d.len && st->sync.n_tasks > 0) {
        st->input_series++;
        fprintf(stderr, "llm4hep sweep: --accept-changed-inputs: going on with changed inputs "
                        "since %s: %s; the report shows the runs apart\n", since, d.data);
    }
    l4h_buf_free(&d);
    l4h_buf_free(&ext);
    cJSON_Delete(n);
    cJSON_Delete(h);
    cJSON_Delete(last);
    free(now);
    return rc;
}

/* Journal callback that keeps the first record and stops. */
static int first_cb(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                    void *ctx, l4h_err *err)
{
    (void)len, (void)offset, (void)index;
    char **out = ctx;
    if (type != L4H_J_HEADER)
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "the journal's first record is '%c', not the header: not a journal "
                           "of llm4hep, or damaged", type);
    *out = l4h_xstrdup(payload);
    l4h_err_set(err, 0, "stop");
    return -1;
}

/* The journal's header payload (NULL when there is none). -1 on a damaged
 * journal. */
static int read_header(const char *jpath, char **out, l4h_err *err)
{
    *out = NULL;
    l4h_err e2 = {0};
    if (l4h_journal_read(jpath, 0, first_cb, out, NULL, NULL, &e2) != 0 && e2.code != 0) {
        if (err)
            *err = e2;
        return -1;
    }
    return 0;
}

#define RENAME_NOREPLACE_FLAG 1 /* linux/fs.h's RENAME_NOREPLACE, without _GNU_SOURCE */

/* Rename from to to unless to exists (never replaces a file): renameat2
 * with RENAME_NOREPLACE, or where the file system lacks it, link + unlink
 * (link refuses an existing name too). 0, or -1 with errno (EEXIST: taken). */
static int rename_noreplace(const char *from, const char *to)
{
    if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE_FLAG) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return -1;
    if (link(from, to) != 0)
        return -1;
    return unlink(from);
}

/* Move path aside as path.STAMP, or path.STAMP.2, .3 ... when that name is
 * taken (two --fresh in one second, or a file the user made): a kept file
 * is never overwritten. *n (0 = start with no number) is the number tried
 * first and gets the one used, so the journal takes its results file's
 * name. A missing path is fine (0, nothing moved). -1 (code 3) on failure. */
static int move_aside(const char *path, const char *stamp, int *n, l4h_err *err)
{
    if (access(path, F_OK) != 0)
        return 0;
    for (int tries = 0; tries < 10000; tries++, (*n)++) {
        l4h_buf b = {0};
        if (*n < 2)
            l4h_buf_printf(&b, "%s.%s", path, stamp);
        else
            l4h_buf_printf(&b, "%s.%s.%d", path, stamp, *n);
        char *dst = l4h_buf_take(&b);
        if (*n == 1) { /* ".STAMP" and ".STAMP.1" would be the same try: skip to .2 */
            free(dst);
            continue;
        }
        if (rename_noreplace(path, dst) == 0) {
            fprintf(stderr, "llm4hep: --fresh: kept the old %s as %s\n", path, dst);
            free(dst);
            return 0;
        }
        int e = errno;
        if (e != EEXIST) {
            l4h_err_set(err, L4H_EXIT_INFRA, "cannot move %s aside to %s: %s", path, dst,
                        strerror(e));
            free(dst);
            return -1;
        }
        free(dst);
    }
    return l4h_err_set(err, L4H_EXIT_INFRA,
                       "cannot move %s aside: %s.%s and 10000 numbered names after it are taken",
                       path, path, stamp);
}

/* Remove temp files that a writer killed mid-update left beside h5path
 * (<name>.rebuild-PID.tmp, <name>.update-PID.tmp). Call with the lock held. */
static void remove_stale_temps(const char *h5path)
{
    char *dir = l4h_path_dir(h5path);
    const char *base = strrchr(h5path, '/') ? strrchr(h5path, '/') + 1 : h5path;
    size_t bl = strlen(base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t nl = strlen(n);
        if (nl <= bl + 4 || strncmp(n, base, bl) != 0 || strcmp(n + nl - 4, ".tmp") != 0 ||
            (strncmp(n + bl, ".rebuild-", 9) != 0 && strncmp(n + bl, ".update-", 8) != 0))
            continue;
        char *p = l4h_path_join(dir, n);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    free(dir);
}

/* Free everything the store holds (not the lock's release semantics). */
static void store_free(l4h_store *st)
{
    if (!st)
        return;
    if (st->jfd >= 0)
        close(st->jfd);
    store_lock_release(st->lock_fd);
    store_sync_state_free(&st->sync);
    store_pieces_seen_free(&st->pieces);
    free(st->h5path);
    free(st->jpath);
    free(st->meaning);
    free(st);
}

int l4h_store_open(const l4h_config *cfg, const l4h_inputs *inputs, int flags, l4h_store **out,
                   l4h_err *err)
{
    int fresh = (flags & L4H_STORE_FRESH) != 0;
    *out = NULL;
    if (!cfg || !cfg->output || !cfg->output[0])
        return l4h_err_set(err, L4H_EXIT_USAGE, "the config has no `output` (results file)");
    l4h_store *st = l4h_xcalloc(1, sizeof *st);
    st->jfd = -1;
    st->h5path = l4h_xstrdup(cfg->output);
    st->jpath = store_journal_path(cfg->output);
    snprintf(st->campaign, sizeof st->campaign, "%s", cfg->name ? cfg->name : "");
    char *dir = l4h_path_dir(cfg->output);
    int rc = l4h_mkdirs(dir, 0755, err);
    free(dir);
    if (rc)
        goto fail;
    st->lock_fd = store_lock_take(st->h5path, "opening it for another campaign", err);
    if (st->lock_fd < 0)
        goto fail;
    remove_stale_temps(st->h5path);
    if (fresh) {
        char stamp[32];
        time_t t = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&t));
        int n = 0;
        /* the kept outputs (keep_outputs: <output>.outputs) go with their file */
        l4h_buf kb = {0};
        l4h_buf_printf(&kb, "%s.outputs", st->h5path);
        int moved = move_aside(st->h5path, stamp, &n, err) || move_aside(st->jpath, stamp, &n, err) ||
                    move_aside(kb.data, stamp, &n, err);
        l4h_buf_free(&kb);
        if (moved)
            goto fail;
    }
    if (access(st->h5path, F_OK) == 0 && access(st->jpath, F_OK) != 0) {
        l4h_err_set(err, L4H_EXIT_USAGE,
                    "%s exists but its journal %s is missing (the journal is the truth): "
                    "restore it, or start over with --fresh (the old file is kept aside)",
                    st->h5path, st->jpath);
        goto fail;
    }
    char *header = NULL;
    if (read_header(st->jpath, &header, err) != 0)
        goto fail;
    st->jfd = open(st->jpath, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (st->jfd < 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "cannot open %s: %s", st->jpath, strerror(errno));
        free(header);
        goto fail;
    }
    st->meaning = meaning_json(cfg, inputs, st->meaning_sha256);
    st->input_series = 1;
    if (!header) {
        /* A new campaign (or a journal holding only a torn first record). */
        if (ftruncate(st->jfd, 0) != 0) {
            l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", st->jpath, strerror(errno));
            goto fail;
        }
        char created[32];
        const char *m = st->meaning, *sha = st->meaning_sha256;
        l4h_utc_string(l4h_now(), created);
        cJSON *h = cJSON_CreateObject();
        cJSON_AddNumberToObject(h, "format_version", L4H_FORMAT_VERSION);
        cJSON_AddStringToObject(h, "campaign", cfg->name ? cfg->name : "");
        cJSON_AddStringToObject(h, "created_utc", created);
        cJSON_AddStringToObject(h, "config_sha256", cfg->sha256);
        cJSON_AddStringToObject(h, "suite_sha256", cfg->suite ? cfg->suite->sha256 : "");
        cJSON_AddStringToObject(h, "meaning_sha256", sha);
        cJSON_AddItemToObject(h, "meaning", cJSON_Parse(m));
        char *js = cJSON_PrintUnformatted(h);
        cJSON_Delete(h);
        rc = l4h_journal_append(st->jfd, L4H_J_HEADER, js, strlen(js), err);
        free(js);
        if (rc)
            goto fail;
        if (access(st->h5path, F_OK) == 0) { /* an old file without journal records */
            l4h_err_set(err, L4H_EXIT_USAGE,
                        "%s exists but its journal %s holds no records: start over with --fresh",
                        st->h5path, st->jpath);
            goto fail;
        }
    }
    if (store_sync_file(st->h5path, st->jpath, 0, &st->sync, &st->dropped, err) != 0) {
        free(header);
        goto fail;
    }
    store_pieces_preload(st->h5path, &st->sync.pieces);
    if (header) {
        rc = check_meaning(st, header, cfg, inputs, (flags & L4H_STORE_ACCEPT_CHANGED) != 0, err);
        free(header);
        if (rc)
            goto fail;
    }
    if (st->dropped > 0) {
        if (ftruncate(st->jfd, st->sync.end) != 0) {
            l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot drop the torn last record: %s",
                        st->jpath, strerror(errno));
            goto fail;
        }
        fprintf(stderr,
                "llm4hep: %s: dropped a torn last record (%" PRId64 " bytes, written when the "
                "previous run was killed); the task it held will be redone\n",
                st->jpath, st->dropped);
    }
    l4h_secrets_collect(cfg, 0);
    st->last_update = l4h_monotonic();
    *out = st;
    return 0;
fail:
    store_free(st);
    return -1;
}

int l4h_store_key_state(const l4h_store *st, const char *key, l4h_key_state *out)
{
    memset(out, 0, sizeof *out);
    key_entry *k = store_keymap_get((key_map *)&st->sync.keys, key, 0);
    if (k) {
        out->attempts = k->attempts;
        out->infra_attempts = k->infra_attempts;
        out->last_status = k->last_status;
        out->measured_wall_s = k->measured_wall_s;
    }
    return 0;
}

/* Append a record and advance the journal counters. */
static int journal_add(l4h_store *st, int type, const char *js, l4h_err *err)
{
    size_t len = strlen(js);
    if (l4h_journal_append(st->jfd, type, js, len, err) != 0)
        return l4h_err_prefix(err, "%s", st->jpath);
    off_t end = lseek(st->jfd, 0, SEEK_END); /* a record may be stored compressed */
    st->sync.end = end >= 0 ? (int64_t)end : st->sync.end + 16 + (int64_t)len + 1;
    st->sync.n_records++;
    return 0;
}

/* See store_internal.h. */
cJSON *store_run_json(const l4h_run_info *info)
{
    char *cfg_text = l4h_xstrdup(info->config_text);
    l4h_secrets_redact(&cfg_text);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "run", info->run);
    cJSON_AddNumberToObject(o, "started_utc", info->started_utc);
    cJSON_AddStringToObject(o, "hosts", info->hosts ? info->hosts : "");
    cJSON_AddStringToObject(o, "llm4hep_version", info->llm4hep_version ? info->llm4hep_version : "");
    cJSON_AddStringToObject(o, "git_commit", info->git_commit ? info->git_commit : "");
    cJSON_AddStringToObject(o, "config_text", cfg_text ? cfg_text : "");
    free(cfg_text);
    return o;
}

int l4h_store_begin_run(l4h_store *st, l4h_run_info *info, l4h_err *err)
{
    info->run = (int)st->sync.n_runs + 1;
    info->exit_code = -1;
    if (info->started_utc == 0)
        info->started_utc = l4h_now();
    char sha[65];
    l4h_sha256_hex(info->config_text ? info->config_text : "",
                   info->config_text ? strlen(info->config_text) : 0, sha);
    char *pk = l4h_xstrdup(info->python_packages);
    l4h_secrets_redact(&pk);
    cJSON *o = store_run_json(info);
    cJSON_AddStringToObject(o, "slurm_job_id", info->slurm_job_id);
    cJSON_AddNumberToObject(o, "slurm_restart_count", info->slurm_restart_count);
    cJSON_AddNumberToObject(o, "ranks", info->ranks);
    cJSON_AddStringToObject(o, "config_sha256", info->config_text ? sha : "");
    cJSON_AddStringToObject(o, "python_packages", pk ? pk : "");
    free(pk);
    cJSON_AddStringToObject(o, "meaning_sha256", st->meaning_sha256);
    cJSON_AddNumberToObject(o, "input_series", st->input_series);
    cJSON_AddItemToObject(o, "meaning", cJSON_Parse(st->meaning ? st->meaning : "{}"));
    if (info->inputs) {
        char isha[65];
        l4h_inputs_sha256(info->inputs, isha);
        cJSON_AddStringToObject(o, "inputs_sha256", isha);
        cJSON *arr = cJSON_AddArrayToObject(o, "inputs");
        for (size_t i = 0; i < l4h_inputs_count(info->inputs); i++) {
            const l4h_input_file *f = l4h_inputs_file(info->inputs, i);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "path", f->path);
            cJSON_AddStringToObject(e, "sha256", f->sha256);
            cJSON_AddNumberToObject(e, "size", (double)f->len);
            /* the bytes as the user wrote them, but never a secret we hold */
            char *t = l4h_xstrdup(f->data);
            l4h_secrets_redact(&t);
            cJSON_AddStringToObject(e, "text", t);
            free(t);
            cJSON_AddItemToArray(arr, e);
        }
    }
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int rc = journal_add(st, L4H_J_RUN_BEGIN, js, err);
    free(js);
    if (rc)
        return -1;
    st->sync.n_runs++;
    st->run = info->run;
    return 0;
}

int l4h_store_add(l4h_store *st, l4h_task_rec *rec, l4h_err *err)
{
    if (strlen(rec->key) != 16)
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "store: a task record without its 16-character key (step %s, trial %d)",
                           rec->step ? rec->step : "?", rec->trial);
    if (l4h_status_name(rec->status) == NULL)
        return l4h_err_set(err, L4H_EXIT_INFRA, "store: task %s has an invalid status %d",
                           rec->key, (int)rec->status);
    store_redact_rec(rec);
    if (!rec->campaign)
        rec->campaign = l4h_xstrdup(st->campaign);
    if (rec->run == 0)
        rec->run = st->run;
    key_entry *k = store_keymap_get(&st->sync.keys, rec->key, 1);
    rec->task_id = st->sync.n_tasks + 1;
    rec->attempt = k->attempts + 1;
    rec->final = 1;
    /* Each request as the list of its pieces; the record carries the pieces
     * this process has not written yet, so what it names is durable with it. */
    unsigned char *fresh = NULL;
    size_t n_fresh = 0;
    char *js = store_pieces_task_json(&st->pieces, rec, &fresh, &n_fresh);
    int rc = journal_add(st, L4H_J_TASK, js, err);
    free(js);
    if (!rc)
        store_pieces_seen_commit(&st->pieces, fresh, n_fresh);
    free(fresh);
    if (rc) {
        rec->task_id = -1;
        return -1;
    }
    st->sync.n_tasks++;
    store_key_note(k, rec->status, rec->wall_s, rec->task_id);
    return 0;
}

/* Update the file; force: never defer for a reader (copy + rename). */
static int checkpoint(l4h_store *st, int force, l4h_err *err)
{
    double now = l4h_monotonic();
    int deferred = 0;
    double wait = DEFER_MAX_S > COPY_SHARE * st->sync.copy_s ? DEFER_MAX_S
                                                              : COPY_SHARE * st->sync.copy_s;
    int allow_copy = force || now - st->last_update > wait;
    if (store_update_file(st->h5path, st->jpath, &st->sync, allow_copy, &deferred, err) != 0)
        return -1;
    if (!deferred)
        st->last_update = now;
    return 0;
}

int l4h_store_checkpoint(l4h_store *st, l4h_err *err)
{
    return checkpoint(st, 0, err);
}

int l4h_store_close(l4h_store *st, int exit_code, l4h_err *err)
{
    if (!st)
        return 0;
    int rc = 0;
    if (st->run > 0) {
        char js[128];
        snprintf(js, sizeof js, "{\"run\":%d,\"ended_utc\":%.17g,\"exit_code\":%d}", st->run,
                 l4h_now(), exit_code);
        rc = journal_add(st, L4H_J_RUN_END, js, err);
    }
    if (!rc)
        rc = checkpoint(st, 1, err);
    store_free(st);
    return rc;
}

int64_t store_dropped_bytes(const l4h_store *st)
{
    return st->dropped;
}

int64_t l4h_store_n_tasks(const l4h_store *st)
{
    return st->sync.n_tasks;
}

int l4h_store_annotate(const char *h5path, const l4h_annotation *a, l4h_err *err)
{
    int lock = store_lock_take(h5path, "annotating", err);
    if (lock < 0)
        return -1;
    char *jpath = store_journal_path(h5path);
    sync_state st;
    int rc = -1;
    if (access(jpath, F_OK) != 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s has no journal (%s): cannot annotate it", h5path,
                    jpath);
        goto out_nostate;
    }
    /* the counts only: annotating task after task costs no journal re-read */
    if (store_sync_counts(h5path, jpath, &st, err) != 0)
        goto out_nostate;
    if (a->task_id < 1 || a->task_id > st.n_tasks) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: no task %" PRId64 " (tasks are 1..%" PRId64 ")",
                    h5path, a->task_id, st.n_tasks);
        goto out;
    }
    char *text = l4h_xstrdup(a->text);
    l4h_secrets_redact(&text);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "task_id", (double)a->task_id);
    cJSON_AddStringToObject(o, "source", a->source ? a->source : "");
    cJSON_AddStringToObject(o, "error_category", a->error_category);
    cJSON_AddStringToObject(o, "text", text ? text : "");
    cJSON_AddNumberToObject(o, "created_utc", l4h_now());
    free(text);
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int jfd = open(jpath, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (jfd < 0) {
        l4h_err_set(err, L4H_EXIT_INFRA, "cannot open %s: %s", jpath, strerror(errno));
        free(js);
        goto out;
    }
    /* Drop a torn tail first, so the new record follows a whole one. */
    if (ftruncate(jfd, st.end) != 0 || l4h_journal_append(jfd, L4H_J_ANNOTATION, js, strlen(js), err) != 0) {
        if (err && !err->msg[0])
            l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", jpath, strerror(errno));
        close(jfd);
        free(js);
        goto out;
    }
    close(jfd);
    st.end += 16 + (int64_t)strlen(js) + 1;
    st.n_records++;
    free(js);
    rc = store_update_file(h5path, jpath, &st, 1, NULL, err);
out:
    store_sync_state_free(&st);
out_nostate:
    free(jpath);
    store_lock_release(lock);
    return rc;
}

int store_rebuild(const char *h5path, l4h_err *err)
{
    int lock = store_lock_take(h5path, "rebuilding", err);
    if (lock < 0)
        return -1;
    char *jpath = store_journal_path(h5path);
    sync_state st;
    int rc = store_sync_file(h5path, jpath, 1, &st, NULL, err);
    if (rc == 0)
        store_sync_state_free(&st);
    free(jpath);
    store_lock_release(lock);
    return rc;
}
