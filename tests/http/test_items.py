"""The items list (issue 14, part 1): filters, sorts, cursors, stuck items
and releasing skips."""
import time
from urllib.parse import quote

from harness import Server, expect_error, item, make_job

RATE = [{"name": "better", "type": "pairwise", "allow_tie": True},
        {"name": "good", "type": "rating", "scale": {"min": 1, "max": 5}, "per_response": True}]


def keys(page):
    return [i["key"] for i in page["items"]]


def listing(c, jid, query=""):
    st, _, body = c.get(f"/api/v1/jobs/{jid}/items?{query}")
    assert st == 200, (query, body)
    return body


def judge(lab, jid, answers, comment=None):
    st, _, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next")
    assert st == 200, body
    t = body["task"]
    b = {"answers": answers(t) if callable(answers) else answers}
    if comment:
        b["comment"] = comment
    st, _, body = lab.post(f"/api/v1/tasks/{t['id']}/judgment", b)
    assert st == 201, body
    return t, body["judgment"]["id"]


def test_filters_sorts_and_counts_combine():
    s = Server(users=("admin", "lead", "lab", "lab2", "lab3"))
    lead = s.client("lead")
    labs = [s.client(n) for n in ("lab", "lab2", "lab3")]
    st, _, body = lead.post("/api/v1/jobs", {"name": "browse", "questions": RATE, "overlap": 3,
                                             "randomize_order": False})
    jid = body["job"]["id"]
    lines = [item(0, metadata={"lang": "de", "level": 3}, prompt="Wie spät ist es? 100%_sure"),
             item(1, metadata={"lang": "fr", "level": 2}),
             item(2, metadata={"lang": "de", "level": 2}),
             item(3, metadata={"note": "prompt 0 is mentioned here only"})]
    lines[1]["responses"][1]["model"] = "gpt-x"
    lines[2]["responses"][0]["text"] = "Das ist eine ANTWORT mit Umlauten: äöü"
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", lines)[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab", "lab2", "lab3"]})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200

    # Untouched at first, in id order, with an excerpt and the models.
    page = listing(lead, jid)
    assert keys(page) == ["q0", "q1", "q2", "q3"] and page["next"] is None
    first = page["items"][0]
    assert first["status"] == "untouched" and first["excerpt"].startswith("Wie spät")
    assert first["models"] == ["m0", "m1"] and first["disagreement"] is None
    assert first["counts"] == {"judgments": 0, "leases": 0, "skips": 0, "flags": 0}

    # q0 (leased first, not randomized): a, a, b -> 2 of 3 pairs disagree
    # on the winner; ratings 5/1, 5/1, 1/5 -> per response 2/3 of the
    # scale apart on average... computed below from the definition.
    ans = [{"better": {"winner": "a"}, "good": {"a": 5, "b": 1}},
           {"better": {"winner": "a"}, "good": {"a": 5, "b": 1}},
           {"better": {"winner": "b"}, "good": {"a": 1, "b": 5}}]
    gids = []
    for lab, a in zip(labs, ans):
        t, gid = judge(lab, jid, a)
        assert t["item"]["id"] == "q0"
        gids.append(gid)
    # q1: all three agree.
    for lab in labs:
        t, _ = judge(lab, jid, {"better": {"winner": "a"}, "good": {"a": 4, "b": 2}})
        assert t["item"]["id"] == "q1"
    # q2: one judgment and one skip; lab3 flags it and holds a lease.
    t, _ = judge(labs[0], jid, {"better": {"winner": "tie"}, "good": {"a": 3, "b": 3}})
    assert t["item"]["id"] == "q2"
    t2 = labs[1].post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    assert labs[1].post(f"/api/v1/tasks/{t2['id']}/skip", {"reason": "no German"})[0] == 200
    t3 = labs[2].post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    assert t3["item"]["id"] == "q2"
    assert labs[2].post(f"/api/v1/tasks/{t3['id']}/flag", {"kind": "broken"})[0] == 201

    page = listing(lead, jid)
    by = {i["key"]: i for i in page["items"]}
    pair_winner = 2 / 3
    pair_rating = (0 + 1 + 1) / 3  # |5-1|/4 per response: 0, 1, 1
    assert abs(by["q0"]["disagreement"] - (pair_winner + pair_rating) / 2) < 1e-9
    assert by["q1"]["disagreement"] == 0.0
    assert by["q0"]["status"] == by["q1"]["status"] == "complete"
    # q2 needs one more judgment than its lease, and of the three members
    # lab judged it, lab2 skipped it and lab3 holds it: stuck.
    assert by["q2"]["status"] == "stuck" and by["q3"]["status"] == "untouched", by
    assert by["q2"]["counts"] == {"judgments": 1, "leases": 1, "skips": 1, "flags": 1}
    assert by["q0"]["review"] == {"pending": 3, "accepted": 0, "rejected": 0}

    # Each filter alone.
    assert keys(listing(lead, jid, "status=complete")) == ["q0", "q1"]
    assert keys(listing(lead, jid, "status=untouched")) == ["q3"]
    assert keys(listing(lead, jid, "status=in_progress")) == []
    assert keys(listing(lead, jid, "status=stuck")) == ["q2"]
    assert keys(listing(lead, jid, "q=" + quote("ANTWORT mit"))) == ["q2"]
    assert keys(listing(lead, jid, "q=antwort")) == ["q2"]          # ASCII case folds
    assert keys(listing(lead, jid, "q=" + quote("äöü"))) == ["q2"]
    assert keys(listing(lead, jid, "q=" + quote("100%_sure"))) == ["q0"]  # LIKE's wildcards are text
    assert keys(listing(lead, jid, "q=" + quote("%"))) == ["q0"]
    # The text of the prompt and responses only, never metadata or ids.
    assert keys(listing(lead, jid, "q=" + quote("prompt 0"))) == []
    assert keys(listing(lead, jid, "q=q1")) == []
    assert keys(listing(lead, jid, "metadata.lang=de")) == ["q0", "q2"]
    assert keys(listing(lead, jid, "metadata.level=2")) == ["q1", "q2"]
    assert keys(listing(lead, jid, "metadata.lang=d")) == []
    assert keys(listing(lead, jid, "model=gpt-x")) == ["q1"]
    assert keys(listing(lead, jid, "model=gpt")) == []
    assert keys(listing(lead, jid, "labeler=lab2")) == ["q0", "q1"]
    assert keys(listing(lead, jid, "labeler=lab")) == ["q0", "q1", "q2"]
    assert keys(listing(lead, jid, "min_disagreement=0.5")) == ["q0"]
    assert keys(listing(lead, jid, "min_disagreement=0")) == ["q0", "q1"]
    assert keys(listing(lead, jid, "has_skips=true")) == ["q2"]
    assert keys(listing(lead, jid, "has_skips=false")) == ["q0", "q1", "q3"]
    assert keys(listing(lead, jid, "has_flags=true")) == ["q2"]
    assert keys(listing(lead, jid, "review=pending")) == ["q0", "q1", "q2"]

    # Review states: accept q1's three, reject one of q0's. (The pauses
    # only make the activity times distinct for the sort by activity.)
    q1 = lead.get(f"/api/v1/jobs/{jid}/items/q1")[2]
    time.sleep(0.01)
    for g in q1["judgments"]:
        assert lead.post(f"/api/v1/judgments/{g['id']}/review", {"decision": "accept"})[0] == 200
    time.sleep(0.01)
    assert lead.post(f"/api/v1/judgments/{gids[2]}/review", {"decision": "reject"})[0] == 200
    assert keys(listing(lead, jid, "review=accepted")) == ["q1"]
    assert keys(listing(lead, jid, "review=rejected")) == ["q0"]
    assert keys(listing(lead, jid, "review=pending")) == ["q0", "q2"]
    # The rejected one no longer counts: q0's two left agree.
    by = {i["key"]: i for i in listing(lead, jid)["items"]}
    # and it is stuck: lab3, whose judgment it was, may not take it again.
    assert by["q0"]["disagreement"] == 0.0 and by["q0"]["status"] == "stuck"
    assert by["q0"]["review"] == {"pending": 2, "accepted": 0, "rejected": 1}
    assert keys(listing(lead, jid, "labeler=lab3")) == ["q1"]  # counted judgments only

    # Filters combine (AND).
    assert keys(listing(lead, jid, "metadata.lang=de&status=stuck")) == ["q0", "q2"]
    assert keys(listing(lead, jid, "metadata.lang=de&status=in_progress")) == []
    assert keys(listing(lead, jid, "metadata.level=3&status=stuck&review=rejected")) == ["q0"]
    assert keys(listing(lead, jid, "metadata.lang=de&metadata.level=3")) == ["q0"]
    assert keys(listing(lead, jid, "metadata.lang=de&has_skips=true&review=pending")) == ["q2"]
    assert keys(listing(lead, jid, "model=gpt-x&review=accepted&status=complete")) == ["q1"]
    assert keys(listing(lead, jid, "model=gpt-x&review=pending")) == []

    # Sorts: by disagreement (most first; only items with a figure), by
    # last activity (latest first).
    assert keys(listing(lead, jid, "sort=disagreement")) == ["q1", "q0"]  # both 0: id desc
    assert keys(listing(lead, jid, "sort=activity")) == ["q0", "q1", "q2"]
    # Every parameter is checked: a clear 422 naming it, nothing else read.
    for bad, field in (("status=done", "status"), ("sort=random", "sort"), ("limit=0", "limit"),
                       ("limit=501", "limit"), ("min_disagreement=2", "min_disagreement"),
                       ("min_disagreement=nan", "min_disagreement"), ("has_skips=yes", "has_skips"),
                       ("review=maybe", "review"), ("labeler=nobody", "labeler"),
                       ("colour=red", "colour"), ("q=", "q"), ("q=" + "x" * 201, "q"),
                       ("metadata.=x", "metadata."), ("cursor=i.x", "cursor"),
                       ("cursor=d.0.5.3", "cursor"), ("sort=disagreement&cursor=i.3", "cursor"),
                       ("q=%zz", "query"), ("q=%00", "query"), ("q=%ff", "query")):
        expect_error(lead.get(f"/api/v1/jobs/{jid}/items?{bad}"), 422, field=field)
    # Labelers cannot list items.
    st, _, _ = labs[0].get(f"/api/v1/jobs/{jid}/items")
    assert st in (403, 404)


