/* exec.h — workspaces in node-local scratch and the sandbox that runs
 * generated code, tools and check programs. One interface, one file per
 * backend (exec_bwrap.c, exec_rlimit.c); callers never ask which one ran
 * except to record it.
 *
 * Paths: a workspace has a host path and a *view* path — the path the code
 * sees. Under bubblewrap the workspace is /workspace, the data /data and (for
 * check programs only) the reference outputs /reference; the rlimit backend
 * uses host paths. Render prompts and commands with the view paths.
 *
 * What the code gets (both backends):
 * - environment, nothing inherited: PATH=<python's bin>:/usr/local/bin:/usr/bin:/bin,
 *   HOME=<workspace>/.home (caches; not listed in files, not copied out),
 *   LLM4HEP_WORKSPACE, LLM4HEP_DATA (view paths), LLM4HEP_REFERENCE (check
 *   programs only), MPLBACKEND=Agg, PYTHONHASHSEED=0, PYTHONUNBUFFERED=1 (a
 *   killed run still returns its output), PYTHONDONTWRITEBYTECODE=1,
 *   OMP_NUM_THREADS=1, TZ=UTC, LANG=C.UTF-8, TMPDIR=/tmp (rlimit adds
 *   LLM4HEP_EXEC_TOKEN, its kill marker);
 * - limits: wall clock exec_timeout_s (or spec.timeout_s); CPU time that +1 s
 *   per process; address space exec_memory_mb; any one file workspace_mb
 *   (RLIMIT_FSIZE, the kernel's part of the disk limit); the whole workspace
 *   workspace_mb, measured every >= 25 ms while the code runs at every level
 *   of the tree, each file at max(apparent size, allocated blocks) (a sparse
 *   file costs its full size when copied out); more than 200 000 entries or
 *   directories nested deeper than L4H_WS_MAX_DEPTH are the same limit (the
 *   deeper part is removed after the run); a workspace already over it stops
 *   the code only if it grows further, so the next code can clean up;
 *   ONE disk budget: under bwrap the code's /tmp and /dev/shm are
 *   directories of its HOME inside the workspace (not tmpfs), so everything
 *   it can write anywhere is counted against the one workspace_mb, and none
 *   of it is memory outside exec_memory_mb (a tmpfs's pages are not in
 *   RLIMIT_AS); 256 processes and
 *   threads; 4096 open files; no core files; output: head + tail of
 *   output_bytes per stream, and the code is stopped once it printed
 *   max(64 MiB, 16 x output_bytes);
 * - SIGUSR1 blocked (Slurm's warning never reaches it); no terminal it can
 *   reach (rlimit: its own session; bwrap: no tty in its minimal /dev);
 *   everything it started is killed when it ends or is stopped;
 * - no file descriptor but 0, 1, 2 (our launcher marks every other one
 *   close-on-exec; whether the program started is read from the launcher's
 *   status pipe, never from the code's output);
 * - suite programs (l4h_exec_spec.suite_program: tools, check programs) run
 *   python -I, with HOME and the working directory outside the workspace and
 *   (bwrap) the workspace read-only: nothing the model wrote executes there;
 * - when llm4hep runs as root, the code runs as uid/gid 65534: the workspace
 *   is given to that uid, and scratch, data_dir and reference_dir must be
 *   searchable by it (l4h_workspace_create says which directory is not).
 * bwrap only: the system dirs, the interpreter's installation, /tmp and
 * /dev/shm in the workspace's budget, no network unless sandbox.network, its own
 * pid/ipc/uts/user namespaces, no capabilities, read-only root, staged
 * inputs bind-mounted read-only. A program outside all that (a suite's tool
 * or check program: argv[0], or argv[1] when argv[0] is python) is made
 * visible read-only with its directory, at its host path — unless that
 * directory holds the reference dir and the run is not a check program
 * (then l4h_sandbox_run refuses, code 3). Check programs (see_reference)
 * also see the suite's directory read-only at its host path, so that they
 * can load the suite's tools and helpers. LLM4HEP_BWRAP names the bubblewrap
 * binary to use (default: bwrap from the system directories). */
#ifndef LLM4HEP_EXEC_H
#define LLM4HEP_EXEC_H

#include <signal.h>
#include <sys/types.h>

#include "llm4hep/core.h"

