"""Day-one defects (issue 13): what a new team met on its first day, each
as a test that failed before its fix: one-time passwords, nesting bombs,
non-ASCII ids, staging and a full disk, untouched prefills, task timing,
blindness, null fields, bodies on routes without one, login's field name,
ambiguous request framing, and the CLI beside a running server."""
import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

from harness import (PAIRWISE, Server, cli, expect_error, item, make_job, password_of,
                     raw_exchange)


def deep(n):
    return "[" * n + "]" * n


# ---- 1. a one-time password leads to the home page, not a redirect loop ----

def test_one_time_password_lands_on_the_home_page():
    s = Server()
    admin = s.client("admin")
    # Made as the Users page makes users: a one-time password.
    st, _, body = admin.post("/api/v1/users", {"name": "newbie", "role": "lead",
                                               "password": "one time password 1"})
    assert st == 201 and body["user"]["must_change_password"] is True, body
    c = s.client()
    st, _, body = c.post("/api/v1/session", {"username": "newbie", "password": "one time password 1"})
    assert st == 200 and body["user"]["must_change_password"] is True
    c.csrf = body["csrf_token"]
    # The home page is where the password is chosen: it answers itself.
    st, hd, data = c.raw("GET", "/")
    assert st == 200, (st, hd)
    assert b'id="must-change"' in data and b'id="password-form"' in data
    # /login and every other page lead there, and only there.
    for path in ("/login", "/jobs/new", "/tokens"):
        st, hd, _ = c.raw("GET", path)
        assert st == 302 and hd["location"] == "/", (path, st, hd)
    expect_error(c.get("/api/v1/jobs"), 403, "password_change_required")
    st, _, _ = c.post("/api/v1/me/password", {"current_password": "one time password 1",
                                              "new_password": "newbie chose this"})
    assert st == 204
    assert c.raw("GET", "/tokens")[0] == 200
    assert c.get("/api/v1/jobs")[0] == 200
    # The first-run admin of an empty database gets the same path.
    d = tempfile.mkdtemp(prefix="arbiter-firstrun-")
    fresh = Server(users=(), db=os.path.join(d, "arbiter.db"))
    out = fresh.output()
    pw = out.split("One-time password: ")[1].split()[0]
    c = fresh.client()
    st, _, body = c.post("/api/v1/session", {"name": "admin", "password": pw})
    assert st == 200 and body["user"]["must_change_password"] is True
    assert c.raw("GET", "/")[0] == 200


# ---- 3. nesting ----

