"""Users, tokens, input validation, errors and metrics over HTTP."""
import json
import time
import os

from harness import Server, expect_error


def test_users_crud_and_audit():
    s = Server()
    a = s.client("admin")
    st, _, body = a.get("/api/v1/users")
    assert st == 200 and [u["name"] for u in body["users"]] == ["admin", "lead", "lab"]
    assert all("password_hash" not in u and "$argon2" not in str(u) for u in body["users"])
    st, _, body = a.post("/api/v1/users", {"name": "bob", "role": "labeler",
                                           "password": "bob password 12"})
    assert st == 201 and body["user"]["role"] == "labeler"
    uid = body["user"]["id"]
    expect_error(a.post("/api/v1/users", {"name": "BOB", "role": "lead",
                                          "password": "bob password 12"}), 409, field="name")
    expect_error(a.post("/api/v1/users", {"name": "bad name", "role": "lead",
                                          "password": "bob password 12"}), 422, field="name")
    expect_error(a.post("/api/v1/users", {"name": "carol", "role": "boss",
                                          "password": "bob password 12"}), 422, field="role")
    expect_error(a.post("/api/v1/users", {"name": "carol", "role": "lead", "password": "short"}),
                 422, field="password")
    expect_error(a.post("/api/v1/users", {"name": "carol", "role": "lead",
                                          "password": "p" * 129}), 422, field="password")
    expect_error(a.post("/api/v1/users", {"name": "carol", "role": "lead"}), 422,
                 "missing_field", "password")
    st, _, body = a.patch(f"/api/v1/users/{uid}", {"role": "lead", "disabled": True})
    assert st == 200 and body["user"]["role"] == "lead" and body["user"]["disabled"]
    expect_error(a.patch("/api/v1/users/999", {"role": "lead"}), 404)
    me = s.sql("SELECT id FROM users WHERE name='admin'")[0][0]
    expect_error(a.patch(f"/api/v1/users/{me}", {"disabled": True}), 409)
    expect_error(a.patch(f"/api/v1/users/{me}", {"role": "labeler"}), 409)
    assert s.sql("SELECT role, disabled FROM users WHERE name='admin'") == [("admin", 0)]
    actions = [r[0] for r in s.sql("SELECT action FROM audit_log ORDER BY id")]
    assert "login" in actions and "user_create" in actions and "user_update" in actions


def test_disabled_user_cannot_log_in_and_loses_sessions():
    s = Server()
    a, lab = s.client("admin"), s.client("lab")
    uid = s.sql("SELECT id FROM users WHERE name='lab'")[0][0]
    assert lab.get("/api/v1/me")[0] == 200  # the session is now held in the server's cache
    assert a.patch(f"/api/v1/users/{uid}", {"disabled": True})[0] == 200
    expect_error(lab.get("/api/v1/me"), 401)
    expect_error(s.client().login("lab"), 403, "account_disabled")


def test_tokens_lifecycle():
    s = Server()
    lead = s.client("lead")
    st, _, body = lead.post("/api/v1/tokens", {"name": "nightly export", "scopes": ["export"],
                                               "expires_in_days": 30})
    assert st == 201, body
    secret = body["secret"]
    assert secret.startswith("arb_") and len(secret) == 47
    assert body["token"]["scopes"] == ["export"] and body["token"]["expires_at"]
    tid = body["token"]["id"]
    # The token works as a Bearer credential, without cookie or CSRF.
    bot = s.client()
    bot.token = secret
    st, _, me = bot.get("/api/v1/me")
    assert st == 200 and me["auth"] == "token" and me["user"]["name"] == "lead"
    assert "csrf_token" not in me
    # Scoped: an export token cannot manage tokens or users.
    expect_error(bot.get("/api/v1/tokens"), 403, "scope")
    expect_error(bot.post("/api/v1/tokens", {"name": "x", "scopes": ["write"]}), 403)
    # Listed without the secret; last_used_at kept.
    st, _, body = lead.get("/api/v1/tokens")
    assert st == 200 and len(body["tokens"]) == 1
    assert secret not in str(body) and body["tokens"][0]["last_used_at"]
    # The admin sees every token.
    st, _, body = s.client("admin").get("/api/v1/tokens")
    assert st == 200 and [t["id"] for t in body["tokens"]] == [tid]
    # Revoked: 401 at once.
    assert lead.delete(f"/api/v1/tokens/{tid}")[0] == 204
    expect_error(bot.get("/api/v1/me"), 401)
    expect_error(lead.delete(f"/api/v1/tokens/{tid}"), 409)
    actions = [r[0] for r in s.sql("SELECT action FROM audit_log ORDER BY id")]
    assert "token_create" in actions and "token_revoke" in actions


