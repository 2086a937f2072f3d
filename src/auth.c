/* auth.c: passwords, sessions, API tokens, CSRF and login throttling (see
 * auth.h).
 *
 * Secrets: a session cookie and an API token are 32 bytes from
 * randombytes_buf, written base64url. The database stores only
 * BLAKE2b(key = server key, secret), so a copy of the database does not let
 * anyone act as a user. The CSRF token of a session is derived the same way
 * from the session secret, so it needs no storage and dies with the session.
 *
 * Throttling counts failed logins in the audit log, per account and per
 * client address, so it survives restarts and needs no shared memory. */
#include "auth.h"

#include "audit.h"
#include "users.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Sessions resolved recently, so the labeling loop's requests do not each
 * read the session and its user from the database: a slot per hash of a
 * session token (a newer session takes over its slot), a lock per
 * SESSION_STRIPES slots. An entry is trusted while no session was deleted
 * and no user changed since it was read (db_epoch) and for at most
 * SESSION_CACHE_MS, which bounds how long a change made by another process
 * (the CLI disabling a user) goes unseen. */
#define SESSION_SLOTS 512
#define SESSION_STRIPES 32
#define SESSION_CACHE_MS 1000

struct session_entry {
    unsigned char h[32]; /* the token's keyed hash; all zero: empty */
    uint64_t epoch;
    int64_t cached_ms, created, seen;
    struct principal p; /* csrf included */
};

struct auth {
    struct db *db;
    struct auth_config cfg;
    unsigned char key[crypto_generichash_KEYBYTES];
    sem_t slots;
    int waiting;                             /* threads waiting for a slot (atomic) */
    int max_waiting;                         /* more than this answer ERR_BUSY at once */
    char dummy_hash[crypto_pwhash_STRBYTES]; /* verified against for unknown users */
    pthread_mutex_t cache_mu[SESSION_STRIPES];
    struct session_entry cache[SESSION_SLOTS];
};

static const char *const role_names[] = {"none", "labeler", "lead", "admin"};

const char *auth_role_name(enum role r)
{
    return (r >= ROLE_NONE && r <= ROLE_ADMIN) ? role_names[r] : "none";
}

int auth_role_parse(const char *s, enum role *out)
{
    int i;
    for (i = ROLE_LABELER; i <= ROLE_ADMIN; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum role)i;
            return 0;
        }
    return ERR_INVALID;
}

int auth_scopes_parse(const char *csv, unsigned *out)
{
    char buf[128], *save = NULL, *tok;
    unsigned s = 0;
    if (strlen(csv) >= sizeof buf)
        return ERR_INVALID;
    strcpy(buf, csv);
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "export") == 0)
            s |= SCOPE_EXPORT;
        else if (strcmp(tok, "write") == 0)
            s |= SCOPE_WRITE;
        else if (strcmp(tok, "judge") == 0)
            s |= SCOPE_JUDGE;
        else
            return ERR_INVALID;
    }
    if (s == 0)
        return ERR_INVALID;
    *out = s;
    return 0;
}

void auth_scopes_format(unsigned scopes, char *out, size_t n)
{
    static const char *const names[] = {"export", "write", "judge"};
    size_t len = 0;
    int i;
    if (n > 0)
        out[0] = '\0';
    for (i = 0; i < 3; i++)
        if ((scopes & (1u << i)) && len < n)
            len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "," : "", names[i]);
}

void auth_config_default(struct auth_config *cfg)
{
    cfg->idle_timeout = 30 * 60;
    cfg->absolute_timeout = 12 * 3600;
    cfg->pw_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    cfg->pw_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    cfg->hash_slots = 0;
    cfg->hash_wait_ms = 1000;
    cfg->throttle_account = 5;
    cfg->throttle_addr = 20;
    cfg->throttle_window = 15 * 60;
}

struct db *auth_db(struct auth *a)
{
    return a->db;
}

struct key_op {
    unsigned char key[crypto_generichash_KEYBYTES];
};

static int key_write(struct db_conn *c, void *arg)
{
    struct key_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_SECRET_PUT);
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_text(st, 1, "token_key", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, op->key, sizeof op->key, SQLITE_STATIC);
    rc = db_step_done(st);
    return rc;
}

