/* server.c: routes, the dispatcher and responses (see server.h).
 *
 * Every request goes through dispatch(): match a route, authenticate
 * (Bearer token or session cookie), check role and token scope, check CSRF
 * for cookie-authenticated writes, check the body's size and content type
 * and parse JSON bodies strictly, and only then call the handler. The
 * table below is the whole access policy of the API. */
#include "server.h"

#include "api.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum body_kind { BODY_NONE, BODY_JSON, BODY_JSONL };

enum {
    R_PAGE = 1,           /* anonymous callers are redirected to /login */
    R_TOKEN_ANY_ROLE = 2, /* a token of any owner's role passes */
    R_MUST_CHANGE_OK = 4, /* allowed while the user must change their password */
    R_LOGIN = 8,          /* the login itself: no session yet, origin still checked */
    R_WRITES = 16,        /* writes as soon as it is checked: announced to group commit */
};

struct route {
    const char *method;
    const char *pattern; /* "{id}" matches a positive integer segment */
    void (*handler)(struct req *r);
    enum role min_role; /* ROLE_NONE: anyone */
    unsigned scopes;    /* token scopes accepted (any of); 0: no tokens */
    size_t body_limit;  /* bytes; 0 with BODY_NONE */
    enum body_kind body;
    int flags;
};

static void handle_healthz(struct req *r);
static void handle_metrics(struct req *r);

#define KB 1024
#define ANY_SCOPE SCOPES_ALL

