/* inputs.c — the campaign's input snapshot: the one place the config and
 * suite loaders and the scripted models read their files through.
 *
 * With no snapshot in use, a read goes to the disk (every verb but sweep).
 * Rank 0 of a sweep records: each file read from disk is kept (bytes and
 * SHA-256) and a second read of the same path returns the kept bytes, so one
 * campaign never sees two versions of a file. The snapshot is then encoded,
 * handed to every rank and task child, and used frozen there: a read comes
 * from the snapshot only, and a path it does not hold is an error — nothing
 * is re-read from the user's files while the campaign runs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llm4hep/core.h"
#include "core_internal.h"

#define MAGIC "llm4hep-inputs 1\n"

struct l4h_inputs {
    l4h_input_file *files;
    size_t n, cap;
    int frozen;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static l4h_inputs *current;

l4h_inputs *l4h_inputs_new(void)
{
    return l4h_xcalloc(1, sizeof(l4h_inputs));
}

void l4h_inputs_free(l4h_inputs *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->n; i++) {
        free(in->files[i].path);
        free(in->files[i].data);
    }
    free(in->files);
    free(in);
}

void l4h_inputs_freeze(l4h_inputs *in)
{
    in->frozen = 1;
}

l4h_inputs *l4h_inputs_use(l4h_inputs *in)
{
    pthread_mutex_lock(&mu);
    l4h_inputs *old = current;
    current = in;
    pthread_mutex_unlock(&mu);
    return old;
}

size_t l4h_inputs_count(const l4h_inputs *in)
{
    return in ? in->n : 0;
}

const l4h_input_file *l4h_inputs_file(const l4h_inputs *in, size_t i)
{
    return in && i < in->n ? &in->files[i] : NULL;
}

const l4h_input_file *core_inputs_find(const l4h_inputs *in, const char *path)
{
    for (size_t i = 0; in && i < in->n; i++)
        if (!strcmp(in->files[i].path, path))
            return &in->files[i];
    return NULL;
}

/* Keep a copy of (path, data) in the snapshot. Can't fail. */
static l4h_input_file *add(l4h_inputs *in, const char *path, const char *data, size_t len)
{
    if (in->n == in->cap) {
        in->cap = in->cap ? 2 * in->cap : 16;
        in->files = l4h_xrealloc(in->files, in->cap * sizeof *in->files);
    }
    l4h_input_file *f = &in->files[in->n++];
    f->path = l4h_xstrdup(path);
    f->data = l4h_xmalloc(len + 1);
    memcpy(f->data, data, len);
    f->data[len] = '\0';
    f->len = len;
    l4h_sha256_hex(data, len, f->sha256);
    return f;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(((const l4h_input_file *)a)->path, ((const l4h_input_file *)b)->path);
}

void l4h_inputs_sha256(const l4h_inputs *in, char out[65])
{
    size_t n = in ? in->n : 0;
    l4h_input_file *sorted = l4h_xcalloc(n ? n : 1, sizeof *sorted);
    if (n)
        memcpy(sorted, in->files, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_path);
    l4h_sha256 h;
    l4h_sha256_init(&h);
    for (size_t i = 0; i < n; i++) {
        l4h_sha256_update(&h, sorted[i].path, strlen(sorted[i].path) + 1);
        l4h_sha256_update(&h, sorted[i].sha256, 65);
    }
    l4h_sha256_final(&h, out);
    free(sorted);
}

/* Encoding: MAGIC, then per file "<len> <sha256> <path length>\n<path><bytes>". */
char *l4h_inputs_encode(const l4h_inputs *in, size_t *len)
{
    l4h_buf b = {0};
    l4h_buf_puts(&b, MAGIC);
    for (size_t i = 0; in && i < in->n; i++) {
        const l4h_input_file *f = &in->files[i];
        l4h_buf_printf(&b, "%zu %s %zu\n", f->len, f->sha256, strlen(f->path));
        l4h_buf_puts(&b, f->path);
        l4h_buf_add(&b, f->data, f->len);
    }
    *len = b.len;
    return l4h_buf_take(&b);
}