def test_deep_nesting_is_refused_on_every_json_route_and_import_line():
    s = Server()
    lead, admin, lab = s.client("lead"), s.client("admin"), s.client("lab")
    jid = make_job(s, lead, items=2)
    tid = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]["id"]
    jgid = lab.post(f"/api/v1/tasks/{tid}/judgment", {"answers": {"better": {"winner": "a"}}})[2][
        "judgment"]["id"]
    tid2 = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]["id"]
    bomb = deep(800)
    routes = [
        (s.client(), "POST", "/api/v1/session", '{"username":' + bomb + '}'),
        (lab, "POST", "/api/v1/me/password", '{"current_password":' + bomb + '}'),
        (admin, "POST", "/api/v1/users", '{"name":' + bomb + '}'),
        (admin, "PATCH", "/api/v1/users/3", '{"role":' + bomb + '}'),
        (lead, "POST", "/api/v1/tokens", '{"name":' + bomb + '}'),
        (lead, "POST", "/api/v1/jobs", '{"name":' + bomb + '}'),
        (lead, "PATCH", f"/api/v1/jobs/{jid}", '{"questions":' + bomb + '}'),
        (lead, "PUT", f"/api/v1/jobs/{jid}/members", '{"members":' + bomb + '}'),
        (lead, "POST", "/api/v1/markdown", '{"markdown":' + bomb + '}'),
        (lab, "POST", f"/api/v1/tasks/{tid2}/judgment", '{"answers":' + bomb + '}'),
        (lab, "POST", f"/api/v1/tasks/{tid2}/skip", '{"reason":' + bomb + '}'),
        (lab, "PUT", f"/api/v1/judgments/{jgid}", '{"answers":' + bomb + '}'),
        # Objects nest as deep as arrays.
        (lead, "POST", "/api/v1/jobs", '{"name":' + '{"a":' * 800 + '1' + '}' * 800 + '}'),
    ]
    before = s.sql("SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM users),"
                   " (SELECT count(*) FROM judgments), (SELECT count(*) FROM api_tokens)")
    for c, method, path, body in routes:
        st, hd, data = c.raw(method, path, body.encode(), {"Content-Type": "application/json"})
        err = json.loads(data)["error"]
        assert st == 400 and err["code"] == "too_deep", (method, path, st, err)
        assert "64" in err["message"]
    assert s.client().get("/healthz")[0] == 200
    after = s.sql("SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM users),"
                  " (SELECT count(*) FROM judgments), (SELECT count(*) FROM api_tokens)")
    assert before == after
    # 64 levels are fine; a string full of brackets is no nesting at all.
    st, _, body = lead.post("/api/v1/jobs", {"name": "[" * 150, "questions": PAIRWISE,
                                             "instructions": json.loads(deep(60)) and "x"})
    assert st == 201, body
    # Import lines: metadata nested 200 deep (it crashed json_dumps) and an
    # 800-deep value, each named by line; nothing is imported.
    j2 = make_job(s, lead, items=0, open_job=False)
    lines = [json.dumps(item(1)),
             json.dumps(item(2))[:-1] + ', "metadata": {"x": ' + deep(200) + '}}',
             json.dumps(item(3))[:-1] + ', "gold": ' + deep(800) + '}']
    st, _, body = lead.jsonl(f"/api/v1/jobs/{j2}/items", lines)
    assert st == 422, body
    assert sorted({e["line"] for e in body["error"]["lines"]}) == [2, 3], body
    assert all("deeper than 64" in e["message"] for e in body["error"]["lines"])
    assert s.sql("SELECT count(*) FROM items WHERE job_id = ?", (j2,))[0][0] == 0
    # 30 levels of metadata import, and come back whole.
    nested = {"x": 1}
    for _ in range(30):
        nested = {"n": nested}
    st, _, body = lead.jsonl(f"/api/v1/jobs/{j2}/items", [item(4, metadata=nested)])
    assert st == 201, body
    page = lead.get(f"/api/v1/jobs/{j2}/items")[2]
    key = page["items"][0]["key"]
    assert lead.get(f"/api/v1/jobs/{j2}/items/{key}")[2]["item"]["item"]["metadata"] == nested
    # The command line's job files are bounded the same way.
    path = os.path.join(s.dir, "deep.json")
    with open(path, "w") as f:
        f.write('{"name": "deep", "questions": ' + deep(5000) + '}')
    p = cli(["job", "create", "--file", path], db=s.db, check=False)
    assert p.returncode != 0 and "deeper than 64" in p.stderr, (p.returncode, p.stderr)


# ---- 4. non-ASCII ids; a lease that cannot be shown is rolled back ----

def test_item_ids_are_counted_in_characters_and_kept_whole():
    s = Server()
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, items=0, open_job=False)
    ok_id = "問" * 200  # 200 characters, 600 bytes: within the limit
    st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(0, id=ok_id), item(1, id="問" * 67)])
    assert st == 201, body
    assert sorted(r[0] for r in s.sql("SELECT ext_id FROM items WHERE job_id = ?", (jid,))) == \
        sorted([ok_id, "問" * 67])
    for (data,) in s.sql("SELECT data FROM items WHERE job_id = ?", (jid,)):
        assert json.loads(data)["id"] in (ok_id, "問" * 67)
    # 201 characters: refused, naming the line; nothing imported.
    st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(2), item(3, id="問" * 201)])
    assert st == 422, body
    assert [(e["line"], e["field"]) for e in body["error"]["lines"]] == [(2, "id")], body
    assert s.sql("SELECT count(*) FROM items WHERE job_id = ?", (jid,))[0][0] == 2
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    seen = set()
    for _ in range(2):
        st, _, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next")
        assert st == 200, body
        seen.add(body["task"]["item"]["id"])
        assert lab.post(f"/api/v1/tasks/{body['task']['id']}/judgment",
                        {"answers": {"better": {"winner": "a"}}})[0] == 201
    assert seen == {ok_id, "問" * 67}
    # An item whose stored text is damaged (as the truncation left them):
    # the lease answers 503 and leaves no task behind.
    j2 = make_job(s, lead, items=1)
    s.sql("UPDATE items SET data = substr(data, 1, 20) WHERE job_id = ?", (j2,))
    before = s.sql("SELECT count(*) FROM tasks")[0][0]
    for _ in range(3):
        st, hd, body = lab.post(f"/api/v1/jobs/{j2}/tasks/next")
        assert st == 503 and "retry-after" in hd, (st, body)
    assert s.sql("SELECT count(*) FROM tasks")[0][0] == before
    assert s.sql("SELECT claims FROM items WHERE job_id = ?", (j2,))[0][0] == 0


