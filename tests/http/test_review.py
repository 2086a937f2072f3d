"""Review (issue 14, part 2): a lead accepts or rejects a judgment; a
rejection gives the slot back to another labeler, leaves the exports and
the report, and is kept in the judgment's history and the audit log."""
import json

from harness import Server, expect_error, make_job

RATE = [{"name": "better", "type": "pairwise"},
        {"name": "fix", "type": "text", "required": False},
        {"name": "good", "type": "rating", "scale": {"min": 1, "max": 5}, "per_response": True}]


def export(c, jid, fmt, extra=""):
    st, hd, data = c.raw("GET", f"/api/v1/jobs/{jid}/export?format={fmt}{extra}")
    assert st == 200, (st, data)
    return [json.loads(l) for l in data.decode().splitlines()], hd


def judge(s, lab, jid, answers):
    st, _, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next")
    assert st == 200, (st, body)
    tid = body["task"]["id"]
    st, _, body = lab.post(f"/api/v1/tasks/{tid}/judgment", {"answers": answers})
    assert st == 201, body
    return body["judgment"]["id"], tid


def test_a_rejected_judgment_leaves_exports_and_report_and_frees_its_slot():
    s = Server(users=("admin", "lead", "lead2", "lab", "lab2"))
    lead, lab, lab2, lead2 = s.client("lead"), s.client("lab"), s.client("lab2"), s.client("lead2")
    jid = make_job(s, lead, questions=RATE, items=1, members=("lab", "lab2"))
    gid, _ = judge(s, lab, jid, {"better": {"winner": "a"}, "fix": "A better answer.",
                                 "good": {"a": 5, "b": 1}})
    assert s.sql("SELECT claims, judged FROM items")[0] == (1, 1)
    assert lab2.post(f"/api/v1/jobs/{jid}/tasks/next")[0] == 204  # complete at overlap 1
    for fmt in ("raw", "preference", "sft"):
        assert len(export(lead, jid, fmt)[0]) == 1, fmt
    _, hd = export(lead, jid, "raw")
    cursor = int(hd["x-arbiter-cursor"])

    # Nobody but those who manage the job may review: 404, as if absent.
    for c in (lab, lab2, lead2):
        expect_error(c.post(f"/api/v1/judgments/{gid}/review", {"decision": "reject"}), 404)
    expect_error(lead.post(f"/api/v1/judgments/{gid}/review", {"decision": "maybe"}), 422,
                 None, "decision")
    expect_error(lead.post(f"/api/v1/judgments/{gid}/review", {}), 422, "missing_field",
                 "decision")
    expect_error(lead.post("/api/v1/judgments/999/review", {"decision": "reject"}), 404)
    assert s.sql("SELECT count(*) FROM reviews")[0][0] == 0

    st, _, body = lead.post(f"/api/v1/judgments/{gid}/review",
                            {"decision": "reject", "reason": "ignored the prompt"})
    assert st == 200, body
    g = body["judgment"]
    assert g["review"] == "rejected"
    assert [(r["decision"], r["reason"], r["reviewer"]) for r in g["reviews"]] == \
        [("reject", "ignored the prompt", "lead")]
    # Retry-safe: the same decision again changes nothing.
    assert lead.post(f"/api/v1/judgments/{gid}/review", {"decision": "reject"})[0] == 200
    assert s.sql("SELECT count(*) FROM reviews")[0][0] == 1
    assert s.sql("SELECT claims, judged FROM items")[0] == (0, 0)
    audit = s.sql("SELECT action, subject, detail FROM audit_log WHERE action = 'judgment_review'")
    assert len(audit) == 1 and audit[0][1] == f"judgment:{gid}"
    assert json.loads(audit[0][2])["reason"] == "ignored the prompt"

    # It leaves the exports and the report...
    for fmt in ("raw", "preference", "sft", "openai-chat", "kto"):
        assert export(lead, jid, fmt)[0] == [], fmt
    assert export(lead, jid, "preference", "&aggregate=majority")[0] == []
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    assert rep["judgments"] == 0, rep
    # ... but review=all shows it, saying so.
    rows, _ = export(lead, jid, "raw", "&review=all")
    assert [(r["judgment_id"], r["review"]) for r in rows] == [(gid, "rejected")]
    # The labeler sees the decision and its reason, and cannot revise it.
    st, _, body = lab.get(f"/api/v1/judgments/{gid}")
    assert body["judgment"]["review"] == "rejected"
    assert body["judgment"]["reviews"][0]["reason"] == "ignored the prompt"
    expect_error(lab.put(f"/api/v1/judgments/{gid}", {"answers": {"better": {"winner": "b"},
                                                                  "good": {"a": 1, "b": 1}}}), 409)

    # The slot goes to another labeler, never back to the same one.
    assert lab.post(f"/api/v1/jobs/{jid}/tasks/next")[0] == 204
    gid2, _ = judge(s, lab2, jid, {"better": {"winner": "b"}, "fix": "Another one.",
                                   "good": {"a": 1, "b": 4}})
    assert s.sql("SELECT claims, judged FROM items")[0] == (1, 1)
    rows, _ = export(lead, jid, "raw")
    assert [r["judgment_id"] for r in rows] == [gid2]
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    assert rep["judgments"] == 1
    # The rejection took a new seq: an incremental pull since the first
    # cursor sees a change (review=all names it).
    rows, _ = export(lead, jid, "raw", f"&since={cursor}&review=all")
    assert {r["judgment_id"] for r in rows} == {gid, gid2}

    # Accepting: review=accepted keeps only the accepted.
    assert lead.post(f"/api/v1/judgments/{gid2}/review", {"decision": "accept"})[0] == 200
    rows, _ = export(lead, jid, "raw", "&review=accepted")
    assert [(r["judgment_id"], r["review"]) for r in rows] == [(gid2, "accepted")]
    # The rejected one cannot come back: the item has its judgment again.
    expect_error(lead.post(f"/api/v1/judgments/{gid}/review", {"decision": "accept"}), 409)
    assert s.sql("SELECT claims, judged FROM items")[0] == (1, 1)
    # A revision is a new judgment to review.
    st, _, body = lab2.put(f"/api/v1/judgments/{gid2}", {"answers": {
        "better": {"winner": "a"}, "good": {"a": 3, "b": 4}}})
    assert st == 200 and body["judgment"]["review"] is None, body
    # A closed job's judgments can no longer be reviewed.
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "closed"})[0] == 200
    expect_error(lead.post(f"/api/v1/judgments/{gid2}/review", {"decision": "reject"}), 409)
    assert s.sql("SELECT review FROM judgments WHERE id = ?", (gid2,))[0][0] is None


