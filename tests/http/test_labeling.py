"""The labeling loop over HTTP: leasing, overlap, expiry, judgments
(validation, retries, late submits, revisions), skips, progress, and
other labelers' tasks."""
import json
import time

from harness import Server, expect_error, item, make_job, PAIRWISE

LABS = ("admin", "lead", "lab", "lab2", "lab3", "lab4")


def lease(c, jid):
    st, _, body = c.post(f"/api/v1/jobs/{jid}/tasks/next")
    assert st in (200, 204), (st, body)
    return body["task"] if st == 200 else None


def submit(c, task, answers):
    return c.post(f"/api/v1/tasks/{task['id']}/judgment", {"answers": answers})


def test_overlap_3_with_4_labelers():
    s = Server(users=LABS)
    lead = s.client("lead")
    labs = [s.client(u) for u in ("lab", "lab2", "lab3", "lab4")]
    jid = make_job(s, lead, items=5, overlap=3, members=("lab", "lab2", "lab3", "lab4"))
    done = {c: 0 for c in labs}
    progress = True
    while progress:
        progress = False
        for c in labs:
            t = lease(c, jid)
            if t is None:
                continue
            assert submit(c, t, {"better": {"winner": "a"}})[0] == 201
            done[c] += 1
            progress = True
    per_item = s.sql("SELECT item_id, count(*) FROM judgments GROUP BY item_id")
    assert len(per_item) == 5 and all(n == 3 for _, n in per_item), per_item
    assert sum(done.values()) == 15
    assert s.sql("SELECT count(*) FROM (SELECT item_id, labeler_id FROM judgments"
                 " GROUP BY 1, 2 HAVING count(*) > 1)") == [(0,)]
    assert all(lease(c, jid) is None for c in labs)  # 204 for everyone now
    st, _, body = lead.get(f"/api/v1/jobs/{jid}/stats")
    stats = body["stats"]
    assert stats["items"] == {"total": 5, "complete": 5, "in_progress": 0, "untouched": 0}
    assert stats["judgments"] == 15 and stats["last_hour"]["judgments"] == 15
    assert sum(stats["last_hour"]["per_minute"]) == 15 and len(stats["last_hour"]["per_minute"]) == 60
    assert sorted(l["judgments"] for l in stats["labelers"]) == sorted(done.values())
    assert all(l["median_seconds"] >= 0 for l in stats["labelers"])


def test_leasing_order_same_lease_and_shown_order():
    s = Server(users=LABS)
    lead, lab, lab2 = s.client("lead"), s.client("lab"), s.client("lab2")
    jid = make_job(s, lead, items=4, overlap=2, members=("lab", "lab2"),
                   questions=[{"name": "order", "type": "rank"}], n_responses=3)
    t1 = lease(lab, jid)
    # Asking again while holding a live lease returns that same task.
    assert lease(lab, jid)["id"] == t1["id"]
    # The item closest to completion comes first: lab2 gets lab's item.
    t2 = lease(lab2, jid)
    assert t2["item"]["id"] == t1["item"]["id"] and t2["id"] != t1["id"]
    # The task is blind: ids and texts only.
    assert set(t1["item"]) == {"id", "prompt", "responses"}
    assert all(set(r) == {"id", "text"} for r in t1["item"]["responses"])
    # Shown orders are random per task and recorded.
    orders = set()
    for c in (lab, lab2):
        for _ in range(4):
            t = lease(c, jid)
            if t is None:
                break
            shown = [r["id"] for r in t["item"]["responses"]]
            orders.add(tuple(shown))
            st, _, body = submit(c, t, {"order": sorted(shown)})
            assert st == 201 and body["judgment"]["shown_order"] == shown, body
            stored = json.loads(s.sql("SELECT shown FROM tasks WHERE id = ?", (t["id"],))[0][0])
            assert [chr(97 + k) for k in stored] == shown
    assert len(orders) > 1, orders
    assert s.sql("SELECT count(*) FROM judgments") == [(8,)]