def test_token_isolation_between_leads():
    s = Server(users=("admin", "lead", "lead2", "lab"))
    l1, l2 = s.client("lead"), s.client("lead2")
    tid = l1.post("/api/v1/tokens", {"name": "a", "scopes": ["export", "write"]})[2]["token"]["id"]
    assert l2.get("/api/v1/tokens")[2]["tokens"] == []
    expect_error(l2.delete(f"/api/v1/tokens/{tid}"), 404)
    assert s.sql("SELECT revoked_at FROM api_tokens") == [(None,)]
    assert s.client("admin").delete(f"/api/v1/tokens/{tid}")[0] == 204


def test_expired_token_refused():
    s = Server()
    lead = s.client("lead")
    secret = lead.post("/api/v1/tokens", {"name": "a", "scopes": ["export"],
                                          "expires_in_days": 1})[2]["secret"]
    s.sql("UPDATE api_tokens SET expires_at = 1000")
    s.sql("SELECT 1")
    bot = s.client()
    bot.token = secret
    expect_error(bot.get("/api/v1/me"), 401)
    bot.token = "arb_" + "x" * 43
    expect_error(bot.get("/api/v1/me"), 401)
    bot.token = None
    st, hd, _ = bot.raw("GET", "/api/v1/me", headers={"Authorization": "Basic YTpi"})
    assert st == 401 and "bearer" in hd.get("www-authenticate", "").lower()


def test_token_validation():
    s = Server()
    lead = s.client("lead")
    expect_error(lead.post("/api/v1/tokens", {"name": "a"}), 422, field="scopes")
    expect_error(lead.post("/api/v1/tokens", {"name": "a", "scopes": ["root"]}), 422,
                 field="scopes[0]")
    expect_error(lead.post("/api/v1/tokens", {"name": "a", "scopes": []}), 422, field="scopes")
    expect_error(lead.post("/api/v1/tokens", {"name": "", "scopes": ["export"]}), 422,
                 field="name")
    expect_error(lead.post("/api/v1/tokens", {"name": "a", "scopes": ["export"],
                                              "expires_in_days": 0}), 422,
                 field="expires_in_days")
    expect_error(lead.post("/api/v1/tokens", {"name": "a", "scopes": ["export"],
                                              "expires_in_days": "7"}), 422,
                 field="expires_in_days")
    assert s.sql("SELECT count(*) FROM api_tokens")[0][0] == 0


def test_secrets_never_stored_in_plain_text():
    s = Server()
    lab = s.client("lab")
    lead = s.client("lead")
    secret = lead.post("/api/v1/tokens", {"name": "a", "scopes": ["export"]})[2]["secret"]
    hashes = s.sql("SELECT password_hash FROM users")
    assert hashes and all(h[0].startswith("$argon2id$") for h in hashes), hashes
    blob = b""
    for suffix in ("", "-wal"):
        path = s.db + suffix
        if os.path.exists(path):
            with open(path, "rb") as f:
                blob += f.read()
    assert blob, "database files are empty"
    for secret_text in (lab.cookie, lead.cookie, secret, secret[4:], lab.csrf,
                        "labeler password", "lead password 12"):
        assert secret_text.encode() not in blob, f"{secret_text[:8]}... found in the database"
    assert all(len(r[0]) == 32 for r in s.sql("SELECT token_hash FROM sessions"))
    assert all(len(r[0]) == 32 for r in s.sql("SELECT token_hash FROM api_tokens"))