def test_a_rejected_judgment_accepted_again_takes_its_free_slot_back():
    s = Server()
    lead, lab, admin = s.client("lead"), s.client("lab"), s.client("admin")
    jid = make_job(s, lead, items=2, members=("lab",))
    gid, _ = judge(s, lab, jid, {"better": {"winner": "a"}})
    # An admin reviews too.
    assert admin.post(f"/api/v1/judgments/{gid}/review", {"decision": "reject"})[0] == 200
    assert s.sql("SELECT claims, judged FROM items WHERE judged + claims > 0") == []
    st, _, body = admin.post(f"/api/v1/judgments/{gid}/review",
                             {"decision": "accept", "reason": "on second thought"})
    assert st == 200 and body["judgment"]["review"] == "accepted", body
    assert [r["decision"] for r in body["judgment"]["reviews"]] == ["reject", "accept"]
    assert s.sql("SELECT claims, judged FROM items WHERE judged > 0") == [(1, 1)]
    assert len(export(lead, jid, "raw")[0]) == 1
    # Bad bodies change nothing.
    for bad in ({"decision": "reject", "why": "x"}, {"decision": 1}, {"decision": "reject",
                                                                      "reason": "x" * 1001}):
        st, _, body = lead.post(f"/api/v1/judgments/{gid}/review", bad)
        assert st == 422, (bad, body)
    assert s.sql("SELECT count(*) FROM reviews")[0][0] == 2


