/* link.c — messages between the coordinator and the slots: MPI between
 * ranks, an in-memory queue when one rank runs the campaign serially. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_internal.h"

void mpi_link_send(l4h_link *ln, int from, int to, int tag, const void *data, size_t len)
{
    if (!ln->serial) {
        (void)from;
        MPI_Send(data, (int)len, MPI_BYTE, to, tag, MPI_COMM_WORLD);
        return;
    }
    link_msg *m = l4h_xcalloc(1, sizeof *m);
    m->from = from;
    m->to = to;
    m->tag = tag;
    m->len = len;
    m->data = l4h_xmalloc(len + 1);
    if (len)
        memcpy(m->data, data, len);
    m->data[len] = '\0';
    if (ln->tail)
        ln->tail->next = m;
    else
        ln->head = m;
    ln->tail = m;
}

int mpi_link_poll(l4h_link *ln, int me, link_msg *out)
{
    if (!ln->serial) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            return 0;
        int count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        memset(out, 0, sizeof *out);
        out->from = st.MPI_SOURCE;
        out->to = me;
        out->tag = st.MPI_TAG;
        out->len = (size_t)count;
        out->data = l4h_xmalloc((size_t)count + 1);
        MPI_Recv(out->data, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        out->data[count] = '\0';
        return 1;
    }
    link_msg *prev = NULL;
    for (link_msg *m = ln->head; m; prev = m, m = m->next) {
        if (m->to != me)
            continue;
        if (prev)
            prev->next = m->next;
        else
            ln->head = m->next;
        if (ln->tail == m)
            ln->tail = prev;
        *out = *m;
        out->next = NULL;
        free(m);
        return 1;
    }
    return 0;
}
