/* check_command.c — judge what a check program did: it must exit 0 and
 * print one JSON object on stdout whose keys meet the suite's `expect`
 * bounds ({z_ratio: {min: 0.95}}). A missing key, a value that is not a
 * number, output that is not JSON, a non-zero exit, a signal or a timeout
 * fail the check with the reason and the first bytes of what was printed. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"

/* Python's json.dumps writes NaN, Infinity and -Infinity, which are not
 * JSON: turn them (outside strings) into null so the rest still parses. */
static char *sanitize_python_json(const char *s, size_t n)
{
    l4h_buf b = {0};
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            l4h_buf_add(&b, &ch, 1);
            if (ch == '\\' && i + 1 < n)
                l4h_buf_add(&b, &s[++i], 1);
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '"')
            in_str = 1;
        static const char *const toks[] = {"-Infinity", "Infinity", "NaN"};
        int replaced = 0;
        for (size_t k = 0; k < 3; k++) {
            size_t tl = strlen(toks[k]);
            if (n - i >= tl && !memcmp(s + i, toks[k], tl)) {
                l4h_buf_puts(&b, "null");
                i += tl - 1;
                replaced = 1;
                break;
            }
        }
        if (!replaced)
            l4h_buf_add(&b, &ch, 1);
    }
    if (!b.data)
        l4h_buf_add(&b, "", 0);
    return l4h_buf_take(&b);
}

