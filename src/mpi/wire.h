/* wire.h — framing between a sweep rank and its task child (a socketpair),
 * and the MPI tags between ranks. Private to src/mpi/. */
#ifndef LLM4HEP_MPI_WIRE_H
#define LLM4HEP_MPI_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Frames on the rank <-> child socket: 4-byte length (of type + payload),
 * 1 type byte, payload bytes. The child also gets the campaign's input
 * snapshot (l4h_inputs_encode) on fd WIRE_INPUTS_FD, a sealed memfd. */
#define WIRE_INPUTS_FD 4
enum {
    WIRE_ASSIGN = 1,   /* rank -> child: JSON {config, index, key, attempt, run, rank, isolation} */
    WIRE_PERMIT_REQ,   /* child -> rank: endpoint name */
    WIRE_PERMIT_ANS,   /* rank -> child: "1" granted, "0" refused */
    WIRE_PERMIT_REL,   /* child -> rank: "<http_status> <endpoint>" */
    WIRE_SPEND,        /* child -> rank: "<usd> <tokens>" */
    WIRE_SPENT,        /* rank -> child: "<campaign usd so far>" */
    WIRE_RESULT,       /* child -> rank: the task record as JSON */
    WIRE_REFUSED       /* child -> rank: why it refused the assignment (no task was run) */
};

/* MPI tags between slot ranks and rank 0. Payloads are bytes. */
enum {
    TAG_READY = 100,   /* slot -> 0: idle, send a task */
    TAG_TASK,          /* 0 -> slot: int32 {plan index, attempt} + the task key (16 chars) */
    TAG_NOMORE,        /* 0 -> slot: no more tasks, leave when idle */
    TAG_DRAIN,         /* 0 -> slot: double grace seconds: finish or be killed by then */
    TAG_KILL,          /* 0 -> slot: kill the task now */
    TAG_PERMIT_REQ,    /* slot -> 0: endpoint */
    TAG_PERMIT_ANS,    /* 0 -> slot: int32 granted */
    TAG_PERMIT_REL,    /* slot -> 0: "<status> <endpoint>" */
    TAG_SPEND,         /* slot -> 0: "<usd> <tokens>" */
    TAG_SPENT,         /* 0 -> slot: double total usd */
    TAG_RESULT,        /* slot -> 0: record JSON */
    TAG_PREFLIGHT      /* slot -> 0: "ok <host>" or "fail <host>: <message>" */
};

/* Write one frame; retries on EINTR/short writes. 0 ok, -1 on error. */
int wire_send(int fd, int type, const void *payload, size_t len);

/* Incremental frame reader for a non-blocking or blocking fd. */
typedef struct wire_reader {
    unsigned char *buf;
    size_t len, cap;
} wire_reader;

/* Read what is available (one read call). Returns 1 when data was read, 0 at
 * end of file, -1 on error (EAGAIN counts as 1 with nothing added). */
int wire_fill(wire_reader *r, int fd);
/* Pop one complete frame if buffered: returns 1 and sets *type, *payload
 * (malloc'd, NUL-terminated, caller frees) and *len; 0 when none complete. */
int wire_next(wire_reader *r, int *type, char **payload, size_t *len);
/* Blocking: read until a whole frame arrives. 1 got one, 0 EOF, -1 error. */
int wire_recv(wire_reader *r, int fd, int *type, char **payload, size_t *len);
void wire_reader_free(wire_reader *r);

#endif
