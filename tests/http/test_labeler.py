"""The labeler's side of issue 14 (part 3): what is left for them, their
own recent judgments (the labeling page's history, reopened and revised),
and question titles that labelers read instead of answer keys."""
from harness import Server, expect_error, make_job

PAIR = [{"name": "better", "type": "pairwise", "title": "Which response is better?"}]


def lease_and_judge(c, jid, winner="a", comment=None):
    st, _, body = c.post(f"/api/v1/jobs/{jid}/tasks/next")
    assert st == 200, (st, body)
    tid = body["task"]["id"]
    b = {"answers": {"better": {"winner": winner}}}
    if comment is not None:
        b["comment"] = comment
    st, _, body = c.post(f"/api/v1/tasks/{tid}/judgment", b)
    assert st == 201, body
    return tid, body["judgment"]["id"]


def job_of(c, jid):
    st, _, body = c.get(f"/api/v1/jobs/{jid}")
    assert st == 200, body
    return body["job"]


def test_what_is_left_for_a_labeler_counts_down_to_an_exact_zero():
    s = Server(users=("admin", "lead", "lab", "lab2", "lab3"))
    lead, lab, lab2, lab3 = (s.client(n) for n in ("lead", "lab", "lab2", "lab3"))
    jid = make_job(s, lead, questions=PAIR, items=5, overlap=2, members=("lab", "lab2", "lab3"))
    assert job_of(lab, jid)["my_left"] == 5
    assert job_of(lab, jid)["my_judgments"] == 0
    lease_and_judge(lab, jid)
    lease_and_judge(lab, jid)
    j = job_of(lab, jid)
    assert (j["my_judgments"], j["my_left"]) == (2, 3)
    # A skip takes the item out of what is left too.
    st, _, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next")
    assert lab.post(f"/api/v1/tasks/{body['task']['id']}/skip", {})[0] == 200
    assert job_of(lab, jid)["my_left"] == 2
    # lab2 completes the two items lab judged, and judges the others once:
    # 10 slots, 2 + 5 filled: 3 free, but lab can take only the 2 it has
    # not touched.
    for _ in range(5):
        lease_and_judge(lab2, jid)
    assert job_of(lab, jid)["my_left"] == 2
    # lab3 fills what lab could still take: nothing is left for lab, which
    # is exact (the next lease is a 204), while lab3 still sees the item
    # lab skipped... which lab3 also judged: nothing left for lab3 either.
    for _ in range(3):
        lease_and_judge(lab3, jid)
    assert job_of(lab, jid)["my_left"] == 0
    assert lab.post(f"/api/v1/jobs/{jid}/tasks/next")[0] == 204
    assert job_of(lab3, jid)["my_left"] == 0
    assert lab3.post(f"/api/v1/jobs/{jid}/tasks/next")[0] == 204
    # The job list carries the same figure (the home page's Start).
    st, _, body = lab.get("/api/v1/jobs")
    assert [x["my_left"] for x in body["jobs"] if x["id"] == jid] == [0]
    # A rejected judgment frees a slot, but never for its own labeler.
    gid = s.sql(f"SELECT id FROM judgments WHERE labeler_id = (SELECT id FROM users WHERE name = 'lab2')"
                f" ORDER BY id LIMIT 1")[0][0]
    assert lead.post(f"/api/v1/judgments/{gid}/review", {"decision": "reject"})[0] == 200
    assert job_of(lab2, jid)["my_left"] == 0
    assert job_of(lab, jid)["my_left"] == 0  # lab judged that item already
    s.stop()


