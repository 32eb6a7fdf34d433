/* exec_internal.h — what the files of src/exec/ share and nobody else sees.
 *
 * How a run is started (the one place that explains it)
 * -----------------------------------------------------
 * MPI ranks and task children must not fork (a copy of a large address
 * space), so the child is a clone(CLONE_VM | CLONE_VFORK) as posix_spawn
 * makes it (spawn.c: exec_spawn), but it does itself, before its exec, what
 * posix_spawn cannot: the uid/gid switch (only when we are root), no new
 * privileges, and the parent-death signal. The only other program in the
 * chain is our own launcher:
 *
 *   bwrap:  [clone: fds, signals, uid 65534, nnp, pdeathsig, getppid check]
 *           bwrap --die-with-parent <mounts, namespaces> -- LAUNCH python file.py
 *   rlimit: [clone: the same + setsid, cwd] LAUNCH python file.py
 *
 * LAUNCH is "/proc/self/fd/9 8 9 LIMITS": our own launcher
 * (src/launch/launch.c), embedded in the library and handed to the child as
 * a sealed memfd at fd 9. It sets the resource limits (LIMITS, e.g.
 * "as=N,cpu=S:H,fsize=N,nproc=256,nofile=4096,core=0"), marks every
 * inherited fd close-on-exec, writes 'R' to the pipe at fd 8 and execs the
 * program ('E' and the reason when a limit or the exec fails). The code
 * therefore never holds that pipe: no 'R' means the sandbox failed before
 * the program (bwrap's message is on stderr, but stderr is never *read* to
 * decide: the code can write anything there). A launch failure is the
 * harness's until proven otherwise: l4h_sandbox_run then tries the sandbox
 * without the workspace; if that works and the launch in the workspace
 * fails again, the workspace the code left is the cause and the run is the
 * code's failure (exit 126), not error_sandbox.
 *
 * - Nothing we start outlives us (issue 14 §3): the clone arms SIGKILL on our
 *   death *after* its uid switch (a credential change clears the signal),
 *   then checks that its parent is still us — if we died before the signal
 *   was armed it runs nothing (the getppid race) — and execs; the signal
 *   survives the non-set-uid execs. bwrap adds --die-with-parent for the
 *   namespace's init.
 * - The uid switch to 65534 happens only when we are root: the kernel does
 *   not enforce RLIMIT_NPROC for uid 0, and bwrap run by root maps the
 *   sandbox's uid back to 0 on the host (a fork bomb would be unbounded).
 * - Under bwrap, the launcher sets the limits inside the sandbox, after the
 *   user namespace exists: the kernel counts RLIMIT_NPROC per user
 *   namespace, so every sandbox has its own process budget instead of
 *   sharing one for uid 65534.
 * - SIGUSR1 (Slurm's warning) is *blocked* in the child's signal mask; a
 *   blocked mask survives exec, so the signal stays pending and never ends
 *   the code. Other signals are reset to their defaults.
 * - Every file descriptor but stdin/stdout/stderr and the few bwrap reads
 *   is closed at the exec.
 * - A self re-exec of llm4hep as the helper was measured and rejected: that
 *   binary loads MPI, HDF5 and curl, ~7 ms per start against ~1 ms.
 *
 * Killing everything: under bwrap the code is the init of its own pid
 * namespace (--as-pid-1); we SIGKILL it (its host pid comes from --info-fd,
 * trusted only as bwrap's child); the kernel then kills every process of the
 * namespace, setsid'd or not, and bwrap exits only after they are gone (we
 * wait for that, bounded: 256 spinning processes need CPU time to die).
 * Under rlimit the code runs in its own session; we SIGKILL the process
 * group, then scan /proc for processes whose environment holds this run's
 * LLM4HEP_EXEC_TOKEN (a setsid'd grandchild keeps it) until none is alive,
 * and wait (bounded) until init has reaped the zombies of the code's uid born
 * during the run (they hold that uid's RLIMIT_NPROC budget). Residual risks
 * under rlimit: a process that re-execs itself with a different environment
 * after leaving the session survives; RLIMIT_NPROC counts every process of
 * the uid on the node, so parallel rlimit runs share one budget. */
#ifndef LLM4HEP_EXEC_INTERNAL_H
#define LLM4HEP_EXEC_INTERNAL_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "llm4hep/exec.h"

