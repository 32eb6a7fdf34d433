/* record.c — statuses, the task record and its JSON form (journal, MPI wire).
 *
 * JSON form: one object per task attempt with the l4h_task_rec field names,
 * "status" as its name ("success", ...), and arrays "calls", "execs",
 * "checks" of objects with their struct's field names. Conventions, so that
 * l4h_rec_from_json(l4h_rec_to_json(r)) == r exactly:
 *   - doubles are printed with %.17g (exact round trip, -0 kept); NaN and
 *     ±Inf, which JSON lacks, are the strings "NaN", "Infinity", "-Infinity";
 *   - int64 values beyond ±2^53 (not exact as JSON numbers in most readers)
 *     are decimal strings; the reader accepts a number or a string;
 *   - a NULL string is null, "" is ""; strings may hold any bytes but NUL
 *     (bytes >= 0x80 pass through unchanged, so the text need not be UTF-8);
 *   - a missing field reads as zero / NULL; a field of the wrong type, an
 *     unknown status or a fixed-size text too long is malformed (-1). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"

/* Every status: its name and whether it is infrastructure (error_*,
 * interrupted: decided on the harness's own evidence only, redone, left out
 * of the rates). The one list: the report, `report --format json`
 * ("status_kinds") and through it scripts/llm4hep.py derive theirs from it. */
static const struct {
    const char *name;
    int infra;
} statuses[L4H_STATUS_COUNT] = {
    [L4H_STATUS_SUCCESS] = {"success", 0},
    [L4H_STATUS_FAILED_VALIDATION] = {"failed_validation", 0},
    [L4H_STATUS_FAILED_EXECUTION] = {"failed_execution", 0},
    [L4H_STATUS_FAILED_NO_CODE] = {"failed_no_code", 0},
    [L4H_STATUS_FAILED_LIMIT] = {"failed_limit", 0},
    [L4H_STATUS_FAILED_REQUEST] = {"failed_request", 0},
    [L4H_STATUS_ERROR_API] = {"error_api", 1},
    [L4H_STATUS_ERROR_SANDBOX] = {"error_sandbox", 1},
    [L4H_STATUS_ERROR_INTERNAL] = {"error_internal", 1},
    [L4H_STATUS_INTERRUPTED] = {"interrupted", 1},
};

/* The status's name, or NULL when out of range. */
const char *l4h_status_name(l4h_status s)
{
    if ((int)s < 0 || s >= L4H_STATUS_COUNT)
        return NULL;
    return statuses[s].name;
}

/* The status called name, or -1. */
int l4h_status_parse(const char *name)
{
    for (int i = 0; name && i < L4H_STATUS_COUNT; i++)
        if (!strcmp(name, statuses[i].name))
            return i;
    return -1;
}

/* 1 for the infrastructure statuses (error_*, interrupted). */
int l4h_status_is_infra(l4h_status s)
{
    return (int)s >= 0 && s < L4H_STATUS_COUNT && statuses[s].infra;
}

/* Grow an array of n elements of size sz by one zeroed element; return it. */
static void *add_zeroed(void **arr, size_t *n, size_t sz)
{
    *arr = l4h_xrealloc(*arr, (*n + 1) * sz);
    char *e = (char *)*arr + *n * sz;
    memset(e, 0, sz);
    (*n)++;
    return e;
}

l4h_call_rec *l4h_rec_add_call(l4h_task_rec *rec)
{
    return add_zeroed((void **)&rec->calls, &rec->n_calls, sizeof(l4h_call_rec));
}

l4h_exec_rec *l4h_rec_add_exec(l4h_task_rec *rec)
{
    return add_zeroed((void **)&rec->execs, &rec->n_execs, sizeof(l4h_exec_rec));
}

l4h_check_rec *l4h_rec_add_check(l4h_task_rec *rec)
{
    return add_zeroed((void **)&rec->checks, &rec->n_checks, sizeof(l4h_check_rec));
}

/* ------------------------------------------------- field tables (one per struct) */

typedef enum { F_STR, F_FIX, F_INT, F_I64, F_DBL } ftype;
typedef struct field {
    const char *name;
    ftype type;
    size_t off;
    size_t size; /* F_FIX: the array's size */
} field;

