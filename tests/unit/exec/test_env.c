/* The code's environment and the helper words: nothing of ours inherited,
 * limits spelled for prlimit, the uid switch only when root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../src/exec/exec_internal.h"

static size_t count(char **v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

static int has(char **v, const char *s)
{
    for (size_t i = 0; v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static l4h_sandbox fake(void)
{
    l4h_sandbox sb;
    memset(&sb, 0, sizeof sb);
    sb.python = "/opt/py/bin/python3";
    sb.prlimit = "/usr/bin/prlimit";
    sb.setpriv = "/usr/bin/setpriv";
    sb.lifeline = "/opt/llm4hep/bin/llm4hep-lifeline";
    sb.limits.exec_memory_mb = 2048;
    sb.limits.workspace_mb = 64;
    return sb;
}

static void environment_is_built_from_nothing(void **state)
{
    (void)state;
    setenv("CBORG_API_KEY", "sk-not-for-the-code", 1);
    setenv("https_proxy", "http://user:pw@proxy:3128", 1);
    l4h_sandbox sb = fake();
    char **env = l4h__exec_env(&sb, "/workspace", "/data", NULL, NULL);
    assert_true(has(env, "PATH=/opt/py/bin:/usr/local/bin:/usr/bin:/bin"));
    assert_true(has(env, "HOME=/workspace/.home"));
    assert_true(has(env, "LLM4HEP_WORKSPACE=/workspace"));
    assert_true(has(env, "LLM4HEP_DATA=/data"));
    assert_true(has(env, "MPLBACKEND=Agg"));
    assert_true(has(env, "PYTHONHASHSEED=0"));
    assert_true(has(env, "OMP_NUM_THREADS=1"));
    assert_true(has(env, "TZ=UTC"));
    assert_int_equal(count(env), 12);
    for (size_t i = 0; env[i]; i++) {
        assert_null(strstr(env[i], "sk-not-for-the-code"));
        assert_null(strstr(env[i], "proxy"));
        assert_null(strstr(env[i], "LLM4HEP_REFERENCE"));
    }
    l4h_strv_free(env);
    env = l4h__exec_env(&sb, "/ws", "/d", "/ref", "abc");
    assert_true(has(env, "LLM4HEP_REFERENCE=/ref"));
    assert_true(has(env, "LLM4HEP_EXEC_TOKEN=abc"));
    l4h_strv_free(env);
}

static void prlimit_words_carry_the_limits(void **state)
{
    (void)state;
    l4h_sandbox sb = fake();
    l4h_argv a = {0};
    l4h__exec_add_prlimit(&sb, 9.5, &a);
    assert_string_equal(a.v[0], "/usr/bin/prlimit");
    assert_true(has(a.v, "--as=2147483648"));
    assert_true(has(a.v, "--cpu=11:12"));
    assert_true(has(a.v, "--fsize=67108864"));
    assert_true(has(a.v, "--nproc=256"));
    assert_true(has(a.v, "--core=0"));
    assert_string_equal(a.v[a.n - 1], "--");
    l4h__argv_free(&a);
}

static void every_run_dies_with_its_spawner(void **state)
{
    (void)state;
    l4h_sandbox sb = fake();
    l4h_argv a = {0};
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    l4h__exec_add_launch(&sb, 0, &a);
    /* setpriv arms the signal; the lifeline then checks we still live */
    assert_true(has(a.v, "--pdeathsig=KILL") && !has(a.v, "--reuid=65534"));
    assert_string_equal(a.v[a.n - 2], "/opt/llm4hep/bin/llm4hep-lifeline");
    assert_string_equal(a.v[a.n - 1], pid);
    l4h__argv_free(&a);
    sb.switch_uid = 1;
    l4h__exec_add_launch(&sb, 0, &a);
    assert_true(has(a.v, "--reuid=65534") && has(a.v, "--regid=65534") &&
                has(a.v, "--clear-groups") && has(a.v, "--nnp") && has(a.v, "--pdeathsig=KILL"));
    l4h__argv_free(&a);
}

static void program_for_argv0(void **state)
{
    (void)state;
    l4h_sandbox sb = fake();
    char *p = l4h__exec_program(&sb, "python");
    assert_string_equal(p, "/opt/py/bin/python3");
    free(p);
    p = l4h__exec_program(&sb, "/usr/bin/env");
    assert_string_equal(p, "/usr/bin/env");
    free(p);
    p = l4h__exec_program(&sb, "no-such-program-l4h");
    assert_string_equal(p, "no-such-program-l4h");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(environment_is_built_from_nothing),
        cmocka_unit_test(prlimit_words_carry_the_limits),
        cmocka_unit_test(every_run_dies_with_its_spawner),
        cmocka_unit_test(program_for_argv0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
