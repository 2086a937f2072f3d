"""Imports in steps (issue 16): a big import goes in a few thousand items
per write behind the job's gate (schema/010_import_gate.sql), so labelers'
writes go on between its steps and nothing of it shows until its last step
commits. Here the gate is held the way another process's import under way
holds it (rows written straight into the database while the server runs),
so every reader can be checked against it without racing the import."""
import json

from harness import Server, expect_error, item, make_job


def hide_items(s, jid, keys):
    """Commits what an import's first steps leave: the gate at the next id
    and items from there on, not yet shown."""
    nxt = s.sql("SELECT coalesce(max(id), 0) + 1 FROM items")[0][0]
    s.sql("UPDATE jobs SET import_from = ? WHERE id = ?", (nxt, jid))
    for k in keys:
        data = json.dumps(item(k))
        s.sql("INSERT INTO items (job_id, ext_id, data, n_responses, response_ids, created_at)"
              " VALUES (?, ?, ?, 2, '[\"a\",\"b\"]', 0)", (jid, f"q{k}", data))
    return nxt


def visible(s, lead, lab, jid):
    """Every way the job's items are read, as (list keys, counts, stats, leased keys)."""
    st, _, page = lead.get(f"/api/v1/jobs/{jid}/items?limit=100")
    assert st == 200, page
    st, _, job = lead.get(f"/api/v1/jobs/{jid}")
    assert st == 200, job
    st, _, stats = lead.get(f"/api/v1/jobs/{jid}/stats")
    assert st == 200, stats
    leased = []
    for _ in range(10):
        st, _, body = lab.post(f"/api/v1/jobs/{jid}/tasks/next")
        if st != 200:
            break
        leased.append(body["task"]["item"]["id"])
        st, _, _ = lab.post(f"/api/v1/tasks/{body['task']['id']}/skip", {"reason": "checking"})
        assert st in (200, 204), st
    return sorted(r["key"] for r in page["items"]), job["job"]["counts"]["items"], stats, leased


def test_an_unfinished_import_is_hidden_from_every_reader_and_removed_at_start():
    s = Server(users=("admin", "lead", "lab"))
    lead, lab = s.client("lead"), s.client("lab")
    jid = make_job(s, lead, items=3, overlap=1, members=("lab",))
    gate = hide_items(s, jid, range(100, 105))
    keys, count, stats, leased = visible(s, lead, lab, jid)
    assert keys == ["q0", "q1", "q2"], keys
    assert count == 3, count
    assert stats["stats"]["items"]["total"] == 3, stats
    assert sorted(leased) == ["q0", "q1", "q2"], leased
    # The item page, the judges' route and the list's text search do not find them.
    expect_error(lead.get(f"/api/v1/jobs/{jid}/items/q100"), 404)
    st, _, page = lead.get(f"/api/v1/jobs/{jid}/items?q=prompt%20100")
    assert st == 200 and page["items"] == [], page
    st, _, body = lead.post(f"/api/v1/jobs/{jid}/judge-judgments",
                            {"judge": "m", "judgments": [{"item": "q100", "answers": {"better": {"winner": "a"}}}]})
    assert st == 422 or st == 404, (st, body)
    # Another import into the job is refused while the gate is held; one
    # into another job goes on.
    body = expect_error(lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(200)]), 409)
    assert "importing" in body["error"]["message"], body
    other = make_job(s, lead, items=2, overlap=1, members=("lab",))
    assert s.sql("SELECT count(*) FROM items WHERE job_id = ?", (other,)) == [(2,)]
    # The server restarts (the importing process was killed): the items go,
    # the gate opens, the log says so, and the job takes imports again.
    s.stop()
    s2 = Server(users=(), db=s.db)
    assert f"job {jid}: an interrupted import's 5 items were discarded" in s2.output(), s2.output()
    assert s2.sql("SELECT count(*) FROM items WHERE job_id = ? AND id >= ?", (jid, gate)) == [(0,)]
    assert s2.sql("SELECT import_from FROM jobs WHERE id = ?", (jid,)) == [(None,)]
    lead = s2.client("lead")
    st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(100), item(200)])
    assert st == 201 and body["imported"] == 2, body
    st, _, page = lead.get(f"/api/v1/jobs/{jid}/items?limit=100")
    assert sorted(r["key"] for r in page["items"]) == ["q0", "q1", "q100", "q2", "q200"], page


def test_the_last_step_shows_a_big_import_whole_with_one_audit_entry():
    s = Server(users=("admin", "lead", "lab"))
    lead = s.client("lead")
    jid = make_job(s, lead, items=0, overlap=1, members=("lab",), open_job=False)
    n = 4500  # three steps of at most 2,000
    st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(i) for i in range(n)])
    assert st == 201 and body["imported"] == n, body
    assert s.sql("SELECT count(*), min(ext_id IS NOT NULL) FROM items WHERE job_id = ?", (jid,)) == [(n, 1)]
    assert s.sql("SELECT import_from FROM jobs WHERE id = ?", (jid,)) == [(None,)]
    audit = s.sql("SELECT detail FROM audit_log WHERE action = 'items_import' AND subject = ?", (f"job:{jid}",))
    assert [json.loads(d)["items"] for (d,) in audit] == [n], audit
    st, _, job = lead.get(f"/api/v1/jobs/{jid}")
    assert job["job"]["counts"]["items"] == n, job["job"]["counts"]


def test_a_bad_line_after_steps_went_in_leaves_nothing():
    s = Server(users=("admin", "lead", "lab"))
    lead = s.client("lead")
    jid = make_job(s, lead, items=2, overlap=1, members=("lab",))
    # 9,000 good lines (steps of 2,000 go in while the rest is read), then
    # one bad line and one repeating an id: nothing of it stays.
    lines = [item(i) for i in range(10, 9010)] + [{"id": "bad", "prompt": "no responses"}, item(10)]
    body = expect_error(lead.jsonl(f"/api/v1/jobs/{jid}/items", lines), 422)
    assert sorted({e["line"] for e in body["error"]["lines"]}) == [9001, 9002], body
    assert s.sql("SELECT count(*) FROM items WHERE job_id = ?", (jid,)) == [(2,)]
    assert s.sql("SELECT import_from FROM jobs WHERE id = ?", (jid,)) == [(None,)]
    assert s.sql("SELECT count(*) FROM audit_log WHERE action = 'items_import' AND subject = ?",
                 (f"job:{jid}",)) == [(1,)]
    # The same lines without the bad ones go in whole.
    st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items", lines[:9000])
    assert st == 201 and body["imported"] == 9000, body
