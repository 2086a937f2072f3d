"""Login, logout, sessions, CSRF and throttling against the running server."""
import threading
import time

from harness import Server, cli, expect_error


def test_login_me_logout():
    s = Server()
    c = s.client()
    st, hd, body = c.login("lab")
    assert st == 200, body
    cookie = hd["set-cookie"]
    for part in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert part in cookie, cookie
    assert "Secure" not in cookie  # plain HTTP without --secure-cookies
    assert body["user"]["name"] == "lab" and body["user"]["role"] == "labeler"
    assert len(body["csrf_token"]) == 43
    st, _, me = c.get("/api/v1/me")
    assert st == 200 and me["user"]["name"] == "lab" and me["auth"] == "session"
    assert me["csrf_token"] == body["csrf_token"]
    old = c.cookie
    st, hd, _ = c.delete("/api/v1/session")
    assert st == 204
    assert "Max-Age=0" in hd["set-cookie"]
    c.cookie = old  # replaying the logged-out cookie fails: deleted server-side
    expect_error(c.get("/api/v1/me"), 401, "session_expired")
    assert s.sql("SELECT count(*) FROM sessions")[0][0] == 0


def test_cached_sessions_follow_changes():
    """Sessions are cached in the server (src/auth.c): a change made through
    the server is seen by the very next request; one made by another
    process (the CLI) within the cache's second."""
    s = Server(users=("admin", "lab", "lab2"))
    a, lab, lab2 = s.client("admin"), s.client("lab"), s.client("lab2")
    uid = s.sql("SELECT id FROM users WHERE name='lab'")[0][0]
    for _ in range(3):
        assert lab.get("/api/v1/me")[2]["user"]["role"] == "labeler"
    assert a.patch(f"/api/v1/users/{uid}", {"role": "lead"})[0] == 200
    assert lab.get("/api/v1/me")[2]["user"]["role"] == "lead"
    # An admin's password reset ends lab's sessions at once.
    assert a.patch(f"/api/v1/users/{uid}", {"password": "temporary pass 1"})[0] == 200
    expect_error(lab.get("/api/v1/me"), 401)
    lab = s.client()
    assert lab.login("lab", "temporary pass 1")[0] == 200
    assert lab.get("/api/v1/me")[2]["user"]["must_change_password"] is True
    # Another process disables lab2: refused within the cache's lifetime.
    assert lab2.get("/api/v1/me")[0] == 200
    cli(["user", "disable", "lab2"], db=s.db)
    deadline = time.time() + 3
    while lab2.get("/api/v1/me")[0] == 200:
        assert time.time() < deadline, "a session disabled by the CLI stayed valid"
        time.sleep(0.1)
    expect_error(lab2.get("/api/v1/me"), 401)
    # A login of another user leaves lab's cached session intact.
    assert s.client("admin").get("/api/v1/me")[0] == 200
    assert lab.get("/api/v1/me")[0] == 200


def test_new_token_at_each_login():
    s = Server()
    a, b = s.client("lab"), s.client("lab")
    assert a.cookie != b.cookie and a.csrf != b.csrf
    assert a.get("/api/v1/me")[0] == 200 and b.get("/api/v1/me")[0] == 200


def test_wrong_password_and_unknown_user():
    s = Server()
    c = s.client()
    expect_error(c.login("lab", "not the password"), 401, "bad_credentials")
    expect_error(c.post("/api/v1/session", {"username": "ghost", "password": "whatever12345"}),
                 401, "bad_credentials")
    assert c.cookie is None
    expect_error(c.get("/api/v1/me"), 401)
    rows = s.sql("SELECT action, subject FROM audit_log WHERE action = 'login_failed' ORDER BY id")
    assert rows == [("login_failed", "lab"), ("login_failed", "ghost")], rows


