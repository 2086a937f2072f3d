"""The login page, the landing page, assets, and the security headers on
every kind of response."""
from harness import Server, expect_error, make_job, raw_exchange

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


def test_lead_and_admin_pages_by_role():
    s = Server(users=("admin", "lead", "lab"))
    lead = s.client("lead")
    jid = make_job(s, lead, items=1)
    pages = {"/jobs/new": "lead", f"/jobs/{jid}": "lead", "/tokens": "lead", "/admin/users": "admin",
             f"/jobs/{jid}/label": "labeler"}
    rank = {"labeler": 1, "lab": 1, "lead": 2, "admin": 3}
    for user in ("lab", "lead", "admin"):
        c = s.client(user)
        for path, least in pages.items():
            st, hd, data = c.raw("GET", path)
            if rank[user] >= rank[least]:
                assert st == 200 and hd["content-type"].startswith("text/html"), (user, path, st)
                assert "<script>" not in data.decode() and "style=" not in data.decode()
                check_headers(hd, path)
            else:  # sent to the home page, which says what they may do
                assert st == 302 and hd["location"] == "/", (user, path, st)
    anon = s.client()
    for path in pages:
        st, hd, _ = anon.raw("GET", path)
        assert st == 302 and hd["location"] == "/login", path
    # The job id is put in the page escaped; a non-number path is no page.
    assert f'data-job="{jid}"'.encode() in s.client("lead").raw("GET", f"/jobs/{jid}")[2]
    assert b'data-job=""' in s.client("lead").raw("GET", "/jobs/new")[2]
    assert s.client("lead").raw("GET", "/jobs/x")[0] == 404


def test_markdown_preview_is_the_instructions_renderer():
    s = Server(users=("lead", "lab"))
    lead = s.client("lead")
    st, _, body = lead.post("/api/v1/markdown", {
        "markdown": "## Hi\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1))"})
    assert st == 200
    html = body["html"]
    assert "<h2 dir=\"auto\">Hi</h2>" in html and "<strong>bold</strong>" in html
    assert "<script" not in html and "javascript:" not in html
    # The same text saved as instructions renders the same.
    jid = make_job(s, lead, items=1)
    md = "# Title\n\n- one\n- two <img src=x onerror=alert(1)>"
    assert lead.patch(f"/api/v1/jobs/{jid}", {"instructions": md})[0] == 200
    preview = lead.post("/api/v1/markdown", {"markdown": md})[2]["html"]
    assert preview == lead.get(f"/api/v1/jobs/{jid}")[2]["job"]["instructions_html"]
    assert "<img" not in preview
    expect_error(lead.post("/api/v1/markdown", {"markdown": 3}), 422, field="markdown")
    expect_error(lead.post("/api/v1/markdown", {}), 422, field="markdown")
    expect_error(lead.post("/api/v1/markdown", {"markdown": "", "x": 1}), 422, field="x")
    expect_error(s.client("lab").post("/api/v1/markdown", {"markdown": "x"}), 403)
    expect_error(s.client().post("/api/v1/markdown", {"markdown": "x"}), 401)


def test_labeling_page_weighs_under_100_kb():
    """The labeling page's own HTML, CSS and JS (every module it imports)."""
    import re
    s = Server(users=("lead", "lab"))
    jid = make_job(s, s.client("lead"), items=1)
    lab = s.client("lab")
    html = lab.raw("GET", f"/jobs/{jid}/label")[2]
    total, seen = len(html), set()
    todo = re.findall(rb'(?:href|src)="(/(?:static|web)/[^"]+)"', html)
    while todo:
        path = todo.pop().decode() if isinstance(todo[-1], bytes) else todo.pop()
        if path in seen:
            continue
        seen.add(path)
        st, _, body = lab.raw("GET", path)
        assert st == 200, path
        total += len(body)
        if path.endswith(".js"):
            todo += ["/web/" + m.decode() for m in re.findall(rb"from '\./([\w.]+)'", body)]
    assert {"/web/label.js", "/web/api.js", "/web/dom.js", "/web/rendered.js", "/web/diff.js",
            "/static/app.css", "/static/label.css"} <= seen, seen
    print(f"labeling page: {total} bytes in {len(seen) + 1} files")
    assert total < 100 * 1024, total