typedef struct l4h_sandbox l4h_sandbox;

typedef struct l4h_workspace {
    char *top;             /* <scratch>/llm4hep-<key>-<pid>-XXXXXX (mkdtemp), ours, 0711:
                              holds host and records; NULL in a hand-made workspace */
    char *host;            /* <top>/ws: the code's writable tree */
    char *records;         /* <top>/host: our own records of the run (generated code,
                              logs), 0700, never the code's; NULL: none kept */
    char *view;            /* what code sees: /workspace (bwrap) or host */
    char *data_host, *data_view;
    char *ref_host, *ref_view;
    char **staged;         /* staged inputs, relative paths (read-only for the code) */
    size_t n_staged;
    char *stage_host;      /* the directory staged inputs are copied from: ref_host, or
                              `run --chain`'s directory of the previous steps' outputs */
} l4h_workspace;

/* Create a workspace under cfg->scratch for the task key with generated_code/,
 * arrays/, plots/, logs/, and copy the step's `stage` files from the suite's
 * reference dir (read-only). -1 (code 3) when scratch is not writable or a
 * staged file is missing (named).
 *
 * The host never follows a path through the code's writable tree: it opens
 * the workspace root once per access (l4h_workspace_dir: the root's parent
 * is ours, so the code cannot swap the root) and resolves every name beneath
 * it with the l4h_fs_* functions of core.h (no link followed anywhere).
 * Before every sandbox run the harness puts back what it needs (the root's
 * mode, the staged inputs and their directories: l4h_sandbox_run does it),
 * so nothing the code does to them can fail a later stage; when it cannot,
 * the error has code 1: the code's doing, to be counted as the model's
 * failure. Directories may nest at most L4H_WS_MAX_DEPTH levels: deeper ones
 * stop the run (limit "workspace") and are removed after it. */
#define L4H_WS_MAX_DEPTH 128
int l4h_workspace_create(const l4h_config *cfg, const l4h_sandbox *sb, const char *task_key,
                         const l4h_step *step, l4h_workspace *ws, l4h_err *err);
/* The same, with the step's `stage` files copied from stage_dir instead of
 * the suite's reference dir (NULL: the reference dir): `run --chain` stages
 * the model's own outputs of the previous step. stage_dir must be the
 * caller's own directory (nothing the code wrote is on its path): staging
 * reads it by path as it reads the reference. */
int l4h_workspace_create_from(const l4h_config *cfg, const l4h_sandbox *sb, const char *task_key,
                              const l4h_step *step, const char *stage_dir, l4h_workspace *ws,
                              l4h_err *err);
/* Open the workspace root (a directory fd, close-on-exec; the caller closes
 * it). -1 with err when it is gone. */
int l4h_workspace_dir(const l4h_workspace *ws, l4h_err *err);
/* Write the file rel (e.g. generated_code/iter_3.py) into the workspace for
 * the code to run, replacing whatever the code left at that name or on the
 * way (a link, a file or a directory) without following it, and keep our
 * own copy in the records. -1 with err: code 1 when the workspace as the code
 * left it does not allow it (the model's failure), 3 otherwise. */
int l4h_workspace_write(const l4h_workspace *ws, const char *rel, const char *data, size_t len,
                        l4h_err *err);
/* Write rel (e.g. logs/iter_3.stdout) into the records only: the code never
 * sees or changes it; l4h_workspace_copy_out puts it in the copy. 0 when
 * the workspace keeps no records. -1 (code 3) with err. */
int l4h_workspace_record(const l4h_workspace *ws, const char *rel, const char *data, size_t len,
                         l4h_err *err);
/* Placeholders for this workspace (view paths; {{inputs}}/{{files}} left NULL
 * for the agent to fill). Borrowed pointers into ws and step. */
void l4h_workspace_vars(const l4h_workspace *ws, const l4h_step *step, l4h_vars *vars,
                        char number_buf[16]);
/* Copy the workspace to dir (generated_code/, logs/, arrays/, plots/ and the
 * rest, not .home/), then our records over it. dir is created when missing
 * and must be empty (a reused out-dir would mix two tasks' files: -1, code
 * 2, saying what to do). Directories and regular files only, at their full
 * size: a link is never copied as a link nor followed, FIFOs and devices are
 * left out; every file is created new in dir, never written through
 * anything. -1 with err naming the failure (code 1: directories deeper than
 * L4H_WS_MAX_DEPTH were not copied). */
