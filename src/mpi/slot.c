/* slot.c — a task slot: runs one task at a time in a spawned child (the
 * embedded llm4hep-task, no MPI: `llm4hep task --fd 3`, own process group),
 * relays its permit and spending messages to the coordinator, and reports
 * whatever became of it: the child's record, error_internal when it died
 * without one, interrupted when the campaign drained it. A slot never dies of a task. */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpi_internal.h"

extern char **environ;

static void up(slot *s, int tag, const void *data, size_t len)
{
    mpi_link_send(s->link, s->rank, 0, tag, data, len);
}

void mpi_slot_init(slot *s)
{
    s->child = 0;
    s->fd = -1;
    up(s, TAG_READY, "", 0);
}

/* Send a record the rank made itself for the current task. */
static void report_own(slot *s, l4h_status status, const char *summary)
{
    l4h_task_rec rec = {0};
    mpi_rec_identity(&rec, s->cfg, &s->plan->tasks[s->task_index]);
    rec.started_utc = s->started;
    rec.wall_s = l4h_now() - s->started;
    rec.status = status;
    rec.attempt = s->attempt;
    rec.run = s->run;
    rec.rank = s->rank;
    rec.error_summary = l4h_xstrdup(summary);
    rec.success = status == L4H_STATUS_SUCCESS;
    if (status == L4H_STATUS_ERROR_INTERNAL)
        snprintf(rec.error_category, sizeof rec.error_category, "other");
    char *json = l4h_rec_to_json(&rec);
    up(s, TAG_RESULT, json, strlen(json));
    free(json);
    l4h_rec_clear(&rec);
}