/* Reads the server key; 0, ERR_NOT_FOUND or ERR_DB. */
static int key_read(struct db *db, unsigned char key[crypto_generichash_KEYBYTES])
{
    struct db_conn *c = db_reader(db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_SECRET_GET) : NULL;
    int rc = ERR_NOT_FOUND;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_text(st, 1, "token_key", -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_bytes(st, 0) == crypto_generichash_KEYBYTES) {
        memcpy(key, sqlite3_column_blob(st, 0), crypto_generichash_KEYBYTES);
        rc = 0;
    }
    db_done(st);
    return rc;
}

int auth_key_load(struct db *db, unsigned char key[32])
{
    struct key_op op;
    int rc = key_read(db, key);
    if (rc == ERR_NOT_FOUND) {
        /* INSERT OR IGNORE: if two processes race, both then read the winner. */
        randombytes_buf(op.key, sizeof op.key);
        rc = db_write(db, key_write, &op);
        sodium_memzero(op.key, sizeof op.key);
        if (rc == 0)
            rc = key_read(db, key);
    }
    return rc;
}

int auth_new(struct db *db, const struct auth_config *cfg, struct auth **out)
{
    struct auth *a = calloc(1, sizeof *a);
    int slots, rc, i;
    if (a == NULL)
        return ERR_NOMEM;
    a->db = db;
    a->cfg = *cfg;
    for (i = 0; i < SESSION_STRIPES; i++)
        pthread_mutex_init(&a->cache_mu[i], NULL);
    /* A new session is in no cache, and touches (last_seen_at) are kept in
     * the cache by the request that makes them: only deleted sessions and
     * changed users void the cache. */
    if (db_watch(db, "sessions", DB_WATCH_DELETE) != 0 ||
        db_watch(db, "users", DB_WATCH_UPDATE | DB_WATCH_DELETE) != 0) {
        free(a);
        return ERR_NOMEM;
    }
    slots = cfg->hash_slots > 0 ? cfg->hash_slots : (int)sysconf(_SC_NPROCESSORS_ONLN);
    sem_init(&a->slots, 0, (unsigned)(slots > 0 ? slots : 1));
    a->max_waiting = 4 * (slots > 0 ? slots : 1);
    rc = auth_key_load(db, a->key);
    if (rc == 0) {
        unsigned char raw[16];
        char pw[32];
        randombytes_buf(raw, sizeof raw);
        util_b64url(raw, sizeof raw, pw, sizeof pw);
        rc = auth_password_hash(a, pw, a->dummy_hash, sizeof a->dummy_hash);
    }
    if (rc != 0) {
        auth_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void auth_free(struct auth *a)
{
    if (a == NULL)
        return;
    sem_destroy(&a->slots);
    for (int i = 0; i < SESSION_STRIPES; i++)
        pthread_mutex_destroy(&a->cache_mu[i]);
    sodium_memzero(a->cache, sizeof a->cache);
    sodium_memzero(a->key, sizeof a->key);
    free(a);
}

int auth_password_policy(const char *pw, const char **why)
{
    size_t n = util_utf8_len(pw);
    if (n < 12 || n > 128) {
        *why = "password must be 12 to 128 characters";
        return ERR_INVALID;
    }
    return 0;
}

/* A hash slot, waited for at most hash_wait_ms: past that the caller
 * answers 503 with Retry-After at once rather than park a worker thread
 * behind a queue of hashes (a login flood). */
static int slot_take(struct auth *a)
{
    struct timespec ts;
    int rc = 0;
    if (sem_trywait(&a->slots) == 0)
        return 0;
    /* A few may queue for a slot; the rest of a flood is told at once, so
     * logins never hold more than slots + max_waiting worker threads. */
    if (__atomic_fetch_add(&a->waiting, 1, __ATOMIC_RELAXED) >= a->max_waiting) {
        __atomic_fetch_sub(&a->waiting, 1, __ATOMIC_RELAXED);
        return ERR_BUSY;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)(a->cfg.hash_wait_ms % 1000) * 1000000L;
    ts.tv_sec += a->cfg.hash_wait_ms / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    while (sem_timedwait(&a->slots, &ts) != 0)
        if (errno != EINTR) {
            rc = ERR_BUSY;
            break;
        }
    __atomic_fetch_sub(&a->waiting, 1, __ATOMIC_RELAXED);
    return rc;
}

int auth_password_hash(struct auth *a, const char *pw, char *out, size_t n)
{
    int rc;
    if (n < crypto_pwhash_STRBYTES)
        return ERR_INVALID;
    if ((rc = slot_take(a)) != 0)
        return rc;
    rc = crypto_pwhash_str(out, pw, strlen(pw), a->cfg.pw_opslimit, a->cfg.pw_memlimit) == 0
             ? 0
             : ERR_NOMEM;
    sem_post(&a->slots);
    return rc;
}

int auth_password_verify(struct auth *a, const char *hash, const char *pw, int *needs_rehash)
{
    int rc;
    if ((rc = slot_take(a)) != 0)
        return rc;
    rc = crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0 ? 0 : ERR_UNAUTHORIZED;
    sem_post(&a->slots);
    *needs_rehash = rc == 0 && crypto_pwhash_str_needs_rehash(hash, a->cfg.pw_opslimit,
                                                              a->cfg.pw_memlimit) != 0;
    return rc;
}

void auth_secret_hash(const struct auth *a, const char *secret, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)secret, strlen(secret), a->key,
                       sizeof a->key);
}

