/* api_users.c: account administration (admin only, per the route table):
 * list, create, and change role, disabled state or password. */
#include "api.h"

#include "users.h"

#include <stdlib.h>

static json_t *user_json(const struct user *u)
{
    return api_user_json(u->id, u->name, u->role, u->disabled, u->must_change_password,
                         u->created_at);
}

void api_users_list(struct req *r)
{
    struct user *v = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = user_list(r->app->db, &v, &n);
    if (rc != 0) {
        reply_err(r, rc, NULL, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, user_json(&v[i]));
    free(v);
    reply_json(r, 200, json_pack("{so}", "users", arr));
}

/* Reads "role" when present; 0, or replies 422 and returns -1. */
static int role_field(struct req *r, int required, int *present, enum role *role)
{
    const char *s;
    if (body_string(r, "role", required, &s))
        return -1;
    *present = s != NULL;
    if (s != NULL && auth_role_parse(s, role) != 0) {
        reply_error(r, 422, NULL, "must be admin, lead or labeler", "role");
        return -1;
    }
    return 0;
}

static void reply_user(struct req *r, int status, int64_t id)
{
    struct db_conn *c = db_reader(r->app->db);
    struct user u;
    int rc = c != NULL ? user_get(c, id, &u) : ERR_DB;
    if (rc != 0)
        reply_err(r, rc, NULL, NULL);
    else
        reply_json(r, status, json_pack("{so}", "user", user_json(&u)));
}

void api_users_create(struct req *r)
{
    static const char *const allowed[] = {"name", "role", "password", NULL};
    const char *name, *password, *why = NULL;
    enum role role = ROLE_NONE;
    int64_t id = 0;
    int has_role, rc;
    if (body_only(r, allowed) || body_string(r, "name", 1, &name) ||
        role_field(r, 1, &has_role, &role) || body_string(r, "password", 1, &password))
        return;
    rc = user_create(r->app->auth, name, role, password, 1, r->who.user_id, r->addr, &id, &why);
    if (rc != 0) {
        reply_err(r, rc, why,
                  rc == ERR_CONFLICT  ? "name"
                  : rc == ERR_INVALID ? (user_name_valid(name) ? "password" : "name")
                                      : NULL);
        return;
    }
    reply_user(r, 201, id);
}

void api_users_update(struct req *r)
{
    static const char *const allowed[] = {"role", "disabled", "password", NULL};
    struct user_patch patch = {0};
    const char *why = NULL;
    int rc;
    if (body_only(r, allowed) || role_field(r, 0, &patch.has_role, &patch.role) ||
        body_bool(r, "disabled", &patch.disabled, &patch.has_disabled) ||
        body_string(r, "password", 0, &patch.password))
        return;
    /* An admin's reset is a one-time password: the user picks a new one. */
    patch.must_change = patch.password != NULL && r->id[0] != r->who.user_id;
    rc = user_update(r->app->auth, r->id[0], &patch, r->who.user_id, r->addr, &why);
    if (rc != 0) {
        reply_err(r, rc, why,
                  rc == ERR_INVALID ? (patch.password != NULL ? "password" : "role") : NULL);
        return;
    }
    reply_user(r, 200, r->id[0]);
}