# ---- 5 and 6. staging, and a full disk ----

@contextlib.contextmanager
def small_disk(mb):
    """A tmpfs of mb MiB mounted for the test (root only: else skipped with
    a message, which counts as a pass of nothing and says so)."""
    d = tempfile.mkdtemp(prefix="arbiter-disk-")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mb}m,mode=0755", "tmpfs", d],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("mounting a small tmpfs needs root: " + p.stderr)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", d])
        os.rmdir(d)


def fill(path):
    """Fills the file system of path: writes until ENOSPC; returns the file."""
    f = os.path.join(path, "filler")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (1 << 20, 4096, 1):  # to the last byte
            try:
                while os.write(fd, b"\0" * size) > 0:
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return f


def test_import_staging_is_checked_and_lives_next_to_the_database():
    with small_disk(24) as d:
        s = Server(db=os.path.join(d, "arbiter.db"), log_dir=tempfile.mkdtemp())
        lead = s.client("lead")
        jid = make_job(s, lead, items=0, open_job=False)
        # About 40 MB of items staged where there are about 20: the staging
        # runs out, nothing is imported and the answer says why.
        text = "x" * 20000
        lines = [item(i, responses=[{"id": "a", "text": text}, {"id": "b", "text": text}])
                 for i in range(1000)]
        st, hd, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", lines)
        assert st == 507, (st, body)
        assert "retry-after" in hd and "space" in body["error"]["message"], body
        assert s.sql("SELECT count(*) FROM items")[0][0] == 0
        # The staging file is gone (unlinked), and so the space is back.
        assert [n for n in os.listdir(d) if n.startswith(".arbiter-import")] == []
        st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", lines[:50])
        assert st == 201 and body["imported"] == 50, body
        for (data,) in s.sql("SELECT data FROM items"):
            assert len(json.loads(data)["responses"][0]["text"]) == 20000
        s.stop()
        # --staging-dir puts it elsewhere: a disk without room refuses at once.
        with small_disk(1) as tiny:
            fill(tiny)
            s2 = Server(args=["--staging-dir", tiny], db=s.db, users=(), log_dir=s.log_dir)
            lead = s2.client("lead")
            st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(5000)])
            assert st == 507, body
            s2.stop()


def test_a_full_disk_answers_503_and_keeps_every_credential():
    with small_disk(8) as d:
        s = Server(db=os.path.join(d, "arbiter.db"), log_dir=tempfile.mkdtemp())
        lead, lab, other = s.client("lead"), s.client("lab"), s.client("admin")
        jid = make_job(s, lead, items=3)
        held = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]["id"]
        secret = lead.post("/api/v1/tokens", {"name": "pipe", "scopes": ["export"]})[2]["secret"]
        bot = s.client()
        bot.token = secret
        assert bot.get(f"/api/v1/jobs/{jid}")[0] == 200
        # Both refreshes fall due: the session's and the token's.
        # (Two minutes: past the refresh interval, within the idle timeout.)
        s.sql("UPDATE sessions SET last_seen_at = last_seen_at - 120")
        s.sql("UPDATE api_tokens SET last_used_at = last_used_at - 120")
        # A logout voids the server's session cache, so the next request
        # reads the session again and sees its refresh is due.
        assert other.delete("/api/v1/session")[0] == 204
        filler = fill(d)
        try:
            st, hd, body = lab.get("/api/v1/me")
            assert st == 200, (st, body)  # reads still work
            st, hd, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next?after={held}")
            assert st == 503 and "retry-after" in hd, (st, body)
            st, hd, body = lab.post(f"/api/v1/tasks/{held}/judgment",
                                    {"answers": {"better": {"winner": "b"}}})
            assert st == 503 and "retry-after" in hd, (st, body)
            assert s.sql("SELECT count(*) FROM judgments")[0][0] == 0
            st, hd, body = lab.get(f"/api/v1/jobs/{jid}")
            assert st == 200, (st, body)
            st, hd, body = bot.get(f"/api/v1/jobs/{jid}/export?format=raw")
            assert st == 200, (st, body)
            st, hd, body = s.client().post("/api/v1/session", {"name": "lab",
                                                              "password": password_of("lab")})
            assert st == 503 and "retry-after" in hd, (st, body)
            st, hd, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(100)])
            assert st in (503, 507) and "retry-after" in hd, (st, body)
        finally:
            os.unlink(filler)
        # Space is back: the same credentials work, writes go through, and
        # the submit that failed is simply sent again.
        st, _, body = lab.post(f"/api/v1/tasks/{held}/judgment",
                               {"answers": {"better": {"winner": "b"}}})
        assert st == 201, body
        st, _, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next?after={held}")
        assert st == 200, body
        assert lab.post(f"/api/v1/tasks/{body['task']['id']}/judgment",
                        {"answers": {"better": {"winner": "a"}}})[0] == 201
        assert bot.get(f"/api/v1/jobs/{jid}")[0] == 200
        assert s.sql("SELECT count(*) FROM items")[0][0] == 3
        s.stop()


