/* jspan.h: spans of JSON text, read without building a tree.
 *
 * For text this program wrote itself (an item's normalised JSON, stored at
 * import): a response can splice the values it needs straight from the
 * stored text instead of parsing it into jansson objects and dumping them
 * again. The scanner checks structure as it goes and fails (returns -1 or
 * NULL) on anything malformed; it does not validate string contents, so
 * never give it text from a client. */
#ifndef ARBITER_JSPAN_H
#define ARBITER_JSPAN_H

#include <stddef.h>

/* A value's bytes: p[0..len). */
struct jspan {
    const char *p;
    size_t len;
};

/* The end of the value that starts at p (leading whitespace skipped), or
 * NULL when it is malformed or runs past end. */
const char *jspan_skip(const char *p, const char *end);

/* The value of member key in the object obj; 0, or -1 when obj is not an
 * object or has no such member. Keys are compared byte for byte, as
 * written (the names looked up here never need escapes). */
int jspan_member(struct jspan obj, const char *key, struct jspan *out);

/* The members keys[0..n) of the object obj in one pass: out[i] is the
 * value of keys[i], or {NULL, 0} when absent. The number found, or -1
 * when obj is not an object. */
int jspan_members(struct jspan obj, const char *const *keys, int n, struct jspan *out);

/* The elements of the array arr, at most max of them, into out; their
 * count, or -1 when arr is not an array or holds more than max. */
int jspan_elements(struct jspan arr, struct jspan *out, int max);

#endif
