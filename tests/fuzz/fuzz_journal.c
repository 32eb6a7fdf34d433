/* fuzz_journal — the campaign journal a resume reads, any bytes. The first
 * byte picks the mode: even, the rest is the journal file as is (framing,
 * CRCs, torn tails, corruption detection); odd, the rest is records, one
 * per line, "<type><json>", framed and checksummed here with the store's
 * own writer, so the fuzzer reaches the record payloads (task records are
 * parsed as a resume parses them, and written back out). A finding is a
 * crash, a sanitizer report, a leak, or a record that does not round-trip. */
#include "fuzz_util.h"
#include "llm4hep/store.h"

typedef struct seen {
    int64_t records;
} seen;

static int on_record(int type, const char *payload, size_t len, int64_t offset, int64_t index,
                     void *ctx, l4h_err *err)
{
    (void)offset, (void)index;
    seen *s = ctx;
    s->records++;
    FUZZ_ASSERT(payload[len] == '\0');
    if (type == L4H_J_TASK) {
        l4h_task_rec rec = {0};
        l4h_err e = {0};
        if (l4h_rec_from_json(payload, len, &rec, &e) == 0) {
            char *json = l4h_rec_to_json(&rec);
            l4h_task_rec again = {0};
            FUZZ_ASSERT(l4h_rec_from_json(json, strlen(json), &again, &e) == 0);
            FUZZ_ASSERT(again.n_calls == rec.n_calls && again.n_execs == rec.n_execs &&
                        again.n_checks == rec.n_checks && again.task_id == rec.task_id);
            l4h_rec_clear(&again);
            free(json);
        }
        l4h_rec_clear(&rec);
    }
    (void)err;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *path;
    if ((data[0] & 1) == 0) {
        path = fuzz_file("journal", data + 1, size - 1);
    } else {
        path = fuzz_file("journal", "", 0);
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        FUZZ_ASSERT(fd >= 0);
        const char *p = (const char *)data + 1, *end = (const char *)data + size;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            static const char types[] = {L4H_J_HEADER, L4H_J_RUN_BEGIN, L4H_J_RUN_END,
                                         L4H_J_TASK, L4H_J_ANNOTATION};
            if (n > 0) {
                int type = types[(unsigned char)p[0] % sizeof types];
                l4h_err e = {0};
                FUZZ_ASSERT(l4h_journal_append(fd, type, p + 1, n - 1, &e) == 0);
            }
            p += n + (nl ? 1 : 0);
        }
        close(fd);
    }
    seen s = {0};
    int64_t end = 0, dropped = 0;
    l4h_err err = {0};
    int rc = l4h_journal_read(path, 0, on_record, &s, &end, &dropped, &err);
    FUZZ_ASSERT(rc == 0 || err.msg[0]);
    FUZZ_ASSERT(end >= 0 && dropped >= 0);
    return 0;
}