# ---- 7. an untouched prefill is not an edit ----

def test_an_untouched_prefill_is_no_demonstration():
    s = Server()
    lead, lab = s.client("lead"), s.client("lab")
    questions = [{"name": "better", "type": "pairwise"},
                 {"name": "fix", "type": "text", "prefill": "best", "required": False},
                 {"name": "polish", "type": "text", "prefill": "response:a"}]
    jid = make_job(s, lead, questions=questions, items=3)
    texts = {}
    for k in range(3):
        t = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
        texts[k] = {r["id"]: r["text"] for r in t["item"]["responses"]}
        r = texts[k]
        answers = [
            # untouched prefills (the browser turns \r\n into \n, and may
            # add a final newline)
            {"better": {"winner": "b"}, "fix": r["b"] + "\n", "polish": r["a"]},
            # an edit of the optional one, the required one untouched
            {"better": {"winner": "a"}, "fix": r["a"] + " Better now.", "polish": r["a"]},
            # the optional one left out, the required one edited
            {"better": {"winner": "a"}, "polish": "A new text."},
        ][k]
        st, _, body = lab.post(f"/api/v1/tasks/{t['id']}/judgment", {"answers": answers})
        assert st == 201, body
        if k == 0:
            assert "fix" not in body["judgment"]["answers"], body
    stored = [json.loads(a) for (a,) in s.sql("SELECT answers FROM judgments ORDER BY id")]
    assert ["fix" in a for a in stored] == [False, True, False]
    assert [a["polish"] for a in stored][:2] == [texts[0]["a"], texts[1]["a"]]
    st, _, data = lead.raw("GET", f"/api/v1/jobs/{jid}/export?format=sft")
    rows = [json.loads(l) for l in data.decode().splitlines()]
    assert sorted(r["completion"] for r in rows) == sorted([texts[1]["a"] + " Better now.",
                                                            "A new text."]), rows
    st, _, data = lead.raw("GET", f"/api/v1/jobs/{jid}/export?format=openai-chat")
    assert len(data.decode().splitlines()) == 2
    report = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    q = {x["name"]: x for x in report["questions"]}
    assert (q["fix"]["answers"], q["fix"]["edited"], q["fix"]["unchanged"], q["fix"]["unanswered"]) == \
        (1, 1, 0, 2), q["fix"]
    assert (q["polish"]["edited"], q["polish"]["unchanged"], q["polish"]["unanswered"]) == (1, 2, 0)


# ---- 8. task timing ----

