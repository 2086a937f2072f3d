/* audit.c: appends to audit_log (see audit.h). */
#include "audit.h"

#include "util.h"

#include <stdlib.h>

int audit_add(struct db_conn *c, int64_t actor_id, const char *action, const char *subject,
              const char *addr, json_t *detail)
{
    sqlite3_stmt *st = db_stmt(c, SQL_AUDIT_INSERT);
    char *text = NULL;
    int rc;
    if (st == NULL)
        return ERR_DB;
    text = detail != NULL ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    sqlite3_bind_int64(st, 1, util_now());
    if (actor_id > 0)
        sqlite3_bind_int64(st, 2, actor_id);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, subject != NULL ? subject : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, addr != NULL ? addr : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, text != NULL ? text : "{}", -1, SQLITE_TRANSIENT);
    rc = db_step_done(st);
    free(text);
    return rc;
}