int l4h_workspace_copy_out(const l4h_workspace *ws, const char *dir, l4h_err *err);
/* 0 when dir is missing or an empty directory; else -1 (code 2) with the
 * message of l4h_workspace_copy_out. For `run --out-dir` to refuse before
 * the task starts. */
int l4h_workspace_outdir_check(const char *dir, l4h_err *err);
/* Open the file rel (relative to the workspace) for reading without
 * following any symbolic link: the code may have planted
 * `arrays/x.npy -> /root/.cborg_api_key` (or a linked directory) to make
 * our host-side readers (checks, listings) read what it cannot. Every
 * component is opened beneath the workspace with O_NOFOLLOW. Returns a
 * close-on-exec fd (caller closes), or -1: code 1 when the file is missing,
 * is a link, or is not a regular file (the code's doing; the message says
 * which), code 2 when rel is absolute or has "..", code 3 on other I/O
 * errors. */
int l4h_workspace_open(const l4h_workspace *ws, const char *rel, l4h_err *err);
/* Remove the workspace (any depth, iteratively, no link followed) and free
 * its strings. -1 (code 3) with err (may be NULL) naming the failure when
 * something is left in scratch; the strings are freed either way. */
int l4h_workspace_remove(l4h_workspace *ws, l4h_err *err);
/* Remove the workspaces of these task keys (llm4hep-<key>-...) that a killed
 * run left in scratch. Call only while holding the campaign's lock (a sweep
 * after l4h_store_open): then no task of these keys can be running. Returns
 * how many were removed. Can't fail (what cannot be removed stays). */
size_t l4h_workspace_remove_leftovers(const char *scratch, char *const *keys, size_t n_keys);
/* Free the strings only (keep the files, for debugging). */
void l4h_workspace_release(l4h_workspace *ws);

/* What to run. argv[0] "python" means the configured sandbox.python. */
typedef struct l4h_exec_spec {
    char *const *argv;       /* NULL-terminated, already rendered with view paths */
    const char *stdin_data;  /* may be NULL */
    size_t stdin_len;
    double timeout_s;        /* 0 = limits.exec_timeout_s */
    int see_reference;       /* 1 only for check programs: mount the reference dir */
    int suite_program;       /* 1 for the suite's own programs (tools, check programs):
                                nothing the model wrote may execute in them. A python
                                interpreter runs isolated (-I: no user site, no
                                PYTHON* variables, no script dir on sys.path), HOME
                                and the working directory are outside the workspace,
                                the workspace is read-only (bwrap). */
} l4h_exec_spec;

typedef struct l4h_file_entry {
    char *path;              /* relative to the workspace */
    int64_t size;
} l4h_file_entry;

typedef struct l4h_exec_result {
    int exit_code;           /* -1 when killed by a signal (under bwrap an exit status
                                129..192 is read as signal status - 128) */
    int signal;
    int timed_out;
    char limit[32];          /* "" or which limit stopped it: time, memory, cpu, fsize,
                                nproc, workspace, output (time, workspace and output
                                are certain; the others are read from the signal and
                                Python's last words, best effort) */
    double wall_s, cpu_s;    /* wall: start to exit, or to the kill when stopped */
    int64_t max_rss_kb;
    char *stdout_text, *stderr_text; /* head + "\n[... N bytes cut ...]\n" + tail; secrets redacted */
    int truncated;
    l4h_file_entry *files;   /* files in the workspace after the run, with sizes */
    size_t n_files;
    const char *isolation;   /* static: "bwrap" | "rlimit" */
    int not_started;         /* 1: the sandbox could not start the program in this
                                workspace as the code left it, though it works
                                without it (exit_code 126, the reason on stderr):
                                the code's failure, not the sandbox's */
} l4h_exec_result;

void l4h_exec_result_clear(l4h_exec_result *r);

