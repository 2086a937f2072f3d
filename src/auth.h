/* auth.h: who is asking. Passwords (Argon2id via libsodium, with at most
 * as many hashes at once as cores), browser sessions, API tokens, CSRF
 * tokens and login throttling. Secrets are 32 random bytes; the database
 * only ever holds their keyed BLAKE2b hash. */
#ifndef ARBITER_AUTH_H
#define ARBITER_AUTH_H

#include "db.h"

#include <stddef.h>
#include <stdint.h>

enum role { ROLE_NONE = 0, ROLE_LABELER = 1, ROLE_LEAD = 2, ROLE_ADMIN = 3 };

/* "admin", "lead", "labeler" (or "none"); and back: 0 or ERR_INVALID. */
const char *auth_role_name(enum role r);
int auth_role_parse(const char *s, enum role *out);

/* Token scopes, a bit set. */
enum { SCOPE_EXPORT = 1, SCOPE_WRITE = 2, SCOPE_JUDGE = 4 };
#define SCOPES_ALL (SCOPE_EXPORT | SCOPE_WRITE | SCOPE_JUDGE)
int auth_scopes_parse(const char *csv, unsigned *out); /* "export,write" */
void auth_scopes_format(unsigned scopes, char *out, size_t n);

#define AUTH_NAME_MAX 64
#define AUTH_TOKEN_LEN 64 /* room for any token, CSRF token or session id text */

enum auth_kind { AUTH_ANON = 0, AUTH_SESSION, AUTH_TOKEN };

/* The authenticated caller of a request. */
struct principal {
    enum auth_kind kind;
    int64_t user_id;
    char name[AUTH_NAME_MAX + 1];
    enum role role;
    int must_change_password;
    int64_t session_id;        /* AUTH_SESSION */
    char csrf[AUTH_TOKEN_LEN]; /* AUTH_SESSION: the expected X-CSRF-Token */
    int64_t token_id;          /* AUTH_TOKEN */
    unsigned scopes;           /* AUTH_TOKEN */
};

struct auth_config {
    int64_t idle_timeout;     /* seconds without a request before a session ends */
    int64_t absolute_timeout; /* seconds after login a session ends regardless */
    unsigned long long pw_opslimit;
    size_t pw_memlimit;
    int hash_slots;          /* concurrent password hashes; 0: number of cores */
    int hash_wait_ms;        /* how long a hash waits for a slot, else ERR_BUSY */
    int throttle_account;    /* failed logins per account per window */
    int throttle_addr;       /* failed logins per client address per window */
    int64_t throttle_window; /* seconds */
};

/* Fills cfg with the defaults documented in docs/operations.md. */
void auth_config_default(struct auth_config *cfg);

struct auth;

/* Loads (creating on first use) the server key from the database.
 * Returns 0 and *out (freed by auth_free), or an error. */
int auth_new(struct db *db, const struct auth_config *cfg, struct auth **out);
void auth_free(struct auth *a);

/* Password policy: 12 to 128 characters. 0 or ERR_INVALID with *why set. */
int auth_password_policy(const char *pw, const char **why);

/* Argon2id hash of pw into out. Blocks while every hash slot is busy;
 * ERR_BUSY after 10 s of waiting. Thread-safe. */
int auth_password_hash(struct auth *a, const char *pw, char *out, size_t n);

/* 0 when pw matches hash (and *needs_rehash says whether hash uses other
 * parameters than configured), ERR_UNAUTHORIZED when not, ERR_BUSY. */
int auth_password_verify(struct auth *a, const char *hash, const char *pw, int *needs_rehash);

/* Logs in: throttling, password check (rehashing when parameters changed),
 * a new session, and the audit trail. On success fills *p and token (the
 * cookie value). Errors: ERR_THROTTLED (*retry_after set), ERR_UNAUTHORIZED
 * (unknown user or wrong password), ERR_FORBIDDEN (disabled), ERR_BUSY. */
int auth_login(struct auth *a, const char *name, const char *password, const char *addr,
               struct principal *p, char token[AUTH_TOKEN_LEN], int64_t *retry_after);

/* Password guesses outside the login (a password change's current
 * password) count like failed logins: ERR_THROTTLED (*retry_after set)
 * when name or addr has too many failures in the window, else 0 ... */
int auth_guess_allowed(struct auth *a, const char *name, const char *addr, int64_t *retry_after);
/* ... and a wrong guess is audited as a failed login (detail: via). */
int auth_guess_failed(struct auth *a, int64_t user_id, const char *name, const char *addr,
                      const char *via);

/* Resolves a session cookie value. 0 and *p, or ERR_UNAUTHORIZED when it is
 * unknown, idle too long, too old or its user is disabled. */
int auth_session_check(struct auth *a, const char *token, struct principal *p);

/* Ends a session server-side (logout). */
int auth_session_end(struct auth *a, const struct principal *p, const char *addr);

/* Ends every session of user_id but keep_session_id (-1: all). */
int auth_sessions_end_user(struct db_conn *c, int64_t user_id, int64_t keep_session_id);

/* API tokens. */
struct auth_token_info {
    int64_t id, user_id;
    char user[AUTH_NAME_MAX + 1];
    char name[129];
    unsigned scopes;
    int64_t created_at, expires_at, last_used_at, revoked_at; /* 0: none */
};

/* Creates a token for user_id; the secret is written to token (shown once). */
int auth_token_create(struct auth *a, int64_t user_id, const char *name, unsigned scopes,
                      int64_t expires_at, int64_t actor_id, const char *addr,
                      struct auth_token_info *info, char token[AUTH_TOKEN_LEN]);

/* Resolves a Bearer token. 0 and *p, or ERR_UNAUTHORIZED when unknown,
 * revoked, expired, or its owner is disabled. Keeps last_used_at. */
int auth_token_check(struct auth *a, const char *token, struct principal *p);

/* Tokens of user_id (or everyone's when user_id < 0). *out freed by free(). */
int auth_token_list(struct auth *a, int64_t user_id, struct auth_token_info **out, size_t *n);

/* Revokes token id. owner_id >= 0 restricts it to that owner's tokens
 * (ERR_NOT_FOUND otherwise). ERR_CONFLICT when already revoked. */
int auth_token_revoke(struct auth *a, int64_t id, int64_t owner_id, int64_t actor_id,
                      const char *addr);

/* Looks up a token by id (reader). 0, ERR_NOT_FOUND. */
int auth_token_get(struct auth *a, int64_t id, struct auth_token_info *out);

/* The database handle auth was made with (borrowed). */
struct db *auth_db(struct auth *a);

/* The server's secret key (32 bytes, made at first use and kept in the
 * database): the key of token and session hashes, and of the labeler
 * pseudonyms in exports. 0 or an error. */
int auth_key_load(struct db *db, unsigned char key[32]);

/* Internals exposed for unit tests: the keyed hash of a secret, and the CSRF
 * token derived from a session token. */
void auth_secret_hash(const struct auth *a, const char *secret, unsigned char out[32]);
void auth_csrf_for(const struct auth *a, const char *session_token, char out[AUTH_TOKEN_LEN]);

#endif