def test_rejecting_a_labeler_rejects_their_work_frees_their_leases_and_removes_them():
    s = Server(users=("admin", "lead", "lab", "lab2", "lab3"))
    lead, lab, lab2, lab3 = (s.client(u) for u in ("lead", "lab", "lab2", "lab3"))
    jid = make_job(s, lead, items=3, overlap=2, members=("lab", "lab2", "lab3"))
    mine = [judge(s, lab, jid, {"better": {"winner": "a"}})[0] for _ in range(3)]
    theirs = judge(s, lab2, jid, {"better": {"winner": "b"}})[0]
    held = lab.post(f"/api/v1/jobs/{jid}/tasks/next")
    assert held[0] == 204  # lab judged every item; lease one for lab3 instead
    lab3_task = lab3.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]["id"]
    lab_id = s.sql("SELECT id FROM users WHERE name = 'lab'")[0][0]
    lab3_id = s.sql("SELECT id FROM users WHERE name = 'lab3'")[0][0]
    # lab's three, lab2's on one of them, lab3's lease on another.
    assert sorted(r[0] for r in s.sql("SELECT claims FROM items")) == [1, 2, 2]
    # Only those who manage the job: 404 for labelers, as if absent.
    expect_error(lab2.post(f"/api/v1/jobs/{jid}/labelers/{lab_id}/reject", {}), 404)
    st, _, body = lead.post(f"/api/v1/jobs/{jid}/labelers/{lab_id}/reject",
                            {"reason": "random answers"})
    assert st == 200 and body["rejected"] == 3 and body["leases_released"] == 0, body
    assert "lab" not in [m["name"] for m in body["members"]]
    assert s.sql("SELECT count(*) FROM judgments WHERE review = 'rejected'")[0][0] == 3
    assert s.sql("SELECT review FROM judgments WHERE id = ?", (theirs,))[0][0] is None
    # Their items have slots again; their judgments left the exports.
    assert sorted(r[0] for r in s.sql("SELECT claims FROM items")) == [0, 1, 1]
    rows, _ = export(lead, jid, "raw")
    assert [r["judgment_id"] for r in rows] == [theirs]
    # They are out of the job: no more tasks, nothing to submit.
    expect_error(lab.post(f"/api/v1/jobs/{jid}/tasks/next"), 404)
    # Retry-safe: again, nothing more changes.
    st, _, body = lead.post(f"/api/v1/jobs/{jid}/labelers/{lab_id}/reject", {})
    assert st == 200 and body["rejected"] == 0, body
    # A labeler holding a lease: it goes back to the pool at once.
    st, _, body = lead.post(f"/api/v1/jobs/{jid}/labelers/{lab3_id}/reject", {})
    assert st == 200 and body["leases_released"] == 1, body
    assert s.sql("SELECT state FROM tasks WHERE id = ?", (lab3_task,))[0][0] == "expired"
    assert sorted(r[0] for r in s.sql("SELECT claims FROM items")) == [0, 0, 1]
    audit = s.sql("SELECT subject, detail FROM audit_log WHERE action = 'labeler_reject' ORDER BY id")
    assert audit[0][0] == f"job:{jid}:labeler:{lab_id}"
    assert json.loads(audit[0][1]) == {"rejected": 3, "leases_released": 0, "reason": "random answers"}
    assert len(export(lead, jid, "preference")[0]) == 1  # lab2's alone
    assert all(r[0] == "rejected" for r in s.sql(
        "SELECT review FROM judgments WHERE id IN (%s)" % ",".join(map(str, mine))))


def test_an_item_page_shows_every_judgment_skip_and_lease():
    from urllib.parse import quote
    s = Server(users=("admin", "lead", "lab", "lab2", "lab3"))
    lead, lab, lab2, lab3 = (s.client(u) for u in ("lead", "lab", "lab2", "lab3"))
    st, _, body = lead.post("/api/v1/jobs", {"name": "items", "questions": [
        {"name": "better", "type": "pairwise"}], "overlap": 3, "randomize_order": False})
    jid = body["job"]["id"]
    odd = "q/../7 問 100%"  # slashes, dots, spaces, a percent sign and CJK
    line = {"id": odd, "prompt": "p", "metadata": {"src": "x"}, "gold": {"better": "a"},
            "responses": [{"id": "a", "model": "m-a", "text": "A"},
                          {"id": "b", "model": "m-b", "text": "B"}]}
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", [line])[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab", "lab2", "lab3"]})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    gid, _ = judge(s, lab, jid, {"better": {"winner": "a"}})
    assert lab.put(f"/api/v1/judgments/{gid}", {"answers": {"better": {"winner": "b"}}})[0] == 200
    t2 = lab2.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]["id"]
    assert lab2.post(f"/api/v1/tasks/{t2}/skip", {"reason": "not my language"})[0] == 200
    t3 = lab3.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]["id"]
    assert lead.post(f"/api/v1/judgments/{gid}/review", {"decision": "accept", "reason": "ok"})[0] == 200
    path = f"/api/v1/jobs/{jid}/items/" + quote(odd, safe="")
    st, _, body = lead.get(path)
    assert st == 200, body
    it = body["item"]
    assert it["item"]["id"] == odd and it["item"]["responses"][0]["model"] == "m-a"
    assert it["item"]["metadata"] == {"src": "x"} and "gold" in it["item"]
    assert (it["judgments"], it["claims"], it["skips"], it["complete"]) == (1, 2, 1, False)
    [g] = body["judgments"]
    assert g["id"] == gid and g["labeler"] == "lab" and g["review"] == "accepted"
    assert [v["answers"]["better"]["winner"] for v in g["versions"]] == ["a", "b"]
    assert g["reviews"][0]["reason"] == "ok" and g["shown_order"] == ["a", "b"]
    assert body["skips"] == [{"task_id": t2, "labeler": "lab2", "reason": "not my language",
                              "at": body["skips"][0]["at"], "released": False}]
    # Three members for overlap 3: lab judged, lab2 skipped, lab3 holds it.
    assert it["key"] == odd and it["status"] == "stuck" and "needs 1 more" in it["stuck"]
    assert [(l["task_id"], l["labeler"]) for l in body["leases"]] == [(t3, "lab3")]
    # An API token with export reads it too; labelers and others get 404.
    secret = lead.post("/api/v1/tokens", {"name": "t", "scopes": ["export"]})[2]["secret"]
    bot = s.client()
    bot.token = secret
    assert bot.get(path)[0] == 200
    for c in (lab, lab2):
        expect_error(c.get(path), 404)
    expect_error(lead.get(f"/api/v1/jobs/{jid}/items/nope"), 404)
    expect_error(lead.get(f"/api/v1/jobs/{jid}/items/" + quote("q/7 問 100%", safe="")), 404)


