/* npy_header.c — open a .npy file and parse its header: the magic, the
 * version (1, 2 or 3), and the Python dict literal
 *   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 * A malformed file is an error naming what was wrong, never a crash: the
 * parser reads only inside the header it was given and checks every number. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_internal.h"

#define NPY_MAX_HEADER (1u << 20) /* numpy itself refuses headers above 10000 bytes by default */

typedef struct hdr_parser {
    const char *s, *end;
    const char *path;
} hdr_parser;

static void skip_ws(hdr_parser *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

/* Expect character c after optional blanks. 1 when found (consumed). */
static int accept(hdr_parser *p, char c)
{
    skip_ws(p);
    if (p->s < p->end && *p->s == c) {
        p->s++;
        return 1;
    }
    return 0;
}

/* A quoted Python string ('...' or "...") without escapes into out[cap].
 * -1 when it is not one or does not fit. */
static int parse_str(hdr_parser *p, char *out, size_t cap)
{
    skip_ws(p);
    if (p->s >= p->end || (*p->s != '\'' && *p->s != '"'))
        return -1;
    char q = *p->s++;
    size_t n = 0;
    while (p->s < p->end && *p->s != q) {
        if (*p->s == '\\' || n + 1 >= cap)
            return -1;
        out[n++] = *p->s++;
    }
    if (p->s >= p->end)
        return -1;
    p->s++;
    out[n] = '\0';
    return 0;
}

/* A non-negative decimal integer (Python 2 files may append L). */
static int parse_dim(hdr_parser *p, uint64_t *v)
{
    skip_ws(p);
    if (p->s >= p->end || *p->s < '0' || *p->s > '9')
        return -1;
    uint64_t x = 0;
    while (p->s < p->end && *p->s >= '0' && *p->s <= '9') {
        unsigned d = (unsigned)(*p->s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
        p->s++;
    }
    if (p->s < p->end && (*p->s == 'L' || *p->s == 'l'))
        p->s++;
    *v = x;
    return 0;
}

static int parse_shape(hdr_parser *p, l4h_npy *npy, l4h_err *err)
{
    if (!accept(p, '('))
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: 'shape' is not a tuple", p->path);
    npy->ndim = 0;
    for (;;) {
        if (accept(p, ')'))
            return 0;
        if (npy->ndim >= 32)
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: more than 32 dimensions",
                               p->path);
        if (parse_dim(p, &npy->shape[npy->ndim]) < 0)
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "%s: bad .npy header: 'shape' holds something other than a "
                               "non-negative integer", p->path);
        npy->ndim++;
        if (accept(p, ','))
            continue;
        if (accept(p, ')'))
            return 0;
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: 'shape' tuple not closed",
                           p->path);
    }
}

/* Interpret a descr such as '<f8', '>i4', '|b1', '|u1'. */
static int parse_descr(const char *d, l4h_npy *npy, const char *path, l4h_err *err)
{
    size_t len = strlen(d);
    if (len >= 2 && d[1] == 'O')
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: object dtype '%s' (a pickled array; save numbers with a numeric dtype)",
                           path, d);
    if (len < 3 || len > 4)
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: unsupported dtype '%s' (expected a float, integer or bool array)",
                           path, d);
    char order = d[0], kind = d[1];
    char *endp = NULL;
    long size = strtol(d + 2, &endp, 10);
    if (*endp != '\0' || (order != '<' && order != '>' && order != '|' && order != '='))
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: unsupported dtype '%s'", path, d);
    switch (kind) {
    case 'f':
        npy->cls = L4H_NPY_FLOAT;
        if (size != 2 && size != 4 && size != 8)
            return l4h_err_set(err, L4H_EXIT_USAGE,
                               "%s: unsupported float size in dtype '%s' (float16/32/64 only)", path, d);
        break;
    case 'i':
        npy->cls = L4H_NPY_INT;
        break;
    case 'u':
        npy->cls = L4H_NPY_UINT;
        break;
    case 'b':
        npy->cls = L4H_NPY_BOOL;
        if (size != 1)
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s: unsupported dtype '%s'", path, d);
        break;
    case 'O':
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: object dtype '%s' (a pickled array; save numbers with a numeric dtype)",
                           path, d);
    default:
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: unsupported dtype '%s' (expected a float, integer or bool array)",
                           path, d);
    }
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: unsupported item size in dtype '%s'", path, d);
    npy->itemsize = (int)size;
    npy->big_endian = order == '>';
    snprintf(npy->descr, sizeof npy->descr, "%s", d);
    return 0;
}

