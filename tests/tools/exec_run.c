/* exec_run — test driver of the exec room: open a sandbox from flags, create
 * a fresh workspace, put the given Python file at generated_code/iter_1.py,
 * run it (the way the agent does: python <view>/generated_code/iter_1.py)
 * and print the l4h_exec_result as JSON on stdout.
 *
 *   exec_run [--isolation auto|bwrap|rlimit] [--network 0|1] [--scratch DIR]
 *            [--data DIR] [--reference DIR] [--suite-dir DIR] [--stage REL]...
 *            [--see-reference]
 *            [--timeout S] [--memory-mb N] [--workspace-mb N] [--output-bytes N]
 *            [--max-parallel N] [--python PATH] [--secret-env VAR]...
 *            [--stdin FILE] [--runs N] [--keep] [--plain] [--adopt-orphans]
 *            CODE.py [ARGS...]
 *
 * --program PATH runs `python PATH ARGS...` instead (PATH a host file, e.g. a
 * suite's tool; no CODE.py then).
 * --runs N runs the code N times in the same workspace ("runs" in the JSON);
 * --plain runs `python CODE.py` with plain posix_spawn, no sandbox, for the
 * start-up benchmark; --with-plain precedes every sandboxed run by a plain
 * one (its times are "plain_wall_s" and "plain_cpu_s" in that run's JSON: a
 * pair under the same machine load); --keep keeps the workspace (its host path is printed);
 * --adopt-orphans makes us the reaper of our descendants' orphans first, as
 * the task process is (l4h_exec_adopt_orphans).
 * Exit 0 when the code ran (whatever its exit), 2 on bad flags, 3 when the
 * sandbox refused or failed (message on stderr). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "llm4hep/exec.h"

extern char **environ;

static int usage(const char *msg)
{
    fprintf(stderr, "exec_run: %s (see the comment at the top of tests/tools/exec_run.c)\n", msg);
    return 2;
}

static cJSON *result_json(const l4h_exec_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
    cJSON_AddNumberToObject(o, "signal", r->signal);
    cJSON_AddBoolToObject(o, "timed_out", r->timed_out);
    cJSON_AddStringToObject(o, "limit", r->limit);
    cJSON_AddNumberToObject(o, "wall_s", r->wall_s);
    cJSON_AddNumberToObject(o, "cpu_s", r->cpu_s);
    cJSON_AddNumberToObject(o, "max_rss_kb", (double)r->max_rss_kb);
    cJSON_AddStringToObject(o, "stdout", r->stdout_text ? r->stdout_text : "");
    cJSON_AddStringToObject(o, "stderr", r->stderr_text ? r->stderr_text : "");
    cJSON_AddBoolToObject(o, "truncated", r->truncated);
    cJSON_AddStringToObject(o, "isolation", r->isolation ? r->isolation : "");
    cJSON_AddBoolToObject(o, "not_started", r->not_started);
    cJSON *files = cJSON_AddArrayToObject(o, "files");
    for (size_t i = 0; i < r->n_files; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", r->files[i].path);
        cJSON_AddNumberToObject(f, "size", (double)r->files[i].size);
        cJSON_AddItemToArray(files, f);
    }
    return o;
}

/* Plain run: posix_spawn python file, wait, time it. */
static cJSON *plain_run(const char *python, const char *file, char **args, int nargs)
{
    char **argv = calloc((size_t)nargs + 3, sizeof(char *));
    argv[0] = (char *)python;
    argv[1] = (char *)file;
    for (int i = 0; i < nargs; i++)
        argv[i + 2] = args[i];
    double t0 = l4h_monotonic();
    pid_t pid;
    int st = 0;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (posix_spawn(&pid, python, &fa, NULL, argv, environ) == 0)
        wait4(pid, &st, 0, &ru);
    posix_spawn_file_actions_destroy(&fa);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "wall_s", l4h_monotonic() - t0);
    cJSON_AddNumberToObject(o, "cpu_s", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                                            (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    cJSON_AddNumberToObject(o, "exit_code", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    free(argv);
    return o;
}

static char *read_all(const char *path, size_t *len)
{
    char *s = NULL;
    l4h_err err;
    if (l4h_read_file(path, &s, len, &err) != 0) {
        fprintf(stderr, "exec_run: %s\n", err.msg);
        exit(2);
    }
    return s;
}

int main(int argc, char **argv)
{
    l4h_exec_harden_self();
    l4h_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.scratch = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    cfg.limits = (l4h_limits){.task_wall_s = 3600, .exec_timeout_s = 900, .exec_memory_mb = 8192,
                              .workspace_mb = 4096, .output_bytes = 16384};
    cfg.sandbox = (l4h_sandbox_cfg){.python = "/usr/bin/python3", .isolation = L4H_ISOLATION_AUTO,
                                    .network = 0, .max_parallel_per_node = 16};
    l4h_suite suite;
    memset(&suite, 0, sizeof suite);
    l4h_step step;
    memset(&step, 0, sizeof step);
    step.name = "test";
    step.number = 1;
    char *stage[64];
    l4h_endpoint keys[64]; /* --secret-env: endpoints whose key variable is VAR */
    memset(keys, 0, sizeof keys);
    const char *stdin_file = NULL, *program = NULL;
    double timeout = 0;
    int see_ref = 0, runs = 1, keep = 0, plain = 0, with_plain = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(f, "--see-reference") == 0) {
            see_ref = 1;
            continue;
        }
        if (strcmp(f, "--keep") == 0) {
            keep = 1;
            continue;
        }
        if (strcmp(f, "--plain") == 0) {
            plain = 1;
            continue;
        }
        if (strcmp(f, "--with-plain") == 0) {
            with_plain = 1;
            continue;
        }
        if (strcmp(f, "--adopt-orphans") == 0) { /* as the task process does */
            if (l4h_exec_adopt_orphans() != 0)
                return usage("--adopt-orphans: prctl failed");
            continue;
        }
        if (i + 1 >= argc)
            return usage("flag without value");
        const char *v = argv[++i];
        if (strcmp(f, "--isolation") == 0)
            cfg.sandbox.isolation = strcmp(v, "bwrap") == 0    ? L4H_ISOLATION_BWRAP
                                    : strcmp(v, "rlimit") == 0 ? L4H_ISOLATION_RLIMIT
                                                               : L4H_ISOLATION_AUTO;
        else if (strcmp(f, "--network") == 0)
            cfg.sandbox.network = atoi(v);
        else if (strcmp(f, "--scratch") == 0)
            cfg.scratch = (char *)v;
        else if (strcmp(f, "--data") == 0)
            suite.data_dir = (char *)v;
        else if (strcmp(f, "--reference") == 0)
            suite.reference_dir = (char *)v;
        else if (strcmp(f, "--suite-dir") == 0)
            suite.dir = (char *)v;
        else if (strcmp(f, "--stage") == 0 && step.n_stage < 64)
            stage[step.n_stage++] = (char *)v;
        else if (strcmp(f, "--timeout") == 0)
            timeout = cfg.limits.exec_timeout_s = atof(v);
        else if (strcmp(f, "--memory-mb") == 0)
            cfg.limits.exec_memory_mb = atoll(v);
        else if (strcmp(f, "--workspace-mb") == 0)
            cfg.limits.workspace_mb = atoll(v);
        else if (strcmp(f, "--output-bytes") == 0)
            cfg.limits.output_bytes = atoll(v);
        else if (strcmp(f, "--max-parallel") == 0)
            cfg.sandbox.max_parallel_per_node = atoi(v);
        else if (strcmp(f, "--python") == 0)
            cfg.sandbox.python = (char *)v;
        else if (strcmp(f, "--secret-env") == 0 && cfg.n_endpoints < 64) {
            keys[cfg.n_endpoints].name = (char *)"secret-env";
            keys[cfg.n_endpoints++].api_key_env = (char *)v;
            cfg.endpoints = keys;
        }
        else if (strcmp(f, "--stdin") == 0)
            stdin_file = v;
        else if (strcmp(f, "--program") == 0)
            program = v;
        else if (strcmp(f, "--runs") == 0)
            runs = atoi(v);
        else
            return usage(f);
    }
    if (i >= argc && !program)
        return usage("no code file given");
    const char *code_file = program ? program : argv[i];
    char **extra = program ? argv + i : argv + i + 1;
    int n_extra = program ? argc - i : argc - i - 1;
    step.stage = stage;
    cJSON *out = cJSON_CreateObject();

    if (plain) {
        cJSON *rs = cJSON_AddArrayToObject(out, "runs");
        for (int k = 0; k < runs; k++)
            cJSON_AddItemToArray(rs, plain_run(cfg.sandbox.python, code_file, extra, n_extra));
        char *s = cJSON_PrintUnformatted(out);
        puts(s);
        free(s);
        cJSON_Delete(out);
        return 0;
    }

    if (suite.data_dir || suite.reference_dir || suite.dir)
        cfg.suite = &suite;
    l4h_err err = {0, ""};
    l4h_sandbox *sb = l4h_sandbox_open(&cfg, &err);
    if (!sb) {
        fprintf(stderr, "exec_run: %s\n", err.msg);
        cJSON_Delete(out);
        return err.code ? err.code : 3;
    }
    l4h_workspace ws;
    if (l4h_workspace_create(&cfg, sb, "exectest", step.n_stage ? &step : NULL, &ws, &err) != 0) {
        fprintf(stderr, "exec_run: %s\n", err.msg);
        l4h_sandbox_free(sb);
        cJSON_Delete(out);
        return err.code ? err.code : 3;
    }
    char *view_code, *code = NULL;
    size_t code_len = 0;
    if (program) {
        view_code = l4h_xstrdup(program);
    } else {
        code = read_all(code_file, &code_len);
        view_code = l4h_path_join(ws.view, "generated_code/iter_1.py");
    }
    char **rargv = calloc((size_t)n_extra + 3, sizeof(char *));
    rargv[0] = "python";
    rargv[1] = view_code;
    for (int k = 0; k < n_extra; k++)
        rargv[k + 2] = extra[k];
    size_t in_len = 0;
    char *in = stdin_file ? read_all(stdin_file, &in_len) : NULL;
    l4h_exec_spec spec = {.argv = rargv, .stdin_data = in, .stdin_len = in_len,
                          .timeout_s = timeout, .see_reference = see_ref};

    cJSON_AddStringToObject(out, "isolation", l4h_sandbox_isolation(sb));
    cJSON_AddStringToObject(out, "workspace_host", ws.host);
    cJSON_AddStringToObject(out, "workspace_view", ws.view);
    cJSON *rs = cJSON_AddArrayToObject(out, "runs");
    int rc = 0;
    for (int k = 0; k < runs; k++) {
        cJSON *pj = with_plain ? plain_run(cfg.sandbox.python, code_file, extra, n_extra) : NULL;
        l4h_exec_result res;
        double t0 = l4h_monotonic();
        /* the code is written before every run, as the agent writes each
         * iteration's: past whatever the previous run left at its place */
        int ran = code ? l4h_workspace_write(&ws, "generated_code/iter_1.py", code, code_len, &err)
                       : 0;
        if (ran == 0)
            ran = l4h_sandbox_run(sb, &ws, &spec, &res, &err);
        else
            memset(&res, 0, sizeof res);
        double call_s = l4h_monotonic() - t0;
        if (ran != 0) {
            cJSON_Delete(pj);
            fprintf(stderr, "exec_run: %s\n", err.msg);
            rc = err.code ? err.code : 3;
            break;
        }
        cJSON *j = result_json(&res);
        cJSON_AddNumberToObject(j, "call_s", call_s); /* the whole l4h_sandbox_run */
        if (pj) {
            cJSON_AddNumberToObject(j, "plain_wall_s",
                                    cJSON_GetObjectItem(pj, "wall_s")->valuedouble);
            cJSON_AddNumberToObject(j, "plain_cpu_s", cJSON_GetObjectItem(pj, "cpu_s")->valuedouble);
            cJSON_Delete(pj);
        }
        cJSON_AddItemToArray(rs, j);
        if (k == runs - 1)
            cJSON_AddItemReferenceToObject(out, "result", j);
        l4h_exec_result_clear(&res);
    }
    if (rc == 0) {
        char *s = cJSON_PrintUnformatted(out);
        puts(s);
        free(s);
    }
    cJSON_Delete(out);
    free(in);
    free(code);
    free(rargv);
    free(view_code);
    if (keep)
        l4h_workspace_release(&ws);
    else
        l4h_workspace_remove(&ws, NULL);
    l4h_sandbox_free(sb);
    return rc;
}
