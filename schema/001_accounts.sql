-- Accounts, sessions, API tokens, the audit log and the server's secret key.
-- Times are Unix seconds (UTC). Tokens and sessions are stored only as
-- keyed BLAKE2b hashes (see src/auth.c); never as the secret itself.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'lead', 'labeler')),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    client_addr  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,          -- comma-separated: export, write
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,                -- NULL: never
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,                 -- NULL: anonymous or the CLI
    action      TEXT NOT NULL,           -- login, login_failed, user_create, ...
    subject     TEXT NOT NULL DEFAULT '',-- user name, token id, ...
    client_addr TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}'
);
-- Login throttling counts recent failures by account and by client address.
CREATE INDEX audit_failed_subject ON audit_log(subject, at) WHERE action = 'login_failed';
CREATE INDEX audit_failed_addr ON audit_log(client_addr, at) WHERE action = 'login_failed';

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