def test_durations_run_from_when_the_task_was_shown():
    s = Server()
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, items=3)
    t1 = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    # The lease is old (a prefetch waited unseen); the task was on screen
    # for 2.5 s, 1.5 s of them in use.
    s.sql("UPDATE tasks SET leased_at = leased_at - 100000 WHERE id = ?", (t1["id"],))
    st, _, body = lab.post(f"/api/v1/tasks/{t1['id']}/judgment", {
        "answers": {"better": {"winner": "a"}},
        "timing": {"shown_seconds": 2.5, "active_seconds": 1.5}})
    assert st == 201, body
    g = body["judgment"]
    assert g["duration_seconds"] == 2.5 and g["active_seconds"] == 1.5, g
    assert g["shown_at"] > g["leased_at"]
    # A client's figures never reach before the lease, nor active past shown.
    t2 = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    st, _, body = lab.post(f"/api/v1/tasks/{t2['id']}/judgment", {
        "answers": {"better": {"winner": "b"}},
        "timing": {"shown_seconds": 90000, "active_seconds": 99999}})
    g2 = body["judgment"]
    assert g2["shown_at"] == g2["leased_at"], g2
    assert g2["active_seconds"] <= g2["duration_seconds"]
    # Without timing (an API client): from the lease, shown_at unknown.
    t3 = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    g3 = lab.post(f"/api/v1/tasks/{t3['id']}/judgment",
                  {"answers": {"better": {"winner": "b"}}})[2]["judgment"]
    assert g3["shown_at"] is None and g3["active_seconds"] is None
    # Bad timing is refused before anything is stored.
    j2 = make_job(s, lead, items=1)
    t4 = lab.post(f"/api/v1/jobs/{j2}/tasks/next")[2]["task"]
    for bad in ({"shown_seconds": -1}, {"shown_seconds": "2"}, {"active_seconds": 1},
                {"shown_seconds": 1, "typing": 2}, [], 5):
        st, _, body = lab.post(f"/api/v1/tasks/{t4['id']}/judgment",
                               {"answers": {"better": {"winner": "a"}}, "timing": bad})
        assert st == 422 and body["error"]["field"].startswith("timing"), (bad, body)
    assert s.sql("SELECT count(*) FROM judgments WHERE job_id = ?", (j2,))[0][0] == 0
    # The raw export and the report carry them; the lease time is kept apart.
    st, _, data = lead.raw("GET", f"/api/v1/jobs/{jid}/export?format=raw")
    rows = {r["judgment_id"]: r for r in map(json.loads, data.decode().splitlines())}
    r1 = rows[g["id"]]
    assert (r1["duration_seconds"], r1["active_seconds"]) == (2.5, 1.5), r1
    assert r1["leased_at"] < r1["shown_at"] < r1["submitted_at"]
    assert rows[g3["id"]]["shown_at"] is None and rows[g3["id"]]["active_seconds"] is None
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    lab_row = [l for l in rep["labelers"] if l["labeler"] == "lab"][0]
    want = (1.5 + g2["active_seconds"]) / 2  # the two judgments that were timed
    assert abs(lab_row["median_active_seconds"] - want) < 1e-3, (lab_row, want)
    assert lab_row["median_seconds"] < 100, lab_row  # not the 100 s lease


# ---- 9. blindness ----

def test_labelers_never_see_models_or_the_acceptance_rule():
    s = Server()
    lead, lab = s.client("lead"), s.client("lab")
    st, _, body = lead.post("/api/v1/jobs", {
        "name": "blind", "questions": PAIRWISE, "acceptance": {
            "question": "better", "candidate": "secret-model-new", "baseline": "secret-model-old"}})
    assert st == 201, body
    jid = body["job"]["id"]
    assert body["job"]["acceptance"]["candidate"] == "secret-model-new"
    line = item(0)
    line["responses"][0]["model"] = "secret-model-new"
    line["responses"][1]["model"] = "secret-model-old"
    line["metadata"] = {"secret-meta": "secret-value"}
    line["gold"] = {"better": "a"}
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", [line])[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab"]})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    seen = []
    for path in ("/api/v1/jobs", f"/api/v1/jobs/{jid}"):
        st, _, data = lab.raw("GET", path)
        assert st == 200
        seen.append(data)
        assert b"acceptance" not in data, data
    st, _, data = lab.raw("POST", f"/api/v1/jobs/{jid}/tasks/next")
    seen.append(data)
    tid = json.loads(data)["task"]["id"]
    seen.append(lab.raw("GET", f"/api/v1/tasks/{tid}")[2])
    st, _, data = lab.raw("POST", f"/api/v1/tasks/{tid}/judgment",
                          json.dumps({"answers": {"better": {"winner": "a"}}}).encode(),
                          {"Content-Type": "application/json"})
    seen.append(data)
    gid = json.loads(data)["judgment"]["id"]
    seen.append(lab.raw("GET", f"/api/v1/judgments/{gid}")[2])
    seen.append(lab.raw("GET", f"/api/v1/tasks/{tid}")[2])
    for data in seen:
        for secret in (b"secret-model", b"secret-meta", b"secret-value", b"gold"):
            assert secret not in data, (secret, data)
    for path in (f"/api/v1/jobs/{jid}/report", f"/api/v1/jobs/{jid}/items",
                 f"/api/v1/jobs/{jid}/export?format=raw", f"/api/v1/jobs/{jid}/stats",
                 f"/api/v1/jobs/{jid}/members"):
        st, _, data = lab.raw("GET", path)
        assert st in (403, 404) and b"secret" not in data, (path, st)


