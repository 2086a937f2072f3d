"""Jobs, questions, members, status, access and item import over HTTP, and
the `arbiter job` command line."""
import json
import os
import socket

from harness import Server, cli, expect_error, item, make_job, PAIRWISE


def test_job_config_names_every_problem():
    s = Server()
    lead = s.client("lead")
    body = expect_error(lead.post("/api/v1/jobs", {
        "name": " ", "overlap": 21, "lease_seconds": 1, "colour": "red",
        "questions": [
            {"name": "bad name", "type": "pairwise", "strength": 4},
            {"name": "r", "type": "rating", "scale": {"min": 5, "max": 1}},
            {"name": "r", "type": "labels", "options": ["x", "x"]},
            {"name": "t", "type": "text", "prefill": "response:"},
            {"name": "k", "type": "essay"}]}), 422, "invalid")
    fields = {p["field"] for p in body["error"]["problems"]}
    assert {"name", "overlap", "lease_seconds", "colour", "questions[0].name",
            "questions[0].strength", "questions[1].scale.max", "questions[2].name",
            "questions[2].options[1]", "questions[3].prefill", "questions[4].type"} <= fields, fields
    expect_error(lead.post("/api/v1/jobs", {"name": "x"}), 422, field="questions")
    expect_error(lead.post("/api/v1/jobs", {"name": "x", "questions": []}), 422,
                 field="questions")
    assert s.sql("SELECT count(*) FROM jobs") == [(0,)]
    # A labeler may not create jobs at all.
    expect_error(s.client("lab").post("/api/v1/jobs", {"name": "x", "questions": PAIRWISE}),
                 403)


def test_job_lifecycle_and_access():
    s = Server(users=("admin", "lead", "lead2", "lab", "lab2"))
    lead, lead2, lab, lab2, admin = (s.client(u) for u in ("lead", "lead2", "lab", "lab2",
                                                            "admin"))
    st, _, body = lead.post("/api/v1/jobs", {"name": "Helpfulness", "questions": PAIRWISE})
    assert st == 201 and body["job"]["status"] == "draft", body
    job = body["job"]
    assert job["overlap"] == 1 and job["lease_seconds"] == 600 and job["randomize_order"]
    assert job["questions"][0] == {"name": "better", "type": "pairwise", "required": True,
                                   "allow_tie": True, "allow_both_bad": False,
                                   "strength": False}
    jid = job["id"]
    # Opening needs items; a draft cannot pause.
    expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"}), 409)
    expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"status": "paused"}), 409, field="status")
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(1)])[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab"]})[0] == 200
    # Others' jobs do not exist for them.
    expect_error(lead2.get(f"/api/v1/jobs/{jid}"), 404)
    expect_error(lead2.patch(f"/api/v1/jobs/{jid}", {"name": "mine"}), 404)
    expect_error(lab2.get(f"/api/v1/jobs/{jid}"), 404)
    expect_error(lab2.post(f"/api/v1/jobs/{jid}/tasks/next"), 404)
    assert lead2.get("/api/v1/jobs")[2]["jobs"] == []
    assert lab2.get("/api/v1/jobs")[2]["jobs"] == []
    # A member sees the job but neither its members nor how to manage it.
    st, _, body = lab.get(f"/api/v1/jobs/{jid}")
    assert st == 200 and "members" not in body["job"] and not body["job"]["can_manage"]
    assert [j["id"] for j in lab.get("/api/v1/jobs")[2]["jobs"]] == [jid]
    expect_error(lab.patch(f"/api/v1/jobs/{jid}", {"name": "x"}), 403)
    expect_error(lab.get(f"/api/v1/jobs/{jid}/stats"), 403)
    # The admin manages everything.
    st, _, body = admin.get(f"/api/v1/jobs/{jid}")
    assert st == 200 and body["job"]["members"][0]["name"] == "lab"
    for to in ("open", "paused", "open", "closed"):
        st, _, body = lead.patch(f"/api/v1/jobs/{jid}", {"status": to})
        assert st == 200 and body["job"]["status"] == to, body
    expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"}), 409)
    expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"name": "renamed"}), 409)
    assert s.sql("SELECT name, status FROM jobs") == [("Helpfulness", "closed")]
    expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"overlap": 0}), 422, field="overlap")
    expect_error(lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["nobody", 7]}), 422,
                 field="members[0]")
    actions = [r[0] for r in s.sql("SELECT action FROM audit_log WHERE subject = ?",
                                   (f"job:{jid}",))]
    assert actions[:3] == ["job_create", "items_import", "job_members"], actions


def test_instructions_render_markdown_safely():
    s = Server()
    lead = s.client("lead")
    md = ("# Rules\n\nPrefer **correct** answers.\n\n```\ncode <b>\n```\n\n"
          "<script>alert(1)</script>\n\n[bad](javascript:alert(1)) <img src=x onerror=alert(1)>")
    st, _, body = lead.post("/api/v1/jobs", {"name": "x", "instructions": md,
                                             "questions": PAIRWISE})
    html = body["job"]["instructions_html"]
    assert '<h1 dir="auto">Rules</h1>' in html and "<strong>correct</strong>" in html
    assert "<pre><code>code &lt;b&gt;" in html
    assert "<script" not in html and "<img" not in html and "javascript:" not in html, html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as the text it is
    assert body["job"]["instructions"] == md