/* The uid/gid generated code runs as on the host when llm4hep runs as root. */
#define L4H_SANDBOX_UID 65534
#define L4H_SANDBOX_GID 65534
/* Per-sandbox process (and thread) budget: RLIMIT_NPROC. */
#define L4H_SANDBOX_NPROC 256
/* Open files per process: RLIMIT_NOFILE. */
#define L4H_SANDBOX_NOFILE 4096
/* The uid the suite's own programs (tools, check programs) run as under the
 * rlimit backend when we are root: not the code's, so the workspace is
 * read-only to them, with the groups that may read the reference and the
 * suite (l4h_sandbox.suite_groups). */
#define L4H_SUITE_UID 65533
/* HOME of the code, relative to the workspace (caches; not listed). */
#define L4H_WS_HOME ".home"
/* What bwrap shows the code as /tmp and /dev/shm: directories of its HOME,
 * so that they count toward the one workspace budget (exec.h). */
#define L4H_WS_TMP ".home/.tmp"
#define L4H_WS_SHM ".home/.shm"

/* A backend (one file each: exec_bwrap.c, exec_rlimit.c). */
typedef struct l4h_sandbox_ops {
    const char *name;
    /* 0 when this backend can run on this node (bwrap: a trial run). */
    int (*probe)(const l4h_sandbox_cfg *cfg, l4h_err *err);
    int (*run)(const l4h_sandbox *sb, const l4h_workspace *ws, const l4h_exec_spec *spec,
               l4h_exec_result *res, l4h_err *err);
    /* View paths for a workspace at host path (malloc'd). */
    char *(*view_path)(const char *what /* "workspace"|"data"|"reference" */, const char *host);
} l4h_sandbox_ops;

struct l4h_sandbox {
    const l4h_sandbox_ops *ops;
    char *python;          /* configured interpreter (absolute, as given) */
    char **python_dirs;    /* installation dirs to make visible (bwrap), NULL-terminated */
    int switch_uid;        /* 1: we are root, code runs as L4H_SANDBOX_UID */
    int network;
    l4h_limits limits;
    int max_parallel;      /* 0 = no cap */
    char *slot_dir;        /* node-local lock files of the per-node cap */
    const volatile sig_atomic_t *stop; /* set: stop waiting for a slot (may be NULL) */
    char *suite_dir;       /* check programs see it read-only (they load the suite's
                              tools and helpers); NULL without a suite */
    gid_t suite_groups[2]; /* rlimit as root: groups of the reference and suite dirs,
                              given to the suite's programs only */
    int n_suite_groups;
    int reference_closed;  /* rlimit: the reference is closed to the code's uid on
                              purpose (l4h_workspace_create must not ask for o+x) */
};

/* ------------------------------------------------------------- backends */

/* A sandbox for cfg with these limits, helpers found,
 * no backend chosen yet (ops NULL). NULL (code 2 or 3) when the interpreter
 * or a helper is missing. Free with exec_sandbox_delete. */
l4h_sandbox *exec_sandbox_new(const l4h_sandbox_cfg *cfg, const l4h_limits *limits,
                              l4h_err *err);
void exec_sandbox_delete(l4h_sandbox *sb);

extern const l4h_sandbox_ops exec_bwrap_ops;
extern const l4h_sandbox_ops exec_rlimit_ops;

/* ---------------------------------------------------------- helper paths */

/* Absolute path of a system program (searched in /usr/bin, /bin, /usr/sbin,
 * /sbin, /usr/local/bin, then $PATH), malloc'd; NULL when not found. */
char *exec_find_program(const char *name);

/* ----------------------------------------------------------- environment */

/* The code's whole environment, "K=V" strings, NULL-terminated, malloc'd
 * (free with l4h_strv_free). ws_view/data_view/ref_view may be NULL; token
 * (rlimit kill marker) may be NULL. Can't fail. */
char **exec_env(const l4h_sandbox *sb, const char *ws_view, const char *data_view,
                     const char *ref_view, const char *token);

/* Replace the value of name in env (an exec_env array); nothing when
 * name is absent. Can't fail. */
void exec_env_set(char **env, const char *name, const char *value);