def test_my_judgments_newest_first_with_a_cursor_then_reopened_and_revised():
    s = Server(users=("admin", "lead", "lab", "lab2"))
    lead, lab, lab2 = s.client("lead"), s.client("lab"), s.client("lab2")
    jid = make_job(s, lead, questions=PAIR, items=7, overlap=2, members=("lab", "lab2"))
    mine = [lease_and_judge(lab, jid, comment="first one" if i == 0 else None) for i in range(5)]
    lease_and_judge(lab2, jid)
    st, _, body = lab.get(f"/api/v1/jobs/{jid}/judgments/mine?limit=2")
    assert st == 200, body
    rows = body["judgments"]
    assert [(r["task_id"], r["id"]) for r in rows] == [mine[4], mine[3]]
    assert body["next"] == mine[3][0]
    r0 = rows[0]
    assert set(r0) == {"id", "task_id", "item_id", "revision", "submitted_at", "updated_at",
                       "review", "excerpt", "comment"}
    assert r0["revision"] == 1 and r0["review"] is None and r0["excerpt"].startswith("prompt ")
    got = []
    cursor = None
    while True:
        q = f"?limit=2&before={cursor}" if cursor else "?limit=2"
        body = lab.get(f"/api/v1/jobs/{jid}/judgments/mine{q}")[2]
        got += [(r["task_id"], r["id"]) for r in body["judgments"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert got == mine[::-1]
    assert lab.get(f"/api/v1/jobs/{jid}/judgments/mine")[2]["judgments"][-1]["comment"] == "first one"
    # Only one's own: lab2 sees its one judgment, never lab's.
    body = lab2.get(f"/api/v1/jobs/{jid}/judgments/mine")[2]
    assert len(body["judgments"]) == 1 and body["next"] is None
    # Reopen (the task with its judgment) and revise.
    tid, gid = mine[1]
    st, _, body = lab.get(f"/api/v1/tasks/{tid}?html=1")
    assert st == 200 and body["judgment"]["answers"] == {"better": {"winner": "a"}}
    assert "html" in body["task"]["item"]["responses"][0]
    st, _, body = lab.put(f"/api/v1/judgments/{gid}", {"answers": {"better": {"winner": "b"}},
                                                       "comment": "changed my mind"})
    assert st == 200, body
    row = [r for r in lab.get(f"/api/v1/jobs/{jid}/judgments/mine")[2]["judgments"] if r["id"] == gid][0]
    assert (row["revision"], row["comment"]) == (2, "changed my mind")
    # A rejection shows in the list.
    assert lead.post(f"/api/v1/judgments/{mine[2][1]}/review", {"decision": "reject"})[0] == 200
    row = [r for r in lab.get(f"/api/v1/jobs/{jid}/judgments/mine")[2]["judgments"] if r["id"] == mine[2][1]][0]
    assert row["review"] == "rejected"
    # Hostile and wrong queries: a 422 naming the parameter; other jobs 404.
    for q, field in (("?limit=0", "limit"), ("?limit=101", "limit"), ("?limit=x", "limit"),
                     ("?before=-1", "before"), ("?before=1e3", "before"), ("?befor=3", "befor"),
                     ("?limit=%ZZ", None), ("?limit=1%00", "limit")):
        st, _, body = lab.get(f"/api/v1/jobs/{jid}/judgments/mine{q}")
        assert st == 422, (q, st, body)
        if field:
            assert body["error"]["field"] == field, (q, body)
    expect_error(lab.get("/api/v1/jobs/999/judgments/mine"), 404)
    other = make_job(s, lead, questions=PAIR, items=1, members=("lab2",))
    expect_error(lab.get(f"/api/v1/jobs/{other}/judgments/mine"), 404)
    # An API token is not a labeler's browser: the loop's routes refuse it.
    st, _, body = lead.post("/api/v1/tokens", {"name": "t", "scopes": ["export", "write"]})
    assert st == 201, body
    tok = s.client()
    tok.token = body["secret"]
    assert tok.get(f"/api/v1/jobs/{jid}")[0] == 200  # the token works...
    expect_error(tok.get(f"/api/v1/jobs/{jid}/judgments/mine"), 403)  # ... but not here
    s.stop()


def test_titles_are_what_labelers_read_and_wording_may_change_after_judgments():
    s = Server(users=("admin", "lead", "lab"))
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, questions=PAIR, items=3, members=("lab",))
    q = job_of(lab, jid)["questions"][0]
    assert (q["name"], q["title"]) == ("better", "Which response is better?")
    # Bad titles: a 422 naming the field; a blank title is no title.
    for bad, why in ((1, "wrong_type"), ("x" * 301, None)):
        st, _, body = lead.patch(f"/api/v1/jobs/{jid}", {"questions": [{**PAIR[0], "title": bad}]})
        assert st == 422 and body["error"]["field"] == "questions[0].title", body
    st, _, body = lead.patch(f"/api/v1/jobs/{jid}", {"questions": [{**PAIR[0], "title": "  "}]})
    assert st == 200 and "title" not in body["job"]["questions"][0], body
    lease_and_judge(lab, jid)
    st, _, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next")
    held = body["task"]["id"]
    rev = s.sql(f"SELECT questions_rev FROM jobs WHERE id = {jid}")[0][0]
    # After a judgment: the title and help may change (the wording)...
    st, _, body = lead.patch(f"/api/v1/jobs/{jid}", {"questions": [
        {**PAIR[0], "title": "Which answer helps more?", "help": "Ignore length."}]})
    assert st == 200, body
    assert body["job"]["questions"][0]["title"] == "Which answer helps more?"
    assert s.sql(f"SELECT questions_rev FROM jobs WHERE id = {jid}")[0][0] == rev
    # ... and a task leased before still submits.
    st, _, body = lab.post(f"/api/v1/tasks/{held}/judgment", {"answers": {"better": {"winner": "b"}}})
    assert st == 201, body
    # A rule's models cannot be blank.
    for f in ("candidate", "baseline"):
        rule = {"question": "better", "candidate": "m1", "baseline": "m0", f: " "}
        expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": rule}), 422, None, f"acceptance.{f}")
    # Anything else is still refused, and changes nothing.
    st, _, body = lead.patch(f"/api/v1/jobs/{jid}", {"questions": [
        {**PAIR[0], "title": "New", "allow_tie": True}]})
    assert st == 409, body
    assert job_of(lead, jid)["questions"][0]["title"] == "Which answer helps more?"
    s.stop()