void auth_csrf_for(const struct auth *a, const char *session_token, char out[AUTH_TOKEN_LEN])
{
    crypto_generichash_state st;
    unsigned char h[32];
    crypto_generichash_init(&st, a->key, sizeof a->key, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)"csrf", 5); /* with the NUL */
    crypto_generichash_update(&st, (const unsigned char *)session_token, strlen(session_token));
    crypto_generichash_final(&st, h, sizeof h);
    util_b64url(h, sizeof h, out, AUTH_TOKEN_LEN);
}

static void new_secret(const char *prefix, char out[AUTH_TOKEN_LEN])
{
    unsigned char raw[32];
    size_t p = strlen(prefix);
    randombytes_buf(raw, sizeof raw);
    memcpy(out, prefix, p);
    util_b64url(raw, sizeof raw, out + p, AUTH_TOKEN_LEN - p);
    sodium_memzero(raw, sizeof raw);
}

/* ---- throttling ---- */

/* Failed logins for key (by subject or address) in the window; sets the
 * oldest failure's time. */
static int failures(struct db_conn *c, enum sql_id id, const char *key, int64_t since,
                    int64_t *count, int64_t *oldest)
{
    sqlite3_stmt *st = db_stmt(c, id);
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, since);
    rc = sqlite3_step(st);
    *count = sqlite3_column_int64(st, 0);
    *oldest = sqlite3_column_int64(st, 1);
    db_done(st);
    return rc == SQLITE_ROW ? 0 : ERR_DB;
}

static int throttled(struct auth *a, const char *subject, const char *addr, int64_t *retry)
{
    struct db_conn *c = db_reader(a->db);
    int64_t now = util_now(), since = now - a->cfg.throttle_window, n, oldest;
    int rc;
    if (c == NULL)
        return ERR_DB;
    if ((rc = failures(c, SQL_AUDIT_FAILED_BY_SUBJECT, subject, since, &n, &oldest)) != 0)
        return rc;
    if (n >= a->cfg.throttle_account)
        goto limit;
    if ((rc = failures(c, SQL_AUDIT_FAILED_BY_ADDR, addr, since, &n, &oldest)) != 0)
        return rc;
    if (n >= a->cfg.throttle_addr)
        goto limit;
    return 0;
limit:
    *retry = oldest + a->cfg.throttle_window - now;
    if (*retry < 1)
        *retry = 1;
    return ERR_THROTTLED;
}

/* The throttle key of a name: lower-cased, as names are unique regardless
 * of case. */
