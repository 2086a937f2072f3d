"""kill -9 anywhere: 20 rounds, each killing the server at a random point
of concurrent submits, imports, reviews, exports and password changes (the
kill comes after a random number of acknowledged writes, so it lands in the
middle of whatever is in flight). After each: the database's integrity is
ok, every acknowledged write is there exactly once, an import is all or
nothing (what a kill cut short is hidden, and the next start removes it),
and the items' counters match the rows."""
import http.client
import json
import random
import sqlite3
import threading

from harness import Server, make_job

LABS = ("lab", "lab2", "lab3")


def rows(db, q, args=()):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(q, args).fetchall()
    finally:
        con.close()


class Round:
    def __init__(self, s, jid, imp_jid, r, password):
        self.s, self.jid, self.imp_jid, self.r = s, jid, imp_jid, r
        self.lock = threading.Lock()
        self.acked = 0
        self.kinds = {}
        self.judgments = {}      # judgment id -> (task id, answers)
        self.imports = []        # (ext ids, acknowledged)
        self.reviews = {}        # judgment id -> decision
        self.password = password  # the last acknowledged
        self.trying = None        # a change in flight
        self.errors = []
        self.imp_alive = True

    def ack(self, kind):
        with self.lock:
            self.acked += 1
            self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def guard(fn):
        def run(self, *a):
            try:
                fn(self, *a)
            except (OSError, http.client.HTTPException, json.JSONDecodeError):
                pass  # the kill
            except Exception as e:  # noqa: BLE001 - a failed check, reported
                self.errors.append(repr(e))
        return run

    @guard
    def label(self, u, k):
        c = self.s.client(u)
        for n in range(10_000):
            st, _, body = c.post(f"/api/v1/jobs/{self.jid}/tasks/next")
            if st != 200:
                return
            answers = {"better": {"winner": "a" if (n + k) % 2 else "b"}}
            st, _, got = c.post(f"/api/v1/tasks/{body['task']['id']}/judgment", {"answers": answers})
            if st == 201:
                with self.lock:
                    self.judgments[got["judgment"]["id"]] = (body["task"]["id"], answers)
                self.ack("judgment")

    @guard
    def imp(self):
        try:
            self.importing()
        finally:
            self.imp_alive = False

    def importing(self):
        c = self.s.client("lead")
        for n in range(10_000):
            # Every third import takes two steps (IMPORT_STEP_ITEMS), so
            # some kills land between the steps of one.
            ids = [f"r{self.r}-{n}-{i}" for i in range(2500 if n % 3 == 2 else 10)]
            entry = [ids, False]
            with self.lock:
                self.imports.append(entry)
            st, _, _ = c.jsonl(f"/api/v1/jobs/{self.imp_jid}/items",
                               [{"id": x, "prompt": "p " + x, "responses": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}]}
                                for x in ids])
            if st == 201:
                entry[1] = True
                self.ack("import")

    @guard
    def review(self):
        c = self.s.client("lead")
        done = set()
        for _ in range(10_000):
            with self.lock:
                todo = [j for j in self.judgments if j not in done]
            if not todo:
                threading.Event().wait(0.005)
                continue
            j = todo[0]
            done.add(j)
            decision = "accept" if j % 3 else "reject"
            st, _, _ = c.post(f"/api/v1/judgments/{j}/review", {"decision": decision})
            if st == 200:
                with self.lock:
                    self.reviews[j] = decision
                self.ack("review")

    @guard
    def export(self):
        c = self.s.client("lead")
        for _ in range(10_000):
            st, _, data = c.raw("GET", f"/api/v1/jobs/{self.jid}/export?format=raw")
            if st != 200:
                return
            for line in data.decode().splitlines():
                json.loads(line)  # never a torn row

    @guard
    def change_password(self):
        c = self.s.client()
        st, _, body = c.login("pw", self.password)
        assert st == 200, (st, body)
        for n in range(10_000):
            new = f"round {self.r} change {n} password"
            self.trying = new
            st, _, _ = c.post("/api/v1/me/password", {"current_password": self.password, "new_password": new})
            if st == 204:
                self.password, self.trying = new, None
                self.ack("password")


def shown(db, ids, gate=True):
    """How many of these imported items the job shows (gate: below its
    import_from, schema/010_import_gate.sql), or are stored at all."""
    con = sqlite3.connect(db, timeout=10)
    try:
        con.execute("CREATE TEMP TABLE want (ext_id TEXT PRIMARY KEY)")
        con.executemany("INSERT OR IGNORE INTO want VALUES (?)", [(x,) for x in ids])
        q = ("SELECT count(*) FROM items i JOIN want w ON w.ext_id = i.ext_id JOIN jobs j ON j.id = i.job_id"
             + (" WHERE i.id < coalesce(j.import_from, 9223372036854775807)" if gate else ""))
        return con.execute(q).fetchone()[0]
    finally:
        con.close()


