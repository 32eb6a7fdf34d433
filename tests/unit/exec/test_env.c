/* The code's environment and the launch: nothing of ours inherited, limits
 * spelled for the launcher, the uid switch only when root, every run tied
 * to our life. */
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
    char **env = exec_env(&sb, "/workspace", "/data", NULL, NULL);
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
    env = exec_env(&sb, "/ws", "/d", "/ref", "abc");
    assert_true(has(env, "LLM4HEP_REFERENCE=/ref"));
    assert_true(has(env, "LLM4HEP_EXEC_TOKEN=abc"));
    l4h_strv_free(env);
}

static void launcher_words_carry_the_limits(void **state)
{
    (void)state;
    l4h_sandbox sb = fake();
    char w[256];
    exec_limits_word(&sb, 9.5, w, sizeof w);
    assert_string_equal(w, "as=2147483648,cpu=11:12,fsize=67108864,nproc=256,nofile=4096,core=0");
    sb.limits.exec_memory_mb = 0;
    sb.limits.workspace_mb = 0;
    exec_limits_word(&sb, 1, w, sizeof w);
    assert_string_equal(w, "cpu=2:3,nproc=256,nofile=4096,core=0");
    l4h_argv a = {0};
    exec_add_launcher(&sb, 1, &a);
    assert_int_equal(a.n, 4);
    assert_string_equal(a.v[0], "/proc/self/fd/9");
    assert_string_equal(a.v[3], "cpu=2:3,nproc=256,nofile=4096,core=0");
    exec_argv_free(&a);
}

static void every_run_dies_with_its_spawner(void **state)
{
    (void)state;
    l4h_sandbox sb = fake();
    exec_child c;
    memset(&c, 0, sizeof c);
    exec_child_credentials(&sb, 0, &c);
    /* armed in the child after the uid switch; nothing runs if we are gone */
    assert_true(c.die_with_parent && c.no_new_privs && !c.switch_uid);
    sb.switch_uid = 1;
    exec_child_credentials(&sb, 0, &c);
    assert_true(c.switch_uid && c.uid == 65534 && c.gid == 65534 && c.ngroups == 0);
    assert_true(c.die_with_parent && c.no_new_privs);
    sb.suite_groups[0] = 1234;
    sb.suite_groups[1] = 1234;
    sb.n_suite_groups = 2;
    exec_child_credentials(&sb, 1, &c);
    assert_true(c.uid == L4H_SUITE_UID && c.gid == L4H_SUITE_UID && c.ngroups == 1 &&
                c.groups[0] == 1234);
}

static void program_for_argv0(void **state)
{
    (void)state;
    l4h_sandbox sb = fake();
    char *p = exec_program(&sb, "python");
    assert_string_equal(p, "/opt/py/bin/python3");
    free(p);
    p = exec_program(&sb, "/usr/bin/env");
    assert_string_equal(p, "/usr/bin/env");
    free(p);
    p = exec_program(&sb, "no-such-program-l4h");
    assert_string_equal(p, "no-such-program-l4h");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(environment_is_built_from_nothing),
        cmocka_unit_test(launcher_words_carry_the_limits),
        cmocka_unit_test(every_run_dies_with_its_spawner),
        cmocka_unit_test(program_for_argv0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