def test_a_stuck_item_says_why_and_is_released_for_its_skippers():
    s = Server(users=("admin", "lead", "lab", "lab2", "lab3"))
    lead, lab, lab2 = s.client("lead"), s.client("lab"), s.client("lab2")
    jid = make_job(s, lead, items=2, overlap=2, members=("lab", "lab2"), randomize=False)
    t, _ = judge(lab, jid, {"better": {"winner": "a"}})
    assert t["item"]["id"] == "q0"
    t2 = lab2.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    assert t2["item"]["id"] == "q0"
    assert lab2.post(f"/api/v1/tasks/{t2['id']}/skip", {"reason": "unclear"})[0] == 200
    # q0 needs one more judgment; lab judged it and lab2 skipped it.
    page = listing(lead, jid, "status=stuck")
    assert keys(page) == ["q0"] and page["items"][0]["status"] == "stuck"
    detail = lead.get(f"/api/v1/jobs/{jid}/items/q0")[2]
    assert detail["item"]["status"] == "stuck"
    assert "needs 1 more judgment" in detail["item"]["stuck"]
    assert "0 of the job's 2 members" in detail["item"]["stuck"]
    # Adding a member unsticks it, removing them sticks it again.
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab", "lab2", "lab3"]})[0] == 200
    assert keys(listing(lead, jid, "status=stuck")) == []
    assert keys(listing(lead, jid, "status=in_progress")) == ["q0"]
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab", "lab2"]})[0] == 200
    assert keys(listing(lead, jid, "status=stuck")) == ["q0"]
    # lab2 meanwhile takes q1; releasing q0's skip lets them take q0 again.
    t3 = lab2.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    assert t3["item"]["id"] == "q1"
    assert lab2.post(f"/api/v1/tasks/{t3['id']}/judgment", {"answers": {"better": {"winner": "b"}}})[0] == 201
    assert lab2.post(f"/api/v1/jobs/{jid}/tasks/next")[0] == 204
    expect_error(lead.post(f"/api/v1/jobs/{jid}/items/release", {"items": ["q0", "nope"]}), 422,
                 field="items[1]")
    expect_error(lead.post(f"/api/v1/jobs/{jid}/items/release", {"items": []}), 422, field="items")
    expect_error(lab.post(f"/api/v1/jobs/{jid}/items/release", {"items": ["q0"]}), 403)
    assert s.sql("SELECT state FROM tasks WHERE id = ?", (t2["id"],)) == [("skipped",)]
    st, _, body = lead.post(f"/api/v1/jobs/{jid}/items/release", {"items": ["q0"]})
    assert st == 200 and body == {"released": 1}, body
    assert lead.post(f"/api/v1/jobs/{jid}/items/release", {"items": ["q0"]})[2] == {"released": 0}
    assert keys(listing(lead, jid, "status=stuck")) == []
    detail = lead.get(f"/api/v1/jobs/{jid}/items/q0")[2]
    assert detail["skips"][0]["released"] is True and detail["skips"][0]["reason"] == "unclear"
    assert detail["item"]["skips"] == 0 and detail["item"]["stuck"] is None
    t4 = lab2.post(f"/api/v1/jobs/{jid}/tasks/next")[2]["task"]
    assert t4["item"]["id"] == "q0"
    assert s.sql("SELECT count(*) FROM audit_log WHERE action = 'item_release'")[0][0] == 2
    # Fewer members than the overlap: every unfinished item is stuck.
    j2 = make_job(s, lead, items=2, overlap=3, members=("lab", "lab2"))
    assert keys(listing(lead, j2, "status=stuck")) == ["q0", "q1"]