def test_expired_lease_returns_item_to_pool_and_late_submits():
    s = Server(users=LABS)
    lead, lab, lab2 = s.client("lead"), s.client("lab"), s.client("lab2")
    jid = make_job(s, lead, items=1, overlap=1, members=("lab", "lab2"), lease=2)
    t1 = lease(lab, jid)
    assert lease(lab2, jid) is None  # the only slot is leased
    time.sleep(2.3)
    t2 = lease(lab2, jid)  # expired: back in the pool
    assert t2 is not None and t2["item"]["id"] == t1["item"]["id"]
    assert s.sql("SELECT state FROM tasks WHERE id = ?", (t1["id"],)) == [("expired",)]
    # lab's late submit: the item no longer needs a judgment (lab2 holds it).
    expect_error(submit(lab, t1, {"better": {"winner": "a"}}), 409)
    assert submit(lab2, t2, {"better": {"winner": "b"}})[0] == 201
    assert s.sql("SELECT count(*) FROM judgments") == [(1,)]
    # A late submit is accepted while the item still needs it.
    jid2 = make_job(s, lead, items=1, overlap=1, members=("lab",), lease=2)
    t3 = lease(lab, jid2)
    time.sleep(2.3)
    lease(lab2, jid)  # any lease sweeps only its own job; jid2's lease expires by time
    st, _, body = submit(lab, t3, {"better": {"winner": "a"}})
    assert st == 201, body
    assert s.sql("SELECT claims, judged FROM items WHERE job_id = ?", (jid2,)) == [(1, 1)]
    assert lease(lab, jid2) is None


def test_retried_submit_returns_the_first_judgment():
    s = Server()
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead)
    t = lease(lab, jid)
    st1, _, b1 = submit(lab, t, {"better": {"winner": "a"}})
    st2, _, b2 = lab.post(f"/api/v1/tasks/{t['id']}/judgment",
                          {"answers": {"better": {"winner": "a"}}})
    assert (st1, st2) == (201, 200)
    assert b1["judgment"]["id"] == b2["judgment"]["id"]
    assert b1["judgment"]["submitted_at"] == b2["judgment"]["submitted_at"]
    # Other answers for the same task are a conflict, not a second judgment.
    expect_error(submit(lab, t, {"better": {"winner": "b"}}), 409)
    assert s.sql("SELECT count(*) FROM judgments") == [(1,)]
    assert s.sql("SELECT answers FROM judgments") == [('{"better":{"winner":"a"}}',)]


QUESTIONS = [
    {"name": "better", "type": "pairwise", "allow_tie": True, "strength": 3},
    {"name": "order", "type": "rank", "allow_ties": False},
    {"name": "helpful", "type": "rating", "per_response": True,
     "scale": {"min": 1, "max": 5, "labels": {"1": "useless", "5": "great"}}},
    {"name": "safe", "type": "rating", "per_response": False, "scale": "thumbs"},
    {"name": "edit", "type": "text", "prefill": "response:a", "min_chars": 3,
     "required": False},
    {"name": "flags", "type": "labels", "options": ["harmful", "wrong_fact"],
     "multiple": True},
]
GOOD = {"better": {"winner": "a", "strength": 2}, "order": ["b", "a"],
        "helpful": {"a": 5, "b": 2}, "safe": True, "edit": "A better answer.",
        "flags": ["wrong_fact"]}


