/* valid.c: typed reading of untrusted JSON with problems collected (see
 * valid.h). */
#include "valid.h"

#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The machine-readable code of a problem, from its message: the messages
 * below are the only ones those codes stand for. */
static const struct {
    const char *message, *code;
} codes[] = {
    {"is required", "missing_field"},        {"unknown field", "unknown_field"},
    {"must be a string", "wrong_type"},      {"must be an integer", "wrong_type"},
    {"must be true or false", "wrong_type"}, {"must be an object", "wrong_type"},
};

const char *problem_code(const char *message)
{
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(message, codes[i].message) == 0)
            return codes[i].code;
    return "invalid";
}

void problems_add(struct problems *p, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->list == NULL)
        p->list = json_array();
    p->count++;
    if (json_array_size(p->list) < 100)
        json_array_append_new(p->list, json_pack("{ssssss}", "field", field, "message", msg, "code",
                                                 problem_code(msg)));
}

/* ---- typed reading of a JSON object, collecting problems ---- */

void valid_path(char *out, size_t n, const char *base, const char *key)
{
    if (base == NULL || base[0] == '\0')
        snprintf(out, n, "%s", key);
    else
        snprintf(out, n, "%s.%s", base, key);
}

void valid_keys(json_t *o, const char *base, const char *const *allowed, struct problems *pr)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        const char *const *a;
        for (a = allowed; *a != NULL && strcmp(*a, key) != 0; a++)
            ;
        if (*a == NULL) {
            char f[256];
            valid_path(f, sizeof f, base, key);
            problems_add(pr, f, "unknown field");
        }
    }
}

void valid_bool(json_t *o, const char *base, const char *key, int *out, struct problems *pr)
{
    json_t *v = json_object_get(o, key);
    char f[256];
    if (v == NULL || json_is_null(v))
        return; /* keeps the default */
    if (!json_is_boolean(v)) {
        valid_path(f, sizeof f, base, key);
        problems_add(pr, f, "must be true or false");
        return;
    }
    *out = json_is_true(v);
}

void valid_int(json_t *o, const char *base, const char *key, int lo, int hi, int *out,
               struct problems *pr)
{
    json_t *v = json_object_get(o, key);
    char f[256];
    if (v == NULL || json_is_null(v))
        return;
    valid_path(f, sizeof f, base, key);
    if (!json_is_integer(v)) {
        problems_add(pr, f, "must be an integer");
        return;
    }
    if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
        problems_add(pr, f, "must be between %d and %d", lo, hi);
        return;
    }
    *out = (int)json_integer_value(v);
}

/* A string of at most max code points, or NULL (with a problem when it is
 * required or of the wrong type). Borrowed from o. */
const char *valid_str(json_t *o, const char *base, const char *key, int required, size_t max,
                      struct problems *pr)
{
    json_t *v = json_object_get(o, key);
    char f[256];
    valid_path(f, sizeof f, base, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            problems_add(pr, f, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        problems_add(pr, f, "must be a string");
        return NULL;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        problems_add(pr, f, "must not contain NUL characters");
        return NULL;
    }
    if (util_utf8_len(json_string_value(v)) > max) {
        problems_add(pr, f, "must be at most %zu characters", max);
        return NULL;
    }
    return json_string_value(v);
}
