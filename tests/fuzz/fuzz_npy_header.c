/* fuzz_npy_header — the .npy reader on any bytes: header parsing (magic,
 * versions 1-3, the dict, descr, shape), the size checks against the file,
 * and the first values read. A finding is a crash, a sanitizer report, or a
 * header accepted with a shape the file cannot hold. */
#include "fuzz_util.h"
#include "llm4hep/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file("in.npy", data, size);
    l4h_npy npy;
    l4h_err err = {0};
    if (l4h_npy_open(path, &npy, &err) != 0)
        return 0;
    FUZZ_ASSERT(npy.data_offset >= 10 && (uint64_t)npy.data_offset <= size);
    FUZZ_ASSERT(npy.itemsize > 0 && npy.count <= (size - (uint64_t)npy.data_offset) / (uint64_t)npy.itemsize);
    double out[64];
    uint64_t first = npy.count > 3 ? npy.count - 3 : 0;
    int64_t got = l4h_npy_read(&npy, 0, out, 64, &err);
    FUZZ_ASSERT(got <= 64);
    got = l4h_npy_read(&npy, first, out, 64, &err);
    FUZZ_ASSERT(got <= 64);
    l4h_npy_close(&npy);
    return 0;
}
