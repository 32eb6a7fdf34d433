/* fuzz_util.h — what the libFuzzer targets share: a private scratch
 * directory (removed at exit) and writing one input there as a file, for the
 * readers that take a path. Header-only; each target is one program. */
#ifndef LLM4HEP_FUZZ_UTIL_H
#define LLM4HEP_FUZZ_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm4hep/core.h"

static char fuzz_dir_path[256];

static inline void fuzz_dir_remove(void)
{
    if (fuzz_dir_path[0])
        l4h_remove_tree(fuzz_dir_path, NULL);
}

/* The scratch directory (made on first use, in /dev/shm when there is one:
 * every input is a file write). Aborts when it cannot be made. */
static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_path[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/llm4hep-fuzz-XXXXXX", base);
        if (!mkdtemp(fuzz_dir_path)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

/* Write n bytes to <fuzz dir>/name (replacing it); the path (static buffer,
 * valid until the next call). Aborts on a failed write: not a finding. */
static inline const char *fuzz_file(const char *name, const void *data, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror(path);
        abort();
    }
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror(path);
            abort();
        }
        p += w;
        n -= (size_t)w;
    }
    close(fd);
    return path;
}

/* A finding: print what broke and abort (libFuzzer saves the input). */
#define FUZZ_ASSERT(cond)                                                                    \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz: %s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#endif