# ---- 10. null is a missing value ----

def test_null_fields_are_missing_fields_never_500():
    s = Server()
    lead, admin, lab = s.client("lead"), s.client("admin"), s.client("lab")
    jid = make_job(s, lead, items=2)
    dummy = admin.post("/api/v1/users", {"name": "dummy", "role": "labeler",
                                         "password": "dummy password 1"})[2]["user"]["id"]
    expect_error(lead.post("/api/v1/jobs", {"name": None, "questions": PAIRWISE}), 422,
                 "missing_field", "name")
    expect_error(lead.post("/api/v1/jobs", {"name": "x", "questions": None}), 422,
                 "missing_field", "questions")
    body = expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"name": None}), 422, None, "name")
    assert "null" in body["error"]["message"]
    tid = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]["id"]
    expect_error(lab.post(f"/api/v1/tasks/{tid}/judgment", {"answers": None}), 422,
                 "missing_field", "answers")
    expect_error(s.client().post("/api/v1/session", {"name": None, "password": "x"}), 422,
                 "missing_field", "name")
    bodies = [
        (lead, "POST", "/api/v1/jobs", {"name": "x", "questions": PAIRWISE, "instructions": "i",
                                        "overlap": 1, "lease_seconds": 60, "randomize_order": True,
                                        "acceptance": {"question": "better", "min_alpha": 0.1}}),
        (lead, "PATCH", f"/api/v1/jobs/{jid}", {"name": "x", "instructions": "i", "overlap": 1,
                                                "lease_seconds": 60, "randomize_order": True,
                                                "status": "open", "questions": PAIRWISE}),
        (lead, "PUT", f"/api/v1/jobs/{jid}/members", {"members": ["lab"]}),
        (admin, "POST", "/api/v1/users", {"name": "zz", "role": "labeler",
                                          "password": "zzzzzzzzzzzzzzzz"}),
        (admin, "PATCH", f"/api/v1/users/{dummy}", {"role": "labeler", "disabled": False}),
        (lead, "POST", "/api/v1/tokens", {"name": "t", "scopes": ["export"], "expires_in_days": 3}),
        (lead, "POST", "/api/v1/markdown", {"markdown": "x"}),
        (lab, "POST", f"/api/v1/tasks/{tid}/skip", {"reason": "x"}),
        (lab, "POST", f"/api/v1/tasks/{tid}/judgment", {"answers": {"better": {"winner": "a"}},
                                                        "timing": {"shown_seconds": 1}}),
    ]
    for c, method, path, good in bodies:
        for key in good:
            for bad in (None, [], {}, 1.5, "x" * 300, True, -1):
                b = dict(good)
                b[key] = bad
                st, _, body = c.call(method, path, b)
                assert st < 500, (method, path, key, bad, st, body)
    assert s.client().get("/healthz")[0] == 200


# ---- 11. bodies on routes that take none ----

