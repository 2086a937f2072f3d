"""The login page, the landing page, assets, and the security headers on
every kind of response."""
from harness import Server, raw_exchange

SECURITY = {
    "content-security-policy": "default-src 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def check_headers(hd, what):
    for k, v in SECURITY.items():
        assert v in hd.get(k, ""), f"{what}: {k} missing in {hd}"
    assert "access-control-allow-origin" not in hd, what


def test_pages_and_security_headers():
    s = Server()
    anon = s.client()
    st, hd, data = anon.raw("GET", "/")
    assert st == 302 and hd["location"] == "/login"
    check_headers(hd, "redirect")
    st, hd, data = anon.raw("GET", "/login")
    assert st == 200 and hd["content-type"].startswith("text/html")
    check_headers(hd, "login page")
    html = data.decode()
    assert '<form id="login"' in html and 'for="username"' in html and 'for="password"' in html
    assert "http://" not in html and "https://" not in html  # no external assets
    assert "<script>" not in html and "style=" not in html  # nothing inline (CSP)
    for asset in ("/static/app.css", "/web/login.js", "/web/api.js", "/web/home.js",
                  "/static/favicon.svg"):
        assert asset in html or asset in ("/web/api.js", "/web/home.js"), asset
        st, hd, body = anon.raw("GET", asset)
        assert st == 200 and len(body) > 0, asset
        check_headers(hd, asset)
        assert b"http://" not in body.replace(b"http://www.w3.org/2000/svg", b"")
    assert anon.raw("GET", "/web/login.js")[1]["content-type"].startswith("text/javascript")
    for bad in ("/static/../schema/001_accounts.sql", "/static/nope.css", "/templates/home.html",
                "/schema/001_accounts.sql", "/web/"):
        st, hd, _ = anon.raw("GET", bad)
        assert st == 404, bad
        check_headers(hd, bad)
    st, hd, _ = anon.raw("OPTIONS", "/api/v1/me", headers={"Origin": "http://evil.example",
                                                            "Access-Control-Request-Method": "GET"})
    assert st in (404, 405) and "access-control-allow-origin" not in hd
    for resp, what in ((anon.raw("GET", "/api/v1/me"), "401"),
                       (anon.raw("GET", "/healthz"), "healthz"),
                       (anon.raw("PUT", "/healthz"), "405")):
        check_headers(resp[1], what)


def test_landing_page_says_who_i_am():
    s = Server(users=("admin", "lead", "lab"))
    for user, role in (("lab", "labeler"), ("lead", "lead"), ("admin", "admin")):
        c = s.client(user)
        st, hd, data = c.raw("GET", "/")
        html = data.decode()
        assert st == 200, st
        assert f'<strong id="who-name">{user}</strong>' in html
        assert f'<span class="role" id="who-role">{role}</span>' in html
        check_headers(hd, "home")
        st, hd, _ = c.raw("GET", "/login")
        assert st == 302 and hd["location"] == "/"


def test_assets_from_disk_with_assets_flag():
    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    s = Server(["--assets", root])
    st, _, body = s.client().raw("GET", "/static/app.css")
    with open(os.path.join(root, "static", "app.css"), "rb") as f:
        assert st == 200 and body == f.read()


def test_civetweb_errors_carry_security_headers():
    s = Server(users=())
    for req in (b"GARBAGE\r\n\r\n", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n"):
        data = raw_exchange(s.port, req)
        head = data.decode(errors="replace").lower()
        assert head.startswith("http/1.") and " 400 " in head.split("\r\n")[0], head[:80]
        for v in ("content-security-policy: default-src 'self'", "x-content-type-options: nosniff",
                  "referrer-policy: no-referrer", "x-frame-options: deny"):
            assert v in head, (v, head)
    assert s.client().get("/healthz")[0] == 200
