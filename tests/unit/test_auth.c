/* test_auth.c: src/auth.c and src/users.c: passwords, sessions, tokens,
 * CSRF derivation, throttling, and the account rules. */
#include "auth.h"
#include "unit.h"
#include "users.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    struct db *db = NULL;
    struct auth *a = NULL;
    struct auth_config cfg;
    char err[256], hash[160], tok[AUTH_TOKEN_LEN], tok2[AUTH_TOKEN_LEN], path[128];
    char c1[AUTH_TOKEN_LEN], c2[AUTH_TOKEN_LEN];
    unsigned char h1[32], h2[32];
    const char *why = NULL;
    struct principal p;
    struct auth_token_info info;
    struct user_patch patch;
    int64_t admin = 0, lab = 0, retry = 0;
    int applied, rehash = -1, i;
    unsigned scopes = 0;

    CHECK(sodium_init() >= 0);
    snprintf(path, sizeof path, "/tmp/arbiter-test-auth-%d.db", (int)getpid());
    unlink(path);
    CHECK(db_open(path, &db, err, sizeof err) == 0 &&
          db_migrate(db, &applied, err, sizeof err) == 0);
    auth_config_default(&cfg);
    cfg.pw_opslimit = 1; /* fast hashes for tests; the defaults are checked below */
    cfg.pw_memlimit = 8 << 20;
    cfg.throttle_account = 3;
    CHECK(auth_new(db, &cfg, &a) == 0);

    /* Roles and scopes. */
    {
        enum role r;
        char s[32];
        CHECK(auth_role_parse("lead", &r) == 0 && r == ROLE_LEAD);
        CHECK(auth_role_parse("root", &r) != 0);
        CHECK(auth_role_parse("none", &r) != 0);
        CHECK(auth_scopes_parse("export,write", &scopes) == 0 && scopes == 3);
        CHECK(auth_scopes_parse("read", &scopes) != 0);
        CHECK(auth_scopes_parse("", &scopes) != 0);
        auth_scopes_format(SCOPE_EXPORT | SCOPE_WRITE, s, sizeof s);
        CHECK_STR(s, "export,write");
        auth_scopes_format(SCOPE_WRITE, s, sizeof s);
        CHECK_STR(s, "write");
    }

    /* Password policy: 12..128 characters (code points, not bytes). */
    CHECK(auth_password_policy("short", &why) == ERR_INVALID);
    CHECK(auth_password_policy("exactly12chr", &why) == 0);
    CHECK(auth_password_policy("ééééééééééé", &why) == ERR_INVALID); /* 11 chars, 22 bytes */
    {
        char longpw[200];
        memset(longpw, 'x', 129);
        longpw[129] = '\0';
        CHECK(auth_password_policy(longpw, &why) == ERR_INVALID);
        longpw[128] = '\0';
        CHECK(auth_password_policy(longpw, &why) == 0);
    }

    /* Argon2id hashes, verification and rehash detection. */
    CHECK(auth_password_hash(a, "correct horse battery", hash, sizeof hash) == 0);
    CHECK(strncmp(hash, "$argon2id$", 10) == 0);
    CHECK(auth_password_verify(a, hash, "correct horse battery", &rehash) == 0 && rehash == 0);
    CHECK(auth_password_verify(a, hash, "wrong horse battery", &rehash) == ERR_UNAUTHORIZED);
    {
        struct auth *b = NULL;
        struct auth_config cfg2 = cfg;
        cfg2.pw_opslimit = 2;
        CHECK(auth_new(db, &cfg2, &b) == 0);
        CHECK(auth_password_verify(b, hash, "correct horse battery", &rehash) == 0 && rehash == 1);
        /* The same database gives the same key: hashes agree across instances. */
        auth_secret_hash(a, "secret", h1);
        auth_secret_hash(b, "secret", h2);
        CHECK(memcmp(h1, h2, 32) == 0);
        auth_free(b);
    }
    auth_secret_hash(a, "secret2", h2);
    CHECK(memcmp(h1, h2, 32) != 0);
    auth_csrf_for(a, "session-a", c1);
    auth_csrf_for(a, "session-b", c2);
    CHECK(strlen(c1) == 43 && strcmp(c1, c2) != 0);

    /* Users. */
    CHECK(user_name_valid("alice") && user_name_valid("a.b-c_d@x"));
    CHECK(!user_name_valid("") && !user_name_valid(".dot") && !user_name_valid("a b") &&
          !user_name_valid("<script>"));
    CHECK(user_create(a, "root", ROLE_ADMIN, "admin password 1", 0, 0, "t", &admin, &why) == 0);
    CHECK(user_create(a, "ROOT", ROLE_LEAD, "admin password 1", 0, 0, "t", NULL, &why) ==
          ERR_CONFLICT); /* names are unique regardless of case */
    CHECK(user_create(a, "bad name", ROLE_LEAD, "admin password 1", 0, 0, "t", NULL, &why) ==
          ERR_INVALID);
    CHECK(user_create(a, "shortpw", ROLE_LEAD, "short", 0, 0, "t", NULL, &why) == ERR_INVALID);
    CHECK(user_create(a, "lab", ROLE_LABELER, "labeler password", 0, admin, "t", &lab, &why) == 0);

    /* The last active admin cannot be disabled or demoted. */
    memset(&patch, 0, sizeof patch);
    patch.has_disabled = 1;
    patch.disabled = 1;
    CHECK(user_update(a, admin, &patch, admin, "t", &why) == ERR_CONFLICT);
    memset(&patch, 0, sizeof patch);
    patch.has_role = 1;
    patch.role = ROLE_LEAD;
    CHECK(user_update(a, admin, &patch, admin, "t", &why) == ERR_CONFLICT);
    CHECK(user_update(a, 9999, &patch, admin, "t", &why) == ERR_NOT_FOUND);

    /* Sessions: login, check, logout. */
    CHECK(auth_login(a, "root", "admin password 1", "1.2.3.4", &p, tok, &retry) == 0);
    CHECK(p.kind == AUTH_SESSION && p.user_id == admin && p.role == ROLE_ADMIN);
    CHECK(auth_session_check(a, tok, &p) == 0 && p.user_id == admin);
    auth_csrf_for(a, tok, c1);
    CHECK_STR(p.csrf, c1);
    CHECK(auth_session_check(a, "not-a-session", &p) == ERR_UNAUTHORIZED);
    CHECK(auth_session_end(a, &p, "1.2.3.4") == 0);
    CHECK(auth_session_check(a, tok, &p) == ERR_UNAUTHORIZED);

    /* Disabling a user ends their sessions. */
    CHECK(auth_login(a, "lab", "labeler password", "1.2.3.4", &p, tok, &retry) == 0);
    memset(&patch, 0, sizeof patch);
    patch.has_disabled = 1;
    patch.disabled = 1;
    CHECK(user_update(a, lab, &patch, admin, "t", &why) == 0);
    CHECK(auth_session_check(a, tok, &p) == ERR_UNAUTHORIZED);
    CHECK(auth_login(a, "lab", "labeler password", "1.2.3.4", &p, tok, &retry) == ERR_FORBIDDEN);

    /* Throttling: 3 failures per account, then 429 even with the right password. */
    for (i = 0; i < 3; i++)
        CHECK(auth_login(a, "root", "wrong password!!", "5.6.7.8", &p, tok, &retry) ==
              ERR_UNAUTHORIZED);
    CHECK(auth_login(a, "Root", "admin password 1", "5.6.7.8", &p, tok, &retry) == ERR_THROTTLED);
    CHECK(retry > 0 && retry <= cfg.throttle_window);

    /* Tokens: created, checked, listed, revoked. */
    CHECK(auth_token_create(a, admin, "pipeline", SCOPE_EXPORT, 0, admin, "t", &info, tok) == 0);
    CHECK(strncmp(tok, "arb_", 4) == 0 && strlen(tok) == 47);
    CHECK(auth_token_check(a, tok, &p) == 0 && p.kind == AUTH_TOKEN && p.scopes == SCOPE_EXPORT);
    CHECK(auth_token_get(a, info.id, &info) == 0 && info.last_used_at > 0);
    CHECK(auth_token_check(a, "arb_nope", &p) == ERR_UNAUTHORIZED);
    CHECK(auth_token_check(a, "Bearer", &p) == ERR_UNAUTHORIZED);
    CHECK(auth_token_create(a, admin, "", SCOPE_EXPORT, 0, admin, "t", &info, tok2) == ERR_INVALID);
    CHECK(auth_token_create(a, admin, "old", SCOPE_WRITE, util_now() - 1, admin, "t", &info,
                            tok2) == 0);
    CHECK(auth_token_check(a, tok2, &p) == ERR_UNAUTHORIZED); /* expired */
    {
        struct auth_token_info *v = NULL;
        size_t n = 0;
        CHECK(auth_token_list(a, admin, &v, &n) == 0 && n == 2);
        CHECK(auth_token_revoke(a, v[0].id, lab, lab, "t") == ERR_NOT_FOUND); /* not theirs */
        CHECK(auth_token_revoke(a, v[0].id, admin, admin, "t") == 0);
        CHECK(auth_token_revoke(a, v[0].id, -1, admin, "t") == ERR_CONFLICT);
        free(v);
    }
    CHECK(auth_token_check(a, tok, &p) == ERR_UNAUTHORIZED);

    auth_free(a);
    auth_free(NULL);
    db_close(db);
    {
        /* Defaults are the documented ones. */
        auth_config_default(&cfg);
        CHECK(cfg.idle_timeout == 1800 && cfg.absolute_timeout == 43200);
        CHECK(cfg.pw_opslimit == crypto_pwhash_OPSLIMIT_INTERACTIVE);
    }
    unit_rm_db(path);
    return unit_done("test_auth");
}
