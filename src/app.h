/* app.h: the running application: its configuration (filled before the
 * server starts, read-only afterwards) and the handles every request uses. */
#ifndef ARBITER_APP_H
#define ARBITER_APP_H

#include "auth.h"
#include "db.h"

struct app_config {
    const char *db_path;
    const char *listen; /* "127.0.0.1:8080" */
    int threads;
    int db_readers;            /* pooled read connections */
    int keep_alive_ms;         /* an idle keep-alive connection is closed after this */
    int request_timeout_ms;    /* a request's head and body must arrive within this */
    const char *assets_dir;    /* NULL: the embedded assets */
    const char *staging_dir;   /* imports are staged here; NULL: the database's directory */
    int secure_cookies;        /* add Secure to the session cookie */
    const char *origin;        /* public origin for CSRF checks; NULL: from Host */
    const char *trusted_proxy; /* peer whose X-Forwarded-For is believed */
    int max_conns_per_addr;    /* open connections per client address; 0: no cap */
    struct auth_config auth;
};

struct metrics;

struct app {
    struct app_config cfg;
    struct db *db;
    struct auth *auth;
    struct metrics *metrics;
    /* Shutdown: CivetWeb's mg_stop aborts responses being written, so the
     * server first drains: new requests get 503 while those in flight
     * finish. Both are accessed with __atomic builtins only. */
    int draining;
    int inflight;
    uint64_t conns_refused; /* over --max-conns-per-addr (__atomic) */
};

#endif