/* A growable argv. */
typedef struct l4h_argv {
    char **v;
    size_t n, cap;
} l4h_argv;
void exec_argv_add(l4h_argv *a, const char *s);           /* copies s */
void exec_argv_addf(l4h_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void exec_argv_free(l4h_argv *a);

/* The launcher's limits word for a run with this timeout:
 * "as=..,cpu=S:H,fsize=..,nproc=..,nofile=..,core=0" (as and fsize only when
 * limited) into out. Can't fail. */
void exec_limits_word(const l4h_sandbox *sb, double timeout_s, char *out, size_t outsz);

/* ----------------------------------------------------------------- spawn */

/* The most descriptors an exec_child maps. */
#define EXEC_CHILD_MAX_FDS 12
/* Exit status of a child that ran nothing because its spawner was gone. */
#define L4H_SPAWN_ORPHAN_EXIT 126

/* How exec_spawn starts a program (spawn.c explains the child). */
typedef struct exec_child {
    char *const *argv;     /* argv[0] absolute */
    char *const *envp;
    int fds[EXEC_CHILD_MAX_FDS]; /* fds[i] >= 0 becomes fd i; -1: i closed */
    int nfds;              /* fds nfds and above are closed at the exec */
    const char *cwd;       /* NULL: inherit */
    int new_session;       /* setsid */
    int new_pgroup;        /* setpgid(0, 0) */
    sigset_t blocked;      /* the program's signal mask; all others default */
    int switch_uid;        /* switch to uid, gid, groups (we are root) */
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int ngroups;
    int no_new_privs;      /* PR_SET_NO_NEW_PRIVS */
    int die_with_parent;   /* SIGKILL when the spawning thread dies; runs
                              nothing when the spawner is already gone */
    pid_t parent;          /* the spawner to check for; 0 = getpid() (tests
                              give another to play the getppid race) */
} exec_child;

/* Start c (see spawn.c). The child's pid, or -1 with *err_no set: the
 * clone or a step before the exec failed (that errno; the child already
 * reaped), or ESRCH when the spawner check found us gone. Can be called by
 * any thread; blocks until the child has exec'd. */
pid_t exec_spawn(const exec_child *c, int *err_no);

/* Set c's credentials for the code (suite_program 0) or the suite's programs
 * (1, rlimit as root: L4H_SUITE_UID with the suite's groups), and no new
 * privileges; the uid switch only when we are root. Can't fail. */
void exec_child_credentials(const l4h_sandbox *sb, int suite_program, exec_child *c);
/* The program to run for argv[0]: "python" → the configured interpreter,
 * an absolute path as is, a bare name searched on the fixed PATH. malloc'd. */
char *exec_program(const l4h_sandbox *sb, const char *argv0);

/* --------------------------------------------------------------- capture */

/* Head + tail of one output stream within a byte budget. */
typedef struct l4h_capture {
    size_t head_cap, tail_cap;
    char *head;
    size_t head_len;
    char *tail;            /* ring buffer */
    size_t tail_start, tail_len;
    uint64_t total;
} l4h_capture;

void exec_capture_init(l4h_capture *c, size_t budget);
void exec_capture_add(l4h_capture *c, const char *p, size_t n);
/* The kept text: head + "\n[... N bytes cut ...]\n" + tail when the stream
 * exceeded the budget (*truncated = 1), NUL bytes replaced by '?', every
 * secret the process holds replaced by "[redacted:NAME]" (a piece of one at
 * the cut by "[redacted]"; core.h's l4h_secrets_*). malloc'd; the capture is
 * freed. */
char *exec_capture_finish(l4h_capture *c, int *truncated);

/* -------------------------------------------------------------- launcher */

/* Where the child finds the launch status pipe and the launcher itself. */
#define L4H_LAUNCH_STATUS_FD 8
#define L4H_LAUNCH_SELF_FD 9
/* Exit status of a run the launcher could not start in this workspace. */
#define L4H_LAUNCH_EXIT 126

/* The launcher as a sealed close-on-exec memfd, made on the first call and
 * kept for the process's life (do not close). -1 (code 3) on failure. */
int exec_launch_fd(l4h_err *err);
/* Append the launcher's words ("/proc/self/fd/9 8 9 LIMITS", the limits of
 * a run with this timeout: exec_limits_word); the program follows. Can't
 * fail. */
void exec_add_launcher(const l4h_sandbox *sb, double timeout_s, l4h_argv *a);

/* ------------------------------------------------------------- supervise */

/* One spawn: what to run and how to watch it. */
typedef struct l4h_spawn {
    char **argv;           /* argv[0] absolute */
    char **envp;
    const char *cwd;       /* chdir for the child (rlimit); NULL = inherit */
    int own_session;       /* setsid the child (rlimit) */
    int suite_program;     /* rlimit as root: run as the suite's uid (exec_child_credentials) */
    int bwrap_info;        /* pass a pipe as fd 3 for --info-fd */
    int extra_fds[4];      /* readable fds passed as 4, 5, ... (bwrap --ro-bind-data); -1 ends */
    const char *token;     /* rlimit: LLM4HEP_EXEC_TOKEN value to hunt escapees */
    const char *ws_host;   /* watched for size; NULL = not watched */
    const char *stdin_data;
    size_t stdin_len;
    double timeout_s;
} l4h_spawn;

/* Spawn, feed stdin, capture output within the budget, enforce the timeout,
 * the workspace size and the output volume, kill everything on a limit,
 * reap, and fill res (exit, signal, limit, times, output; not files or
 * isolation). The command line must contain the launcher's words
 * (exec_add_launcher) before the program. 0 when the program ran (or was
 * stopped by a limit before it started); -1 (code 3) when pipes or the
 * launcher cannot be made; L4H_LAUNCH_FAILED (code 3, the reason in err) when
 * the spawn failed or the launcher did not report that the program started. */
#define L4H_LAUNCH_FAILED (-2)
int exec_spawn_supervise(const l4h_sandbox *sb, const l4h_spawn *sp, l4h_exec_result *res,
                         l4h_err *err);

/* ------------------------------------------------------------ /proc */

/* Pids killed by exec_proc_kill_token (bounded). */
typedef struct l4h_pidset {
    pid_t v[4096];
    size_t n;
} l4h_pidset;

/* 1 while pid exists and is neither a zombie nor dead. */
int exec_proc_alive(pid_t pid);
/* Parent pid of pid, 0 when it is gone. */
pid_t exec_proc_parent(pid_t pid);
/* Start time of pid in clock ticks since boot, 0 when it is gone. */
unsigned long long exec_proc_start(pid_t pid);
/* 1 while a zombie of uid started at or after `since` (ticks) exists: the
 * remains of a run's processes that init has not reaped yet. */
int exec_proc_zombies(uid_t uid, unsigned long long since);

/* 1 when this process reaps its descendants' orphans (l4h_exec_adopt_orphans):
 * then every child left when a run has ended is the run's. Can't fail. */
int exec_adopts_orphans(void);

/* Reap every zombie child of ours but `keep` (the run's own process, whose
 * status the supervisor wants): the orphans an adopting process got during
 * a run, which would otherwise hold a place in the code uid's process
 * limit until the run ends. Can't fail. */
void exec_reap_orphans(pid_t keep);
/* SIGKILL every process whose environment holds LLM4HEP_EXEC_TOKEN=token
 * (rlimit: children that left the process group), noting them in killed
 * (may be NULL). With patience > 0, rescan until none is left alive (a killed
 * process still needs CPU time to die on a loaded node), at most that many
 * seconds; else one pass. Only processes whose environ we may read are seen. */
void exec_proc_kill_token(const char *token, double patience, l4h_pidset *killed);

/* ------------------------------------------------------------ workspace */

/* Disk use of the tree at dir and its number of entries, at every level: a
 * file counts at max(apparent size, allocated blocks) (a sparse file costs
 * its full size when copied out), links are not followed. Returns 1 when
 * directories nest deeper than L4H_WS_MAX_DEPTH (the workspace limit too),
 * else 0. Missing entries are skipped. */
int exec_tree_usage(const char *dir, int64_t *bytes, int64_t *entries);
/* Regular files under dir with sizes, sorted by path, skipping the code's
 * HOME (.home/). Directories nested deeper than L4H_WS_MAX_DEPTH are removed
 * (*pruned = 1; may be NULL). Caller frees with exec_files_free. */
void exec_list_files(const char *dir, l4h_file_entry **files, size_t *n, int *pruned);
/* Put back what the harness needs in ws before a run: the root's mode,
 * HOME and its .tmp/.shm (only in a workspace we made: ws->top), the
 * staged inputs (a regular 0444 file with the reference's size and time,
 * reached through directories only; else copied again, whatever the code
 * put in the way removed). 0, or -1 with err: code 1 when the code's doing
 * defeats it (the model's failure), 3 on other I/O errors. */
int exec_workspace_restore(const l4h_sandbox *sb, const l4h_workspace *ws, l4h_err *err);
void exec_files_free(l4h_file_entry *files, size_t n);

/* ---------------------------------------------------------------- slots */

/* Wait for one of max slots of the per-node cap (lock files in dir, flock;
 * dir must be ours, mode 0700, not a link: slots.c). Returns the locked fd
 * (close it to free the slot), or -1 (code 3), also as soon as *stop is set
 * (stop may be NULL). */
int exec_slot_acquire(const char *dir, int max, const volatile sig_atomic_t *stop, l4h_err *err);

#endif
