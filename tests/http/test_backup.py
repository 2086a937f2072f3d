"""Online backup and restore: a backup taken while labelers submit holds
every judgment acknowledged before it started, passes the integrity check
and is one self-contained file; restore refuses while a server runs, keeps
the database it replaces, and brings a server back with the backup's
rows; one server per database file."""
import glob
import os
import sqlite3
import threading

from harness import Server, cli, make_job

LABS = ("lab", "lab2", "lab3", "lab4")


def count(path, q="SELECT count(*) FROM judgments"):
    con = sqlite3.connect(path)
    try:
        return con.execute(q).fetchone()[0]
    finally:
        con.close()


def test_backup_under_load_holds_every_acknowledged_judgment_and_restores():
    s = Server(users=("admin", "lead") + LABS)
    lead = s.client("lead")
    jid = make_job(s, lead, items=3000, members=LABS)
    acked, lock, stop = [], threading.Lock(), threading.Event()
    errors = []

    def work(u):
        c = s.client(u)
        try:
            while not stop.is_set():
                st, _, body = c.post(f"/api/v1/jobs/{jid}/tasks/next")
                if st == 204:
                    return
                st, _, got = c.post(f"/api/v1/tasks/{body['task']['id']}/judgment", {"answers": {"better": {"winner": "a"}}})
                if st != 201:
                    errors.append((st, got))
                    return
                with lock:
                    acked.append(got["judgment"]["id"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(u,)) for u in LABS]
    for t in threads:
        t.start()
    # Wait for some acknowledged judgments, then back up while the others go on.
    while True:
        with lock:
            if len(acked) >= 100 or errors:
                before = set(acked)
                break
        threading.Event().wait(0.01)
    out = os.path.join(s.dir, "backup.db")
    p = cli(["backup", "--out", out], db=s.db)
    with lock:
        during = len(acked) - len(before)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert "integrity ok" in p.stdout and "backed up to" in p.stdout, p.stdout
    con = sqlite3.connect(out)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file, no WAL
    ids = {r[0] for r in con.execute("SELECT id FROM judgments")}
    n_backup = len(ids)
    assert before <= ids, len(before - ids)
    # Counters match the rows in the copy (no half-done write in it).
    assert con.execute("SELECT sum(judged) FROM items").fetchone()[0] == n_backup
    con.close()
    assert f"{n_backup} judgments" in p.stdout, p.stdout
    assert not os.path.exists(out + ".partial")
    print(f"backup under load: {len(before)} acknowledged before, {n_backup} in the backup, "
          f"{during} more acknowledged while it ran")

    # Never over an existing file; never while a server uses the database.
    p = cli(["backup", "--out", out], db=s.db, check=False)
    assert p.returncode == 1 and "exists" in p.stderr
    p = cli(["restore", "--from", out], db=s.db, check=False)
    assert p.returncode == 1 and "in use by a running arbiter serve" in p.stderr, p.stderr
    p = cli(["serve", "--listen", "127.0.0.1:1"], db=s.db, check=False)
    assert p.returncode != 0 and "in use by a running arbiter serve" in p.stderr, p.stderr
    total = s.sql("SELECT count(*) FROM judgments")[0][0]
    assert total >= n_backup
    s.stop()

    # A file that is no backup is refused, and the database is left alone.
    junk = os.path.join(s.dir, "junk.db")
    with open(junk, "wb") as f:
        f.write(b"not a database" * 100)
    p = cli(["restore", "--from", junk], db=s.db, check=False)
    assert p.returncode == 1, p.stdout
    assert count(s.db) == total

    p = cli(["restore", "--from", out], db=s.db)
    assert "restored from" in p.stdout and "kept as" in p.stdout, p.stdout
    kept = glob.glob(s.db + ".before-restore-*")
    assert len(kept) == 1 and count(kept[0]) == total
    s2 = Server(users=(), db=s.db)
    assert s2.sql("SELECT count(*) FROM judgments")[0][0] == n_backup
    assert s2.sql("PRAGMA integrity_check") == [("ok",)]
    lead = s2.client("lead")
    assert lead.get(f"/api/v1/jobs/{jid}")[2]["job"]["counts"]["judgments"] == n_backup
    # Labeling goes on where the backup left it.
    c = s2.client("lab")
    st, _, body = c.post(f"/api/v1/jobs/{jid}/tasks/next")
    assert st == 200 and c.post(f"/api/v1/tasks/{body['task']['id']}/judgment", {"answers": {"better": {"winner": "b"}}})[0] == 201
    s2.stop()
