/* server.h: HTTP. The route table, the one dispatcher that enforces
 * authentication, role, token scope, CSRF, body limits and content types
 * before any handler runs, and the response helpers handlers use. Only
 * server.c and api_*.c include civetweb.h. */
#ifndef ARBITER_SERVER_H
#define ARBITER_SERVER_H

#include "app.h"
#include "util.h"

#include <civetweb.h>
#include <jansson.h>
#include <signal.h>

struct route;

/* One request as handlers see it. Everything is borrowed from the
 * dispatcher and valid until the handler returns. */
struct req {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    struct app *app;
    const struct route *route;
    int64_t id[2];        /* the {id} segments of the path, in order */
    const char *key;      /* the {key} tail of the path (decoded), or NULL */
    struct principal who; /* kind AUTH_ANON when not logged in */
    json_t *body;         /* the parsed JSON object for JSON routes */
    char addr[64];        /* the client address */
    int status;           /* the status sent; 0 until a reply */
    int streaming;        /* the answer is chunked (reply_stream_*) */
    int stream_broken;    /* a chunk could not be written: the client left */
};

/* Sends a whole response in one write, with the security headers.
 * extra_headers: "Name: value\r\n" lines or NULL. */
void reply(struct req *r, int status, const char *ctype, const void *body, size_t len,
           const char *extra_headers);

/* Sends body (stolen) as JSON; the _h form adds extra header lines. */
void reply_json(struct req *r, int status, json_t *body);

/* A streamed answer: the head (chunked), chunks, then the last chunk.
 * reply_stream_write returns -1 once the client is gone. A handler that
 * fails midway returns without reply_stream_end, so the client sees an
 * incomplete transfer, never a short answer that looks whole. */
void reply_stream_start(struct req *r, int status, const char *ctype, const char *extra_headers);
int reply_stream_write(struct req *r, const void *data, size_t len);
void reply_stream_end(struct req *r);
void reply_json_h(struct req *r, int status, json_t *body, const char *extra_headers);

/* Sends {"error": {"code", "message", "field"?}}. code NULL: the default
 * code of status (e.g. 422: "invalid"). */
void reply_error(struct req *r, int status, const char *code, const char *message,
                 const char *field);
void reply_error_h(struct req *r, int status, const char *code, const char *message,
                   const char *field, const char *extra_headers);

/* Sends an error with one more member in the error object: key: value
 * (stolen), e.g. "problems": [{"field", "message"}, ...]. */
void reply_error_with(struct req *r, int status, const char *code, const char *message,
                      const char *field, const char *key, json_t *value);

/* Maps an enum err to its status and sends it. */
void reply_err(struct req *r, int err, const char *message, const char *field);

/* The HTTP status an enum err becomes. */
int server_status_of(int err);

/* Strict reading of the JSON body. Each returns 0, or replies 422 naming
 * the field and returns -1. */
int body_only(struct req *r, const char *const *allowed);
int body_string(struct req *r, const char *key, int required, const char **out);
int body_bool(struct req *r, const char *key, int *out, int *present);
int body_int(struct req *r, const char *key, json_int_t *out, int *present);

/* Why a request's headers h[0..n) frame its body ambiguously (request
 * smuggling: see server.c), or NULL when they do not. Pure. */
const char *server_framing_why(const struct mg_header *h, int n);

/* Matches path against a route pattern ("{id}" takes a positive integer
 * segment), filling ids; 1 on a match. Pure; exposed for tests. */
int server_match(const char *pattern, const char *path, int64_t *ids);

/* The same, where a final "{key}" matches the rest of the path (one or
 * more characters, '/' included) and sets *key to it; with key NULL such
 * a pattern never matches. */
int server_match_key(const char *pattern, const char *path, int64_t *ids, const char **key);

/* Runs the server until SIGINT or SIGTERM (blocked by the caller), then
 * stops accepting, lets in-flight requests finish and returns. 0 or error. */
int server_run(struct app *app, const sigset_t *signals);

#endif