def test_questions_are_locked_once_judged():
    s = Server()
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead)
    rank = [{"name": "order", "type": "rank"}]
    st, _, body = lead.patch(f"/api/v1/jobs/{jid}", {"questions": rank})
    assert st == 200 and body["job"]["questions"][0]["type"] == "rank"
    # Items must fit new questions: a 3-response item blocks pairwise.
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(9, 3)])[0] == 201
    expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"questions": PAIRWISE}), 422,
                 field="questions")
    task = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    ids = [r["id"] for r in task["item"]["responses"]]
    assert lab.post(f"/api/v1/tasks/{task['id']}/judgment", {"answers": {"order": ids}})[0] == 201
    expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"questions": rank + [
        {"name": "why", "type": "text", "required": False}]}), 409, field="questions")
    # The same questions again are no change.
    assert lead.patch(f"/api/v1/jobs/{jid}", {"questions": rank, "overlap": 2})[0] == 200


def test_import_all_or_nothing_names_bad_lines():
    s = Server()
    lead = s.client("lead")
    jid = make_job(s, lead, items=0, open_job=False)
    lines = [item(i) for i in range(1, 11)]
    lines[6] = {"id": "q7", "prompt": "p", "responses": [{"id": "a", "txt": "typo"},
                                                        {"id": "b", "text": "ok"}]}
    body = expect_error(lead.jsonl(f"/api/v1/jobs/{jid}/items", lines), 422, "invalid_lines")
    bad = body["error"]["lines"]
    assert {b["line"] for b in bad} == {7}, bad
    assert {b["field"] for b in bad} == {"responses[0].txt", "responses[0].text"}, bad
    assert s.sql("SELECT count(*) FROM items") == [(0,)]
    # Many kinds of bad lines, each named with its line number.
    lines = [item(1), "{not json", json.dumps([1, 2]), item(1),
             {"id": "x", "prompt": "p", "messages": [{"role": "user", "content": "hi"}],
              "responses": [{"text": "a"}, {"text": "b"}]},
             {"id": "y", "messages": [{"role": "assistant", "content": "hi"}],
              "responses": [{"text": "a"}, {"text": "b"}]},
             item(2, 3), {"id": "z", "prompt": "p", "responses": [{"id": "tie", "text": "a"},
                                                                 {"id": "b", "text": "b"}]},
             "", "   "]
    body = expect_error(lead.jsonl(f"/api/v1/jobs/{jid}/items", lines), 422)
    by_line = {}
    for b in body["error"]["lines"]:
        by_line.setdefault(b["line"], []).append(b["field"])
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8], by_line
    assert by_line[4] == ["id"] and by_line[5] == ["prompt"] and by_line[6] == ["messages[0].role"]
    assert by_line[7] == ["responses"], by_line
    # More than 100 bad lines: the first 100 are listed, all are counted.
    body = expect_error(lead.jsonl(f"/api/v1/jobs/{jid}/items", ["{}"] * 150), 422)
    assert len(body["error"]["lines"]) == 100 and "150 bad lines" in body["error"]["message"]
    assert s.sql("SELECT count(*) FROM items") == [(0,)]
    # A good file, native and Bedrock lines mixed; then ids already imported.
    bedrock = {"prompt": "What is WAL?", "referenceResponse": "A log.", "category": "db",
               "modelResponses": [{"response": "x", "modelIdentifier": "m1"},
                                  {"response": "y", "modelIdentifier": "m2"}]}
    chat = {"id": "c1", "messages": [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "Hi"}],
            "responses": [{"id": "a", "text": "Hello"}, {"id": "b", "text": "Hey"}],
            "metadata": {"category": "chat"}, "gold": {"better": "a"}}
    st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(1), bedrock, chat])
    assert st == 201 and body == {"imported": 3, "lines": 3}, body
    rows = dict(s.sql("SELECT ext_id, data FROM items"))
    b = next(json.loads(v) for k, v in rows.items() if k.startswith("h-"))
    assert b["reference"] == "A log." and b["metadata"] == {"category": "db"}
    assert [(r["id"], r["model"]) for r in b["responses"]] == [("0", "m1"), ("1", "m2")]
    assert json.loads(rows["c1"])["gold"] == {"better": {"winner": "a"}}
    body = expect_error(lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(5), item(1), bedrock]), 422)
    assert [(b["line"], b["field"]) for b in body["error"]["lines"]] == [(2, "id"), (3, "id")]
    # Gold answers are checked against the questions.
    body = expect_error(lead.jsonl(f"/api/v1/jobs/{jid}/items",
                                   [dict(item(8), gold={"better": "c"})]), 422)
    assert body["error"]["lines"][0]["field"] == "gold.better.winner"
    assert s.sql("SELECT count(*) FROM items") == [(3,)]
    st, _, page = lead.get(f"/api/v1/jobs/{jid}/items?limit=2")
    assert st == 200 and len(page["items"]) == 2 and page["next"]
    st, _, page = lead.get(f"/api/v1/jobs/{jid}/items?cursor={page['next']}&limit=2")
    assert len(page["items"]) == 1 and page["next"] is None
    expect_error(lead.get(f"/api/v1/jobs/{jid}/items?limit=0"), 422, field="limit")
    st, _, _ = lead.raw("POST", f"/api/v1/jobs/{jid}/items", b"{}",
                        {"Content-Type": "text/plain"})
    assert st == 415


