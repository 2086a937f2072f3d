/* util.h: small helpers shared by every module: the error convention, time,
 * random tokens, base64url, strict JSON object checks and a growable buffer.
 * Nothing here knows about HTTP, the database or any concept. */
#ifndef ARBITER_UTIL_H
#define ARBITER_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The one error convention: 0 on success, one of these on failure.
 * server.c maps them to HTTP statuses (server_status_of). */
enum err {
    ERR_OK = 0,
    ERR_INVALID = -1,      /* input failed validation (422) */
    ERR_BAD_REQUEST = -2,  /* malformed request (400) */
    ERR_NOT_FOUND = -3,    /* 404 */
    ERR_CONFLICT = -4,     /* state forbids it (409) */
    ERR_FORBIDDEN = -5,    /* 403 */
    ERR_UNAUTHORIZED = -6, /* 401 */
    ERR_BUSY = -7,         /* overloaded, retry later (503) */
    ERR_DB = -8,           /* storage failure: the database cannot be read or written (503) */
    ERR_NOMEM = -9,        /* 500 */
    ERR_THROTTLED = -10,   /* too many attempts (429) */
    ERR_TOO_LARGE = -11,   /* 413 */
    ERR_NO_SPACE = -12,    /* no room left to stage a request's data (507) */
};

/* The deepest nesting of arrays and objects accepted in any JSON we parse
 * (bodies, import lines): jansson's parser and json_dumps recurse once per
 * level, and a worker thread's stack is small. */
#define JSON_DEPTH_MAX 64
#define JSON_DEPTH_MAX_TEXT "64"

/* 1 when the JSON text s[0..len) nests arrays and objects deeper than max
 * (strings are skipped, escapes included), else 0. A scan without
 * recursion, for use before a recursive parser sees the text; it does not
 * check that the text is valid JSON. s may be NULL when len is 0. */
int util_json_too_deep(const char *s, size_t len, int max);

/* Seconds since the Unix epoch. */
int64_t util_now(void);

/* Milliseconds since the Unix epoch; and such a time as an RFC 3339 JSON
 * string with milliseconds ("2026-11-22T10:40:00.123Z"), null when <= 0. */
int64_t util_now_ms(void);
json_t *util_json_time_ms(int64_t ms);

/* Formats ms as util_json_time_ms's text, without quotes, into out
 * (>= 25 bytes). */
void util_time_iso_ms(int64_t ms, char *out, size_t n);

/* A whole decimal integer ("-12", no sign "+", no spaces) in [lo, hi] into
 * *out. 0, or -1. */
int util_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* Formats t as RFC 3339 UTC ("2026-11-22T10:40:00Z") into out (>= 21 bytes). */
void util_time_iso(int64_t t, char *out, size_t n);

/* A JSON string of t in RFC 3339, or JSON null when t <= 0. New reference. */
json_t *util_json_time(int64_t t);

/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SSZ"; returns 0 and sets *t, or -1. */
int util_parse_iso(const char *s, int64_t *t);

/* Writes the base64url (no padding) encoding of bin into out; out must hold
 * util_b64_len(n) bytes. */
size_t util_b64_len(size_t n);
void util_b64url(const uint8_t *bin, size_t n, char *out, size_t out_n);

/* Constant-time comparison of two NUL-terminated strings; 1 when equal. */
int util_str_eq_ct(const char *a, const char *b);

/* Number of Unicode code points in a UTF-8 string (jansson already
 * guarantees valid UTF-8 for strings it parsed). */
size_t util_utf8_len(const char *s);

/* The next name=value pair of the query string *qs, decoded into name
 * (room nn) and value (room vn), *qs moved past it: 1, 0 at its end, -1
 * when a name or value is too long, badly %-encoded, holds a NUL or is not
 * UTF-8 (name is then filled when it alone was good, else ""). Pure. */
int util_query_next(const char **qs, char *name, size_t nn, char *value, size_t vn);

/* 1 when texts a and b are the same once line ends are taken as "\n"
 * (a browser's text area turns "\r\n" into "\n") and white space at their
 * ends is ignored: an edit that changed nothing. */
int util_text_same(const char *a, const char *b);

/* Checks that every key of obj is in allowed (NULL-terminated). Returns NULL
 * when all are known, else the first unknown key (borrowed from obj). */
const char *util_json_unknown_key(json_t *obj, const char *const *allowed);

/* A growable byte buffer. buf_free(NULL) does nothing. */
struct buf {
    char *data;
    size_t len, cap;
};
int buf_append(struct buf *b, const void *p, size_t n);
/* Room for n more bytes (and the terminating NUL) after len. */
int buf_reserve(struct buf *b, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* Appends s to b with the HTML special characters escaped. */
int buf_html_escape(struct buf *b, const char *s);

#endif