/* clang-format off: one route a line, as a table is read */
static const struct route routes[] = {
    {"POST", "/api/v1/session", api_session_create, ROLE_NONE, 0, 4 * KB, BODY_JSON, R_LOGIN},
    {"DELETE", "/api/v1/session", api_session_delete, ROLE_LABELER, 0, 0, BODY_NONE,
     R_MUST_CHANGE_OK},
    {"GET", "/api/v1/me", api_me, ROLE_LABELER, ANY_SCOPE, 0, BODY_NONE, R_MUST_CHANGE_OK},
    {"POST", "/api/v1/me/password", api_me_password, ROLE_LABELER, 0, 4 * KB, BODY_JSON,
     R_MUST_CHANGE_OK},
    {"GET", "/api/v1/users", api_users_list, ROLE_ADMIN, 0, 0, BODY_NONE, 0},
    {"POST", "/api/v1/users", api_users_create, ROLE_ADMIN, 0, 4 * KB, BODY_JSON, 0},
    {"PATCH", "/api/v1/users/{id}", api_users_update, ROLE_ADMIN, 0, 4 * KB, BODY_JSON, 0},
    {"GET", "/api/v1/tokens", api_tokens_list, ROLE_LEAD, 0, 0, BODY_NONE, 0},
    {"POST", "/api/v1/tokens", api_tokens_create, ROLE_LEAD, 0, 4 * KB, BODY_JSON, 0},
    {"DELETE", "/api/v1/tokens/{id}", api_tokens_delete, ROLE_LEAD, 0, 0, BODY_NONE, 0},
    {"GET", "/api/v1/jobs", api_jobs_list, ROLE_LABELER, SCOPE_EXPORT, 0, BODY_NONE, 0},
    {"POST", "/api/v1/jobs", api_jobs_create, ROLE_LEAD, SCOPE_WRITE, 512 * KB, BODY_JSON, 0},
    {"GET", "/api/v1/jobs/{id}", api_jobs_get, ROLE_LABELER, SCOPE_EXPORT, 0, BODY_NONE, 0},
    {"PATCH", "/api/v1/jobs/{id}", api_jobs_update, ROLE_LEAD, SCOPE_WRITE, 512 * KB, BODY_JSON, 0},
    {"GET", "/api/v1/jobs/{id}/members", api_jobs_members_get, ROLE_LEAD, SCOPE_EXPORT, 0,
     BODY_NONE, 0},
    {"PUT", "/api/v1/jobs/{id}/members", api_jobs_members_put, ROLE_LEAD, SCOPE_WRITE, 1024 * KB,
     BODY_JSON, 0},
    {"POST", "/api/v1/jobs/{id}/labelers/{id}/reject", api_jobs_labeler_reject, ROLE_LABELER,
     SCOPE_WRITE, 8 * KB, BODY_JSON, 0},
    {"POST", "/api/v1/jobs/{id}/items", api_items_import, ROLE_LEAD, SCOPE_WRITE, (size_t)1 << 30,
     BODY_JSONL, 0},
    {"POST", "/api/v1/jobs/{id}/items/release", api_items_release, ROLE_LEAD, SCOPE_WRITE, 256 * KB,
     BODY_JSON, 0},
    {"GET", "/api/v1/jobs/{id}/items", api_items_list, ROLE_LEAD, SCOPE_EXPORT, 0, BODY_NONE, 0},
    /* The job's managers only; to labelers the item does not exist (404). */
    {"GET", "/api/v1/jobs/{id}/items/{key}", api_items_get, ROLE_LABELER, SCOPE_EXPORT, 0,
     BODY_NONE, 0},
    {"GET", "/api/v1/jobs/{id}/stats", api_jobs_stats, ROLE_LEAD, SCOPE_EXPORT, 0, BODY_NONE, 0},
    {"GET", "/api/v1/jobs/{id}/export", api_jobs_export, ROLE_LEAD, SCOPE_EXPORT, 0, BODY_NONE, 0},
    {"GET", "/api/v1/jobs/{id}/report", api_jobs_report, ROLE_LEAD, SCOPE_EXPORT, 0, BODY_NONE, 0},
    {"POST", "/api/v1/jobs/{id}/judge-judgments", api_judges_submit, ROLE_LEAD, SCOPE_JUDGE,
     16384 * KB, BODY_JSON, R_WRITES},
    {"GET", "/api/v1/jobs/{id}/judges", api_judges_list, ROLE_LEAD, SCOPE_JUDGE | SCOPE_EXPORT, 0,
     BODY_NONE, 0},
    {"POST", "/api/v1/markdown", api_markdown, ROLE_LEAD, 0, 512 * KB, BODY_JSON, 0},
    {"POST", "/api/v1/jobs/{id}/tasks/next", api_tasks_next, ROLE_LABELER, 0, 0, BODY_NONE,
     R_WRITES},
    {"GET", "/api/v1/tasks/{id}", api_tasks_get, ROLE_LABELER, 0, 0, BODY_NONE, 0},
    {"POST", "/api/v1/tasks/{id}/judgment", api_tasks_judgment, ROLE_LABELER, 0, 2048 * KB,
     BODY_JSON, R_WRITES},
    {"POST", "/api/v1/tasks/{id}/skip", api_tasks_skip, ROLE_LABELER, 0, 8 * KB, BODY_JSON,
     R_WRITES},
    {"POST", "/api/v1/tasks/{id}/flag", api_tasks_flag, ROLE_LABELER, 0, 8 * KB, BODY_JSON, 0},
    {"GET", "/api/v1/jobs/{id}/judgments/mine", api_judgments_mine, ROLE_LABELER, 0, 0, BODY_NONE,
     0},
    {"GET", "/api/v1/judgments/{id}", api_judgments_get, ROLE_LABELER, 0, 0, BODY_NONE, 0},
    {"PUT", "/api/v1/judgments/{id}", api_judgments_revise, ROLE_LABELER, 0, 2048 * KB, BODY_JSON,
     R_WRITES},
    /* Leads and admins only, decided by the handler from the job, so that
     * to a labeler the route answers 404 like any judgment not theirs. */
    {"POST", "/api/v1/judgments/{id}/review", api_judgments_review, ROLE_LABELER, SCOPE_WRITE,
     8 * KB, BODY_JSON, 0},
    {"GET", "/healthz", handle_healthz, ROLE_NONE, 0, 0, BODY_NONE, 0},
    {"GET", "/metrics", handle_metrics, ROLE_ADMIN, ANY_SCOPE, 0, BODY_NONE, R_TOKEN_ANY_ROLE},
    {"GET", "/", api_page_home, ROLE_LABELER, 0, 0, BODY_NONE, R_PAGE | R_MUST_CHANGE_OK},
    {"GET", "/login", api_page_login, ROLE_NONE, 0, 0, BODY_NONE, 0},
    {"GET", "/jobs/{id}/label", api_page_label, ROLE_LABELER, 0, 0, BODY_NONE, R_PAGE},
    {"GET", "/jobs/new", api_page_job, ROLE_LEAD, 0, 0, BODY_NONE, R_PAGE},
    {"GET", "/jobs/{id}", api_page_job, ROLE_LEAD, 0, 0, BODY_NONE, R_PAGE},
    {"GET", "/jobs/{id}/items", api_page_items, ROLE_LEAD, 0, 0, BODY_NONE, R_PAGE},
    {"GET", "/jobs/{id}/report", api_page_report, ROLE_LEAD, 0, 0, BODY_NONE, R_PAGE},
    {"GET", "/tokens", api_page_tokens, ROLE_LEAD, 0, 0, BODY_NONE, R_PAGE},
    {"GET", "/admin/users", api_page_users, ROLE_ADMIN, 0, 0, BODY_NONE, R_PAGE},
};
/* clang-format on */
#define N_ROUTES (sizeof routes / sizeof routes[0])

static const char security_headers[] =
    "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "X-Frame-Options: DENY\r\n"
    "Cross-Origin-Opener-Policy: same-origin\r\n";

/* ---- responses ---- */

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return "Internal Server Error";
    }
}

static const char *status_code_name(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 422: return "invalid";
    case 429: return "too_many_requests";
    case 503: return "unavailable";
    case 507: return "insufficient_storage";
    default: return "internal";
    }
}