#define FS(T, m) {#m, F_STR, offsetof(T, m), 0}
#define FF(T, m) {#m, F_FIX, offsetof(T, m), sizeof(((T *)0)->m)}
#define FI(T, m) {#m, F_INT, offsetof(T, m), 0}
#define FL(T, m) {#m, F_I64, offsetof(T, m), 0}
#define FD(T, m) {#m, F_DBL, offsetof(T, m), 0}

static const field task_fields[] = {
    FL(l4h_task_rec, task_id), FF(l4h_task_rec, key), FS(l4h_task_rec, campaign),
    FS(l4h_task_rec, supervisor), FS(l4h_task_rec, coder), FS(l4h_task_rec, step),
    FI(l4h_task_rec, trial), FI(l4h_task_rec, attempt), FI(l4h_task_rec, final),
    FI(l4h_task_rec, success), FI(l4h_task_rec, approved), FI(l4h_task_rec, iterations),
    FI(l4h_task_rec, api_calls), FL(l4h_task_rec, prompt_tokens),
    FL(l4h_task_rec, completion_tokens), FD(l4h_task_rec, cost_usd), FD(l4h_task_rec, wall_s),
    FD(l4h_task_rec, llm_s), FD(l4h_task_rec, exec_s), FD(l4h_task_rec, started_utc),
    FI(l4h_task_rec, run), FI(l4h_task_rec, rank), FS(l4h_task_rec, host),
    FF(l4h_task_rec, error_category), FS(l4h_task_rec, error_summary),
    FF(l4h_task_rec, outputs)};

static const field call_fields[] = {
    FI(l4h_call_rec, iteration), FF(l4h_call_rec, agent), FI(l4h_call_rec, call),
    FS(l4h_call_rec, model), FI(l4h_call_rec, http_status), FI(l4h_call_rec, attempts),
    FD(l4h_call_rec, latency_s), FL(l4h_call_rec, prompt_tokens),
    FL(l4h_call_rec, completion_tokens), FL(l4h_call_rec, cached_prompt_tokens),
    FL(l4h_call_rec, reasoning_tokens), FD(l4h_call_rec, cost_usd),
    FF(l4h_call_rec, finish_reason), FF(l4h_call_rec, served_model),
    FF(l4h_call_rec, system_fingerprint), FF(l4h_call_rec, served_model_id), FS(l4h_call_rec, request), FS(l4h_call_rec, response),
    FS(l4h_call_rec, attempt_log)};

static const field exec_fields[] = {
    FI(l4h_exec_rec, iteration), FF(l4h_exec_rec, kind), FI(l4h_exec_rec, exit_code),
    FI(l4h_exec_rec, signal), FI(l4h_exec_rec, timed_out), FD(l4h_exec_rec, wall_s),
    FL(l4h_exec_rec, max_rss_kb), FF(l4h_exec_rec, isolation), FS(l4h_exec_rec, code),
    FS(l4h_exec_rec, stdout_text), FS(l4h_exec_rec, stderr_text), FI(l4h_exec_rec, truncated),
    FF(l4h_exec_rec, limit)};

static const field check_fields[] = {
    FS(l4h_check_rec, check), FI(l4h_check_rec, passed), FL(l4h_check_rec, n_bad),
    FD(l4h_check_rec, max_rel_diff), FS(l4h_check_rec, report), FI(l4h_check_rec, run)};

#define NF(a) (sizeof a / sizeof a[0])

/* Free the F_STR fields of one struct. */
static void free_fields(void *obj, const field *f, size_t nf)
{
    for (size_t i = 0; i < nf; i++)
        if (f[i].type == F_STR) {
            char **p = (char **)((char *)obj + f[i].off);
            free(*p);
            *p = NULL;
        }
}

/* Free everything the record owns and zero it. NULL is fine. */
void l4h_rec_clear(l4h_task_rec *rec)
{
    if (!rec)
        return;
    free_fields(rec, task_fields, NF(task_fields));
    for (size_t i = 0; i < rec->n_calls; i++)
        free_fields(&rec->calls[i], call_fields, NF(call_fields));
    for (size_t i = 0; i < rec->n_execs; i++)
        free_fields(&rec->execs[i], exec_fields, NF(exec_fields));
    for (size_t i = 0; i < rec->n_checks; i++)
        free_fields(&rec->checks[i], check_fields, NF(check_fields));
    free(rec->calls);
    free(rec->execs);
    free(rec->checks);
    memset(rec, 0, sizeof *rec);
}

/* ------------------------------------------------------------------ writing */

