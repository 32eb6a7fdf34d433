/* secrets.c — the process's set of secret values (API keys) and the one
 * rule for finding them in text: one minimum length, one marker
 * ("[redacted:NAME]"), one collector. Which texts are redacted is decided by
 * the callers (core.h explains the rule; docs/notes/secrets.md why).
 *
 * The set only grows while the process runs (a value is never dropped), and
 * every access holds one mutex: redaction is rare and never on a hot path. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm4hep/core.h"

extern char **environ;

/* A piece shorter than this at a cut is not taken for part of a secret. */
#define MIN_PIECE 4

const char l4h_secrets_piece_marker[] = "[redacted]";

typedef struct held {
    char *name;  /* the environment variable */
    char *value;
    size_t len;
} held;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static held *set;
static size_t n_set;
static int env_done;  /* the variables named like keys were collected */
static char **told;   /* variables already said to hold a placeholder */
static size_t n_told;

/* Hold name's value when it is long enough and not held yet. mu held. */
static void hold(const char *name, const char *value)
{
    if (!value || strlen(value) < L4H_SECRET_MIN_LEN)
        return;
    for (size_t i = 0; i < n_set; i++)
        if (!strcmp(set[i].value, value))
            return;
    set = l4h_xrealloc(set, (n_set + 1) * sizeof *set);
    set[n_set].name = l4h_xstrdup(name);
    set[n_set].value = l4h_xstrdup(value);
    set[n_set].len = strlen(value);
    n_set++;
}

/* Whether a variable's name says it holds a credential. */
static int named_like_a_key(const char *name)
{
    return strstr(name, "API_KEY") || strstr(name, "TOKEN") || strstr(name, "SECRET");
}

/* Collect the variables named like keys, once. mu held. */
static void collect_env(void)
{
    if (env_done)
        return;
    env_done = 1;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        char name[256];
        size_t n = eq ? (size_t)(eq - *e) : 0;
        if (!eq || n >= sizeof name)
            continue;
        memcpy(name, *e, n);
        name[n] = '\0';
        if (named_like_a_key(name))
            hold(name, eq + 1);
    }
}

/* Note once per variable that an endpoint's key is a placeholder. mu held. */
static void tell_placeholder(const l4h_endpoint *ep, const char *value, l4h_buf *notes)
{
    for (size_t i = 0; i < n_told; i++)
        if (!strcmp(told[i], ep->api_key_env))
            return;
    told = l4h_xrealloc(told, (n_told + 1) * sizeof *told);
    told[n_told++] = l4h_xstrdup(ep->api_key_env);
    l4h_buf_printf(notes,
                   "llm4hep: note: endpoint %s: the key in $%s is %zu character%s long, a placeholder "
                   "(as local servers take): it is sent as given and not redacted from any text "
                   "(keys of %d characters or more are)\n",
                   ep->name, ep->api_key_env, strlen(value), strlen(value) == 1 ? "" : "s",
                   L4H_SECRET_MIN_LEN);
}

/* See core.h. */
void l4h_secrets_collect(const l4h_config *cfg, l4h_buf *notes)
{
    pthread_mutex_lock(&mu);
    collect_env();
    for (size_t i = 0; cfg && i < cfg->n_endpoints; i++) {
        const l4h_endpoint *ep = &cfg->endpoints[i];
        const char *v = ep->api_key_env && *ep->api_key_env ? getenv(ep->api_key_env) : NULL;
        if (!v || !*v)
            continue;
        if (strlen(v) >= L4H_SECRET_MIN_LEN)
            hold(ep->api_key_env, v);
        else if (notes)
            tell_placeholder(ep, v, notes);
    }
    pthread_mutex_unlock(&mu);
}

/* The longest held value starting at s[0..len), or NULL. mu held. */
static const held *held_at(const char *s, size_t len)
{
    const held *best = NULL;
    for (size_t k = 0; k < n_set; k++)
        if (set[k].len <= len && (!best || set[k].len > best->len) &&
            memcmp(s, set[k].value, set[k].len) == 0)
            best = &set[k];
    return best;
}

/* s[0..len) redacted into out. Returns the number replaced. mu held. */
static size_t redact_into(l4h_buf *out, const char *s, size_t len)
{
    size_t count = 0, plain = 0; /* s[plain..i) is copied as it is */
    for (size_t i = 0; i < len;) {
        const held *h = n_set ? held_at(s + i, len - i) : NULL;
        if (!h) {
            i++;
            continue;
        }
        l4h_buf_add(out, s + plain, i - plain);
        l4h_buf_printf(out, "[redacted:%s]", h->name);
        i += h->len;
        plain = i;
        count++;
    }
    l4h_buf_add(out, s + plain, len - plain);
    return count;
}

/* See core.h. */
size_t l4h_secrets_redact(char **text)
{
    if (!text || !*text)
        return 0;
    pthread_mutex_lock(&mu);
    collect_env();
    size_t count = 0;
    if (n_set) {
        l4h_buf out = {0};
        count = redact_into(&out, *text, strlen(*text));
        if (count) {
            free(*text);
            *text = l4h_buf_take(&out);
        }
        l4h_buf_free(&out);
    }
    pthread_mutex_unlock(&mu);
    return count;
}

/* See core.h. */
char *l4h_secrets_redact_mem(const char *s, size_t len)
{
    l4h_buf out = {0};
    pthread_mutex_lock(&mu);
    collect_env();
    redact_into(&out, s ? s : "", s ? len : 0);
    pthread_mutex_unlock(&mu);
    return l4h_buf_take(&out);
}

/* See core.h. */
void l4h_secrets_redact_buf(char *s, size_t cap)
{
    if (!s || cap == 0)
        return;
    char *r = l4h_secrets_redact_mem(s, strnlen(s, cap));
    snprintf(s, cap, "%s", r);
    free(r);
}

/* See core.h. */
int l4h_secrets_found(const char *s, size_t len, char *name, size_t cap)
{
    int found = 0;
    pthread_mutex_lock(&mu);
    collect_env();
    for (size_t i = 0; s && i < len && !found; i++) {
        const held *h = held_at(s + i, len - i);
        if (h) {
            found = 1;
            if (name && cap)
                snprintf(name, cap, "%s", h->name);
        }
    }
    pthread_mutex_unlock(&mu);
    return found;
}

/* See core.h. */
size_t l4h_secrets_piece(const char *s, size_t len, int at_end)
{
    size_t best = 0;
    pthread_mutex_lock(&mu);
    collect_env();
    for (size_t k = 0; k < n_set; k++) {
        size_t sl = set[k].len;
        for (size_t m = sl - 1; m >= MIN_PIECE && m > best; m--) {
            const char *text = at_end ? s + len - m : s;
            const char *piece = at_end ? set[k].value : set[k].value + sl - m;
            if (m <= len && memcmp(text, piece, m) == 0) {
                best = m;
                break;
            }
        }
    }
    pthread_mutex_unlock(&mu);
    return best;
}

/* See core.h. */
void l4h_secrets_forget(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_set; i++) {
        free(set[i].name);
        free(set[i].value);
    }
    free(set);
    set = NULL;
    n_set = 0;
    for (size_t i = 0; i < n_told; i++)
        free(told[i]);
    free(told);
    told = NULL;
    n_told = 0;
    env_done = 0;
    pthread_mutex_unlock(&mu);
}