static cJSON *parse_object(const char *s, size_t n)
{
    char *clean = sanitize_python_json(s, n);
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithOpts(clean, &end, 0);
    if (o) {
        while (end && *end && isspace((unsigned char)*end))
            end++;
        if (!cJSON_IsObject(o) || (end && *end)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    free(clean);
    return o;
}

/* The whole of stdout as one object, else its last non-empty line (a
 * program that printed progress first). NULL when neither is an object. */
static cJSON *find_json_object(const char *out, int *from_last_line)
{
    *from_last_line = 0;
    if (!out)
        return NULL;
    size_t n = strlen(out);
    cJSON *o = parse_object(out, n);
    if (o)
        return o;
    while (n > 0 && isspace((unsigned char)out[n - 1]))
        n--;
    size_t start = n;
    while (start > 0 && out[start - 1] != '\n')
        start--;
    if (start == 0 || start == n)
        return NULL;
    o = parse_object(out + start, n - start);
    if (o)
        *from_last_line = 1;
    return o;
}

/* The first bytes of s, printable, for a report. */
static void quote_head(l4h_buf *b, const char *s, size_t max)
{
    l4h_buf_puts(b, "'");
    size_t i = 0;
    for (; s && s[i] && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n')
            l4h_buf_puts(b, "\\n");
        else if (ch == '\'' || ch == '\\')
            l4h_buf_printf(b, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            l4h_buf_printf(b, "\\x%02x", ch);
        else
            l4h_buf_add(b, &ch, 1);
    }
    l4h_buf_puts(b, s && s[i] ? "'..." : "'");
}

/* The last lines of stderr (where a traceback ends). */
static void stderr_tail(l4h_buf *b, const char *err)
{
    if (!err || !*err)
        return;
    size_t n = strlen(err);
    while (n > 0 && isspace((unsigned char)err[n - 1]))
        n--;
    size_t start = n;
    int lines = 0;
    while (start > 0 && lines < 6 && n - start < 600) {
        start--;
        if (err[start] == '\n')
            lines++;
    }
    if (err[start] == '\n')
        start++;
    l4h_buf_puts(b, "stderr (end):\n");
    const char *p = err + start, *e = err + n;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);
        l4h_buf_printf(b, "  %.*s\n", (int)len, p);
        p += len + 1;
    }
}

int check_command_result(const char *label, const l4h_exec_result *res,
                             const l4h_expect *expect, size_t n_expect, l4h_check_rec *rec)
{
    l4h_buf b = {0}, body = {0};
    check_begin(rec, "command", label);
    int ran_ok = res->exit_code == 0 && !res->timed_out && res->signal == 0;
    const char *why = NULL;
    char whybuf[128];
    if (res->timed_out) {
        snprintf(whybuf, sizeof whybuf, "timed out after %.1f s", res->wall_s);
        why = whybuf;
    } else if (res->limit[0]) {
        snprintf(whybuf, sizeof whybuf, "stopped by the %s limit", res->limit);
        why = whybuf;
    } else if (res->signal) {
        snprintf(whybuf, sizeof whybuf, "killed by signal %d", res->signal);
        why = whybuf;
    } else if (res->exit_code != 0) {
        snprintf(whybuf, sizeof whybuf, "exited with status %d", res->exit_code);
        why = whybuf;
    }
    int last_line = 0;
    cJSON *obj = find_json_object(res->stdout_text, &last_line);
    if (!obj) {
        l4h_buf_printf(&b, "FAIL %s: %s%sprinted no JSON object on stdout; it began: ", label,
                       why ? why : "", why ? " and " : "");
        quote_head(&b, res->stdout_text, 80);
        l4h_buf_puts(&b, "\n");
        stderr_tail(&b, res->stderr_text);
        check_set_report(rec, l4h_buf_take(&b));
        return 0;
    }
    int64_t n_bad = 0;
    for (size_t i = 0; i < n_expect; i++) {
        const l4h_expect *e = &expect[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, e->key);
        l4h_buf_printf(&body, "  %s", e->key);
        if (!v) {
            l4h_buf_puts(&body, ": missing from the output\n");
            n_bad++;
            continue;
        }
        double x;
        if (cJSON_IsNumber(v)) {
            x = v->valuedouble;
        } else if (cJSON_IsBool(v)) {
            x = cJSON_IsTrue(v) ? 1.0 : 0.0;
        } else {
            l4h_buf_printf(&body, ": %s, expected a number\n",
                           cJSON_IsNull(v) ? "null (or NaN)" : cJSON_IsString(v) ? "a string"
                                                                                  : "not a number");
            n_bad++;
            continue;
        }
        int ok = 1;
        l4h_buf_printf(&body, " = %.6g", x);
        if (e->has_min && !(x >= e->min)) {
            l4h_buf_printf(&body, ", below the minimum %.6g", e->min);
            ok = 0;
        }
        if (e->has_max && !(x <= e->max)) {
            l4h_buf_printf(&body, ", above the maximum %.6g", e->max);
            ok = 0;
        }
        if (ok) {
            if (e->has_min && e->has_max)
                l4h_buf_printf(&body, " (within [%.6g, %.6g])", e->min, e->max);
            else if (e->has_min)
                l4h_buf_printf(&body, " (>= %.6g)", e->min);
            else if (e->has_max)
                l4h_buf_printf(&body, " (<= %.6g)", e->max);
        }
        l4h_buf_puts(&body, ok ? "\n" : "  <-- fails\n");
        n_bad += !ok;
    }
    rec->n_bad = n_bad;
    rec->passed = ran_ok && n_bad == 0;
    if (rec->passed)
        l4h_buf_printf(&b, "PASS %s: %zu expectation%s met\n", label, n_expect, n_expect == 1 ? "" : "s");
    else if (n_bad)
        l4h_buf_printf(&b, "FAIL %s: %lld of %zu expectations not met%s%s\n", label, (long long)n_bad,
                       n_expect, why ? "; the program " : "", why ? why : "");
    else
        l4h_buf_printf(&b, "FAIL %s: the program %s\n", label, why);
    if (body.data)
        l4h_buf_puts(&b, body.data);
    char *printed = cJSON_PrintUnformatted(obj);
    l4h_buf_printf(&b, "output%s: ", last_line ? " (last line of stdout)" : "");
    quote_head(&b, printed, 600);
    l4h_buf_puts(&b, "\n");
    free(printed);
    if (!ran_ok)
        stderr_tail(&b, res->stderr_text);
    l4h_buf_free(&body);
    cJSON_Delete(obj);
    check_set_report(rec, l4h_buf_take(&b));
    return 0;
}