def test_import_streams_a_chunked_body():
    s = Server()
    lead = s.client("lead")
    jid = make_job(s, lead, items=0, open_job=False)
    lines = "".join(json.dumps(item(i)) + "\n" for i in range(2000)).encode()
    # Send it in odd-sized chunks (chunked transfer encoding), split mid-line.
    sock = socket.create_connection(("127.0.0.1", s.port))
    head = (f"POST /api/v1/jobs/{jid}/items HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\n"
            f"Cookie: arbiter_session={lead.cookie}\r\nX-CSRF-Token: {lead.csrf}\r\n"
            f"Origin: {lead.origin}\r\nContent-Type: application/x-ndjson\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    sock.sendall(head)
    for k in range(0, len(lines), 7777):
        part = lines[k:k + 7777]
        sock.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
    sock.sendall(b"0\r\n\r\n")
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 201"), data[:300]
    assert b'"imported":2000' in data
    assert s.sql("SELECT count(*) FROM items") == [(2000,)]


def test_tokens_reach_jobs_by_scope():
    s = Server(users=("admin", "lead", "lead2", "lab"))
    lead = s.client("lead")
    jid = make_job(s, lead)
    tokens = {}
    for scope in ("export", "write"):
        st, _, body = lead.post("/api/v1/tokens", {"name": scope, "scopes": [scope]})
        tokens[scope] = body["secret"]
    exp, wr = s.client(), s.client()
    exp.token, wr.token = tokens["export"], tokens["write"]
    assert exp.get(f"/api/v1/jobs/{jid}/stats")[0] == 200
    assert exp.get(f"/api/v1/jobs/{jid}")[0] == 200
    expect_error(exp.post("/api/v1/jobs", {"name": "x", "questions": PAIRWISE}), 403, "scope")
    st, _, body = wr.post("/api/v1/jobs", {"name": "by pipeline", "questions": PAIRWISE})
    assert st == 201 and body["job"]["owner"]["name"] == "lead"
    assert wr.jsonl(f"/api/v1/jobs/{body['job']['id']}/items", [item(1)])[0] == 201
    expect_error(wr.post(f"/api/v1/jobs/{jid}/tasks/next"), 403, "scope")
    # Another lead's token does not reach this job.
    other = s.client()
    other.token = s.client("lead2").post("/api/v1/tokens", {"name": "x", "scopes": ["export"]})[2]["secret"]
    expect_error(other.get(f"/api/v1/jobs/{jid}/stats"), 404)
    assert other.get("/api/v1/jobs")[2]["jobs"] == []


def test_cli_job_commands():
    s = Server(users=("admin", "lead", "lab"))
    d = s.dir
    job_file = os.path.join(d, "job.json")
    with open(job_file, "w") as f:
        json.dump({"name": "from cli", "questions": PAIRWISE, "overlap": 2}, f)
    jid = cli(["job", "create", "--file", job_file, "--owner", "lead"], db=s.db).stdout.strip()
    items_file = os.path.join(d, "items.jsonl")
    with open(items_file, "w") as f:
        f.write("\n".join(json.dumps(item(i)) for i in range(5)) + "\n")
    assert "imported 5" in cli(["job", "import", jid, items_file], db=s.db).stdout
    p = cli(["job", "import", jid, items_file], db=s.db, check=False)
    assert p.returncode == 1 and "line 1: id" in p.stderr and "5 bad line" in p.stderr
    cli(["job", "members", jid, "lab"], db=s.db)
    cli(["job", "open", jid], db=s.db)
    shown = json.loads(cli(["job", "show", jid], db=s.db).stdout)
    assert shown["status"] == "open" and shown["counts"]["items"] == 5
    assert [m["name"] for m in shown["members"]] == ["lab"]
    assert "from cli" in cli(["job", "list"], db=s.db).stdout
    lab = s.client("lab")
    task = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    assert lab.post(f"/api/v1/tasks/{task['id']}/judgment",
                    {"answers": {"better": {"winner": "tie"}}})[0] == 201
    stats = json.loads(cli(["job", "stats", jid], db=s.db).stdout)
    assert stats["judgments"] == 1 and stats["items"]["in_progress"] == 1
    bad = os.path.join(d, "bad.json")
    with open(bad, "w") as f:
        json.dump({"overlap": 99}, f)
    p = cli(["job", "update", jid, "--file", bad], db=s.db, check=False)
    assert p.returncode == 1 and "overlap" in p.stderr
    cli(["job", "close", jid], db=s.db)
    assert s.sql("SELECT status FROM jobs") == [("closed",)]
