/* sql.h: every SQL statement Arbiter runs, by name. The text lives in sql.c;
 * db.c prepares each once per connection (db_stmt) and callers bind values
 * with sqlite3_bind_*: SQL is declared, never printed. */
#ifndef ARBITER_SQL_H
#define ARBITER_SQL_H

enum sql_id {
    SQL_USER_INSERT,
    SQL_USER_BY_NAME,
    SQL_USER_BY_ID,
    SQL_USER_LIST,
    SQL_USER_COUNT,
    SQL_USER_COUNT_ACTIVE_ADMINS,
    SQL_USER_SET_ROLE,
    SQL_USER_SET_DISABLED,
    SQL_USER_SET_PASSWORD,
    SQL_SESSION_INSERT,
    SQL_SESSION_LOOKUP,
    SQL_SESSION_TOUCH,
    SQL_SESSION_DELETE,
    SQL_SESSION_DELETE_USER_EXCEPT,
    SQL_SESSION_PURGE,
    SQL_TOKEN_INSERT,
    SQL_TOKEN_LOOKUP,
    SQL_TOKEN_TOUCH,
    SQL_TOKEN_LIST,
    SQL_TOKEN_BY_ID,
    SQL_TOKEN_REVOKE,
    SQL_AUDIT_INSERT,
    SQL_AUDIT_FAILED_BY_SUBJECT,
    SQL_AUDIT_FAILED_BY_ADDR,
    SQL_SECRET_GET,
    SQL_SECRET_PUT,
    SQL__COUNT
};

/* The statement text for id; static storage. */
const char *sql_text(enum sql_id id);

#endif