def test_labelers_flag_items_and_comment_and_leads_see_both():
    s = Server(users=("admin", "lead", "lab", "lab2"))
    lead, lab, lab2 = s.client("lead"), s.client("lab"), s.client("lab2")
    jid = make_job(s, lead, items=2, members=("lab", "lab2"), randomize=False)
    t = lab.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    st, _, body = lab.post(f"/api/v1/tasks/{t['id']}/flag", {"kind": "unsafe", "note": "asks for a weapon"})
    assert st == 201 and [f["kind"] for f in body["flags"]] == ["unsafe"], body
    assert lab.post(f"/api/v1/tasks/{t['id']}/flag", {"kind": "unsafe"})[0] == 200  # retry: kept
    assert lab.post(f"/api/v1/tasks/{t['id']}/flag", {"kind": "broken"})[0] == 201
    for bad, field in (({"kind": "meh"}, "kind"), ({"kind": "other"}, "note"),
                       ({"kind": "other", "note": "  "}, "note"),
                       ({"kind": "broken", "note": "x" * 1001}, "note"), ({}, "kind")):
        expect_error(lab.post(f"/api/v1/tasks/{t['id']}/flag", bad), 422, None, field)
    expect_error(lab2.post(f"/api/v1/tasks/{t['id']}/flag", {"kind": "broken"}), 404)
    assert s.sql("SELECT count(*) FROM flags")[0][0] == 2
    # A comment rides on the judgment; a retry keeps the first.
    st, _, body = lab.post(f"/api/v1/tasks/{t['id']}/judgment", {
        "answers": {"better": {"winner": "a"}}, "comment": "both are bad, a less so"})
    assert st == 201 and body["judgment"]["comment"] == "both are bad, a less so", body
    gid = body["judgment"]["id"]
    st, _, body = lab.post(f"/api/v1/tasks/{t['id']}/judgment", {
        "answers": {"better": {"winner": "a"}}, "comment": "another"})
    assert st == 200 and body["judgment"]["comment"] == "both are bad, a less so", body
    expect_error(lab.post(f"/api/v1/tasks/{t['id']}/judgment", {
        "answers": {"better": {"winner": "a"}}, "comment": "x" * 2001}), 422, None, "comment")
    # The comment alone changes with a revision: no new version.
    st, _, body = lab.put(f"/api/v1/judgments/{gid}", {"answers": {"better": {"winner": "a"}},
                                                       "comment": "on reflection, a is fine"})
    assert st == 200 and body["judgment"]["comment"] == "on reflection, a is fine", body
    assert body["judgment"]["revision"] == 1
    st, _, body = lab.put(f"/api/v1/judgments/{gid}", {"answers": {"better": {"winner": "b"}}})
    assert body["judgment"]["revision"] == 2 and body["judgment"]["comment"] == "on reflection, a is fine"
    st, _, body = lab.put(f"/api/v1/judgments/{gid}", {"answers": {"better": {"winner": "b"}},
                                                       "comment": ""})
    assert body["judgment"]["comment"] is None and body["judgment"]["revision"] == 2
    assert lab.put(f"/api/v1/judgments/{gid}", {"answers": {"better": {"winner": "b"}},
                                                "comment": "kept"})[0] == 200
    # The lead sees both: on the item's page and in the raw export.
    page = lead.get(f"/api/v1/jobs/{jid}/items/{t['item']['id']}")[2]
    assert page["item"]["flags"] == 2
    assert [(f["labeler"], f["kind"], f["note"]) for f in page["flags"]] == \
        [("lab", "unsafe", "asks for a weapon"), ("lab", "broken", None)]
    assert page["judgments"][0]["comment"] == "kept"
    rows, _ = export(lead, jid, "raw")
    assert [(r["comment"], r["flags"]) for r in rows] == [("kept", ["broken", "unsafe"])], rows  # by name
    t2 = lab2.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    judge_id = lab2.post(f"/api/v1/tasks/{t2['id']}/judgment",
                         {"answers": {"better": {"winner": "b"}}})[2]["judgment"]["id"]
    rows, _ = export(lead, jid, "raw")
    row = [r for r in rows if r["judgment_id"] == judge_id][0]
    assert row["comment"] is None and row["flags"] == []
