/* test_journal.c — CRC-32 and the journal: records round trip, a torn tail
 * is dropped (and measured), corruption in the middle is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm4hep/store.h"
#include "../../../src/store/store_internal.h"

static char dir[64];

static void crc_known_values(void **state)
{
    (void)state;
    assert_int_equal(store_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(store_crc32(0, "", 0), 0);
    uint32_t c = store_crc32(0, "1234", 4);
    assert_int_equal(store_crc32(c, "56789", 5), 0xCBF43926u);
    assert_int_not_equal(store_crc32(0, "123456788", 9), 0xCBF43926u);
}

typedef struct seen {
    int n;
    int types[16];
    char payloads[16][64];
    int64_t offsets[16];
} seen;

static int collect(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                   void *ctx, l4h_err *err)
{
    (void)err;
    seen *s = ctx;
    assert_int_equal(index, s->n);
    assert_int_equal(strlen(payload), len);
    s->types[s->n] = type;
    snprintf(s->payloads[s->n], 64, "%s", payload);
    s->offsets[s->n] = offset;
    s->n++;
    return 0;
}

/* A fresh journal with three records; returns its path (static buffer). */
static const char *three_records(void)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/j%d.journal", dir, rand());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    assert_true(fd >= 0);
    l4h_err err;
    assert_int_equal(l4h_journal_append(fd, L4H_J_HEADER, "{\"h\":1}", 7, &err), 0);
    assert_int_equal(l4h_journal_append(fd, L4H_J_TASK, "{\"t\":2}", 7, &err), 0);
    assert_int_equal(l4h_journal_append(fd, L4H_J_ANNOTATION, "{\"a\":\"three\"}", 13, &err), 0);
    close(fd);
    return path;
}

static int64_t file_size(const char *p)
{
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    return sb.st_size;
}

static void records_round_trip(void **state)
{
    (void)state;
    const char *p = three_records();
    seen s = {0};
    int64_t end, dropped;
    l4h_err err;
    assert_int_equal(l4h_journal_read(p, 0, collect, &s, &end, &dropped, &err), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.types[0], 'H');
    assert_int_equal(s.types[1], 'T');
    assert_int_equal(s.types[2], 'A');
    assert_string_equal(s.payloads[2], "{\"a\":\"three\"}");
    assert_int_equal(s.offsets[0], 0);
    assert_int_equal(s.offsets[1], 16 + 7 + 1);
    assert_int_equal(end, file_size(p));
    assert_int_equal(dropped, 0);
    /* reading from a record boundary */
    seen s2 = {0};
    assert_int_equal(l4h_journal_read(p, s.offsets[1], collect, &s2, &end, NULL, &err), 0);
    assert_int_equal(s2.n, 2);
    assert_int_equal(s2.types[0], 'T');
}

