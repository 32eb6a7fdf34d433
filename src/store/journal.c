/* journal.c — the append-only journal: one self-checking record per event
 * (docs/results-format.md, "Journal"). Writing fsyncs every record; reading
 * tells a torn tail (dropped) from corruption in the middle (refused). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "llm4hep/store.h"
#include "store_internal.h"

#define HDR 16
#define MAX_PAYLOAD (1u << 30) /* 1 GiB: anything larger is a damaged length */
/* Byte 5 of a record's header: its flags. DEFLATED: the payload is stored
 * as its length (uint32 little-endian) and its zlib stream. Task records
 * (most of a journal's bytes, text that compresses 3-4x) of at least
 * PACK_MIN bytes are stored so when that is smaller. */
#define F_DEFLATED 1
#define PACK_MIN 1024

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
    p[2] = (v >> 16) & 0xff;
    p[3] = (v >> 24) & 0xff;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int known_type(int t)
{
    return t == L4H_J_HEADER || t == L4H_J_RUN_BEGIN || t == L4H_J_RUN_END || t == L4H_J_TASK ||
           t == L4H_J_ANNOTATION || t == L4H_J_RESCORE;
}

/* payload deflated behind its length into a malloc'd buffer (*out, *n), or
 * NULL when that does not make it smaller. */
static unsigned char *pack(const char *payload, size_t len, size_t *n)
{
    uLong cap = compressBound((uLong)len);
    unsigned char *b = malloc(4 + (size_t)cap);
    uLongf got = cap;
    if (!b || compress2(b + 4, &got, (const Bytef *)payload, (uLong)len, 3) != Z_OK ||
        4 + (size_t)got >= len) {
        free(b);
        return NULL;
    }
    put32(b, (uint32_t)len);
    *n = 4 + (size_t)got;
    return b;
}

/* Append one record and fsync; on failure truncate back. -1 (code 3). */
int l4h_journal_append(int fd, int type, const char *payload, size_t len, l4h_err *err)
{
    if (len > MAX_PAYLOAD)
        return l4h_err_set(err, L4H_EXIT_INFRA, "journal record of %zu bytes is too large", len);
    size_t packed_len = 0;
    unsigned char *packed = type == L4H_J_TASK && len >= PACK_MIN ? pack(payload, len, &packed_len)
                                                                  : NULL;
    int flags = 0;
    if (packed) {
        payload = (const char *)packed;
        len = packed_len;
        flags = F_DEFLATED;
    }
    off_t start = lseek(fd, 0, SEEK_END);
    if (start < 0)
        return l4h_err_set(err, L4H_EXIT_INFRA, "journal: seek: %s", strerror(errno));
    size_t total = HDR + len + 1;
    unsigned char *b = l4h_xmalloc(total);
    memcpy(b, "L4HJ", 4);
    b[4] = (unsigned char)type;
    b[5] = (unsigned char)flags;
    b[6] = b[7] = 0;
    put32(b + 8, (uint32_t)len);
    memcpy(b + HDR, payload, len);
    uint32_t crc = store_crc32(0, b, 12);
    crc = store_crc32(crc, payload, len);
    put32(b + 12, crc);
    b[HDR + len] = '\n';
    free(packed);
    size_t done = 0;
    while (done < total) {
        ssize_t w = write(fd, b + done, total - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            free(b);
            if (ftruncate(fd, start) != 0) { /* keep the journal whole if we can */
            }
            return l4h_err_set(err, L4H_EXIT_INFRA, "journal: write failed: %s",
                               w < 0 ? strerror(e) : "no progress");
        }
        done += (size_t)w;
    }
    free(b);
    if (fsync(fd) != 0) {
        int e = errno;
        if (ftruncate(fd, start) != 0) {
        }
        return l4h_err_set(err, L4H_EXIT_INFRA, "journal: fsync failed: %s", strerror(e));
    }
    return 0;
}

/* Is there a whole valid record at byte pos of f? Leaves f's position
 * undefined. Used only to tell corruption from a torn tail. */
static int valid_record_at(FILE *f, int64_t pos, int64_t size)
{
    unsigned char h[HDR];
    if (pos + HDR + 1 > size || fseeko(f, pos, SEEK_SET) != 0 || fread(h, 1, HDR, f) != HDR)
        return 0;
    if (memcmp(h, "L4HJ", 4) || !known_type(h[4]) || (h[5] & ~F_DEFLATED) || h[6] || h[7])
        return 0;
    uint32_t len = get32(h + 8);
    if (len > MAX_PAYLOAD || pos + HDR + (int64_t)len + 1 > size)
        return 0;
    char *p = malloc((size_t)len + 1);
    if (!p)
        return 0;
    int ok = fread(p, 1, (size_t)len + 1, f) == (size_t)len + 1 && p[len] == '\n' &&
             store_crc32(store_crc32(0, h, 12), p, len) == get32(h + 12);
    free(p);
    return ok;
}