/* A JSON number that reads back as exactly d, or the NaN/Inf strings. */
static cJSON *double_json(double d)
{
    if (isnan(d))
        return cJSON_CreateString("NaN");
    if (isinf(d))
        return cJSON_CreateString(d > 0 ? "Infinity" : "-Infinity");
    char s[40];
    snprintf(s, sizeof s, "%.17g", d);
    return cJSON_CreateRaw(s);
}

#define EXACT_I64 9007199254740992LL /* 2^53 */

/* An int64 as a number when doubles hold it exactly, else a decimal string. */
static cJSON *i64_json(int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, v);
    if (v > EXACT_I64 || v < -EXACT_I64)
        return cJSON_CreateString(s);
    return cJSON_CreateRaw(s);
}

/* Add every field of obj to the JSON object o. Aborts on out of memory. */
static void fields_to_json(cJSON *o, const void *obj, const field *f, size_t nf)
{
    for (size_t i = 0; i < nf; i++) {
        const char *p = (const char *)obj + f[i].off;
        cJSON *v = NULL;
        switch (f[i].type) {
        case F_STR: {
            const char *s = *(char *const *)p;
            v = s ? cJSON_CreateString(s) : cJSON_CreateNull();
            break;
        }
        case F_FIX:
            v = cJSON_CreateString(strnlen(p, f[i].size) < f[i].size ? p : "");
            break;
        case F_INT:
            v = i64_json(*(const int *)p);
            break;
        case F_I64:
            v = i64_json(*(const int64_t *)p);
            break;
        case F_DBL:
            v = double_json(*(const double *)p);
            break;
        }
        if (!v || !cJSON_AddItemToObject(o, f[i].name, v)) {
            fprintf(stderr, "llm4hep: out of memory writing a record\n");
            abort();
        }
    }
}

/* An array of n structs of size sz as JSON objects. */
static cJSON *array_json(const void *arr, size_t n, size_t sz, const field *f, size_t nf)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        fields_to_json(o, (const char *)arr + i * sz, f, nf);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

/* The record as JSON (malloc'd, caller frees). Aborts on out of memory. */
char *l4h_rec_to_json(const l4h_task_rec *rec)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        goto oom;
    fields_to_json(o, rec, task_fields, NF(task_fields));
    const char *st = l4h_status_name(rec->status);
    cJSON *sv = st ? cJSON_CreateString(st) : i64_json((int64_t)rec->status);
    cJSON_AddItemToObject(o, "status", sv);
    cJSON_AddItemToObject(o, "calls", array_json(rec->calls, rec->n_calls, sizeof *rec->calls,
                                                 call_fields, NF(call_fields)));
    cJSON_AddItemToObject(o, "execs", array_json(rec->execs, rec->n_execs, sizeof *rec->execs,
                                                 exec_fields, NF(exec_fields)));
    cJSON_AddItemToObject(o, "checks", array_json(rec->checks, rec->n_checks, sizeof *rec->checks,
                                                  check_fields, NF(check_fields)));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        goto oom;
    /* cJSON allocates with malloc (no hooks installed): caller's free() is right. */
    return s;
oom:
    fprintf(stderr, "llm4hep: out of memory writing a record\n");
    abort();
}

/* ------------------------------------------------------------------ reading */

/* Read a double (number or "NaN"/"Infinity"/"-Infinity"). 0 or -1. */
static int json_double(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 0;
    }
    if (cJSON_IsString(v)) {
        if (!strcmp(v->valuestring, "NaN"))
            *out = NAN;
        else if (!strcmp(v->valuestring, "Infinity"))
            *out = INFINITY;
        else if (!strcmp(v->valuestring, "-Infinity"))
            *out = -INFINITY;
        else
            return -1;
        return 0;
    }
    return -1;
}

/* Read an integer (number without fraction, or a decimal string). 0 or -1. */
static int json_i64(const cJSON *v, int64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d != floor(d) || d > (double)EXACT_I64 || d < -(double)EXACT_I64)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    if (cJSON_IsString(v)) {
        char *end;
        errno = 0;
        long long x = strtoll(v->valuestring, &end, 10);
        if (errno || end == v->valuestring || *end)
            return -1;
        *out = x;
        return 0;
    }
    return -1;
}

