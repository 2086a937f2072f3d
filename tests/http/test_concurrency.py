"""32 labelers leasing and submitting at once against one job: overlap is
never exceeded, and no judgment is lost or counted twice, retries included."""
import threading

from harness import Server, make_job

N = 32
ITEMS = 40
OVERLAP = 3


def test_32_labelers_at_once():
    names = [f"lab{i:02d}" for i in range(N)]
    # Each keep-alive connection holds a CivetWeb worker thread: more
    # threads than labelers.
    s = Server(args=("--threads", "48"), users=("admin", "lead") + tuple(names))
    lead = s.client("lead")
    jid = make_job(s, lead, items=ITEMS, overlap=OVERLAP, members=names)
    clients = [s.client(n) for n in names]
    created, replayed, errors = [], [], []
    barrier = threading.Barrier(N)

    def work(k, c):
        barrier.wait()
        while True:
            st, _, body = c.post(f"/api/v1/jobs/{jid}/tasks/next")
            if st == 204:
                return
            if st != 200:
                errors.append((st, body))
                return
            t = body["task"]
            answer = {"answers": {"better": {"winner": t["item"]["responses"][k % 2]["id"]}}}
            st, _, body = c.post(f"/api/v1/tasks/{t['id']}/judgment", answer)
            if st != 201:
                errors.append((st, body))
                return
            created.append(body["judgment"]["id"])
            if k % 4 == 0:  # a client that retries as if the answer was lost
                st, _, again = c.post(f"/api/v1/tasks/{t['id']}/judgment", answer)
                if st != 200 or again["judgment"]["id"] != body["judgment"]["id"]:
                    errors.append((st, again))
                replayed.append(body["judgment"]["id"])

    threads = [threading.Thread(target=work, args=(k, c)) for k, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:5]
    stored = s.sql("SELECT id FROM judgments ORDER BY id")
    assert sorted(created) == [r[0] for r in stored]           # none lost, none doubled
    assert len(created) == ITEMS * OVERLAP
    per_item = s.sql("SELECT count(*) FROM judgments GROUP BY item_id")
    assert len(per_item) == ITEMS and all(n == OVERLAP for (n,) in per_item), per_item
    assert s.sql("SELECT count(*) FROM (SELECT 1 FROM judgments GROUP BY item_id, labeler_id"
                 " HAVING count(*) > 1)") == [(0,)]
    assert s.sql("SELECT max(claims), max(judged), min(judged) FROM items") == \
        [(OVERLAP, OVERLAP, OVERLAP)]
    assert s.sql("SELECT count(*) FROM tasks WHERE state = 'leased'") == [(0,)]
    assert replayed