def test_bad_input_gets_4xx_and_server_keeps_serving():
    s = Server()
    a = s.client("admin")
    before = s.sql("SELECT count(*) FROM users")[0][0]
    cases = [
        (b'{"name": "x", ', "application/json", 400, "malformed_json"),
        (b'[1, 2]', "application/json", 400, "malformed_json"),
        (b'{"name": "x", "name": "y"}', "application/json", 400, "malformed_json"),
        (b'{"name": "zed", "role": "lead", "password": "zed password 1"}', "text/plain", 415, None),
        (b'{"name": "zed", "role": "lead", "password": "zed password 1"}', None, 415, None),
        (b'{"name": "zed", "role": "lead", "password": "zed password 1", "admin": true}',
         "application/json", 422, "unknown_field"),
        (b'{"name": 5, "role": "lead", "password": "zed password 1"}', "application/json", 422,
         "wrong_type"),
        (b'{"name": "zed", "role": "lead", "password": "' + b"x" * 5000 + b'"}',
         "application/json", 413, None),
        (b"\xff\xfe{}", "application/json", 400, "malformed_json"),
    ]
    for body, ctype, status, code in cases:
        st, hd, data = a.raw("POST", "/api/v1/users", body,
                             {"Content-Type": ctype} if ctype else {})
        parsed = json.loads(data)
        assert st == status, (body[:40], st, parsed)
        assert hd["content-type"] == "application/json"
        assert parsed["error"]["message"]
        if code:
            assert parsed["error"]["code"] == code, parsed
        assert s.client().get("/healthz")[0] == 200
    assert s.sql("SELECT count(*) FROM users")[0][0] == before
    # A body larger than the limit announced in Content-Length is refused unread.
    st, _, _ = a.raw("POST", "/api/v1/users", b"{}" + b" " * 10_000,
                     {"Content-Type": "application/json"})
    assert st == 413
    # A body where none is expected: 400 that says so, never 413.
    st, _, data = a.raw("DELETE", "/api/v1/tokens/1", b"x" * 10, {"Content-Type": "text/plain"})
    assert st == 400 and json.loads(data)["error"]["code"] == "body_not_allowed", (st, data)
    assert s.client().get("/healthz")[0] == 200


def test_unknown_routes_and_methods():
    s = Server()
    c = s.client("admin")
    body = expect_error(c.get("/api/v1/nope"), 404, "not_found")
    assert body["error"]["message"]
    st, hd, body = c.call("PUT", "/api/v1/users")
    assert st == 405 and body["error"]["code"] == "method_not_allowed"
    assert hd["allow"] == "GET, POST", hd
    expect_error(c.get("/api/v1/users/abc"), 404)
    expect_error(c.get("/api/v1/users/0"), 404)


def test_metrics():
    s = Server()
    a = s.client("admin")
    a.get("/api/v1/users")
    s.client().get("/api/v1/nope")
    # The server counts a request once its answer is written, so a count
    # may lag the answer a client has already read: wait for it (bounded),
    # rather than race the server's bookkeeping.
    want = ['arbiter_http_requests_total{route="GET /api/v1/users",status="200"} 1',
            'arbiter_http_requests_total{route="POST /api/v1/session",status="200"} 1',
            'arbiter_http_requests_total{route="other",status="404"} 1',
            'arbiter_http_request_duration_seconds_bucket{route="GET /api/v1/users",le="+Inf"} 1']
    deadline = time.time() + 60
    while True:
        st, hd, data = a.raw("GET", "/metrics")
        text = data.decode()
        assert st == 200 and hd["content-type"].startswith("text/plain")
        missing = [w for w in want if w not in text]
        if not missing or time.time() > deadline:
            break
        time.sleep(0.05)
    assert not missing, (missing, text)
    batches = int(text.split("\narbiter_db_write_batches_total ")[1].split()[0])
    assert batches >= 1  # the login's session insert
    lead = s.client("lead")
    secret = lead.post("/api/v1/tokens", {"name": "prom", "scopes": ["export"]})[2]["secret"]
    bot = s.client()
    bot.token = secret
    assert bot.raw("GET", "/metrics")[0] == 200
    expect_error(lead.get("/metrics"), 403)
    expect_error(s.client().get("/metrics"), 401)