static void subject_of(const char *name, char subject[AUTH_NAME_MAX + 1])
{
    int i;
    for (i = 0; i < AUTH_NAME_MAX && name[i] != '\0'; i++)
        subject[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    subject[i] = '\0';
}

int auth_guess_allowed(struct auth *a, const char *name, const char *addr, int64_t *retry_after)
{
    char subject[AUTH_NAME_MAX + 1];
    subject_of(name, subject);
    return throttled(a, subject, addr, retry_after);
}

struct guess_op {
    int64_t user_id;
    const char *subject, *addr, *via;
};

static int guess_write(struct db_conn *c, void *arg)
{
    struct guess_op *op = arg;
    json_t *detail = json_pack("{ss}", "via", op->via);
    int rc = audit_add(c, op->user_id, "login_failed", op->subject, op->addr, detail);
    json_decref(detail);
    return rc;
}

int auth_guess_failed(struct auth *a, int64_t user_id, const char *name, const char *addr,
                      const char *via)
{
    char subject[AUTH_NAME_MAX + 1];
    struct guess_op op = {user_id, subject, addr, via};
    subject_of(name, subject);
    return db_write(a->db, guess_write, &op);
}

/* ---- sessions ---- */

struct login_op {
    int64_t user_id, session_id;
    const char *subject, *addr, *new_hash;
    unsigned char token_hash[32];
    int ok;
    int64_t idle, absolute;
};

static int login_write(struct db_conn *c, void *arg)
{
    struct login_op *op = arg;
    sqlite3_stmt *st;
    int64_t now = util_now();
    int rc;
    if (!op->ok)
        return audit_add(c, op->user_id, "login_failed", op->subject, op->addr, NULL);
    /* Expired sessions of anyone go at each login: a cheap, bounded sweep. */
    if ((st = db_stmt(c, SQL_SESSION_PURGE)) == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, now - op->idle);
    sqlite3_bind_int64(st, 2, now - op->absolute);
    rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE || (st = db_stmt(c, SQL_SESSION_INSERT)) == NULL)
        return ERR_DB;
    sqlite3_bind_blob(st, 1, op->token_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, op->user_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, op->addr, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return ERR_DB;
    op->session_id = sqlite3_last_insert_rowid(c->h);
    if (op->new_hash != NULL) {
        if ((st = db_stmt(c, SQL_USER_SET_PASSWORD)) == NULL)
            return ERR_DB;
        sqlite3_bind_int64(st, 1, op->user_id);
        sqlite3_bind_text(st, 2, op->new_hash, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, 0);
        sqlite3_bind_int64(st, 4, now);
        rc = sqlite3_step(st);
        db_done(st);
        if (rc != SQLITE_DONE)
            return ERR_DB;
    }
    return audit_add(c, op->user_id, "login", op->subject, op->addr, NULL);
}

int auth_login(struct auth *a, const char *name, const char *password, const char *addr,
               struct principal *p, char token[AUTH_TOKEN_LEN], int64_t *retry_after)
{
    struct db_conn *c = db_reader(a->db);
    struct user u;
    char subject[AUTH_NAME_MAX + 1], new_hash[crypto_pwhash_STRBYTES];
    struct login_op op;
    int rc, found, rehash = 0;
    if (c == NULL)
        return ERR_DB;
    subject_of(name, subject);
    if ((rc = throttled(a, subject, addr, retry_after)) != 0)
        return rc;
    rc = user_get_by_name(c, name, &u);
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return rc;
    found = rc == 0;
    /* Unknown names cost the same time as wrong passwords. */
    rc = auth_password_verify(a, found ? u.password_hash : a->dummy_hash, password, &rehash);
    if (rc == ERR_BUSY)
        return rc;
    memset(&op, 0, sizeof op);
    op.user_id = found ? u.id : 0;
    op.subject = subject;
    op.addr = addr;
    op.ok = found && rc == 0;
    op.idle = a->cfg.idle_timeout;
    op.absolute = a->cfg.absolute_timeout;
    if (op.ok && u.disabled) {
        op.ok = 0;
        rc = db_write(a->db, login_write, &op);
        return rc != 0 ? rc : ERR_FORBIDDEN;
    }
    if (!op.ok) {
        rc = db_write(a->db, login_write, &op);
        return rc != 0 ? rc : ERR_UNAUTHORIZED;
    }
    if (rehash && auth_password_hash(a, password, new_hash, sizeof new_hash) == 0)
        op.new_hash = new_hash;
    new_secret("", token);
    auth_secret_hash(a, token, op.token_hash);
    if ((rc = db_write(a->db, login_write, &op)) != 0)
        return rc;
    memset(p, 0, sizeof *p);
    p->kind = AUTH_SESSION;
    p->user_id = u.id;
    snprintf(p->name, sizeof p->name, "%s", u.name);
    p->role = u.role;
    p->must_change_password = u.must_change_password;
    p->session_id = op.session_id;
    auth_csrf_for(a, token, p->csrf);
    return 0;
}

struct touch_op {
    enum sql_id stmt;
    int64_t id, now;
};

static int touch_write(struct db_conn *c, void *arg)
{
    struct touch_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, op->stmt);
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    if (op->stmt != SQL_SESSION_DELETE)
        sqlite3_bind_int64(st, 2, op->now);
    rc = db_step_done(st);
    return rc;
}

