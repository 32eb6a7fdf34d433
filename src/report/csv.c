/* csv.c — results_summary.csv of the original framework, one row per final
 * task, so existing notebooks keep working. */
#include <stdio.h>
#include <string.h>

#include "report_internal.h"

/* One RFC 4180 field: quoted when it holds a comma, quote or line break. */
static void field(l4h_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        l4h_buf_puts(b, s);
        return;
    }
    l4h_buf_puts(b, "\"");
    for (; *s; s++)
        l4h_buf_puts(b, *s == '"' ? "\"\"" : (char[2]){*s, 0});
    l4h_buf_puts(b, "\"");
}

int report_csv(const l4h_task_rec *const *rows, size_t n, const char *path, l4h_err *err)
{
    l4h_buf b = {0};
    l4h_buf_puts(&b, "supervisor,coder,step,success,iterations,duration,API_calls,tokens,errors,"
                     "error_descriptions\n");
    for (size_t i = 0; i < n; i++) {
        const l4h_task_rec *t = rows[i];
        field(&b, t->supervisor);
        l4h_buf_puts(&b, ",");
        field(&b, t->coder);
        l4h_buf_puts(&b, ",");
        field(&b, t->step);
        l4h_buf_printf(&b, ",%s,%d,%.3f,%d,%lld,%d,", t->success ? "True" : "False", t->iterations,
                       t->wall_s, t->api_calls,
                       (long long)l4h_add_sat_i64(t->prompt_tokens, t->completion_tokens), t->success ? 0 : 1);
        if (!t->success) {
            l4h_buf d = {0};
            l4h_buf_printf(&d, "%s: %s: %s", l4h_status_name(t->status),
                           t->error_category[0] ? t->error_category : "uncategorised",
                           t->error_summary ? t->error_summary : "");
            field(&b, d.data);
            l4h_buf_free(&d);
        }
        l4h_buf_puts(&b, "\n");
    }
    int rc = l4h_write_file(path, b.data, b.len, err);
    l4h_buf_free(&b);
    if (rc != 0)
        return l4h_err_prefix(err, "--csv %s", path);
    return 0;
}