/* Keep-alive as CivetWeb decides it: HTTP/1.1 unless "Connection: close",
 * HTTP/1.0 only with "Connection: keep-alive". */
static int keep_alive(struct req *r)
{
    const char *c = mg_get_header(r->conn, "Connection");
    if (c != NULL)
        return strcasestr(c, "keep-alive") != NULL;
    return r->ri->http_version != NULL && strcmp(r->ri->http_version, "1.1") == 0;
}

void reply(struct req *r, int status, const char *ctype, const void *body, size_t len,
           const char *extra_headers)
{
    struct buf b = {0};
    int head = strcmp(r->ri->request_method, "HEAD") == 0;
    if (r->status != 0)
        return; /* a handler answers once */
    r->status = status;
    buf_printf(&b, "HTTP/1.1 %d %s\r\n", status, status_text(status));
    if (ctype != NULL)
        buf_printf(&b, "Content-Type: %s\r\n", ctype);
    buf_printf(&b, "Content-Length: %zu\r\nConnection: %s\r\n", len,
               keep_alive(r) ? "keep-alive" : "close");
    buf_puts(&b, security_headers);
    if (extra_headers == NULL || strstr(extra_headers, "Cache-Control:") == NULL)
        buf_puts(&b, "Cache-Control: no-store\r\n");
    if (extra_headers != NULL)
        buf_puts(&b, extra_headers);
    buf_puts(&b, "\r\n");
    if (!head && len > 0)
        buf_append(&b, body, len);
    if (b.data != NULL)
        mg_write(r->conn, b.data, b.len);
    buf_free(&b);
}

void reply_stream_start(struct req *r, int status, const char *ctype, const char *extra_headers)
{
    struct buf b = {0};
    if (r->status != 0)
        return;
    r->status = status;
    r->streaming = 1;
    buf_printf(&b,
               "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
               "Connection: %s\r\nCache-Control: no-store\r\n",
               status, status_text(status), ctype, keep_alive(r) ? "keep-alive" : "close");
    buf_puts(&b, security_headers);
    if (extra_headers != NULL)
        buf_puts(&b, extra_headers);
    buf_puts(&b, "\r\n");
    if (b.data != NULL && mg_write(r->conn, b.data, b.len) != (int)b.len)
        r->stream_broken = 1;
    buf_free(&b);
}

int reply_stream_write(struct req *r, const void *data, size_t len)
{
    char head[24];
    int n;
    if (r->stream_broken)
        return -1;
    if (len == 0)
        return 0;
    n = snprintf(head, sizeof head, "%zx\r\n", len);
    if (mg_write(r->conn, head, (size_t)n) != n || mg_write(r->conn, data, len) != (int)len ||
        mg_write(r->conn, "\r\n", 2) != 2) {
        r->stream_broken = 1;
        return -1;
    }
    return 0;
}

void reply_stream_end(struct req *r)
{
    if (!r->stream_broken && mg_write(r->conn, "0\r\n\r\n", 5) != 5)
        r->stream_broken = 1;
}

void reply_json_h(struct req *r, int status, json_t *body, const char *extra_headers)
{
    static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (s == NULL) {
        reply(r, 500, "application/json", oom, sizeof oom - 1, NULL);
        return;
    }
    reply(r, status, "application/json", s, strlen(s), extra_headers);
    free(s);
}

void reply_json(struct req *r, int status, json_t *body)
{
    reply_json_h(r, status, body, NULL);
}

void reply_error_h(struct req *r, int status, const char *code, const char *message,
                   const char *field, const char *extra)
{
    json_t *e = json_pack("{ssss}", "code", code != NULL ? code : status_code_name(status),
                          "message", message);
    if (field != NULL)
        json_object_set_new(e, "field", json_string(field));
    reply_json_h(r, status, json_pack("{so}", "error", e), extra);
}

void reply_error_with(struct req *r, int status, const char *code, const char *message,
                      const char *field, const char *key, json_t *value)
{
    json_t *e = json_pack("{ssss}", "code", code != NULL ? code : status_code_name(status),
                          "message", message);
    if (field != NULL)
        json_object_set_new(e, "field", json_string(field));
    json_object_set_new(e, key, value != NULL ? value : json_array());
    reply_json(r, status, json_pack("{so}", "error", e));
}

void reply_error(struct req *r, int status, const char *code, const char *message,
                 const char *field)
{
    reply_error_h(r, status, code, message, field, NULL);
}

int server_status_of(int err)
{
    switch (err) {
    case ERR_OK: return 200;
    case ERR_INVALID: return 422;
    case ERR_BAD_REQUEST: return 400;
    case ERR_NOT_FOUND: return 404;
    case ERR_CONFLICT: return 409;
    case ERR_FORBIDDEN: return 403;
    case ERR_UNAUTHORIZED: return 401;
    case ERR_BUSY: return 503;
    case ERR_DB: return 503;
    case ERR_THROTTLED: return 429;
    case ERR_TOO_LARGE: return 413;
    case ERR_NO_SPACE: return 507;
    default: return 500;
    }
}