/* The child is gone (or killed): reap it, report, become idle. */
static void finish(slot *s, const char *killed_why)
{
    int status = 0;
    while (waitpid(s->child, &status, 0) < 0 && errno == EINTR) {
    }
    /* What the child left in its process group goes with it: a sandbox it
     * spawned (bwrap stays in the group) whose parent-death signal came too
     * late — bwrap arms --die-with-parent after its clone, so a child killed
     * in that window leaves the inner process. The group id cannot have
     * been reused while a member lives. */
    kill(-s->child, SIGKILL);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->child = 0;
    s->kill_at = 0;
    s->awaiting = 0;
    s->tasks_run++;
    if (killed_why) {
        free(s->result);
        s->result = NULL;
        report_own(s, L4H_STATUS_INTERRUPTED, killed_why);
    } else if (s->refused) {
        char *why = l4h_xstrdup(s->refused);
        free(s->refused);
        s->refused = NULL;
        l4h_buf b = {0};
        l4h_buf_printf(&b, "the task process refused its assignment: %s", why);
        report_own(s, L4H_STATUS_ERROR_INTERNAL, b.data);
        l4h_buf_free(&b);
        free(why);
    } else if (s->result) {
        up(s, TAG_RESULT, s->result, strlen(s->result));
        free(s->result);
        s->result = NULL;
    } else {
        char why[160];
        if (WIFSIGNALED(status))
            snprintf(why, sizeof why, "the task process died of signal %d (%s) without a result",
                     WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(why, sizeof why, "the task process exited with code %d without a result",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        report_own(s, L4H_STATUS_ERROR_INTERNAL, why);
    }
    mpi_wire_reader_free(&s->rd);
    if (!s->nomore)
        up(s, TAG_READY, "", 0);
    else
        s->done = 1;
}

/* The campaign's input snapshot in a sealed memfd (made once per slot, kept
 * for every child): nobody can change it, every child reads the same bytes.
 * Placed at fd >= 10 so that dup2 onto WIRE_INPUTS_FD always clears
 * close-on-exec. The fd, or -1 (errno set). */
static int inputs_fd(slot *s)
{
    if (s->inputs_fd >= 0)
        return s->inputs_fd;
    int fd = memfd_create("llm4hep-inputs", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < s->inputs_len) {
        ssize_t w = write(fd, s->inputs + off, s->inputs_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
        close(fd);
        return -1;
    }
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    s->inputs_fd = high;
    return high;
}

/* Spawn the child for plan index `index`, whose key rank 0 says is `key`.
 * A key that is not this rank's plan's key at that index is refused (the two
 * plans differ: nothing is run). On failure, report error_internal.
 * With empty_tasks (benchmarks of the dispatch itself) no child is spawned:
 * the task succeeds at once with an empty record. */
static void start(slot *s, int index, int attempt, const char *key)
{
    s->task_index = index;
    s->attempt = attempt;
    s->started = l4h_now();
    if (index < 0 || (size_t)index >= s->plan->n_tasks) {
        s->task_index = 0; /* report_own needs a task; rank 0 records it under its own key */
        report_own(s, L4H_STATUS_ERROR_INTERNAL, "refused: rank 0 assigned a task index outside "
                                                 "this rank's plan");
        up(s, TAG_READY, "", 0);
        return;
    }
    if (strcmp(s->plan->tasks[index].key, key) != 0) {
        char why[200];
        snprintf(why, sizeof why, "refused: rank 0 assigned task %d with key %.16s, but this "
                 "rank's plan has key %s there", index, key, s->plan->tasks[index].key);
        report_own(s, L4H_STATUS_ERROR_INTERNAL, why);
        up(s, TAG_READY, "", 0);
        return;
    }
    if (s->empty_tasks) {
        report_own(s, L4H_STATUS_SUCCESS, "");
        s->tasks_run++;
        up(s, TAG_READY, "", 0);
        return;
    }
    int sv[2], infd = inputs_fd(s);
    if (infd < 0) {
        char why[200];
        snprintf(why, sizeof why, "cannot hand the input snapshot to the task process: %s",
                 strerror(errno));
        report_own(s, L4H_STATUS_ERROR_INTERNAL, why);
        up(s, TAG_READY, "", 0);
        return;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        report_own(s, L4H_STATUS_ERROR_INTERNAL, "socketpair failed");
        up(s, TAG_READY, "", 0);
        return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    posix_spawn_file_actions_adddup2(&fa, infd, WIRE_INPUTS_FD);
    posix_spawnattr_init(&at);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGUSR1);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    char parent[24];
    snprintf(parent, sizeof parent, "%ld", (long)getpid());
    char *argv[] = {"llm4hep", "task", "--fd", "3", "--parent", parent, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, s->self_exe, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        char why[300];
        snprintf(why, sizeof why, "cannot start the task process %s: %s", s->self_exe,
                 strerror(rc));
        report_own(s, L4H_STATUS_ERROR_INTERNAL, why);
        up(s, TAG_READY, "", 0);
        return;
    }
    s->child = pid;
    s->fd = sv[0];
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);

    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "config", s->config_path);
    cJSON_AddNumberToObject(a, "index", index);
    /* Test hook: a forged key, to prove the child refuses it. */
    const char *forge = getenv("LLM4HEP_TEST_FORGE_KEY");
    cJSON_AddStringToObject(a, "key", forge && !strcmp(forge, "assignment") ? "0123456789abcdef"
                                                                             : key);
    cJSON_AddNumberToObject(a, "attempt", attempt);
    cJSON_AddNumberToObject(a, "run", s->run);
    cJSON_AddNumberToObject(a, "rank", s->rank);
    cJSON_AddStringToObject(a, "isolation", s->isolation);
    char *txt = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    if (mpi_wire_send(s->fd, WIRE_ASSIGN, txt, strlen(txt)) < 0)
        kill(-pid, SIGKILL); /* finish() will report error_internal */
    free(txt);
}

/* Kill the child now (its process group) and report the task interrupted. */
static void kill_child(slot *s, const char *why)
{
    if (!s->child)
        return;
    kill(-s->child, SIGKILL);
    kill(s->child, SIGKILL);
    finish(s, why);
}

void mpi_slot_deliver(slot *s, const link_msg *m)
{
    switch (m->tag) {
    case TAG_TASK: {
        int32_t v[2];
        char key[17] = "";
        if (m->len == sizeof v + 16 && !s->child) {
            memcpy(v, m->data, sizeof v);
            memcpy(key, m->data + sizeof v, 16);
            start(s, v[0], v[1], key);
        }
        break;
    }
    case TAG_NOMORE:
        s->nomore = 1;
        if (!s->child)
            s->done = 1;
        break;
    case TAG_DRAIN: {
        double grace = 0;
        if (m->len == sizeof grace)
            memcpy(&grace, m->data, sizeof grace);
        if (s->child)
            s->kill_at = l4h_monotonic() + grace;
        break;
    }
    case TAG_KILL:
        kill_child(s, "stopped at once (second interrupt)");
        break;
    case TAG_PERMIT_ANS: {
        if (s->awaiting > 0)
            s->awaiting--;
        int32_t g = 0;
        if (m->len == sizeof g)
            memcpy(&g, m->data, sizeof g);
        if (s->fd >= 0)
            mpi_wire_send(s->fd, WIRE_PERMIT_ANS, g ? "1" : "0", 1);
        break;
    }
    case TAG_SPENT: {
        if (s->awaiting > 0)
            s->awaiting--;
        double total = 0;
        if (m->len == sizeof total)
            memcpy(&total, m->data, sizeof total);
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%.17g", total);
        if (s->fd >= 0)
            mpi_wire_send(s->fd, WIRE_SPENT, buf, (size_t)n);
        break;
    }
    default:
        break;
    }
}

int mpi_slot_poll(slot *s, int timeout_ms)
{
    if (!s->child)
        return 0;
    if (s->kill_at > 0 && l4h_monotonic() >= s->kill_at) {
        kill_child(s, "drained: the campaign stopped before this task finished");
        return 1;
    }
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    if (n <= 0)
        return 0;
    int rc = mpi_wire_fill(&s->rd, s->fd);
    int type;
    char *payload;
    size_t len;
    while (mpi_wire_next(&s->rd, &type, &payload, &len)) {
        switch (type) {
        case WIRE_PERMIT_REQ:
            s->awaiting++;
            up(s, TAG_PERMIT_REQ, payload, len);
            break;
        case WIRE_PERMIT_REL:
            up(s, TAG_PERMIT_REL, payload, len);
            break;
        case WIRE_SPEND:
            s->awaiting++;
            up(s, TAG_SPEND, payload, len);
            break;
        case WIRE_REFUSED:
            free(s->refused);
            s->refused = payload;
            payload = NULL;
            break;
        case WIRE_RESULT:
            free(s->result);
            s->result = payload;
            payload = NULL;
            break;
        default:
            break;
        }
        free(payload);
    }
    if (rc <= 0)
        finish(s, NULL);
    return 1;
}

void mpi_slot_free(slot *s)
{
    if (s->child)
        kill_child(s, "the rank stopped");
    free(s->result);
    free(s->refused);
    if (s->inputs_fd >= 0)
        close(s->inputs_fd);
    s->inputs_fd = -1;
    mpi_wire_reader_free(&s->rd);
}