def test_throttle_per_account():
    s = Server(["--throttle-account", "3", "--throttle-window", "60"])
    c = s.client()
    for _ in range(3):
        expect_error(c.login("lab", "wrong password!!"), 401)
    st, hd, body = c.login("lab")  # even the right password is refused now
    expect_error((st, hd, body), 429, "too_many_requests")
    assert 1 <= int(hd["retry-after"]) <= 60, hd
    assert c.login("admin")[0] == 200  # other accounts are unaffected


def test_throttle_per_address():
    s = Server(["--throttle-addr", "4", "--throttle-window", "60"])
    c = s.client()
    for i in range(4):
        expect_error(c.post("/api/v1/session", {"username": f"u{i}", "password": "x" * 12}), 401)
    st, hd, _ = c.login("admin")
    assert st == 429 and int(hd["retry-after"]) >= 1


def test_labeler_forbidden_on_admin_routes():
    s = Server()
    lab, lead = s.client("lab"), s.client("lead")
    expect_error(lab.get("/api/v1/users"), 403, "forbidden")
    expect_error(lab.post("/api/v1/users", {"name": "x", "role": "admin", "password": "p" * 12}),
                 403)
    expect_error(lab.patch("/api/v1/users/1", {"role": "admin"}), 403)
    expect_error(lab.get("/api/v1/tokens"), 403)
    expect_error(lab.post("/api/v1/tokens", {"name": "t", "scopes": ["export"]}), 403)
    expect_error(lab.get("/metrics"), 403)
    expect_error(lead.get("/api/v1/users"), 403)
    assert lead.get("/api/v1/tokens")[0] == 200
    assert s.sql("SELECT role FROM users WHERE name = 'lab'") == [("labeler",)]


def test_csrf_required_for_cookie_writes():
    s = Server()
    c = s.client("admin")
    new_user = {"name": "eve", "role": "admin", "password": "eve password 12"}
    good = c.csrf
    c.csrf = None  # no X-CSRF-Token header
    expect_error(c.post("/api/v1/users", new_user), 403, "csrf")
    c.csrf = "A" * 43  # a wrong one
    expect_error(c.post("/api/v1/users", new_user), 403, "csrf")
    c.csrf = good
    # the right token from another site
    expect_error(c.post("/api/v1/users", new_user, headers={"Origin": "http://evil.example"}),
                 403, "csrf")
    expect_error(c.post("/api/v1/users", new_user,
                        headers={"Origin": None, "Sec-Fetch-Site": "cross-site"}), 403, "csrf")
    expect_error(c.post("/api/v1/users", new_user, headers={"Origin": None}), 403, "csrf")
    expect_error(c.delete("/api/v1/session", headers={"X-CSRF-Token": None}), 403, "csrf")
    assert s.sql("SELECT count(*) FROM users WHERE name = 'eve'")[0][0] == 0
    assert s.sql("SELECT count(*) FROM sessions")[0][0] == 1
    st, _, body = c.post("/api/v1/users", new_user,
                         headers={"Origin": None, "Sec-Fetch-Site": "same-origin"})
    assert st == 201, body
    assert s.sql("SELECT count(*) FROM users WHERE name = 'eve'")[0][0] == 1


def test_login_from_other_site_refused():
    s = Server()
    c = s.client()
    expect_error(c.post("/api/v1/session", {"username": "lab", "password": "labeler password"},
                        headers={"Origin": "http://evil.example"}), 403, "csrf")
    assert c.cookie is None


def test_idle_session_expires():
    s = Server(["--session-idle", "2"])
    c = s.client("lab")
    assert c.get("/api/v1/me")[0] == 200
    time.sleep(3.2)
    expect_error(c.get("/api/v1/me"), 401, "session_expired")
    assert s.sql("SELECT count(*) FROM sessions")[0][0] == 0


def test_absolute_session_lifetime():
    s = Server(["--session-idle", "60", "--session-max", "3"])
    c = s.client("lab")
    t0 = time.time()
    while time.time() - t0 < 2:
        assert c.get("/api/v1/me")[0] == 200
        time.sleep(0.5)
    time.sleep(2.2)
    expect_error(c.get("/api/v1/me"), 401)