/* How stale last_seen_at may get before a request refreshes it: writing on
 * every request would cost a commit each; a fraction of the idle timeout
 * keeps the timeout accurate to that fraction. */
static int64_t touch_interval(const struct auth *a)
{
    int64_t t = a->cfg.idle_timeout / 4;
    return t > 60 ? 60 : t < 1 ? 1 : t;
}

static size_t session_slot(const unsigned char h[32])
{
    return ((size_t)h[0] | (size_t)h[1] << 8) % SESSION_SLOTS;
}

/* The cached session of hash h, if still trusted: 0 and *e, else -1. */
static int session_cached(struct auth *a, const unsigned char h[32], struct session_entry *e)
{
    size_t slot = session_slot(h);
    pthread_mutex_t *mu = &a->cache_mu[slot % SESSION_STRIPES];
    int rc = -1;
    pthread_mutex_lock(mu);
    if (sodium_memcmp(a->cache[slot].h, h, 32) == 0 && a->cache[slot].epoch == db_epoch(a->db) &&
        util_now_ms() - a->cache[slot].cached_ms < SESSION_CACHE_MS) {
        *e = a->cache[slot];
        rc = 0;
    }
    pthread_mutex_unlock(mu);
    return rc;
}

static void session_keep(struct auth *a, const struct session_entry *e)
{
    size_t slot = session_slot(e->h);
    pthread_mutex_t *mu = &a->cache_mu[slot % SESSION_STRIPES];
    pthread_mutex_lock(mu);
    a->cache[slot] = *e;
    pthread_mutex_unlock(mu);
}

/* Reads session h and its user; fills e (but epoch and cached_ms). 0,
 * ERR_UNAUTHORIZED (unknown, or the user is disabled) or ERR_DB. */
static int session_read(struct auth *a, const unsigned char h[32], struct session_entry *e)
{
    struct db_conn *c = db_reader(a->db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_SESSION_LOOKUP) : NULL;
    char role[16];
    int disabled, step;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
    if ((step = sqlite3_step(st)) != SQLITE_ROW) {
        db_done(st);
        return step == SQLITE_DONE ? ERR_UNAUTHORIZED : ERR_DB; /* a read error is no verdict */
    }
    memset(e, 0, sizeof *e);
    memcpy(e->h, h, 32);
    e->p.kind = AUTH_SESSION;
    e->p.session_id = sqlite3_column_int64(st, 0);
    e->created = sqlite3_column_int64(st, 1);
    e->seen = sqlite3_column_int64(st, 2);
    e->p.user_id = sqlite3_column_int64(st, 3);
    db_col_text(st, 4, e->p.name, sizeof e->p.name);
    db_col_text(st, 5, role, sizeof role);
    disabled = sqlite3_column_int(st, 6);
    e->p.must_change_password = sqlite3_column_int(st, 7);
    db_done(st);
    return auth_role_parse(role, &e->p.role) != 0 || disabled ? ERR_UNAUTHORIZED : 0;
}

