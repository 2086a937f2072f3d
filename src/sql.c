/* sql.c: the text of every statement named in sql.h. Columns are listed
 * explicitly so readers can rely on their positions. */
#include "sql.h"

#define USER_COLS "id, name, role, password_hash, disabled, must_change_password, created_at, updated_at"
#define TOKEN_COLS "t.id, t.user_id, u.name, t.name, t.scopes, t.created_at, t.expires_at, t.last_used_at, t.revoked_at"

static const char *const text[SQL__COUNT] = {
    [SQL_USER_INSERT] = "INSERT INTO users (name, role, password_hash, must_change_password,"
                        " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    [SQL_USER_BY_NAME] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
    [SQL_USER_BY_ID] = "SELECT " USER_COLS " FROM users WHERE id = ?1",
    [SQL_USER_LIST] = "SELECT " USER_COLS " FROM users ORDER BY id",
    [SQL_USER_COUNT] = "SELECT count(*) FROM users",
    [SQL_USER_COUNT_ACTIVE_ADMINS] = "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0",
    [SQL_USER_SET_ROLE] = "UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1",
    [SQL_USER_SET_DISABLED] = "UPDATE users SET disabled = ?2, updated_at = ?3 WHERE id = ?1",
    [SQL_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2, must_change_password = ?3,"
                              " updated_at = ?4 WHERE id = ?1",
    [SQL_SESSION_INSERT] = "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at,"
                           " client_addr) VALUES (?1, ?2, ?3, ?3, ?4)",
    [SQL_SESSION_LOOKUP] = "SELECT s.id, s.created_at, s.last_seen_at, u.id, u.name, u.role,"
                           " u.disabled, u.must_change_password"
                           " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
    [SQL_SESSION_TOUCH] = "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
    [SQL_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1",
    [SQL_SESSION_DELETE_USER_EXCEPT] = "DELETE FROM sessions WHERE user_id = ?1 AND id != ?2",
    [SQL_SESSION_PURGE] = "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2",
    [SQL_TOKEN_INSERT] = "INSERT INTO api_tokens (token_hash, user_id, name, scopes, created_at,"
                         " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_TOKEN_LOOKUP] = "SELECT " TOKEN_COLS ", u.role, u.disabled FROM api_tokens t"
                         " JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1",
    [SQL_TOKEN_TOUCH] = "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
    [SQL_TOKEN_LIST] = "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id"
                       " WHERE ?1 IS NULL OR t.user_id = ?1 ORDER BY t.id",
    [SQL_TOKEN_BY_ID] = "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id"
                        " WHERE t.id = ?1",
    [SQL_TOKEN_REVOKE] = "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
    [SQL_AUDIT_INSERT] = "INSERT INTO audit_log (at, actor_id, action, subject, client_addr, detail)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_AUDIT_FAILED_BY_SUBJECT] = "SELECT count(*), min(at) FROM audit_log"
                                    " WHERE action = 'login_failed' AND subject = ?1 AND at > ?2",
    [SQL_AUDIT_FAILED_BY_ADDR] = "SELECT count(*), min(at) FROM audit_log"
                                 " WHERE action = 'login_failed' AND client_addr = ?1 AND at > ?2",
    [SQL_SECRET_GET] = "SELECT value FROM secrets WHERE name = ?1",
    [SQL_SECRET_PUT] = "INSERT OR IGNORE INTO secrets (name, value) VALUES (?1, ?2)",
};

const char *sql_text(enum sql_id id)
{
    return text[id];
}