def test_routes_without_a_body_accept_an_empty_object():
    s = Server()
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, items=3)
    for body in (b"{}", b"  { }\r\n", b""):
        st, _, data = lab.raw("POST", f"/api/v1/jobs/{jid}/tasks/next", body,
                              {"Content-Type": "application/json"})
        assert st == 200, (body, st, data)
    for body in (b'{"a": 1}', b"[]", b"x", b"{} {}", b"{" * 40, b" " * 100000, b"\0\0",
                 b"{}\0"):
        st, _, data = lab.raw("POST", f"/api/v1/jobs/{jid}/tasks/next", body,
                              {"Content-Type": "application/json"})
        err = json.loads(data)["error"]
        assert st == 400 and err["code"] == "body_not_allowed", (body[:20], st, err)
        assert "takes no body" in err["message"]
    st, _, _ = lab.raw("GET", "/api/v1/me", b"{}", {"Content-Type": "application/json"})
    assert st == 200
    st, _, _ = lab.raw("DELETE", "/api/v1/session", b"{}", {"Content-Type": "application/json"})
    assert st == 204


# ---- 12. login takes name ----

def test_login_takes_name_as_user_objects_do():
    s = Server()
    c = s.client()
    st, _, body = c.post("/api/v1/session", {"name": "lab", "password": password_of("lab")})
    assert st == 200 and body["user"]["name"] == "lab"
    st, _, body = c.post("/api/v1/session", {"username": "lab", "password": password_of("lab")})
    assert st == 200
    expect_error(c.post("/api/v1/session", {"name": "lab", "username": "lab",
                                            "password": password_of("lab")}), 422)
    expect_error(c.post("/api/v1/session", {"password": "x"}), 422, "missing_field", "name")
    expect_error(c.post("/api/v1/session", {"name": "lab", "password": "wrong password"}), 401)


# ---- 13. request framing ----

def test_ambiguous_request_framing_is_refused_and_the_connection_closed():
    s = Server()
    host = f"Host: 127.0.0.1:{s.port}\r\n"
    # A second request hides behind each body: it must never be answered.
    smuggled = b"GET /healthz HTTP/1.1\r\n" + host.encode() + b"\r\n"
    cases = [
        b"Content-Length: 2\r\nContent-Length: " + str(2 + len(smuggled)).encode() + b"\r\n",
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
        b"Content-Length: +2\r\n",
        b"Content-Length: 2abc\r\n",
        b"Content-Length: 2, 2\r\n",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    ]
    for headers in cases:
        req = (b"POST /api/v1/session HTTP/1.1\r\n" + host.encode() +
               b"Content-Type: application/json\r\n" + headers + b"\r\n{}" + smuggled)
        sock = socket.create_connection(("127.0.0.1", s.port))
        sock.sendall(req)
        sock.settimeout(30)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break  # the server closed the connection
            data += chunk
        sock.close()
        assert data.startswith(b"HTTP/1.1 400"), (headers, data[:200])
        assert data.count(b"HTTP/1.1 ") == 1, (headers, data)  # the smuggled GET got nothing
        assert b"ambiguous request framing" in data or b"Bad Request" in data, data
    # The same Content-Length twice is one length: served as usual.
    req = (b"POST /api/v1/session HTTP/1.1\r\n" + host.encode() +
           b"Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n"
           b"Connection: close\r\n\r\n{}")
    assert raw_exchange(s.port, req).startswith(b"HTTP/1.1 422")
    assert s.client().get("/healthz")[0] == 200


# ---- 16. the CLI beside a server ----

def test_the_cli_waits_for_a_lock_instead_of_failing():
    s = Server()
    s.stop()
    # Another process holds the database exclusively for a while (as a
    # backup, a VACUUM or another tool may); the CLI must wait for it as
    # configured, not fail at once with "database is locked".
    con = sqlite3.connect(s.db, timeout=10, isolation_level=None)
    con.execute("PRAGMA locking_mode=EXCLUSIVE")
    con.execute("BEGIN EXCLUSIVE")
    con.execute("INSERT INTO secrets (name, value) VALUES ('lock-holder', x'00')")
    started = threading.Event()
    result = {}

    def run():
        started.set()
        result["p"] = cli(["user", "add", "waiter", "--role", "labeler"],
                          stdin="waiter password 1\n", db=s.db, check=False)

    t = threading.Thread(target=run)
    t.start()
    started.wait()
    # Release only once the CLI is surely waiting on the lock: its process
    # exists and the user is not there (it cannot be, under this lock).
    time.sleep(1.0)
    con.execute("ROLLBACK")
    con.close()
    t.join()
    p = result["p"]
    assert p.returncode == 0, p.stderr
    assert "locked" not in p.stderr
    assert s.sql("SELECT count(*) FROM users WHERE name = 'waiter'")[0][0] == 1