int auth_session_check(struct auth *a, const char *token, struct principal *p)
{
    struct session_entry e;
    unsigned char h[32];
    int64_t now = util_now();
    int rc;
    if (strlen(token) >= AUTH_TOKEN_LEN)
        return ERR_UNAUTHORIZED;
    auth_secret_hash(a, token, h);
    if (session_cached(a, h, &e) != 0) {
        /* The epoch before the read: a change committed after it voids
         * the entry (db_epoch). */
        uint64_t epoch = db_epoch(a->db);
        if ((rc = session_read(a, h, &e)) != 0)
            return rc;
        e.epoch = epoch;
        e.cached_ms = util_now_ms();
        auth_csrf_for(a, token, e.p.csrf);
        session_keep(a, &e);
    }
    if (now - e.seen > a->cfg.idle_timeout || now - e.created > a->cfg.absolute_timeout) {
        struct touch_op del = {SQL_SESSION_DELETE, e.p.session_id, now};
        db_write(a->db, touch_write, &del);
        return ERR_UNAUTHORIZED;
    }
    if (now - e.seen >= touch_interval(a)) {
        /* A refresh that cannot be written (a full disk) leaves the
         * session as valid as it was: the request goes on (reads still
         * work; a write will answer 503 itself) and the next request
         * tries the refresh again. */
        struct touch_op t = {SQL_SESSION_TOUCH, e.p.session_id, now};
        if (db_write(a->db, touch_write, &t) == 0) {
            e.seen = now; /* what the row now says */
            session_keep(a, &e);
        }
    }
    *p = e.p;
    return 0;
}

struct logout_op {
    const struct principal *p;
    const char *addr;
};

static int logout_write(struct db_conn *c, void *arg)
{
    struct logout_op *op = arg;
    struct touch_op del = {SQL_SESSION_DELETE, op->p->session_id, 0};
    int rc = touch_write(c, &del);
    return rc != 0 ? rc : audit_add(c, op->p->user_id, "logout", op->p->name, op->addr, NULL);
}

int auth_session_end(struct auth *a, const struct principal *p, const char *addr)
{
    struct logout_op op = {p, addr};
    return db_write(a->db, logout_write, &op);
}

int auth_sessions_end_user(struct db_conn *c, int64_t user_id, int64_t keep_session_id)
{
    sqlite3_stmt *st = db_stmt(c, SQL_SESSION_DELETE_USER_EXCEPT);
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, keep_session_id);
    rc = db_step_done(st);
    return rc;
}

/* ---- API tokens ---- */

static void token_row(sqlite3_stmt *st, struct auth_token_info *t)
{
    char scopes[64];
    t->id = sqlite3_column_int64(st, 0);
    t->user_id = sqlite3_column_int64(st, 1);
    db_col_text(st, 2, t->user, sizeof t->user);
    db_col_text(st, 3, t->name, sizeof t->name);
    db_col_text(st, 4, scopes, sizeof scopes);
    if (auth_scopes_parse(scopes, &t->scopes) != 0)
        t->scopes = 0;
    t->created_at = sqlite3_column_int64(st, 5);
    t->expires_at = sqlite3_column_int64(st, 6);
    t->last_used_at = sqlite3_column_int64(st, 7);
    t->revoked_at = sqlite3_column_int64(st, 8);
}

struct token_op {
    unsigned char hash[32];
    int64_t user_id, expires_at, actor, id;
    const char *name, *addr;
    unsigned scopes;
};

static int token_write(struct db_conn *c, void *arg)
{
    struct token_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_TOKEN_INSERT);
    char scopes[32], subject[32];
    json_t *detail;
    int rc;
    if (st == NULL)
        return ERR_DB;
    auth_scopes_format(op->scopes, scopes, sizeof scopes);
    sqlite3_bind_blob(st, 1, op->hash, sizeof op->hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, op->user_id);
    sqlite3_bind_text(st, 3, op->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, scopes, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, util_now());
    if (op->expires_at > 0)
        sqlite3_bind_int64(st, 6, op->expires_at);
    rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_CONSTRAINT ? ERR_NOT_FOUND : ERR_DB;
    op->id = sqlite3_last_insert_rowid(c->h);
    snprintf(subject, sizeof subject, "token:%lld", (long long)op->id);
    detail = json_pack("{sIssss}", "owner_id", (json_int_t)op->user_id, "name", op->name, "scopes",
                       scopes);
    rc = audit_add(c, op->actor, "token_create", subject, op->addr, detail);
    json_decref(detail);
    return rc;
}

