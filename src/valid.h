/* valid.h: strict, typed reading of untrusted JSON that collects every
 * problem instead of stopping at the first, so a client learns all that is
 * wrong with a job or an import line in one answer. Each problem names a
 * field path ("questions[1].scale.min") and a reason. */
#ifndef ARBITER_VALID_H
#define ARBITER_VALID_H

#include <jansson.h>
#include <stddef.h>

/* Problems found: {"field", "message", "code"} objects (the first 100 are
 * kept; count counts all). code: missing_field, unknown_field, wrong_type
 * or invalid (problem_code). Free list with json_decref. */
struct problems {
    json_t *list;
    int count;
};
void problems_add(struct problems *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *problem_code(const char *message);

/* out = base.key (or key when base is empty). */
void valid_path(char *out, size_t n, const char *base, const char *key);

/* A problem for each key of o not in allowed (NULL-terminated). */
void valid_keys(json_t *o, const char *base, const char *const *allowed, struct problems *pr);

/* Reads o[key] when present and not null, else leaves *out (the default).
 * Wrong types and values out of [lo, hi] are problems. */
void valid_bool(json_t *o, const char *base, const char *key, int *out, struct problems *pr);
void valid_int(json_t *o, const char *base, const char *key, int lo, int hi, int *out,
               struct problems *pr);

/* o[key] as a string of at most max code points without NUL, borrowed from
 * o; NULL when absent (a problem if required) or invalid. */
const char *valid_str(json_t *o, const char *base, const char *key, int required, size_t max,
                      struct problems *pr);

#endif