def test_answers_are_checked_exactly_and_bad_ones_store_nothing():
    s = Server()
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, questions=QUESTIONS, items=2)
    t = lease(lab, jid)
    cases = [
        ({"order": ["a", "a"]}, "answers.order"),               # not a permutation
        ({"order": ["a"]}, "answers.order"),                    # missing one
        ({"order": [["a", "b"]]}, "answers.order"),             # ties not allowed
        ({"helpful": {"a": 6, "b": 2}}, "answers.helpful.a"),   # off the scale
        ({"helpful": {"a": 5}}, "answers.helpful.b"),           # a response not rated
        ({"safe": 1}, "answers.safe"),                          # thumbs are booleans
        ({"better": {"winner": "c", "strength": 1}}, "answers.better.winner"),
        ({"better": {"winner": "a"}}, "answers.better.strength"),
        ({"better": {"winner": "tie", "strength": 1}}, "answers.better.strength"),
        ({"edit": "ab"}, "answers.edit"),                       # under min_chars
        ({"flags": ["rude"]}, "answers.flags"),
        ({"flags": ["harmful", "harmful"]}, "answers.flags"),
        ({"bogus": 1}, "answers.bogus"),                        # unknown question
    ]
    for change, field in cases:
        answers = dict(GOOD, **change)
        body = expect_error(submit(lab, t, answers), 422, "invalid")
        assert any(p["field"] == field for p in body["error"]["problems"]), (change, body)
    missing = dict(GOOD)
    del missing["order"]
    expect_error(submit(lab, t, missing), 422, field="answers.order")
    expect_error(lab.post(f"/api/v1/tasks/{t['id']}/judgment", {"answer": GOOD}), 422,
                 field="answer")
    assert s.sql("SELECT count(*) FROM judgments") == [(0,)]
    assert s.sql("SELECT state FROM tasks") == [("leased",)]
    # Optional questions may be left out; the good answer is stored.
    good = dict(GOOD)
    del good["edit"]
    st, _, body = submit(lab, t, good)
    assert st == 201 and body["judgment"]["answers"] == good, body
    # A text answer on a closed job is refused and stores nothing.
    t2 = lease(lab, jid)
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "closed"})[0] == 200
    expect_error(submit(lab, t2, dict(GOOD, edit="too late now")), 409)
    assert s.sql("SELECT count(*) FROM judgments") == [(1,)]
    # Grouped ties are accepted where allowed.
    tie_q = [{"name": "order", "type": "rank", "allow_ties": True}]
    jid2 = make_job(s, lead, questions=tie_q, items=1, n_responses=3)
    t3 = lease(lab, jid2)
    assert submit(lab, t3, {"order": [["b"], ["a", "c"]]})[0] == 201


def test_skip_revise_and_history():
    s = Server()
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, items=2)
    t = lease(lab, jid)
    st, _, body = lab.post(f"/api/v1/tasks/{t['id']}/skip", {"reason": "not my language"})
    assert st == 200 and body["task"]["state"] == "skipped"
    assert lab.post(f"/api/v1/tasks/{t['id']}/skip", {})[0] == 200  # retried skip
    assert s.sql("SELECT state, skip_reason FROM tasks") == [("skipped", "not my language")]
    expect_error(submit(lab, t, {"better": {"winner": "a"}}), 409)
    t2 = lease(lab, jid)
    assert t2["item"]["id"] != t["item"]["id"]  # never an item skipped
    assert lease(lab, jid)["id"] == t2["id"]
    st, _, body = submit(lab, t2, {"better": {"winner": "a"}})
    jg = body["judgment"]["id"]
    expect_error(lab.post(f"/api/v1/tasks/{t2['id']}/skip", {}), 409)
    assert lease(lab, jid) is None
    # Revisions keep earlier versions.
    st, _, body = lab.put(f"/api/v1/judgments/{jg}", {"answers": {"better": {"winner": "b"}}})
    assert st == 200 and body["judgment"]["revision"] == 2, body
    assert [v["answers"]["better"]["winner"] for v in body["judgment"]["versions"]] == ["a", "b"]
    assert lab.put(f"/api/v1/judgments/{jg}", {"answers": {"better": {"winner": "b"}}})[2][
        "judgment"]["revision"] == 2  # the same revision again changes nothing
    expect_error(lab.put(f"/api/v1/judgments/{jg}", {"answers": {"better": {"winner": "z"}}}),
                 422, field="answers.better.winner")
    st, _, body = lab.get(f"/api/v1/tasks/{t2['id']}")
    assert body["judgment"]["revision"] == 2
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "paused"})[0] == 200
    expect_error(lab.put(f"/api/v1/judgments/{jg}", {"answers": {"better": {"winner": "a"}}}), 409)
    expect_error(lab.post(f"/api/v1/jobs/{jid}/tasks/next"), 409)
    assert s.sql("SELECT revision, answers FROM judgments") == [(2, '{"better":{"winner":"b"}}')]
    assert s.sql("SELECT revision FROM judgment_versions") == [(1,)]
    # The lead sees the judgment with its labeler; stats count the skip.
    st, _, body = lead.get(f"/api/v1/judgments/{jg}")
    assert st == 200 and body["judgment"]["labeler"] == "lab"
    stats = lead.get(f"/api/v1/jobs/{jid}/stats")[2]["stats"]
    assert stats["skips"] == 1 and stats["labelers"][0]["skips"] == 1
    assert stats["items"]["complete"] == 1 and stats["items"]["untouched"] == 1


