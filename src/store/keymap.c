/* keymap.c — task key -> what the store knows of it (open addressing). */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* FNV-1a of the key. */
static size_t hash(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return (size_t)h;
}

/* Double the table. Can't fail (aborts on out of memory). */
static void grow(key_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    key_entry *ne = l4h_xcalloc(ncap, sizeof *ne);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].key[0])
            continue;
        size_t j = hash(m->e[i].key) & (ncap - 1);
        while (ne[j].key[0])
            j = (j + 1) & (ncap - 1);
        ne[j] = m->e[i];
    }
    free(m->e);
    m->e = ne;
    m->cap = ncap;
}

key_entry *store_keymap_get(key_map *m, const char *key, int create)
{
    if (!key || !key[0])
        return NULL;
    if (m->cap) {
        size_t j = hash(key) & (m->cap - 1);
        while (m->e[j].key[0]) {
            if (!strncmp(m->e[j].key, key, 16))
                return &m->e[j];
            j = (j + 1) & (m->cap - 1);
        }
    }
    if (!create)
        return NULL;
    if ((m->n + 1) * 2 > m->cap)
        grow(m);
    size_t j = hash(key) & (m->cap - 1);
    while (m->e[j].key[0])
        j = (j + 1) & (m->cap - 1);
    memset(&m->e[j], 0, sizeof m->e[j]);
    snprintf(m->e[j].key, sizeof m->e[j].key, "%s", key);
    m->n++;
    return &m->e[j];
}

void store_keymap_free(key_map *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

/* error_* rows use up infra_retries; `interrupted` never does (design.md).
 * Only a model outcome measures how long the task takes. */
void store_key_note(key_entry *k, l4h_status status, double wall_s, int64_t task_id)
{
    k->attempts++;
    if (l4h_status_is_infra(status) && status != L4H_STATUS_INTERRUPTED)
        k->infra_attempts++;
    if (!l4h_status_is_infra(status) && wall_s > 0 && wall_s < 1e9)
        k->measured_wall_s = wall_s;
    k->last_status = status;
    k->last_task_id = task_id;
}
