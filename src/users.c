/* users.c: accounts (see users.h). Reads go through the calling thread's
 * reader, changes through the writer, each with its audit entry. */
#include "users.h"

#include "audit.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int user_name_valid(const char *name)
{
    size_t n = strlen(name), i;
    if (n == 0 || n > AUTH_NAME_MAX || !isalnum((unsigned char)name[0]))
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-' && ch != '@')
            return 0;
    }
    return 1;
}

static void read_row(sqlite3_stmt *st, struct user *u)
{
    char role[16];
    u->id = sqlite3_column_int64(st, 0);
    db_col_text(st, 1, u->name, sizeof u->name);
    db_col_text(st, 2, role, sizeof role);
    if (auth_role_parse(role, &u->role) != 0)
        u->role = ROLE_NONE;
    db_col_text(st, 3, u->password_hash, sizeof u->password_hash);
    u->disabled = sqlite3_column_int(st, 4);
    u->must_change_password = sqlite3_column_int(st, 5);
    u->created_at = sqlite3_column_int64(st, 6);
    u->updated_at = sqlite3_column_int64(st, 7);
}

static int get_one(struct db_conn *c, enum sql_id id, int64_t key, const char *name,
                   struct user *out)
{
    sqlite3_stmt *st = db_stmt(c, id);
    int rc;
    if (st == NULL)
        return ERR_DB;
    if (name != NULL)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, key);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_row(st, out);
    db_done(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_DB;
}

int user_get(struct db_conn *c, int64_t id, struct user *out)
{
    return get_one(c, SQL_USER_BY_ID, id, NULL, out);
}

int user_get_by_name(struct db_conn *c, const char *name, struct user *out)
{
    return get_one(c, SQL_USER_BY_NAME, 0, name, out);
}

int user_list(struct db *db, struct user **out, size_t *n)
{
    struct db_conn *c = db_reader(db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_USER_LIST) : NULL;
    struct user *v = NULL;
    size_t len = 0, cap = 0;
    int rc;
    if (st == NULL)
        return ERR_DB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            struct user *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (nv == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = nv;
        }
        read_row(st, &v[len++]);
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

int user_count(struct db *db, int64_t *n)
{
    struct db_conn *c = db_reader(db);
    sqlite3_stmt *st = c != NULL ? db_stmt(c, SQL_USER_COUNT) : NULL;
    int rc;
    if (st == NULL)
        return ERR_DB;
    rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_done(st);
    return rc == SQLITE_ROW ? 0 : ERR_DB;
}

struct create_op {
    const char *name, *hash, *addr;
    enum role role;
    int must_change;
    int64_t actor, id;
};

static int create_write(struct db_conn *c, void *arg)
{
    struct create_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_USER_INSERT);
    json_t *detail;
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_text(st, 1, op->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, auth_role_name(op->role), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, op->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, op->must_change);
    sqlite3_bind_int64(st, 5, util_now());
    rc = sqlite3_step(st);
    db_done(st);
    if (rc == SQLITE_CONSTRAINT)
        return ERR_CONFLICT;
    if (rc != SQLITE_DONE)
        return ERR_DB;
    op->id = sqlite3_last_insert_rowid(c->h);
    detail = json_pack("{sIss}", "user_id", (json_int_t)op->id, "role", auth_role_name(op->role));
    rc = audit_add(c, op->actor, "user_create", op->name, op->addr, detail);
    json_decref(detail);
    return rc;
}

int user_create(struct auth *a, const char *name, enum role role, const char *password,
                int must_change_password, int64_t actor_id, const char *addr, int64_t *id,
                const char **why)
{
    char hash[160];
    struct create_op op;
    int rc;
    if (!user_name_valid(name)) {
        *why = "name must be 1-64 characters of letters, digits, '.', '_', '-' or '@', "
               "starting with a letter or digit";
        return ERR_INVALID;
    }
    if (role == ROLE_NONE) {
        *why = "role must be admin, lead or labeler";
        return ERR_INVALID;
    }
    if (auth_password_policy(password, why) != 0)
        return ERR_INVALID;
    rc = auth_password_hash(a, password, hash, sizeof hash);
    if (rc != 0)
        return rc;
    op = (struct create_op){name, hash, addr, role, must_change_password, actor_id, 0};
    rc = db_write(auth_db(a), create_write, &op);
    if (rc == ERR_CONFLICT)
        *why = "a user with this name exists";
    if (rc == 0 && id != NULL)
        *id = op.id;
    return rc;
}

struct update_op {
    int64_t id, actor;
    const struct user_patch *patch;
    const char *hash, *addr;
    const char *why;
};

static int active_admins(struct db_conn *c, int64_t *n)
{
    sqlite3_stmt *st = db_stmt(c, SQL_USER_COUNT_ACTIVE_ADMINS);
    int rc;
    if (st == NULL)
        return ERR_DB;
    rc = sqlite3_step(st);
    *n = sqlite3_column_int64(st, 0);
    db_done(st);
    return rc == SQLITE_ROW ? 0 : ERR_DB;
}