/* Fill obj's fields from the JSON object o. -1 with err naming the field. */
static int fields_from_json(const cJSON *o, void *obj, const field *f, size_t nf, const char *what,
                            l4h_err *err)
{
    if (!cJSON_IsObject(o))
        return l4h_err_set(err, 2, "record: %s: expected an object", what);
    /* One pass over the object's members; records are written in field
     * order, so the next field is almost always the one after the last. */
    size_t hint = 0;
    for (const cJSON *v = o->child; v; v = v->next) {
        size_t i = nf;
        for (size_t k = 0; k < nf && v->string; k++) {
            size_t j = (hint + k) % nf;
            if (!strcmp(f[j].name, v->string)) {
                i = j;
                break;
            }
        }
        if (i == nf)
            continue; /* unknown members are ignored */
        hint = i + 1;
        char *p = (char *)obj + f[i].off;
        int64_t x;
        switch (f[i].type) {
        case F_STR:
            if (cJSON_IsNull(v))
                break;
            if (!cJSON_IsString(v))
                goto bad;
            free(*(char **)p); /* a key given twice: the last wins, the first is freed */
            *(char **)p = l4h_xstrdup(v->valuestring);
            break;
        case F_FIX:
            if (!cJSON_IsString(v))
                goto bad;
            if (strlen(v->valuestring) >= f[i].size)
                return l4h_err_set(err, 2, "record: %s.%s: expected at most %zu bytes, got %zu",
                                   what, f[i].name, f[i].size - 1, strlen(v->valuestring));
            memcpy(p, v->valuestring, strlen(v->valuestring) + 1);
            break;
        case F_INT:
            if (json_i64(v, &x) < 0 || x < INT32_MIN || x > INT32_MAX)
                goto bad;
            *(int *)p = (int)x;
            break;
        case F_I64:
            if (json_i64(v, &x) < 0)
                goto bad;
            *(int64_t *)p = x;
            break;
        case F_DBL:
            if (json_double(v, (double *)p) < 0)
                goto bad;
            break;
        }
        continue;
    bad:
        return l4h_err_set(err, 2, "record: %s.%s: expected %s", what, f[i].name,
                           f[i].type == F_DBL   ? "a number, \"NaN\", \"Infinity\" or \"-Infinity\""
                           : f[i].type == F_STR ? "a string or null"
                           : f[i].type == F_FIX ? "a string"
                                                : "an integer");
    }
    return 0;
}

/* Read the array `name` of o into *arr (n elements of size sz). */
static int array_from_json(const cJSON *o, const char *name, void **arr, size_t *n, size_t sz,
                           const field *f, size_t nf, l4h_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a))
        return l4h_err_set(err, 2, "record: %s: expected an array", name);
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        char what[48];
        snprintf(what, sizeof what, "%s[%zu]", name, *n);
        void *obj = add_zeroed(arr, n, sz);
        if (fields_from_json(e, obj, f, nf, what, err) < 0)
            return -1;
    }
    return 0;
}

/* Parse what l4h_rec_to_json wrote into the zeroed rec. -1 (code 2) on
 * malformed input, rec cleared. */
int l4h_rec_from_json(const char *json, size_t len, l4h_task_rec *rec, l4h_err *err)
{
    memset(rec, 0, sizeof *rec);
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (!o)
        return l4h_err_set(err, 2, "record: not valid JSON");
    int rc = fields_from_json(o, rec, task_fields, NF(task_fields), "task", err);
    if (rc == 0) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "status");
        int st = s && cJSON_IsString(s) ? l4h_status_parse(s->valuestring) : -1;
        if (s && st < 0)
            rc = l4h_err_set(err, 2, "record: task.status: expected a status name (success, ...)");
        else if (s)
            rec->status = (l4h_status)st;
    }
    if (rc == 0)
        rc = array_from_json(o, "calls", (void **)&rec->calls, &rec->n_calls, sizeof *rec->calls,
                             call_fields, NF(call_fields), err);
    if (rc == 0)
        rc = array_from_json(o, "execs", (void **)&rec->execs, &rec->n_execs, sizeof *rec->execs,
                             exec_fields, NF(exec_fields), err);
    if (rc == 0)
        rc = array_from_json(o, "checks", (void **)&rec->checks, &rec->n_checks,
                             sizeof *rec->checks, check_fields, NF(check_fields), err);
    cJSON_Delete(o);
    if (rc < 0)
        l4h_rec_clear(rec);
    return rc;
}
