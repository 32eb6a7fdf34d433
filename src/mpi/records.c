/* records.c — records a rank makes itself, when its task child cannot. */
#include <string.h>
#include <unistd.h>

#include "mpi_internal.h"

void mpi_rec_identity(l4h_task_rec *rec, const l4h_config *cfg, const l4h_task *task)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    rec->task_id = -1;
    memcpy(rec->key, task->key, sizeof rec->key);
    rec->campaign = l4h_xstrdup(cfg->name);
    rec->supervisor = l4h_xstrdup(task->supervisor);
    rec->coder = l4h_xstrdup(task->coder);
    rec->step = l4h_xstrdup(task->step->name);
    rec->trial = task->trial;
    rec->host = l4h_xstrdup(host);
    rec->started_utc = l4h_now();
}