static int update_write(struct db_conn *c, void *arg)
{
    struct update_op *op = arg;
    const struct user_patch *p = op->patch;
    struct user u;
    sqlite3_stmt *st;
    json_t *detail = json_object();
    int64_t now = util_now(), admins;
    int rc = user_get(c, op->id, &u);
    if (rc != 0)
        goto out;
    if (p->has_role && p->role != u.role) {
        st = db_stmt(c, SQL_USER_SET_ROLE);
        sqlite3_bind_int64(st, 1, op->id);
        sqlite3_bind_text(st, 2, auth_role_name(p->role), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        if ((rc = db_step_done(st)) != 0)
            goto out;
        json_object_set_new(detail, "role", json_string(auth_role_name(p->role)));
    }
    if (p->has_disabled && p->disabled != u.disabled) {
        st = db_stmt(c, SQL_USER_SET_DISABLED);
        sqlite3_bind_int64(st, 1, op->id);
        sqlite3_bind_int(st, 2, p->disabled);
        sqlite3_bind_int64(st, 3, now);
        if ((rc = db_step_done(st)) != 0)
            goto out;
        json_object_set_new(detail, "disabled", json_boolean(p->disabled));
        if (p->disabled && (rc = auth_sessions_end_user(c, op->id, -1)) != 0)
            goto out;
    }
    if (op->hash != NULL) {
        st = db_stmt(c, SQL_USER_SET_PASSWORD);
        sqlite3_bind_int64(st, 1, op->id);
        sqlite3_bind_text(st, 2, op->hash, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, p->must_change);
        sqlite3_bind_int64(st, 4, now);
        if ((rc = db_step_done(st)) != 0 || (rc = auth_sessions_end_user(c, op->id, -1)) != 0)
            goto out;
        json_object_set_new(detail, "password_reset", json_true());
    }
    /* Never leave the server without an active admin. */
    if ((rc = active_admins(c, &admins)) != 0)
        goto out;
    if (admins == 0) {
        op->why = "this change would leave no active admin";
        rc = ERR_CONFLICT;
        goto out;
    }
    if (json_object_size(detail) > 0)
        rc = audit_add(c, op->actor, "user_update", u.name, op->addr, detail);
out:
    json_decref(detail);
    return rc;
}

int user_update(struct auth *a, int64_t id, const struct user_patch *patch, int64_t actor_id,
                const char *addr, const char **why)
{
    char hash[160];
    struct update_op op = {id, actor_id, patch, NULL, addr, NULL};
    int rc;
    if (patch->has_role && patch->role == ROLE_NONE) {
        *why = "role must be admin, lead or labeler";
        return ERR_INVALID;
    }
    if (patch->password != NULL) {
        if (auth_password_policy(patch->password, why) != 0)
            return ERR_INVALID;
        if ((rc = auth_password_hash(a, patch->password, hash, sizeof hash)) != 0)
            return rc;
        op.hash = hash;
    }
    rc = db_write(auth_db(a), update_write, &op);
    if (op.why != NULL)
        *why = op.why;
    return rc;
}

struct passwd_op {
    int64_t id, keep;
    const char *hash, *addr;
};

static int passwd_write(struct db_conn *c, void *arg)
{
    struct passwd_op *op = arg;
    sqlite3_stmt *st = db_stmt(c, SQL_USER_SET_PASSWORD);
    struct user u;
    int rc;
    if (st == NULL)
        return ERR_DB;
    sqlite3_bind_int64(st, 1, op->id);
    sqlite3_bind_text(st, 2, op->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, 0);
    sqlite3_bind_int64(st, 4, util_now());
    if ((rc = db_step_done(st)) != 0 || (rc = user_get(c, op->id, &u)) != 0 ||
        (rc = auth_sessions_end_user(c, op->id, op->keep)) != 0)
        return rc;
    return audit_add(c, op->id, "password_change", u.name, op->addr, NULL);
}

int user_change_password(struct auth *a, int64_t id, const char *current, const char *next,
                         int64_t keep_session_id, const char *addr, const char **why,
                         int64_t *retry_after)
{
    struct db_conn *c = db_reader(auth_db(a));
    struct user u;
    char hash[160];
    struct passwd_op op;
    int rehash, rc;
    if (c == NULL)
        return ERR_DB;
    if ((rc = user_get(c, id, &u)) != 0)
        return rc;
    /* The current password is a guess like a login's: throttled and
     * audited alike, so a stolen session cannot try passwords freely. */
    if ((rc = auth_guess_allowed(a, u.name, addr, retry_after)) != 0) {
        *why = "too many wrong passwords; try again later";
        return rc;
    }
    if ((rc = auth_password_verify(a, u.password_hash, current, &rehash)) != 0) {
        *why = "the current password is wrong";
        if (rc == ERR_UNAUTHORIZED &&
            auth_guess_failed(a, id, u.name, addr, "password_change") != 0)
            return ERR_DB;
        return rc;
    }
    if (auth_password_policy(next, why) != 0)
        return ERR_INVALID;
    if ((rc = auth_password_hash(a, next, hash, sizeof hash)) != 0)
        return rc;
    op = (struct passwd_op){id, keep_session_id, hash, addr};
    return db_write(auth_db(a), passwd_write, &op);
}