def check(db, rd):
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    got = {i: (t, json.loads(a)) for i, t, a in rows(db, "SELECT id, task_id, answers FROM judgments")}
    for j, (task, answers) in rd.judgments.items():
        assert got.get(j) == (task, answers), (j, got.get(j), task, answers)
    assert rows(db, "SELECT task_id FROM judgments GROUP BY task_id HAVING count(*) > 1") == []
    assert rows(db, "SELECT count(*) FROM tasks t WHERE t.state = 'judged' AND NOT EXISTS "
                    "(SELECT 1 FROM judgments g WHERE g.task_id = t.id)") == [(0,)]
    for ids, acked in rd.imports:
        n = shown(db, ids)
        assert n == len(ids) if acked else n in (0, len(ids)), (ids[0], n, acked)
    for j, decision in rd.reviews.items():
        assert rows(db, "SELECT count(*) FROM reviews WHERE judgment_id = ? AND decision = ?", (j, decision)) == [(1,)]
        assert rows(db, "SELECT review FROM judgments WHERE id = ?", (j,)) == [(decision + "ed",)]
    # Counters: judged counts the judgments not rejected, claims those and live leases.
    bad = rows(db, """SELECT i.id, i.judged, i.claims,
                        (SELECT count(*) FROM judgments g WHERE g.item_id = i.id AND g.review IS NOT 'rejected'),
                        (SELECT count(*) FROM tasks t WHERE t.item_id = i.id AND t.state = 'leased')
                      FROM items i""")
    bad = [b for b in bad if b[1] != b[3] or b[2] != b[3] + b[4]]
    assert bad == [], bad[:5]


def test_kill_9_at_random_points_loses_and_duplicates_nothing():
    rnd = random.Random(20261202)
    # Password changes land between kills too; and the round's check of
    # which password holds makes failed logins the throttle would count.
    fast = ("--pwhash-mem", "8", "--pwhash-ops", "1", "--throttle-account", "1000", "--throttle-addr", "1000")
    s = Server(users=("admin", "lead", "pw") + LABS, args=fast)
    lead = s.client("lead")
    jid = make_job(s, lead, items=4000, overlap=2, members=LABS)
    imp_jid = make_job(s, lead, items=1, members=LABS)
    db, password = s.db, "pw password 12"
    acked_total, kinds = 0, {"imports": 0, "reviews": 0, "password changes": 0}
    all_judgments = {}
    cut = 0  # kills that landed between an import's steps
    for r in range(20):
        if r > 0:
            s = Server(users=(), db=db, args=fast)
            # The start removed what an import cut short had inserted.
            assert rows(db, "SELECT count(*) FROM jobs WHERE import_from IS NOT NULL") == [(0,)]
            for ids, acked in rd.imports:
                assert shown(db, ids, gate=False) in ((0, len(ids)) if not acked else (len(ids),)), ids[0]
            # The password is the last acknowledged one, or the one in flight.
            ok = [p for p in (rd.password, rd.trying) if p and s.client().login("pw", p)[0] == 200]
            assert ok, (rd.password, rd.trying)
            password = ok[0]
        rd = Round(s, jid, imp_jid, r, password)
        threads = [threading.Thread(target=rd.label, args=(u, k)) for k, u in enumerate(LABS)]
        threads += [threading.Thread(target=f) for f in (rd.imp, rd.review, rd.export, rd.change_password)]
        for t in threads:
            t.start()
        # The kill comes after a random number of one kind's acknowledged
        # writes (each kind in turn), whatever else is in flight then.
        kind = ("judgment", "import", "review", "password")[r % 4]
        target = rnd.randint(1, 3 if kind == "password" else 20)
        while True:
            with rd.lock:
                if rd.kinds.get(kind, 0) >= target or rd.errors:
                    break
            if not any(t.is_alive() for t in threads):
                break  # every client stopped: the checks below say why
            threading.Event().wait(0.002)
        # In import rounds the kill then waits for a big import's first
        # step to commit, so it lands between two of its steps.
        while kind == "import" and rd.imp_alive and not rd.errors:
            if rows(db, "SELECT count(*) FROM jobs WHERE import_from IS NOT NULL")[0][0]:
                break
        s.kill()
        for t in threads:
            t.join()
        assert not rd.errors, rd.errors
        all_judgments.update(rd.judgments)
        rd.judgments = all_judgments  # every acknowledged judgment so far, in every round
        check(db, rd)
        cut += rows(db, "SELECT count(*) FROM jobs WHERE import_from IS NOT NULL")[0][0]
        acked_total += rd.acked
        kinds["imports"] += sum(1 for _, a in rd.imports if a)
        kinds["reviews"] += len(rd.reviews)
        kinds["password changes"] += int(rd.password != password)
    assert cut > 0, "no kill landed between the steps of an import"
    print(f"kill -9: 20 rounds, {acked_total} acknowledged writes ({len(all_judgments)} judgments, "
          + ", ".join(f"{v} {k}" for k, v in kinds.items()) + f"), every one there once; {cut} kill(s) "
          "between an import's steps")
    # Every kind of write was in flight in some round.
    assert all(v > 0 for v in kinds.values()), kinds