/* Parse the dict literal in [s, end). */
static int parse_dict(const char *s, const char *end, l4h_npy *npy, const char *path, l4h_err *err)
{
    hdr_parser p = {s, end, path};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!accept(&p, '{'))
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: not a dict", path);
    for (;;) {
        if (accept(&p, '}'))
            break;
        char key[32];
        if (parse_str(&p, key, sizeof key) < 0)
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: expected a quoted key", path);
        if (!accept(&p, ':'))
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: expected ':' after '%s'",
                               path, key);
        if (!strcmp(key, "descr")) {
            char d[32];
            skip_ws(&p);
            if (p.s < p.end && *p.s == '[')
                return l4h_err_set(err, L4H_EXIT_USAGE,
                                   "%s: structured dtype (record array) is not supported; save a "
                                   "plain numeric array", path);
            if (parse_str(&p, d, sizeof d) < 0)
                return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: 'descr' is not a short string",
                                   path);
            if (parse_descr(d, npy, path, err) < 0)
                return -1;
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            skip_ws(&p);
            if (p.end - p.s >= 4 && !memcmp(p.s, "True", 4)) {
                npy->fortran_order = 1;
                p.s += 4;
            } else if (p.end - p.s >= 5 && !memcmp(p.s, "False", 5)) {
                npy->fortran_order = 0;
                p.s += 5;
            } else {
                return l4h_err_set(err, L4H_EXIT_USAGE,
                                   "%s: bad .npy header: 'fortran_order' is not True or False", path);
            }
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (parse_shape(&p, npy, err) < 0)
                return -1;
            have_shape = 1;
        } else {
            return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: unknown key '%s'", path, key);
        }
        if (accept(&p, ','))
            continue;
        if (accept(&p, '}'))
            break;
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: expected ',' or '}'", path);
    }
    if (!have_descr || !have_order || !have_shape)
        return l4h_err_set(err, L4H_EXIT_USAGE, "%s: bad .npy header: missing '%s'", path,
                           !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return 0;
}

/* Open without following a FIFO into a hang: O_NONBLOCK, then insist on a
 * regular file. */
static FILE *open_regular(const char *path, off_t *size, l4h_err *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: not a regular file", path);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", path, strerror(errno));
        return NULL;
    }
    *size = st.st_size;
    return fp;
}

int l4h_npy_open(const char *path, l4h_npy *npy, l4h_err *err)
{
    memset(npy, 0, sizeof *npy);
    off_t size = 0;
    FILE *fp = open_regular(path, &size, err);
    if (!fp)
        return -1;
    int fd = fileno(fp);
    unsigned char pre[12];
    char *hdr = NULL;
    if (size < 10 || check_pread(fd, pre, 10, 0) < 0 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: not a .npy file (no \\x93NUMPY magic)", path);
        goto fail;
    }
    int major = pre[6];
    uint64_t hlen, pre_len;
    if (major == 1) {
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
        pre_len = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12 || check_pread(fd, pre, 12, 0) < 0) {
            l4h_err_set(err, L4H_EXIT_USAGE, "%s: truncated .npy header", path);
            goto fail;
        }
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 |
               (uint64_t)pre[11] << 24;
        pre_len = 12;
    } else {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: unsupported .npy format version %d.%d (1, 2, 3 known)",
                    path, major, pre[7]);
        goto fail;
    }
    if (hlen > NPY_MAX_HEADER) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: .npy header of %llu bytes is implausibly long", path,
                    (unsigned long long)hlen);
        goto fail;
    }
    if ((uint64_t)size < pre_len + hlen) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: truncated .npy header (%llu bytes announced, file has %lld)",
                    path, (unsigned long long)hlen, (long long)size);
        goto fail;
    }
    hdr = l4h_xmalloc(hlen + 1);
    if (check_pread(fd, hdr, hlen, (off_t)pre_len) < 0) {
        l4h_err_set(err, L4H_EXIT_USAGE, "%s: cannot read the .npy header", path);
        goto fail;
    }
    hdr[hlen] = '\0';
    if (parse_dict(hdr, hdr + hlen, npy, path, err) < 0)
        goto fail;
    npy->fp = fp;
    npy->version = major;
    npy->data_offset = (long)(pre_len + hlen);
    uint64_t count = 1;
    for (int i = 0; i < npy->ndim; i++) {
        if (npy->shape[i] != 0 && count > UINT64_MAX / npy->shape[i]) {
            l4h_err_set(err, L4H_EXIT_USAGE, "%s: shape overflows 64 bits", path);
            goto fail;
        }
        count *= npy->shape[i];
    }
    npy->count = count;
    uint64_t avail = (uint64_t)size - (uint64_t)npy->data_offset;
    if (count > avail / (uint64_t)npy->itemsize) {
        l4h_err_set(err, L4H_EXIT_USAGE,
                    "%s: truncated data: shape needs %llu values of %d bytes, the file holds %llu bytes",
                    path, (unsigned long long)count, npy->itemsize, (unsigned long long)avail);
        goto fail;
    }
    free(hdr);
#ifdef POSIX_FADV_SEQUENTIAL
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return 0;
fail:
    free(hdr);
    fclose(fp);
    memset(npy, 0, sizeof *npy);
    return -1;
}

void l4h_npy_close(l4h_npy *npy)
{
    if (npy->fp)
        fclose(npy->fp);
    npy->fp = NULL;
    free(npy->scratch);
    npy->scratch = NULL;
    npy->scratch_cap = 0;
}
