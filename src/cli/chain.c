/* chain.c — what `run --chain` stages for a step: each file of the step's
 * `stage` list comes from the model's own outputs of the step that produces
 * it, when that step ran earlier in the same call, else from the reference
 * (as `run` without --chain stages everything). The producer of a staged
 * file is the suite's latest step before the consumer that does not stage
 * the file itself (hgg: arrays/data_raw.npy is create_numpy's, signal.npy
 * preprocess's, scores_*.npy scores'): the suite's `stage` lists are the
 * manifest of what each step hands on. Only those files are copied, from
 * the producer's copied-out folder, opened beneath it with no link
 * followed (l4h_fs_open), regular files only, into a directory of ours. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm4hep/core.h"
#include "cli_internal.h"

static int stages(const l4h_step *s, const char *rel)
{
    for (size_t i = 0; i < s->n_stage; i++)
        if (!strcmp(s->stage[i], rel))
            return 1;
    return 0;
}

/* The producer of rel for step (see above); NULL when no earlier step does. */
const l4h_step *cli_chain_producer(const l4h_suite *suite, const l4h_step *step, const char *rel)
{
    for (int k = step->number - 2; k >= 0; k--)
        if (!stages(&suite->steps[k], rel))
            return &suite->steps[k];
    return NULL;
}

/* Copy the regular file rel beneath src_fd to rel beneath dst_fd (created
 * new, 0644, parents 0755). -1 with err: code 1 when rel is missing, a link
 * or not a regular file in src (the model's doing), 3 on I/O errors. */
static int copy_beneath(int src_fd, int dst_fd, const char *rel, l4h_err *err)
{
    int in = l4h_fs_open(src_fd, rel, O_RDONLY | O_NONBLOCK, 0, err);
    if (in < 0) {
        err->code = 1;
        return -1;
    }
    struct stat st;
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(in);
        return l4h_err_set(err, 1, "%s is not a regular file", rel);
    }
    const char *slash = strrchr(rel, '/');
    if (slash) {
        char *dir = l4h_xstrdup(rel);
        dir[slash - rel] = '\0';
        int d = l4h_fs_mkdirs(dst_fd, dir, 0755, err);
        free(dir);
        if (d < 0) {
            close(in);
            return -1;
        }
        close(d);
    }
    int out = l4h_fs_open(dst_fd, rel, O_WRONLY | O_CREAT | O_EXCL, 0644, err);
    if (out < 0) {
        close(in);
        return -1;
    }
    static char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = l4h_err_set(err, 3, "staging %s: write error: %s", rel, strerror(errno));
            break;
        }
    if (n < 0 && rc == 0)
        rc = l4h_err_set(err, 3, "staging %s: read error: %s", rel, strerror(errno));
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = l4h_err_set(err, 3, "staging %s: %s", rel, strerror(errno));
    return rc;
}

/* Fill stage_dir for step (see cli_internal.h). */
int cli_chain_stage(const l4h_suite *suite, const l4h_step *step, const char *const *ran_dirs,
                    const char *stage_dir, char **sources, l4h_err *err)
{
    int dst = l4h_fs_dir_open(stage_dir, err);
    if (dst < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < step->n_stage; i++) {
        const char *rel = step->stage[i];
        const l4h_step *p = cli_chain_producer(suite, step, rel);
        const char *from = p ? ran_dirs[p->number - 1] : NULL;
        int src = l4h_fs_dir_open(from ? from : suite->reference_dir, err);
        if (src < 0) {
            rc = -1;
            break;
        }
        rc = copy_beneath(src, dst, rel, err);
        close(src);
        if (rc != 0 && from)
            l4h_err_prefix(err, "%s, an output of step %s, for step %s", rel, p->name, step->name);
        else if (rc != 0)
            l4h_err_prefix(err, "%s from the reference, for step %s", rel, step->name);
        else if (from)
            sources[i] = l4h_xstrdup(p->name);
    }
    close(dst);
    return rc;
}