def test_other_labelers_tasks_are_not_found():
    s = Server(users=("admin", "lead", "lab", "lab2"))
    lead, lab, lab2 = s.client("lead"), s.client("lab"), s.client("lab2")
    jid = make_job(s, lead, members=("lab", "lab2"))
    t = lease(lab, jid)
    expect_error(lab2.get(f"/api/v1/tasks/{t['id']}"), 404)
    expect_error(submit(lab2, t, {"better": {"winner": "a"}}), 404)
    expect_error(lab2.post(f"/api/v1/tasks/{t['id']}/skip", {}), 404)
    expect_error(lab2.get("/api/v1/tasks/99999"), 404)
    st, _, body = submit(lab, t, {"better": {"winner": "a"}})
    jg = body["judgment"]["id"]
    expect_error(lab2.get(f"/api/v1/judgments/{jg}"), 404)
    expect_error(lab2.put(f"/api/v1/judgments/{jg}", {"answers": {"better": {"winner": "b"}}}),
                 404)
    assert s.sql("SELECT count(*), max(revision) FROM judgments") == [(1, 1)]
    # Removed from the job: no more tasks, and no more submits.
    t2 = lease(lab2, jid)
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab"]})[0] == 200
    expect_error(lab2.post(f"/api/v1/jobs/{jid}/tasks/next"), 404)
    expect_error(submit(lab2, t2, {"better": {"winner": "a"}}), 403)
    # A lead who is not a member cannot lease.
    expect_error(lead.post(f"/api/v1/jobs/{jid}/tasks/next"), 403)
    # CSRF still guards the loop.
    lab.csrf = "wrong"
    expect_error(lab.post(f"/api/v1/jobs/{jid}/tasks/next"), 403, "csrf")


def test_prefetch_holds_at_most_two_leases():
    s = Server(users=LABS)
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, items=4, overlap=1, members=("lab",))
    a = lease(lab, jid)
    # The page prefetches the task after the one on screen.
    st, _, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next?after={a['id']}")
    assert st == 200
    b = body["task"]
    assert b["id"] != a["id"] and b["item"]["id"] != a["item"]["id"]
    # Asking again (a reload) gives the same two: the oldest first.
    assert lease(lab, jid)["id"] == a["id"]
    assert lab.post(f"/api/v1/jobs/{jid}/tasks/next?after={a['id']}")[2]["task"]["id"] == b["id"]
    assert lab.post(f"/api/v1/jobs/{jid}/tasks/next?after={b['id']}")[2]["task"]["id"] == a["id"]
    assert s.sql("SELECT count(*) FROM tasks WHERE state = 'leased'") == [(2,)]
    # After the submit, the prefetched task is the next, and the next
    # prefetch is a third item.
    assert submit(lab, a, {"better": {"winner": "a"}})[0] == 201
    assert lease(lab, jid)["id"] == b["id"]
    c = lab.post(f"/api/v1/jobs/{jid}/tasks/next?after={b['id']}")[2]["task"]
    assert c["item"]["id"] not in (a["item"]["id"], b["item"]["id"])
    # A bad `after` is refused and leases nothing.
    for bad in ("x", "-1", "0", "1e3", ""):
        expect_error(lab.post(f"/api/v1/jobs/{jid}/tasks/next?after={bad}"), 422, field="after")
    assert s.sql("SELECT count(*) FROM tasks WHERE state = 'leased'") == [(2,)]