static void missing_journal_is_empty(void **state)
{
    (void)state;
    seen s = {0};
    int64_t end = -1, dropped = -1;
    l4h_err err;
    char p[128];
    snprintf(p, sizeof p, "%s/none.journal", dir);
    assert_int_equal(l4h_journal_read(p, 0, collect, &s, &end, &dropped, &err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(end, 0);
    assert_int_equal(dropped, 0);
}

/* Cutting the file anywhere inside the last record drops exactly it. */
static void torn_tail_dropped(void **state)
{
    (void)state;
    const char *p = three_records();
    int64_t size = file_size(p);
    seen s = {0};
    l4h_err err;
    assert_int_equal(l4h_journal_read(p, 0, collect, &s, NULL, NULL, &err), 0);
    int64_t last = s.offsets[2];
    for (int64_t cut = last + 1; cut < size; cut++) {
        const char *q = three_records();
        assert_int_equal(truncate(q, cut), 0);
        seen t = {0};
        int64_t end, dropped;
        assert_int_equal(l4h_journal_read(q, 0, collect, &t, &end, &dropped, &err), 0);
        assert_int_equal(t.n, 2);
        assert_int_equal(end, last);
        assert_int_equal(dropped, cut - last);
        unlink(q);
    }
    /* zeros after a whole journal (a crash that extended the file) */
    const char *q = three_records();
    int fd = open(q, O_WRONLY | O_APPEND);
    char zeros[100] = {0};
    assert_int_equal(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
    close(fd);
    seen t = {0};
    int64_t dropped;
    assert_int_equal(l4h_journal_read(q, 0, collect, &t, NULL, &dropped, &err), 0);
    assert_int_equal(t.n, 3);
    assert_int_equal(dropped, 100);
    /* a flipped bit in the last record: also a torn tail */
    q = three_records();
    fd = open(q, O_RDWR);
    char b;
    assert_int_equal(pread(fd, &b, 1, size - 3), 1);
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, size - 3), 1);
    close(fd);
    seen u = {0};
    assert_int_equal(l4h_journal_read(q, 0, collect, &u, NULL, &dropped, &err), 0);
    assert_int_equal(u.n, 2);
    assert_int_equal(dropped, size - last);
}

/* A bad record followed by a good one is refused, naming it. */
static void corrupted_middle_refused(void **state)
{
    (void)state;
    const char *p = three_records();
    seen s = {0};
    l4h_err err;
    assert_int_equal(l4h_journal_read(p, 0, collect, &s, NULL, NULL, &err), 0);
    int fd = open(p, O_RDWR);
    char b;
    int64_t at = s.offsets[1] + 18; /* inside record 1's payload */
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x20;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    seen t = {0};
    memset(&err, 0, sizeof err);
    assert_int_equal(l4h_journal_read(p, 0, collect, &t, NULL, NULL, &err), -1);
    assert_int_equal(err.code, L4H_EXIT_INFRA);
    assert_non_null(strstr(err.msg, "record 1 at byte 24"));
    assert_non_null(strstr(err.msg, "CRC mismatch"));
    assert_non_null(strstr(err.msg, p));
}

/* A callback error stops the scan with that error. */
static int stop_at_two(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                       void *ctx, l4h_err *err)
{
    (void)type, (void)payload, (void)len, (void)offset, (void)ctx;
    if (index == 1)
        return l4h_err_set(err, 3, "stop here");
    return 0;
}

/* Journal callback: keep the last payload (malloc'd) in ctx. */
static int keep_last(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                     void *ctx, l4h_err *err)
{
    (void)type, (void)offset, (void)index, (void)err;
    char **last = ctx;
    free(*last);
    *last = malloc(len + 1);
    memcpy(*last, payload, len + 1);
    return 0;
}

/* A task record of 1 KiB or more is stored deflated (header byte 5 = 1)
 * and read back as written; a small one and other types stay plain; the
 * reader's end is the file's size; a deflated record whose stream is
 * damaged (CRC made to match) is refused, not read as something else. */
static void task_records_stored_deflated(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/z%d.journal", dir, rand());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    l4h_err err;
    char big[8192];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = "{\"calls\":[\"photon diphoton mass\"]}"[i % 30];
    big[sizeof big - 1] = '\0';
    assert_int_equal(l4h_journal_append(fd, L4H_J_HEADER, big, strlen(big), &err), 0);
    off_t after_h = lseek(fd, 0, SEEK_END);
    assert_int_equal(after_h, 16 + strlen(big) + 1); /* not a task record: plain */
    assert_int_equal(l4h_journal_append(fd, L4H_J_TASK, big, strlen(big), &err), 0);
    off_t after_t = lseek(fd, 0, SEEK_END);
    assert_true(after_t - after_h < 1000); /* stored compressed */
    close(fd);
    unsigned char h[16];
    fd = open(path, O_RDWR);
    assert_int_equal(pread(fd, h, 16, after_h), 16);
    assert_int_equal(h[4], 'T');
    assert_int_equal(h[5], 1);
    char *last = NULL;
    int64_t end = 0, dropped = -1;
    assert_int_equal(l4h_journal_read(path, 0, keep_last, &last, &end, &dropped, &err), 0);
    assert_string_equal(last, big);
    assert_int_equal(end, after_t);
    assert_int_equal(dropped, 0);
    /* damage the stream, fix the CRC: refused as damaged */
    size_t n = (size_t)(after_t - after_h - 17);
    unsigned char *b = malloc(16 + n);
    assert_int_equal(pread(fd, b, 16 + n, after_h), (ssize_t)(16 + n));
    b[16 + n / 2] ^= 0x55;
    uint32_t crc = store_crc32(store_crc32(0, b, 12), b + 16, n);
    b[12] = crc & 0xff, b[13] = (crc >> 8) & 0xff, b[14] = (crc >> 16) & 0xff, b[15] = crc >> 24;
    assert_int_equal(pwrite(fd, b, 16 + n, after_h), (ssize_t)(16 + n));
    close(fd);
    free(b);
    assert_int_equal(l4h_journal_read(path, 0, keep_last, &last, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "does not decompress"));
    free(last);
}

static void callback_error_stops(void **state)
{
    (void)state;
    const char *p = three_records();
    l4h_err err;
    assert_int_equal(l4h_journal_read(p, 0, stop_at_two, NULL, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "stop here");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/l4h-journal-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_known_values),       cmocka_unit_test(records_round_trip),
        cmocka_unit_test(missing_journal_is_empty), cmocka_unit_test(torn_tail_dropped),
        cmocka_unit_test(corrupted_middle_refused), cmocka_unit_test(callback_error_stops),
        cmocka_unit_test(task_records_stored_deflated),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    l4h_remove_tree(dir, NULL);
    return rc;
}
