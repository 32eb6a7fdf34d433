/* check_text.c — a text check: the file exists and every POSIX extended
 * regular expression matches somewhere in it. Patterns are compiled with
 * REG_EXTENDED | REG_NEWLINE: '^' and '$' match at line starts and ends and
 * '.' does not cross a newline, as Python's re.search(p, text, re.M) would. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_internal.h"

#define TEXT_MAX_BYTES ((size_t)64 << 20) /* a summary file larger than this is read up to here */

/* Read at most cap bytes of a regular file (a FIFO or device is refused,
 * not waited on); NUL bytes become spaces so that the regex sees the whole
 * text. Returns 0, or an errno value (EINVAL: not a regular file). */
static int read_text(const char *path, size_t cap, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return EINVAL;
    }
    l4h_buf b = {0};
    char tmp[65536];
    while (b.len < cap) {
        ssize_t k = read(fd, tmp, sizeof tmp < cap - b.len ? sizeof tmp : cap - b.len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            l4h_buf_free(&b);
            return e;
        }
        if (k == 0)
            break;
        l4h_buf_add(&b, tmp, (size_t)k);
    }
    close(fd);
    if (!b.data)
        l4h_buf_add(&b, "", 0);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] == '\0')
            b.data[i] = ' ';
    *len = b.len;
    *out = l4h_buf_take(&b);
    return 0;
}

/* Shorten a pattern for the report. */
static void quote(l4h_buf *b, const char *s)
{
    size_t n = strlen(s);
    l4h_buf_printf(b, "'%.*s%s'", (int)(n > 120 ? 120 : n), s, n > 120 ? "..." : "");
}

int check_text_labeled(const char *path, const char *label, char *const *patterns,
                           size_t n_patterns, l4h_check_rec *rec)
{
    l4h_buf b = {0};
    check_begin(rec, "text", label);
    char *text = NULL;
    size_t len = 0;
    int e = read_text(path, TEXT_MAX_BYTES, &text, &len);
    if (e) {
        if (e == ENOENT)
            l4h_buf_printf(&b, "FAIL %s: the output was not written (no such file)\n", label);
        else
            l4h_buf_printf(&b, "FAIL %s: cannot read it: %s\n", label,
                           e == EINVAL ? "not a regular file" : strerror(e));
        check_set_report(rec, l4h_buf_take(&b));
        return 0;
    }
    l4h_buf missed = {0};
    int64_t n_bad = 0;
    for (size_t i = 0; i < n_patterns; i++) {
        regex_t re;
        int rc = regcomp(&re, patterns[i], REG_EXTENDED | REG_NEWLINE | REG_NOSUB);
        if (rc != 0) {
            char msg[256];
            regerror(rc, &re, msg, sizeof msg);
            l4h_buf_printf(&missed, "  pattern %zu ", i + 1);
            quote(&missed, patterns[i]);
            l4h_buf_printf(&missed, " is not a valid POSIX extended regular expression: %s\n", msg);
            n_bad++;
            continue;
        }
        if (regexec(&re, text, 0, NULL, 0) != 0) {
            l4h_buf_printf(&missed, "  pattern %zu ", i + 1);
            quote(&missed, patterns[i]);
            l4h_buf_puts(&missed, " not found\n");
            n_bad++;
        }
        regfree(&re);
    }
    rec->n_bad = n_bad;
    rec->passed = n_bad == 0;
    if (rec->passed)
        l4h_buf_printf(&b, "PASS %s: all %zu patterns found (%zu bytes)\n", label, n_patterns, len);
    else
        l4h_buf_printf(&b, "FAIL %s: %lld of %zu patterns not found (%zu bytes%s)\n%s", label,
                       (long long)n_bad, n_patterns, len,
                       len >= TEXT_MAX_BYTES ? ", only the first 64 MB searched" : "",
                       missed.data ? missed.data : "");
    l4h_buf_free(&missed);
    free(text);
    check_set_report(rec, l4h_buf_take(&b));
    return 0;
}

int check_text(const char *path, char *const *patterns, size_t n_patterns, l4h_check_rec *rec)
{
    return check_text_labeled(path, path, patterns, n_patterns, rec);
}
