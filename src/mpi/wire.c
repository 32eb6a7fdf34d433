/* wire.c — length-prefixed frames on the rank <-> task child socket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm4hep/core.h"
#include "mpi_internal.h"

#define WIRE_MAX_FRAME (1u << 30) /* a record larger than 1 GiB is a bug */

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int mpi_wire_send(int fd, int type, const void *payload, size_t len)
{
    if (len + 1 > WIRE_MAX_FRAME)
        return -1;
    unsigned char head[5];
    uint32_t n = (uint32_t)(len + 1);
    head[0] = (unsigned char)(n >> 24);
    head[1] = (unsigned char)(n >> 16);
    head[2] = (unsigned char)(n >> 8);
    head[3] = (unsigned char)n;
    head[4] = (unsigned char)type;
    if (write_all(fd, head, sizeof head) < 0)
        return -1;
    return len ? write_all(fd, payload, len) : 0;
}

int mpi_wire_fill(wire_reader *r, int fd)
{
    if (r->cap - r->len < 65536) {
        r->cap = r->cap ? r->cap * 2 : 131072;
        r->buf = l4h_xrealloc(r->buf, r->cap);
    }
    for (;;) {
        ssize_t got = read(fd, r->buf + r->len, r->cap - r->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
        if (got == 0)
            return 0;
        r->len += (size_t)got;
        return 1;
    }
}

int mpi_wire_next(wire_reader *r, int *type, char **payload, size_t *len)
{
    if (r->len < 5)
        return 0;
    uint32_t n = ((uint32_t)r->buf[0] << 24) | ((uint32_t)r->buf[1] << 16) |
                 ((uint32_t)r->buf[2] << 8) | r->buf[3];
    if (n < 1 || n > WIRE_MAX_FRAME || r->len < 4 + (size_t)n)
        return 0;
    *type = r->buf[4];
    *len = n - 1;
    *payload = l4h_xmalloc(*len + 1);
    memcpy(*payload, r->buf + 5, *len);
    (*payload)[*len] = '\0';
    memmove(r->buf, r->buf + 4 + n, r->len - 4 - n);
    r->len -= 4 + (size_t)n;
    return 1;
}

int mpi_wire_recv(wire_reader *r, int fd, int *type, char **payload, size_t *len)
{
    for (;;) {
        if (mpi_wire_next(r, type, payload, len))
            return 1;
        int rc = mpi_wire_fill(r, fd);
        if (rc <= 0)
            return rc;
    }
}

void mpi_wire_reader_free(wire_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}