/* Search for any valid record starting after pos (corruption detection). */
static int valid_record_after(FILE *f, int64_t pos, int64_t size)
{
    unsigned char buf[65536];
    int64_t at = pos + 1;
    while (at < size) {
        if (fseeko(f, at, SEEK_SET) != 0)
            return 0;
        size_t n = fread(buf, 1, sizeof buf, f);
        if (n < 4)
            return 0;
        for (size_t i = 0; i + 4 <= n; i++)
            if (!memcmp(buf + i, "L4HJ", 4) && valid_record_at(f, at + (int64_t)i, size))
                return 1;
        at += (int64_t)n - 3;
    }
    return 0;
}

/* Read records from byte `from`; see store.h. */
int l4h_journal_read(const char *path, int64_t from, l4h_journal_fn fn, void *ctx, int64_t *end,
                     int64_t *dropped, l4h_err *err)
{
    if (end)
        *end = from;
    if (dropped)
        *dropped = 0;
    /* Non-blocking open and a regular-file check: a FIFO or device planted
     * as the journal is refused, never waited on or read forever. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT && from == 0)
            return 0;
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot open the journal: %s", path,
                           strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return l4h_err_set(err, L4H_EXIT_USAGE,
                           "%s: the journal is not a regular file: expected the campaign's journal (move it aside)",
                           path);
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return l4h_err_set(err, L4H_EXIT_INFRA, "%s: cannot open the journal: %s", path,
                           strerror(e));
    }
    int64_t size = sb.st_size, pos = from, index = 0;
    size_t cap = 0, zcap = 0;
    char *p = NULL, *z = NULL;
    int rc = 0;
    if (from > size || fseeko(f, from, SEEK_SET) != 0) {
        fclose(f);
        return l4h_err_set(err, L4H_EXIT_INFRA,
                           "%s: the journal is shorter (%" PRId64 " bytes) than expected (%" PRId64
                           ")", path, size, from);
    }
    while (pos < size) {
        unsigned char h[HDR];
        const char *why = NULL;
        uint32_t len = 0;
        if (pos + HDR > size || fread(h, 1, HDR, f) != HDR)
            why = "incomplete header";
        else if (memcmp(h, "L4HJ", 4) || !known_type(h[4]) || (h[5] & ~F_DEFLATED) || h[6] || h[7])
            why = "bad magic or type";
        else if ((len = get32(h + 8)) > MAX_PAYLOAD || pos + HDR + (int64_t)len + 1 > size)
            why = "incomplete payload";
        if (!why) {
            if (cap < (size_t)len + 2) {
                cap = (size_t)len + 2;
                p = l4h_xrealloc(p, cap);
            }
            if (fread(p, 1, (size_t)len + 1, f) != (size_t)len + 1)
                why = "incomplete payload";
            else if (p[len] != '\n')
                why = "missing record terminator";
            else if (store_crc32(store_crc32(0, h, 12), p, len) != get32(h + 12))
                why = "CRC mismatch";
        }
        if (why) {
            if (valid_record_after(f, pos, size)) {
                rc = l4h_err_set(err, L4H_EXIT_INFRA,
                                 "%s: record %" PRId64 " at byte %" PRId64
                                 " is corrupted (%s) and valid records follow it; the journal is "
                                 "damaged (move it aside and start with --fresh, or repair it)",
                                 path, index, pos, why);
                goto out;
            }
            if (dropped)
                *dropped = size - pos;
            break;
        }
        p[len] = '\0';
        const char *body = p;
        size_t body_len = len;
        if (h[5] & F_DEFLATED) {
            /* A record whose CRC matched but does not inflate was written
             * damaged: corruption, whatever follows it. */
            uLongf want = len >= 4 ? get32((unsigned char *)p) : 0;
            if (len < 4 || want > MAX_PAYLOAD) {
                rc = l4h_err_set(err, L4H_EXIT_INFRA,
                                 "%s: record %" PRId64 " at byte %" PRId64
                                 " is compressed with a damaged length; the journal is damaged",
                                 path, index, pos);
                goto out;
            }
            if (zcap < (size_t)want + 1) {
                zcap = (size_t)want + 1;
                z = l4h_xrealloc(z, zcap);
            }
            uLongf got = want;
            if (uncompress((Bytef *)z, &got, (const Bytef *)p + 4, (uLong)(len - 4)) != Z_OK ||
                got != want) {
                rc = l4h_err_set(err, L4H_EXIT_INFRA,
                                 "%s: record %" PRId64 " at byte %" PRId64
                                 " does not decompress; the journal is damaged", path, index, pos);
                goto out;
            }
            z[want] = '\0';
            body = z;
            body_len = (size_t)want;
        }
        if (fn && fn(h[4], body, body_len, pos, index, ctx, err) != 0) {
            rc = -1;
            goto out;
        }
        pos += HDR + (int64_t)len + 1;
        index++;
        if (end)
            *end = pos;
    }
out:
    free(p);
    free(z);
    fclose(f);
    return rc;
}