def test_the_cursor_pages_through_10000_items_without_a_gap_or_a_duplicate():
    s = Server(users=("admin", "lead", "lab"))
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, items=0, members=("lab",), randomize=False, open_job=False)
    lines = [item(i, metadata={"even": i % 2 == 0}) for i in range(10000)]
    st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", lines)
    assert st == 201 and body["imported"] == 10000, body
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    # Judge some, so the other sorts have items.
    for _ in range(30):
        judge(lab, jid, {"better": {"winner": "a"}})
    for query, expect in (("limit=500", [f"q{i}" for i in range(10000)]),
                          ("limit=333&metadata.even=true", [f"q{i}" for i in range(0, 10000, 2)]),
                          ("limit=7&sort=activity", [f"q{i}" for i in range(29, -1, -1)])):
        seen, cursor, pages = [], None, 0
        while True:
            page = listing(lead, jid, query + (f"&cursor={quote(cursor)}" if cursor else ""))
            seen += keys(page)
            pages += 1
            cursor = page["next"]
            if cursor is None:
                break
            assert pages < 2000
        assert seen == expect, query
    # A filter that matches rarely reads a bounded window per request and
    # says where to read on.
    page = listing(lead, jid, "q=" + quote("answer 1 to 9999"))
    assert page["items"] == [] and page["scanned"] == 5000 and page["next"]
    page = listing(lead, jid, "q=" + quote("answer 1 to 9999") + "&cursor=" + quote(page["next"]))
    assert keys(page) == ["q9999"]