int auth_token_create(struct auth *a, int64_t user_id, const char *name, unsigned scopes,
                      int64_t expires_at, int64_t actor_id, const char *addr,
                      struct auth_token_info *info, char token[AUTH_TOKEN_LEN])
{
    struct token_op op;
    int rc;
    if (name[0] == '\0' || strlen(name) > 128 || scopes == 0 ||
        (scopes & ~(unsigned)SCOPES_ALL) != 0)
        return ERR_INVALID;
    memset(&op, 0, sizeof op);
    new_secret("arb_", token);
    auth_secret_hash(a, token, op.hash);
    op.user_id = user_id;
    op.expires_at = expires_at;
    op.actor = actor_id;
    op.name = name;
    op.addr = addr;
    op.scopes = scopes;
    if ((rc = db_write(a->db, token_write, &op)) != 0)
        return rc;
    return auth_token_get(a, op.id, info);
}

int auth_token_get(struct auth *a, int64_t id, struct auth_token_info *out)
{
    struct db_conn *c = db_reader(a->db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_TOKEN_BY_ID) : NULL;
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        token_row(st, out);
    db_done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
}

int auth_token_check(struct auth *a, const char *token, struct principal *p)
{
    struct db_conn *c = db_reader(a->db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_TOKEN_LOOKUP) : NULL;
    struct auth_token_info t;
    unsigned char h[32];
    char role[16];
    int64_t now = util_now();
    int disabled, step;
    if (st == NULL)
        return ERR_DB;
    if (strncmp(token, "arb_", 4) != 0 || strlen(token) >= AUTH_TOKEN_LEN) {
        db_done(st);
        return ERR_UNAUTHORIZED;
    }
    auth_secret_hash(a, token, h);
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_STATIC);
    if ((step = sqlite3_step(st)) != SQLITE_ROW) {
        db_done(st);
        return step == SQLITE_DONE ? ERR_UNAUTHORIZED : ERR_DB;
    }
    token_row(st, &t);
    db_col_text(st, 9, role, sizeof role);
    disabled = sqlite3_column_int(st, 10);
    db_done(st);
    if (t.revoked_at > 0 || (t.expires_at > 0 && t.expires_at <= now) || disabled)
        return ERR_UNAUTHORIZED;
    memset(p, 0, sizeof *p);
    p->kind = AUTH_TOKEN;
    p->user_id = t.user_id;
    snprintf(p->name, sizeof p->name, "%s", t.user);
    if (auth_role_parse(role, &p->role) != 0)
        return ERR_UNAUTHORIZED;
    p->token_id = t.id;
    p->scopes = t.scopes;
    /* last_used_at at minute granularity: one write per token per minute. */
    if (now - t.last_used_at >= 60) {
        /* Best effort, as a session's refresh: a full disk does not make
         * a valid token fail. */
        struct touch_op op = {SQL_TOKEN_TOUCH, t.id, now};
        db_write(a->db, touch_write, &op);
    }
    return 0;
}

int auth_token_list(struct auth *a, int64_t user_id, struct auth_token_info **out, size_t *n)
{
    struct db_conn *c = db_reader(a->db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_TOKEN_LIST) : NULL;
    struct auth_token_info *v = NULL;
    size_t len = 0, cap = 0;
    int rc;
    if (st == NULL)
        return ERR_DB;
    if (user_id >= 0)
        sqlite3_bind_int64(st, 1, user_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            struct auth_token_info *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (nv == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = nv;
        }
        token_row(st, &v[len++]);
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return ERR_DB;
    }
    *out = v;
    *n = len;
    return 0;
}

struct revoke_op {
    int64_t id, actor;
    const char *addr;
};

static int revoke_write(struct db_conn *c, void *arg)
{
    struct revoke_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_TOKEN_REVOKE);
    char subject[32];
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    sqlite3_bind_int64(st, 2, util_now());
    rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return ERR_DB;
    if (sqlite3_changes(c->h) == 0)
        return ERR_CONFLICT;
    snprintf(subject, sizeof subject, "token:%lld", (long long)op->id);
    return audit_add(c, op->actor, "token_revoke", subject, op->addr, NULL);
}

int auth_token_revoke(struct auth *a, int64_t id, int64_t owner_id, int64_t actor_id,
                      const char *addr)
{
    struct auth_token_info t;
    struct revoke_op op = {id, actor_id, addr};
    int rc = auth_token_get(a, id, &t);
    if (rc != 0)
        return rc;
    if (owner_id >= 0 && t.user_id != owner_id)
        return ERR_NOT_FOUND;
    return db_write(a->db, revoke_write, &op);
}