int l4h_inputs_decode(const void *data, size_t len, l4h_inputs **out, l4h_err *err)
{
    *out = NULL;
    const char *p = data, *end = p + len;
    size_t ml = strlen(MAGIC);
    if (len < ml || memcmp(p, MAGIC, ml) != 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "input snapshot: not an llm4hep input snapshot");
    p += ml;
    l4h_inputs *in = l4h_inputs_new();
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t flen = 0, plen = 0;
        char sha[65] = "", head[160];
        size_t hl = nl ? (size_t)(nl - p) : 0;
        if (!nl || hl >= sizeof head) {
            l4h_inputs_free(in);
            return l4h_err_set(err, L4H_EXIT_INFRA, "input snapshot: damaged entry header");
        }
        memcpy(head, p, hl);
        head[hl] = '\0';
        if (sscanf(head, "%zu %64s %zu", &flen, sha, &plen) != 3 ||
            plen > (size_t)(end - nl - 1) || flen > (size_t)(end - nl - 1) - plen || plen == 0) {
            l4h_inputs_free(in);
            return l4h_err_set(err, L4H_EXIT_INFRA, "input snapshot: damaged entry '%s'", head);
        }
        char *path = l4h_xmalloc(plen + 1);
        memcpy(path, nl + 1, plen);
        path[plen] = '\0';
        const l4h_input_file *f = add(in, path, nl + 1 + plen, flen);
        free(path);
        if (strcmp(f->sha256, sha) != 0) {
            l4h_err_set(err, L4H_EXIT_INFRA, "input snapshot: %s does not match its SHA-256",
                        f->path);
            l4h_inputs_free(in);
            return -1;
        }
        p = nl + 1 + plen + flen;
    }
    in->frozen = 1;
    *out = in;
    return 0;
}

int l4h_input_read(const char *path, char **out, size_t *len, l4h_err *err)
{
    *out = NULL;
    pthread_mutex_lock(&mu);
    l4h_inputs *in = current;
    const l4h_input_file *f = in ? core_inputs_find(in, path) : NULL;
    if (!f && in && in->frozen) {
        pthread_mutex_unlock(&mu);
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: not in the campaign's input snapshot (a campaign reads only the "
                           "files rank 0 read when it started)", path);
    }
    if (!f && in) {
        char *text;
        size_t n;
        if (l4h_read_file(path, &text, &n, err) < 0) {
            pthread_mutex_unlock(&mu);
            return -1;
        }
        f = add(in, path, text, n);
        free(text);
    }
    if (f) {
        *out = l4h_xmalloc(f->len + 1);
        memcpy(*out, f->data, f->len + 1);
        if (len)
            *len = f->len;
        pthread_mutex_unlock(&mu);
        return 0;
    }
    pthread_mutex_unlock(&mu);
    return l4h_read_file(path, out, len, err);
}

int core_input_verify(const char *path, l4h_err *err)
{
    pthread_mutex_lock(&mu);
    const l4h_input_file *f = current && current->frozen ? core_inputs_find(current, path) : NULL;
    char want[65] = "";
    if (f)
        memcpy(want, f->sha256, sizeof want);
    pthread_mutex_unlock(&mu);
    if (!f)
        return 0;
    char *text = NULL, now[65] = "";
    size_t len = 0;
    l4h_err e = {0};
    if (l4h_read_file(path, &text, &len, &e) < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: a program of the campaign's snapshot cannot "
                           "be read any more: %s", path, e.msg);
    l4h_sha256_hex(text, len, now);
    free(text);
    if (strcmp(now, want) != 0)
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "%s changed since the campaign started (sha256 %.12s... then, %.12s... "
                           "now): a campaign runs only the check and tool programs it started "
                           "with; restore the file, or run the campaign again with "
                           "--accept-changed-inputs", path, want, now);
    return 0;
}

int l4h_input_is_file(const char *path)
{
    pthread_mutex_lock(&mu);
    int found = current && core_inputs_find(current, path) != NULL;
    int frozen = current && current->frozen;
    pthread_mutex_unlock(&mu);
    if (found || frozen)
        return found;
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