/* A storage failure (a full disk, an I/O error, a lock held too long) is
 * the server's condition, not the request's: 503 with Retry-After, so
 * clients retry, and never a 401 or a 4xx that would make them give up. */
void reply_err(struct req *r, int err, const char *message, const char *field)
{
    int status = server_status_of(err);
    if (message == NULL)
        message = err == ERR_DB   ? "storage unavailable (disk full or failing); retry later"
                  : status == 500 ? "internal error"
                  : status == 503 ? "server busy, retry"
                  : status == 507 ? "no space left to store the request; retry later"
                                  : status_text(status);
    reply_error_h(r, status, NULL, message, field,
                  status == 503 || status == 507 ? "Retry-After: 10\r\n" : NULL);
}

/* ---- JSON body helpers ---- */

int body_only(struct req *r, const char *const *allowed)
{
    const char *bad = util_json_unknown_key(r->body, allowed);
    if (bad == NULL)
        return 0;
    reply_error(r, 422, "unknown_field", "unknown field", bad);
    return -1;
}

int body_string(struct req *r, const char *key, int required, const char **out)
{
    json_t *v = json_object_get(r->body, key);
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (!required)
            return 0;
        reply_error(r, 422, "missing_field", "is required", key);
        return -1;
    }
    if (!json_is_string(v)) {
        reply_error(r, 422, "wrong_type", "must be a string", key);
        return -1;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        reply_error(r, 422, "invalid", "must not contain NUL characters", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int body_bool(struct req *r, const char *key, int *out, int *present)
{
    json_t *v = json_object_get(r->body, key);
    *present = v != NULL;
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v)) {
        reply_error(r, 422, "wrong_type", "must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int body_int(struct req *r, const char *key, json_int_t *out, int *present)
{
    json_t *v = json_object_get(r->body, key);
    *present = v != NULL && !json_is_null(v);
    if (!*present)
        return 0;
    if (!json_is_integer(v)) {
        reply_error(r, 422, "wrong_type", "must be an integer", key);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* ---- built-in handlers ---- */

static void handle_healthz(struct req *r)
{
    struct db_conn *c = db_reader(r->app->db);
    int ok = c != NULL && sqlite3_exec(c->h, "SELECT 1", NULL, NULL, NULL) == SQLITE_OK;
    if (ok)
        reply_json(r, 200, json_pack("{ss}", "status", "ok"));
    else
        reply_error(r, 503, NULL, "database unavailable", NULL);
}

static void handle_metrics(struct req *r)
{
    struct buf b = {0};
    struct db_stats st;
    db_stats_get(r->app->db, &st);
    if (metrics_render(r->app->metrics, &st, &b) != 0 ||
        buf_printf(&b,
                   "# HELP arbiter_connections_refused_total Connections refused at accept: "
                   "their address held --max-conns-per-addr.\n"
                   "# TYPE arbiter_connections_refused_total counter\n"
                   "arbiter_connections_refused_total %llu\n",
                   (unsigned long long)__atomic_load_n(&r->app->conns_refused, __ATOMIC_RELAXED)) !=
            0) {
        buf_free(&b);
        reply_err(r, ERR_NOMEM, NULL, NULL);
        return;
    }
    reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, NULL);
    buf_free(&b);
}

/* ---- dispatch ---- */

int server_match(const char *pattern, const char *path, int64_t *ids)
{
    return server_match_key(pattern, path, ids, NULL);
}

int server_match_key(const char *pattern, const char *path, int64_t *ids, const char **key)
{
    int n = 0;
    while (*pattern != '\0' && *path != '\0') {
        if (strcmp(pattern, "{key}") == 0) {
            /* The rest of the path, whatever it holds ('/' included). */
            if (key == NULL)
                return 0;
            *key = path;
            return 1;
        }
        if (strncmp(pattern, "{id}", 4) == 0) {
            int64_t v = 0;
            int digits = 0;
            for (; *path >= '0' && *path <= '9' && digits < 18; path++, digits++)
                v = v * 10 + (*path - '0');
            if (digits == 0 || v == 0 || (*path != '/' && *path != '\0'))
                return 0;
            ids[n++] = v;
            pattern += 4;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

static void client_addr(struct req *r)
{
    const char *proxy = r->app->cfg.trusted_proxy;
    const char *xff = mg_get_header(r->conn, "X-Forwarded-For");
    snprintf(r->addr, sizeof r->addr, "%s", r->ri->remote_addr);
    if (proxy != NULL && xff != NULL && strcmp(proxy, r->ri->remote_addr) == 0) {
        /* The last hop is the one our proxy added. */
        const char *last = strrchr(xff, ',');
        last = last != NULL ? last + 1 : xff;
        while (*last == ' ')
            last++;
        snprintf(r->addr, sizeof r->addr, "%s", last);
    }
}

/* The session cookie's value, copied into out; 1 when present. */
static int session_cookie(struct req *r, char *out, size_t n)
{
    const char *cookie = mg_get_header(r->conn, "Cookie");
    return cookie != NULL && mg_get_cookie(cookie, "arbiter_session", out, n) > 0;
}

/* Authenticates; 0, or replies (401) and returns -1. A bad credential is
 * an error even on public routes, so clients learn it at once. */
static int authenticate(struct req *r)
{
    const char *authz = mg_get_header(r->conn, "Authorization");
    char cookie[AUTH_TOKEN_LEN * 2];
    int rc;
    if (authz != NULL) {
        if (strncasecmp(authz, "Bearer ", 7) != 0) {
            reply_error_h(r, 401, NULL, "only Bearer tokens are accepted", NULL,
                          "WWW-Authenticate: Bearer\r\n");
            return -1;
        }
        rc = auth_token_check(r->app->auth, authz + 7, &r->who);
        if (rc == ERR_UNAUTHORIZED) {
            reply_error_h(r, 401, NULL, "invalid, expired or revoked token", NULL,
                          "WWW-Authenticate: Bearer\r\n");
            return -1;
        }
        if (rc != 0) {
            memset(&r->who, 0, sizeof r->who);
            reply_err(r, rc, NULL, NULL);
            return -1;
        }
        return 0;
    }
    if (session_cookie(r, cookie, sizeof cookie) &&
        (rc = auth_session_check(r->app->auth, cookie, &r->who)) != 0) {
        memset(&r->who, 0, sizeof r->who);
        if (rc != ERR_UNAUTHORIZED) {
            reply_err(r, rc, NULL, NULL); /* the session may be fine: say nothing of it */
            return -1;
        }
        if (r->route->flags & (R_PAGE | R_LOGIN))
            return 0; /* pages redirect; a login replaces the stale session */
        if (r->route->min_role == ROLE_NONE)
            return 0;
        reply_error(r, 401, "session_expired", "session expired or logged out", NULL);
        return -1;
    }
    return 0;
}

static int same_origin(struct req *r)
{
    const char *site = mg_get_header(r->conn, "Sec-Fetch-Site");
    const char *origin = mg_get_header(r->conn, "Origin");
    const char *host = mg_get_header(r->conn, "Host");
    char expect[300];
    if (site == NULL && origin == NULL)
        return -1; /* neither: unknown */
    if (site != NULL && strcmp(site, "same-origin") != 0)
        return 0;
    if (origin != NULL) {
        if (r->app->cfg.origin != NULL)
            snprintf(expect, sizeof expect, "%s", r->app->cfg.origin);
        else
            snprintf(expect, sizeof expect, "%s://%s", r->ri->is_ssl ? "https" : "http",
                     host != NULL ? host : "");
        if (strcmp(origin, expect) != 0)
            return 0;
    }
    return 1;
}

/* Checks role, scope and CSRF; 0, or replies and returns -1. */
static int authorize(struct req *r)
{
    const struct route *rt = r->route;
    const char *method = r->ri->request_method;
    int unsafe = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
    if (rt->flags & R_LOGIN) {
        if (same_origin(r) == 0) {
            reply_error(r, 403, "csrf", "cross-site request refused", NULL);
            return -1;
        }
        return 0;
    }
    if (rt->min_role == ROLE_NONE)
        return 0;
    if (r->who.kind == AUTH_ANON) {
        if (rt->flags & R_PAGE) {
            reply(r, 302, NULL, NULL, 0, "Location: /login\r\n");
            return -1;
        }
        reply_error(r, 401, NULL, "log in or send a Bearer token", NULL);
        return -1;
    }
    if (r->who.kind == AUTH_TOKEN) {
        if ((rt->scopes & r->who.scopes) == 0) {
            reply_error(r, 403, "scope",
                        rt->scopes == 0 ? "not available to API tokens"
                                        : "the token lacks the scope for this",
                        NULL);
            return -1;
        }
        if (rt->flags & R_TOKEN_ANY_ROLE)
            return 0;
    }
    if ((rt->flags & R_PAGE) && (r->who.role < rt->min_role || (r->who.must_change_password &&
                                                                !(rt->flags & R_MUST_CHANGE_OK)))) {
        /* A page the user may not see (yet): the home page says why, and
         * is where a user with a one-time password chooses their own, so
         * it must itself be allowed (R_MUST_CHANGE_OK), or this loops. */
        reply(r, 302, NULL, NULL, 0, "Location: /\r\n");
        return -1;
    }
    if (r->who.role < rt->min_role) {
        reply_error(r, 403, NULL, "your role may not do this", NULL);
        return -1;
    }
    if (r->who.must_change_password && !(rt->flags & R_MUST_CHANGE_OK)) {
        reply_error(r, 403, "password_change_required", "change your password first", NULL);
        return -1;
    }
    if (unsafe && r->who.kind == AUTH_SESSION) {
        const char *t = mg_get_header(r->conn, "X-CSRF-Token");
        if (t == NULL || !util_str_eq_ct(t, r->who.csrf) || same_origin(r) != 1) {
            reply_error(r, 403, "csrf", "missing or wrong X-CSRF-Token or cross-site origin", NULL);
            return -1;
        }
    }
    return 0;
}

static int content_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct != NULL && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

/* The most a route without a body reads to see that it is empty: "{}"
 * with some white space, as many HTTP clients send on every POST. */
#define NO_BODY_MAX 64

/* JSON's white space (a NUL is none). */
static int json_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* A route that takes no body accepts none, an empty one, or an empty JSON
 * object; 0, or replies 400 and returns -1. */
static int read_no_body(struct req *r)
{
    long long declared = r->ri->content_length;
    char data[NO_BODY_MAX + 1];
    size_t len = 0, i;
    int n;
    if (declared == 0 || (declared < 0 && mg_get_header(r->conn, "Transfer-Encoding") == NULL))
        return 0;
    if (declared > NO_BODY_MAX)
        goto refuse;
    while (len <= NO_BODY_MAX && (n = mg_read(r->conn, data + len, NO_BODY_MAX + 1 - len)) > 0)
        len += (size_t)n;
    if (len > NO_BODY_MAX)
        goto refuse;
    data[len] = '\0';
    for (i = 0; i < len && json_space(data[i]); i++)
        ;
    if (i == len)
        return 0;
    if (data[i++] != '{')
        goto refuse;
    for (; i < len && json_space(data[i]); i++)
        ;
    if (i < len && data[i++] == '}') {
        for (; i < len && json_space(data[i]); i++)
            ;
        if (i == len)
            return 0;
    }
refuse:
    reply_error(r, 400, "body_not_allowed",
                "this route takes no body (send none, or an empty JSON object {})", NULL);
    return -1;
}

/* Checks and reads the body; 0, or replies and returns -1. */
static int read_body(struct req *r)
{
    const struct route *rt = r->route;
    long long declared = r->ri->content_length;
    const char *ct = mg_get_header(r->conn, "Content-Type");
    struct buf b = {0};
    json_error_t jerr;
    char chunk[4096];
    int n;
    if (rt->body == BODY_NONE)
        return read_no_body(r);
    if (declared > (long long)rt->body_limit) {
        reply_error(r, 413, NULL, "request body too large", NULL);
        return -1;
    }
    if (!content_type_is(ct, rt->body == BODY_JSON ? "application/json" : "application/x-ndjson") &&
        !(rt->body == BODY_JSONL && content_type_is(ct, "application/jsonl"))) {
        reply_error(r, 415, NULL,
                    rt->body == BODY_JSON ? "send Content-Type: application/json"
                                          : "send Content-Type: application/x-ndjson",
                    NULL);
        return -1;
    }
    if (rt->body == BODY_JSONL)
        return 0; /* streamed by the handler */
    while ((n = mg_read(r->conn, chunk, sizeof chunk)) > 0) {
        if (b.len + (size_t)n > rt->body_limit) {
            buf_free(&b);
            reply_error(r, 413, NULL, "request body too large", NULL);
            return -1;
        }
        buf_append(&b, chunk, (size_t)n);
    }
    if (util_json_too_deep(b.data, b.len, JSON_DEPTH_MAX)) {
        buf_free(&b);
        reply_error(r, 400, "too_deep", "JSON nested deeper than " JSON_DEPTH_MAX_TEXT " levels",
                    NULL);
        return -1;
    }
    r->body = json_loadb(b.data != NULL ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
    buf_free(&b);
    if (r->body == NULL) {
        char msg[256];
        snprintf(msg, sizeof msg, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        reply_error(r, 400, "malformed_json", msg, NULL);
        return -1;
    }
    if (!json_is_object(r->body)) {
        reply_error(r, 400, "malformed_json", "the body must be a JSON object", NULL);
        return -1;
    }
    return 0;
}

/* 1 when s is a Content-Length value: one or more digits, nothing else
 * (strtoll, which CivetWeb uses, also takes "+16" and "16abc"). */
static int length_valid(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n <= 18 && s[n] == '\0';
}

/* Refuses a request whose body's extent two parties could read
 * differently (request smuggling behind a proxy): Content-Length that is
 * not plain digits, two Content-Length headers that differ,
 * Content-Length together with Transfer-Encoding, or Transfer-Encoding
 * twice. CivetWeb would take the first Content-Length (or prefer chunked)
 * and run the rest of the bytes as a next request. 0, or answers 400 and
 * returns -1; the connection is then closed (mg_send_http_error sets
 * CivetWeb's must_close, which nothing else public does), since whatever
 * follows on it cannot be trusted. The answer is CivetWeb's plain-text
 * error, like its own for requests it cannot parse. */
const char *server_framing_why(const struct mg_header *h, int n)
{
    const char *cl = NULL, *why = NULL;
    int i, te = 0;
    for (i = 0; i < n && why == NULL; i++) {
        const char *name = h[i].name, *value = h[i].value;
        if (name == NULL || value == NULL)
            continue;
        if (strcasecmp(name, "Content-Length") == 0) {
            if (!length_valid(value))
                why = "Content-Length must be digits only";
            else if (cl != NULL && strcmp(cl, value) != 0)
                why = "two different Content-Length headers";
            cl = value;
        } else if (strcasecmp(name, "Transfer-Encoding") == 0 && te++ > 0) {
            why = "more than one Transfer-Encoding header";
        }
    }
    if (why == NULL && cl != NULL && te > 0)
        why = "Content-Length together with Transfer-Encoding";
    return why;
}

static int framing_ok(struct req *r)
{
    const char *why = server_framing_why(r->ri->http_headers, r->ri->num_headers);
    if (why == NULL)
        return 0;
    r->status = 400;
    mg_send_http_error(r->conn, 400, "ambiguous request framing: %s", why);
    return -1;
}

/* Finds the route; sets r->route or answers 404/405. Unmatched GETs outside
 * /api/ may be assets. Returns the route index, N_ROUTES for "other". */
static size_t route_request(struct req *r)
{
    const char *path = r->ri->local_uri;
    /* A {key} (an item's imported id) is matched against the path before
     * CivetWeb cleaned it of "//" and "/../": an id may hold those. */
    const char *raw = r->ri->local_uri_raw != NULL ? r->ri->local_uri_raw : path;
    char allow[128] = "";
    size_t i;
    for (i = 0; i < N_ROUTES; i++) {
        int64_t ids[2] = {0, 0};
        const char *key = NULL;
        if (!(strstr(routes[i].pattern, "{key}") != NULL
                  ? server_match_key(routes[i].pattern, raw, ids, &key)
                  : server_match(routes[i].pattern, path, ids)))
            continue;
        if (strcmp(routes[i].method, r->ri->request_method) == 0 ||
            (strcmp(r->ri->request_method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0 &&
             (routes[i].flags & R_PAGE) == 0 && routes[i].min_role == ROLE_NONE)) {
            r->route = &routes[i];
            memcpy(r->id, ids, sizeof ids);
            r->key = key;
            return i;
        }
        snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                 allow[0] != '\0' ? ", " : "", routes[i].method);
    }
    if (allow[0] != '\0') {
        char hdr[160];
        snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
        reply_error_h(r, 405, NULL, "method not allowed", NULL, hdr);
    } else if ((strcmp(r->ri->request_method, "GET") == 0 ||
                strcmp(r->ri->request_method, "HEAD") == 0) &&
               (strncmp(path, "/static/", 8) == 0 || strncmp(path, "/web/", 5) == 0)) {
        api_asset(r);
    } else {
        reply_error(r, 404, NULL, "no such resource", NULL);
    }
    return N_ROUTES;
}

static int dispatch(struct mg_connection *conn, void *cbdata)
{
    struct req r;
    struct timespec t0, t1;
    size_t idx;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(&r, 0, sizeof r);
    r.conn = conn;
    r.ri = mg_get_request_info(conn);
    r.app = cbdata;
    __atomic_add_fetch(&r.app->inflight, 1, __ATOMIC_SEQ_CST);
    client_addr(&r);
    idx = framing_ok(&r) == 0 ? route_request(&r) : N_ROUTES;
    if (r.route != NULL && (r.route->flags & R_WRITES))
        db_write_expected(r.app->db);
    if (__atomic_load_n(&r.app->draining, __ATOMIC_SEQ_CST) && r.status == 0)
        reply_error_h(&r, 503, NULL, "the server is shutting down", NULL, "Retry-After: 5\r\n");
    if (r.status == 0 && r.route != NULL && authenticate(&r) == 0 && authorize(&r) == 0 &&
        read_body(&r) == 0)
        r.route->handler(&r);
    if (r.status == 0)
        reply_err(&r, ERR_NOMEM, NULL, NULL); /* a handler that did not answer */
    json_decref(r.body);
    db_write_expected_end(r.app->db);
    db_reader_release(r.app->db);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    metrics_observe(r.app->metrics, idx, r.status,
                    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    __atomic_sub_fetch(&r.app->inflight, 1, __ATOMIC_SEQ_CST);
    return r.status;
}

static int log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    fprintf(stderr, "arbiter: %s\n", message);
    return 1;
}

struct stopper {
    struct mg_context *ctx;
    int done; /* __atomic */
};

static void *stop_thread(void *arg)
{
    struct stopper *s = arg;
    mg_stop(s->ctx);
    __atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Stops CivetWeb without its acceptor's wait: the acceptor polls the
 * listening socket 2 s at a time and looks at the stop flag only between
 * polls, so mg_stop alone takes up to 2 s. While mg_stop runs in a thread
 * of its own, a connection to the listening address every 10 ms wakes the
 * poll; once the flag is set, the acceptor leaves without accepting it.
 * listen is "HOST:PORT"; an unspecified host is reached on loopback. */
static void stop_civetweb(struct mg_context *ctx, const char *listen)
{
    struct stopper s = {ctx, 0};
    struct sockaddr_in to;
    struct mg_server_port ports[1];
    const char *colon = strrchr(listen, ':');
    char host[64] = "";
    pthread_t t;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (colon != NULL && (size_t)(colon - listen) < sizeof host) {
        struct in_addr a;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        if (inet_pton(AF_INET, host, &a) == 1 && a.s_addr != htonl(INADDR_ANY))
            to.sin_addr = a;
    }
    if (mg_get_server_ports(ctx, 1, ports) != 1 || (ports[0].protocol & 1) == 0 ||
        pthread_create(&t, NULL, stop_thread, &s) != 0) {
        mg_stop(ctx);
        return;
    }
    to.sin_port = htons((uint16_t)ports[0].port);
    while (!__atomic_load_n(&s.done, __ATOMIC_SEQ_CST)) {
        struct timespec ms10 = {0, 10 * 1000 * 1000};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            (void)!connect(fd, (struct sockaddr *)&to, sizeof to);
            close(fd);
        }
        nanosleep(&ms10, NULL);
    }
    pthread_join(t, NULL);
}

int server_run(struct app *app, const sigset_t *signals)
{
    char threads[16], keep[16], reqt[16];
    const char *options[] = {
        "listening_ports",
        app->cfg.listen,
        "num_threads",
        threads,
        "enable_keep_alive",
        "yes",
        "keep_alive_timeout_ms",
        keep,
        "request_timeout_ms",
        reqt,
        /* Accepted connections wait here for a free worker; a burst of
         * thousands (labelers arriving at nine) queues, not refused. */
        "connection_queue",
        "4096",
        "listen_backlog",
        "4096",
        "tcp_nodelay",
        "1",
        "enable_directory_listing",
        "no",
        "access_control_allow_origin",
        "",
        "cgi_pattern",
        "",
        "ssi_pattern",
        "",
        "additional_header",
        "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n"
        "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY",
        NULL,
        NULL,
    };
    struct mg_callbacks cb;
    struct mg_context *ctx;
    char names[N_ROUTES][64];
    const char *name_ptr[N_ROUTES];
    size_t i;
    int sig;
    /* Metrics label each route "METHOD pattern", as in the table. */
    for (i = 0; i < N_ROUTES; i++) {
        snprintf(names[i], sizeof names[i], "%s %s", routes[i].method, routes[i].pattern);
        name_ptr[i] = names[i];
    }
    snprintf(threads, sizeof threads, "%d", app->cfg.threads);
    snprintf(keep, sizeof keep, "%d", app->cfg.keep_alive_ms);
    snprintf(reqt, sizeof reqt, "%d", app->cfg.request_timeout_ms);
    db_set_readers(app->db, app->cfg.db_readers);
    app->metrics = metrics_new(N_ROUTES, name_ptr);
    if (app->metrics == NULL)
        return ERR_NOMEM;
    memset(&cb, 0, sizeof cb);
    cb.log_message = log_message;
    ctx = mg_start(&cb, app, options);
    if (ctx == NULL) {
        fprintf(stderr, "arbiter: cannot listen on %s\n", app->cfg.listen);
        metrics_free(app->metrics);
        app->metrics = NULL;
        return ERR_BUSY;
    }
    mg_set_request_handler(ctx, "/", dispatch, app);
    fprintf(stderr, "arbiter: serving on http://%s/\n", app->cfg.listen);
    /* The main thread only waits for a stop signal; meanwhile, every 10 s
     * it gives freed memory back to the system. The trim thresholds set at
     * start (main.c) keep glibc from returning memory on every free, which
     * under load cost more than the work; without this, each of its
     * arenas would keep up to that much, and RSS would climb for as long
     * as the server runs. */
    for (;;) {
        struct timespec every = {10, 0};
        sig = sigtimedwait(signals, NULL, &every);
        if (sig > 0)
            break;
        malloc_trim(0);
    }
    fprintf(stderr, "arbiter: %s received, finishing requests\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* Drain: refuse new requests, let those in flight answer (30 s at most),
     * then stop CivetWeb, which joins its threads. */
    __atomic_store_n(&app->draining, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < 3000 && __atomic_load_n(&app->inflight, __ATOMIC_SEQ_CST) > 0; i++) {
        struct timespec ms10 = {0, 10 * 1000 * 1000};
        nanosleep(&ms10, NULL);
    }
    stop_civetweb(ctx, app->cfg.listen);
    metrics_free(app->metrics);
    app->metrics = NULL;
    return 0;
}
