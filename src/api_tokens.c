/* api_tokens.c: API tokens for pipelines. Admins and leads create tokens
 * for themselves; the secret is in the creation answer only. Leads see and
 * revoke their own tokens; admins see and revoke all. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *token_json(const struct auth_token_info *t)
{
    json_t *arr = json_array();
    if (t->scopes & SCOPE_EXPORT)
        json_array_append_new(arr, json_string("export"));
    if (t->scopes & SCOPE_WRITE)
        json_array_append_new(arr, json_string("write"));
    if (t->scopes & SCOPE_JUDGE)
        json_array_append_new(arr, json_string("judge"));
    return json_pack("{sI ss sI ss so so so so so}", "id", (json_int_t)t->id, "name", t->name,
                     "user_id", (json_int_t)t->user_id, "user", t->user, "scopes", arr,
                     "created_at", util_json_time(t->created_at), "expires_at",
                     util_json_time(t->expires_at), "last_used_at", util_json_time(t->last_used_at),
                     "revoked_at", util_json_time(t->revoked_at));
}

void api_tokens_list(struct req *r)
{
    struct auth_token_info *v = NULL;
    size_t n = 0, i;
    json_t *arr;
    int rc = auth_token_list(r->app->auth, r->who.role == ROLE_ADMIN ? -1 : r->who.user_id, &v, &n);
    if (rc != 0) {
        reply_err(r, rc, NULL, NULL);
        return;
    }
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, token_json(&v[i]));
    free(v);
    reply_json(r, 200, json_pack("{so}", "tokens", arr));
}

/* Reads "scopes": a non-empty array of "export" / "write" / "judge". */
static int scopes_field(struct req *r, unsigned *out)
{
    json_t *v = json_object_get(r->body, "scopes"), *s;
    size_t i;
    *out = 0;
    if (v == NULL) {
        reply_error(r, 422, "missing_field", "is required", "scopes");
        return -1;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        reply_error(r, 422, "wrong_type",
                    "must be a non-empty array of \"export\", \"write\", \"judge\"", "scopes");
        return -1;
    }
    json_array_foreach(v, i, s)
    {
        const char *name = json_string_value(s);
        unsigned bit = name == NULL                  ? 0
                       : strcmp(name, "export") == 0 ? SCOPE_EXPORT
                       : strcmp(name, "write") == 0  ? SCOPE_WRITE
                       : strcmp(name, "judge") == 0  ? SCOPE_JUDGE
                                                     : 0;
        if (bit == 0) {
            char field[32];
            snprintf(field, sizeof field, "scopes[%zu]", i);
            reply_error(r, 422, NULL, "must be \"export\", \"write\" or \"judge\"", field);
            return -1;
        }
        *out |= bit;
    }
    return 0;
}

void api_tokens_create(struct req *r)
{
    static const char *const allowed[] = {"name", "scopes", "expires_in_days", NULL};
    struct auth_token_info info;
    char secret[AUTH_TOKEN_LEN];
    const char *name;
    unsigned scopes;
    json_int_t days = 0;
    int has_days, rc;
    int64_t expires = 0;
    if (body_only(r, allowed) || body_string(r, "name", 1, &name) || scopes_field(r, &scopes) ||
        body_int(r, "expires_in_days", &days, &has_days))
        return;
    if (name[0] == '\0' || strlen(name) > 128) {
        reply_error(r, 422, NULL, "must be 1 to 128 characters", "name");
        return;
    }
    if (has_days) {
        if (days < 1 || days > 3650) {
            reply_error(r, 422, NULL, "must be between 1 and 3650", "expires_in_days");
            return;
        }
        expires = util_now() + (int64_t)days * 86400;
    }
    rc = auth_token_create(r->app->auth, r->who.user_id, name, scopes, expires, r->who.user_id,
                           r->addr, &info, secret);
    if (rc != 0) {
        reply_err(r, rc, NULL, NULL);
        return;
    }
    reply_json(r, 201, json_pack("{soss}", "token", token_json(&info), "secret", secret));
}

void api_tokens_delete(struct req *r)
{
    int64_t owner = r->who.role == ROLE_ADMIN ? -1 : r->who.user_id;
    int rc = auth_token_revoke(r->app->auth, r->id[0], owner, r->who.user_id, r->addr);
    if (rc == ERR_CONFLICT)
        reply_err(r, rc, "token already revoked", NULL);
    else if (rc != 0)
        reply_err(r, rc, rc == ERR_NOT_FOUND ? "no such token" : NULL, NULL);
    else
        reply(r, 204, NULL, NULL, 0, NULL);
}
