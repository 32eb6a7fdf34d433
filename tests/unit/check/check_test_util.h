/* check_test_util.h — shared by the check room's unit tests: a private
 * temporary directory per test program and a substring assertion. Include
 * after <cmocka.h>. */
#ifndef CHECK_TEST_UTIL_H
#define CHECK_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[256];

/* cmocka group setup: create /tmp/l4h_test_XXXXXX. */
static inline int tmpdir_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/l4h_test_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* cmocka group teardown: remove it with everything in it. */
static inline int tmpdir_teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* tmpdir/rel in one of four rotating static buffers (copy it to keep it
 * across more than three further calls). */
static inline char *tpath(const char *rel)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, rel);
    return buf[k];
}

/* Fail the test unless needle occurs in hay, showing hay. */
static inline void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("expected '%s' in:\n%s", needle, hay ? hay : "(null)");
}

#endif
