/* test_audit.c: src/audit.c: entries are written with their detail JSON,
 * inside the caller's write, and roll back with it. */
#include "audit.h"
#include "unit.h"
#include "util.h"

#include <stdio.h>
#include <unistd.h>

static int add_ok(struct db_conn *c, void *arg)
{
    json_t *d = json_pack("{si}", "n", 7);
    int rc = audit_add(c, 0, "login", "ana", "10.0.0.1", d);
    (void)arg;
    json_decref(d);
    return rc;
}

static int add_then_fail(struct db_conn *c, void *arg)
{
    (void)arg;
    audit_add(c, 3, "user_update", "bob", NULL, NULL);
    return ERR_CONFLICT; /* the entry must vanish with the write */
}

int main(void)
{
    struct db *db = NULL;
    char err[256], path[128];
    int applied;
    sqlite3_stmt *st = NULL;
    snprintf(path, sizeof path, "/tmp/arbiter-test-audit-%d.db", (int)getpid());
    unlink(path);
    CHECK(db_open(path, &db, err, sizeof err) == 0 &&
          db_migrate(db, &applied, err, sizeof err) == 0);
    CHECK(db_write(db, add_ok, NULL) == 0);
    CHECK(db_write(db, add_then_fail, NULL) == ERR_CONFLICT);
    CHECK(sqlite3_prepare_v2(
              db_reader(db)->h,
              "SELECT actor_id, action, subject, client_addr, detail, at FROM audit_log", -1, &st,
              NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_type(st, 0) == SQLITE_NULL); /* actor 0: anonymous / CLI */
    CHECK_STR((const char *)sqlite3_column_text(st, 1), "login");
    CHECK_STR((const char *)sqlite3_column_text(st, 2), "ana");
    CHECK_STR((const char *)sqlite3_column_text(st, 3), "10.0.0.1");
    CHECK_STR((const char *)sqlite3_column_text(st, 4), "{\"n\":7}");
    CHECK(sqlite3_column_int64(st, 5) >= util_now() - 5);
    CHECK(sqlite3_step(st) == SQLITE_DONE); /* the failed write left nothing */
    sqlite3_finalize(st);
    db_close(db);
    unit_rm_db(path);
    return unit_done("test_audit");
}
