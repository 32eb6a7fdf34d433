/* listing.c — the {{inputs}} and {{files}} placeholders: what the models may
 * read, with sizes, and dtype and shape for .npy files, so they need not guess. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_internal.h"
#include "llm4hep/check.h"

#define MAX_DATA_FILES 500

/* "float64", "int32", "uint8", "bool". */
static const char *dtype_name(const l4h_npy *n, char buf[16])
{
    static const char *cls[] = {"float", "int", "uint", "bool"};
    if (n->cls == L4H_NPY_BOOL)
        return "bool";
    snprintf(buf, 16, "%s%d", cls[n->cls], n->itemsize * 8);
    return buf;
}

/* " ; .npy float64, shape (1000, 46)" or the reason the header did not parse. */
static void npy_desc(l4h_buf *b, const char *host)
{
    l4h_npy n;
    l4h_err err = {0};
    if (l4h_npy_open(host, &n, &err) != 0) {
        l4h_buf_printf(b, "; not a readable .npy file");
        return;
    }
    char buf[16];
    l4h_buf_printf(b, "; .npy %s, shape (", dtype_name(&n, buf));
    for (int i = 0; i < n.ndim; i++)
        l4h_buf_printf(b, "%s%llu", i ? ", " : "", (unsigned long long)n.shape[i]);
    l4h_buf_puts(b, n.ndim == 1 ? ",)" : ")");
    if (n.fortran_order)
        l4h_buf_puts(b, ", Fortran order");
    l4h_npy_close(&n);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* {{inputs}}. Caller frees. Can't fail. */
char *agent_inputs_text(const l4h_workspace *ws, const l4h_step *step)
{
    l4h_buf b = {0};
    if (step->n_stage == 0)
        l4h_buf_puts(&b, "(none: this step starts from the data files alone)");
    for (size_t i = 0; i < step->n_stage; i++) {
        char *host = l4h_path_join(ws->host, step->stage[i]);
        char *view = l4h_path_join(ws->view, step->stage[i]);
        struct stat st;
        if (stat(host, &st) != 0) {
            l4h_buf_printf(&b, "%s- %s: missing", i ? "\n" : "", view);
        } else {
            l4h_buf_printf(&b, "%s- %s: %lld bytes", i ? "\n" : "", view, (long long)st.st_size);
            if (ends_with(host, ".npy"))
                npy_desc(&b, host);
            l4h_buf_puts(&b, " (read-only)");
        }
        free(host);
        free(view);
    }
    return l4h_buf_take(&b);
}

/* {{files}}. Caller frees. Can't fail. */
char *agent_files_text(const char *data_host, const char *data_view)
{
    l4h_buf b = {0};
    struct stat st;
    if (!data_host || stat(data_host, &st) != 0 || !S_ISDIR(st.st_mode)) {
        l4h_buf_printf(&b, "(the data directory %s cannot be read)", data_view ? data_view : "");
        return l4h_buf_take(&b);
    }
    l4h_fentry *v = NULL;
    int truncated = 0;
    size_t n = agent_list_files(data_host, MAX_DATA_FILES, &v, &truncated);
    if (n == 0)
        l4h_buf_printf(&b, "(the data directory %s is empty)", data_view);
    for (size_t i = 0; i < n; i++) {
        char *view = l4h_path_join(data_view, v[i].rel);
        l4h_buf_printf(&b, "%s- %s: %lld bytes", i ? "\n" : "", view, v[i].size);
        free(view);
    }
    if (truncated)
        l4h_buf_printf(&b, "\n- ... (only the first %d files are listed)", MAX_DATA_FILES);
    agent_fentries_free(v, n);
    return l4h_buf_take(&b);
}
