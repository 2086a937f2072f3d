/* api_session.c: logging in and out, who am I, and changing one's own
 * password. The session secret travels only in an HttpOnly cookie; the
 * CSRF token the page must echo is returned in the body. */
#include "api.h"

#include "users.h"

#include <stdio.h>
#include <string.h>

json_t *api_user_json(int64_t id, const char *name, enum role role, int disabled,
                      int must_change_password, int64_t created_at)
{
    return json_pack("{sIsssssbsbso}", "id", (json_int_t)id, "name", name, "role",
                     auth_role_name(role), "disabled", disabled, "must_change_password",
                     must_change_password, "created_at", util_json_time(created_at));
}

/* The /me document of p; NULL when the user vanished. */
static json_t *me_json(struct req *r, const struct principal *p)
{
    struct db_conn *c = db_reader(r->app->db);
    struct user u;
    json_t *o;
    if (c == NULL || user_get(c, p->user_id, &u) != 0)
        return NULL;
    o = json_pack(
        "{soss}", "user",
        api_user_json(u.id, u.name, u.role, u.disabled, u.must_change_password, u.created_at),
        "auth", p->kind == AUTH_TOKEN ? "token" : "session");
    if (p->kind == AUTH_SESSION) {
        json_object_set_new(o, "csrf_token", json_string(p->csrf));
    } else {
        char scopes[32];
        auth_scopes_format(p->scopes, scopes, sizeof scopes);
        json_object_set_new(o, "token",
                            json_pack("{sIss}", "id", (json_int_t)p->token_id, "scopes", scopes));
    }
    return o;
}

/* Set-Cookie for the session; an empty token clears the cookie. */
static void cookie_header(struct req *r, const char *token, char *out, size_t n)
{
    snprintf(
        out, n,
        "Set-Cookie: arbiter_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s\r\n",
        token, token[0] != '\0' ? (long long)r->app->cfg.auth.absolute_timeout : 0LL,
        (r->app->cfg.secure_cookies || r->ri->is_ssl) ? "; Secure" : "");
}

void api_session_create(struct req *r)
{
    /* "name", as user objects call it; "username" is the older spelling
     * and keeps working. */
    static const char *const allowed[] = {"name", "username", "password", NULL};
    const char *name, *username, *password;
    char token[AUTH_TOKEN_LEN], hdr[256];
    struct principal p;
    int64_t retry = 0;
    json_t *body;
    int rc;
    if (body_only(r, allowed) || body_string(r, "name", 0, &name) ||
        body_string(r, "username", 0, &username))
        return;
    if (name != NULL && username != NULL) {
        reply_error(r, 422, "invalid", "give name or username, not both", "username");
        return;
    }
    if (name == NULL && username == NULL) {
        reply_error(r, 422, "missing_field", "is required", "name");
        return;
    }
    if (name == NULL)
        name = username;
    if (body_string(r, "password", 1, &password))
        return;
    rc = auth_login(r->app->auth, name, password, r->addr, &p, token, &retry);
    switch (rc) {
    case 0: break;
    case ERR_THROTTLED:
        snprintf(hdr, sizeof hdr, "Retry-After: %lld\r\n", (long long)retry);
        reply_error_h(r, 429, NULL, "too many failed logins; try again later", NULL, hdr);
        return;
    case ERR_UNAUTHORIZED:
        reply_error(r, 401, "bad_credentials", "wrong username or password", NULL);
        return;
    case ERR_FORBIDDEN:
        reply_error(r, 403, "account_disabled", "this account is disabled", NULL);
        return;
    case ERR_BUSY:
        /* Every hash slot stayed taken (a login flood): answer at once. */
        reply_error_h(r, 503, NULL, "the server is busy checking passwords; try again shortly",
                      NULL, "Retry-After: 1\r\n");
        return;
    default: reply_err(r, rc, NULL, NULL); return;
    }
    body = me_json(r, &p);
    cookie_header(r, token, hdr, sizeof hdr);
    reply_json_h(r, 200, body, hdr);
}

void api_session_delete(struct req *r)
{
    char hdr[256];
    int rc = auth_session_end(r->app->auth, &r->who, r->addr);
    if (rc != 0) {
        reply_err(r, rc, NULL, NULL);
        return;
    }
    cookie_header(r, "", hdr, sizeof hdr);
    reply(r, 204, NULL, NULL, 0, hdr);
}

void api_me(struct req *r)
{
    json_t *body = me_json(r, &r->who);
    if (body == NULL)
        reply_err(r, ERR_NOT_FOUND, "user not found", NULL);
    else
        reply_json(r, 200, body);
}

void api_me_password(struct req *r)
{
    static const char *const allowed[] = {"current_password", "new_password", NULL};
    const char *current, *next, *why = NULL;
    char hdr[64];
    int64_t retry = 1;
    int rc;
    if (body_only(r, allowed) || body_string(r, "current_password", 1, &current) ||
        body_string(r, "new_password", 1, &next))
        return;
    rc = user_change_password(r->app->auth, r->who.user_id, current, next, r->who.session_id,
                              r->addr, &why, &retry);
    snprintf(hdr, sizeof hdr, "Retry-After: %lld\r\n", (long long)retry);
    if (rc == ERR_UNAUTHORIZED)
        reply_error(r, 403, "bad_credentials", why, "current_password");
    else if (rc == ERR_THROTTLED)
        reply_error_h(r, 429, NULL, why, "current_password", hdr);
    else if (rc == ERR_BUSY)
        reply_error_h(r, 503, NULL, "the server is busy hashing passwords; try again shortly", NULL,
                      hdr);
    else if (rc != 0)
        reply_err(r, rc, why, rc == ERR_INVALID ? "new_password" : NULL);
    else
        reply(r, 204, NULL, NULL, 0, NULL);
}
