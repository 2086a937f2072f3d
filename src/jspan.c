/* jspan.c: spans of JSON text (see jspan.h). */
#include "jspan.h"

#include <string.h>

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* The end of the string whose opening quote is at p, or NULL. Long texts
 * are the common case: memchr finds the next quote, and a backslash before
 * it (found the same way) is stepped over with the byte it escapes. */
static const char *skip_string(const char *p, const char *end)
{
    const char *stop = end - p > 24 ? p + 24 : end;
    /* Short strings (keys, ids) end within a few bytes: a plain loop is
     * cheaper than two memchr calls. */
    for (p++; p < stop; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\' && ++p >= stop) {
            p++; /* the escaped byte was the last of the loop's: step over it */
            break;
        }
    }
    if (p >= end)
        return NULL;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p)), *b;
        if (q == NULL)
            return NULL;
        b = memchr(p, '\\', (size_t)(q - p));
        if (b == NULL)
            return q + 1;
        p = b + 2; /* the escaped byte; \uXXXX's digits are plain bytes */
    }
    return NULL;
}

const char *jspan_skip(const char *p, const char *end)
{
    int depth = 0;
    p = ws(p, end);
    if (p >= end)
        return NULL;
    do {
        if (p >= end)
            return NULL;
        switch (*p) {
        case '"':
            if ((p = skip_string(p, end)) == NULL)
                return NULL;
            break;
        case '{':
        case '[':
            depth++;
            p++;
            break;
        case '}':
        case ']':
            if (--depth < 0)
                return NULL;
            p++;
            break;
        case ',':
        case ':':
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            if (depth == 0)
                return NULL;
            p++;
            break;
        default: /* a number or a literal: up to a delimiter */
            while (p < end && *p != ',' && *p != ':' && *p != ']' && *p != '}' && *p != '"' &&
                   *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                p++;
            break;
        }
    } while (depth > 0);
    return p;
}

/* Walks the members (object) or elements (array) of span s. For each,
 * calls back with the key span (empty for arrays) and the value span;
 * a non-zero return stops the walk and is returned. -1 when malformed. */
typedef int (*walk_fn)(struct jspan key, struct jspan val, void *arg);

static int walk(struct jspan s, char open, walk_fn fn, void *arg)
{
    const char *end = s.p + s.len, *p = ws(s.p, end);
    char close = open == '{' ? '}' : ']';
    if (p >= end || *p != open)
        return -1;
    p = ws(p + 1, end);
    if (p < end && *p == close)
        return 0;
    for (;;) {
        struct jspan key = {p, 0}, val;
        const char *q;
        int rc;
        if (open == '{') {
            if (p >= end || *p != '"' || (q = skip_string(p, end)) == NULL)
                return -1;
            key.p = p + 1;
            key.len = (size_t)(q - p - 2);
            p = ws(q, end);
            if (p >= end || *p != ':')
                return -1;
            p = ws(p + 1, end);
        }
        if ((q = jspan_skip(p, end)) == NULL)
            return -1;
        val.p = p;
        val.len = (size_t)(q - p);
        if ((rc = fn(key, val, arg)) != 0)
            return rc;
        p = ws(q, end);
        if (p < end && *p == close)
            return 0;
        if (p >= end || *p != ',')
            return -1;
        p = ws(p + 1, end);
    }
}

struct member_find {
    const char *key;
    struct jspan *out;
};

static int member_cb(struct jspan key, struct jspan val, void *arg)
{
    struct member_find *f = arg;
    if (key.len != strlen(f->key) || memcmp(key.p, f->key, key.len) != 0)
        return 0;
    *f->out = val;
    return 1;
}

int jspan_member(struct jspan obj, const char *key, struct jspan *out)
{
    /* out is written, never read, here: */
    /* cppcheck-suppress ctuuninitvar */
    struct member_find f = {key, out};
    return walk(obj, '{', member_cb, &f) == 1 ? 0 : -1;
}

struct members_find {
    const char *const *keys;
    struct jspan *out;
    int n, found;
};

static int members_cb(struct jspan key, struct jspan val, void *arg)
{
    struct members_find *f = arg;
    int i;
    for (i = 0; i < f->n; i++)
        if (f->out[i].p == NULL && key.len == strlen(f->keys[i]) &&
            memcmp(key.p, f->keys[i], key.len) == 0) {
            f->out[i] = val;
            return ++f->found == f->n; /* all found: stop early */
        }
    return 0;
}

int jspan_members(struct jspan obj, const char *const *keys, int n, struct jspan *out)
{
    struct members_find f = {keys, out, n, 0};
    int i;
    for (i = 0; i < n; i++)
        out[i].p = NULL, out[i].len = 0;
    return walk(obj, '{', members_cb, &f) < 0 ? -1 : f.found;
}

struct elements {
    struct jspan *out;
    int n, max;
};

static int element_cb(struct jspan key, struct jspan val, void *arg)
{
    struct elements *e = arg;
    (void)key;
    if (e->n == e->max)
        return -1;
    e->out[e->n++] = val;
    return 0;
}

int jspan_elements(struct jspan arr, struct jspan *out, int max)
{
    struct elements e = {out, 0, max};
    return walk(arr, '[', element_cb, &e) != 0 ? -1 : e.n;
}