/* Pick the backend per sandbox.isolation: auto → bwrap if it works, else
 * refuse when network is false (code 3, saying to install bubblewrap or set
 * isolation: rlimit), else rlimit where it may run (below). The code's
 * captured output has the process's secrets redacted (core.h,
 * l4h_secrets_*; cfg's endpoint keys are collected here).
 * rlimit (explicit or as auto's fallback) runs only where it keeps the
 * reference from the code: we are root (the code runs as uid 65534; as an
 * ordinary user it would run as ours and could read the reference, the
 * suite's solution, API keys in /proc/PID/environ of mpirun/srun, and signal
 * us), and a trial run as uid 65534 can neither list nor enter the reference
 * dir or the suite's dir; their groups (not 0) are then given to the suite's
 * programs, which run as uid 65533. Otherwise code 3 with what to do. */
l4h_sandbox *l4h_sandbox_open(const l4h_config *cfg, l4h_err *err);
/* As l4h_sandbox_open, but trust that the backend named by isolation
 * ("bwrap" | "rlimit", what l4h_sandbox_isolation returned) was already
 * chosen and tried on this node — by a sweep rank's pre-flight — and skip the
 * trial run (tens of milliseconds per task child). Any other name falls back
 * to l4h_sandbox_open. */
l4h_sandbox *l4h_sandbox_open_probed(const l4h_config *cfg, const char *isolation, l4h_err *err);
void l4h_sandbox_free(l4h_sandbox *sb);
/* Waits of l4h_sandbox_run (for a per-node slot) end, as a failure (code 3),
 * once *stop is set (a signal handler's or the campaign drain's flag;
 * borrowed; NULL: never). */
void l4h_sandbox_watch_stop(l4h_sandbox *sb, const volatile sig_atomic_t *stop);
const char *l4h_sandbox_isolation(const l4h_sandbox *sb);
/* One line for the start of a run: the backend (a name from
 * l4h_sandbox_isolation), what it does, and what it does NOT protect with
 * this sandbox.network (static string). */
const char *l4h_sandbox_describe(const char *isolation, int network);

/* Run spec in ws. 0 when it ran (whatever its exit), -1 when the sandbox
 * could not start it (error_sandbox, code 3). Waits for a per-node slot
 * (sandbox.max_parallel_per_node, across processes) first.
 * Whether the program started is known from the launcher's status pipe only
 * (never from the code's output or exit status). When it did not start in
 * ws but the sandbox works without ws, and a second launch in ws fails too,
 * the workspace the code left is the cause: 0 with res->not_started = 1. */
int l4h_sandbox_run(l4h_sandbox *sb, const l4h_workspace *ws, const l4h_exec_spec *spec,
                    l4h_exec_result *res, l4h_err *err);

/* Start argv (argv[0] absolute) with envp, its stdout on stdout_fd (-1:
 * ours), tied to our life: it gets SIGKILL when the calling thread dies, and
 * runs nothing if we are already gone (the getppid race). No fork of our
 * address space (a clone as posix_spawn makes it: fine in MPI ranks). The
 * pid (reap it with waitpid), or -1 with *err_no set. */
pid_t l4h_exec_spawn_tied(char *const argv[], char *const envp[], int stdout_fd, int *err_no);

/* A sealed (read-only for everyone, us included), executable, close-on-exec
 * memfd holding len bytes of data (a program embedded in our binary),
 * numbered >= 10; run it as /proc/self/fd/N. The fd (the caller closes it),
 * or -1 (code 3, the reason in err). */
int l4h_exec_memfd(const char *name, const void *data, size_t len, l4h_err *err);

/* Make this process the reaper of its descendants' orphans for good, and
 * have each sandbox run it makes end, when the run ends, every child of
 * this process (the orphans of the run that came to it: the code's
 * daemons, a sandbox's inner process whose outer one was killed before it
 * armed its death signal). Only for a process whose every child is a
 * sandbox run of its own, one at a time: the task process. 0, or -1 with
 * errno set (prctl). */
int l4h_exec_adopt_orphans(void);

/* End everything this process started, however deep: make it the reaper
 * of its descendants' orphans (PR_SET_CHILD_SUBREAPER, for good), then
 * SIGKILL and reap its children, and every orphan that comes to it while
 * they die, until it has none or patience_s passed. 0 when none is left,
 * -1 otherwise. Only system calls, no allocation: a signal handler may call
 * it (the task process does when its rank dies). It kills every child of
 * the caller: call it only where every child is one to end. */
int l4h_exec_end_descendants(double patience_s);

/* Make this process non-dumpable (its /proc/<pid>/environ unreadable by code). */
void l4h_exec_harden_self(void);

#endif