def test_secure_cookie_when_configured():
    s = Server(["--secure-cookies"])
    st, hd, _ = s.client().login("lab")
    assert st == 200 and "; Secure" in hd["set-cookie"]


def test_admin_reset_is_one_time_password():
    s = Server()
    admin = s.client("admin")
    uid = s.sql("SELECT id FROM users WHERE name = 'lab'")[0][0]
    st, _, body = admin.patch(f"/api/v1/users/{uid}", {"password": "temporary pass 1"})
    assert st == 200 and body["user"]["must_change_password"] is True
    lab = s.client()
    st, _, body = lab.login("lab", "temporary pass 1")
    assert st == 200 and body["user"]["must_change_password"]
    assert lab.get("/api/v1/me")[0] == 200  # allowed: to learn the flag
    expect_error(lab.post("/api/v1/me/password", {"current_password": "wrong one here",
                                                  "new_password": "my own password"}), 403)
    expect_error(lab.post("/api/v1/me/password", {"current_password": "temporary pass 1",
                                                  "new_password": "short"}), 422,
                 field="new_password")
    st, _, _ = lab.post("/api/v1/me/password", {"current_password": "temporary pass 1",
                                                "new_password": "my own password"})
    assert st == 204
    assert lab.get("/api/v1/me")[2]["user"]["must_change_password"] is False
    assert s.client().login("lab", "my own password")[0] == 200


def test_must_change_blocks_other_routes():
    s = Server()
    admin = s.client("admin")
    st, _, body = admin.post("/api/v1/users", {"name": "newlead", "role": "lead",
                                               "password": "initial password"})
    assert st == 201 and body["user"]["must_change_password"]
    lead = s.client()
    assert lead.login("newlead", "initial password")[0] == 200
    expect_error(lead.get("/api/v1/tokens"), 403, "password_change_required")


def test_a_password_change_is_throttled_and_audited_like_a_login():
    s = Server(args=("--throttle-account", "3"), users=("lab",))
    c = s.client("lab")
    for _ in range(3):
        expect_error(c.post("/api/v1/me/password", {"current_password": "not it at all",
                                                    "new_password": "a new password 12"}), 403, "bad_credentials")
    st, hd, body = c.post("/api/v1/me/password", {"current_password": "lab password 12",
                                                  "new_password": "a new password 12"})
    assert st == 429 and int(hd["retry-after"]) > 0, (st, body)
    rows = s.sql("SELECT action, subject, detail FROM audit_log WHERE action = 'login_failed'")
    assert rows == [("login_failed", "lab", '{"via":"password_change"}')] * 3, rows
    # The same counter: a login is throttled now too.
    st, hd, _ = s.client().login("lab")
    assert st == 429 and "retry-after" in hd
    s.stop()


def test_a_login_flood_gets_503_with_retry_after_at_once_when_no_hash_slot_is_free():
    s = Server(args=("--pwhash-slots", "1", "--pwhash-wait-ms", "0", "--pwhash-mem", "32", "--pwhash-ops", "3",
                     "--throttle-account", "1000", "--throttle-addr", "1000"), users=("lab",))
    go = threading.Barrier(16)
    got = []

    def attempt():
        c = s.client()
        go.wait()
        st, hd, _ = c.post("/api/v1/session", {"name": "lab", "password": "a wrong password"})
        got.append((st, hd.get("retry-after")))

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {st for st, _ in got} <= {401, 503}, got
    assert all(ra == "1" for st, ra in got if st == 503), got
    # 16 at once on one slot that never waits: some are told to come back.
    assert sum(st == 503 for st, _ in got) > 0 and sum(st == 401 for st, _ in got) > 0, got
    # Busy answers are not failed logins: only the checked ones count.
    n = s.sql("SELECT count(*) FROM audit_log WHERE action = 'login_failed'")[0][0]
    assert n == sum(st == 401 for st, _ in got), (n, got)
    s.stop()
