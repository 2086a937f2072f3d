#!/usr/bin/env python3
"""export.py: the export and report benchmarks of `make bench`.

Builds a job with 1,000,000 judgments (250,000 pairwise items among 20
models, 4 labelers each) straight into a fresh database (the schema from
`arbiter migrate`, the rows from SQL), then measures in the same run:

  - the sqlite3 shell printing the same rows (the same join, the same
    columns) with -json, to /dev/null;
  - arbiter's raw export over HTTP (curl to /dev/null, a Bearer token),
    and the server's peak resident memory (VmHWM of a server started for
    this alone);
  - for scale, the preference export (parsed and derived per judgment);
  - the report of the same judgments with 1,000 bootstrap samples, against
    the raw export's time (target: no slower).

Prints rows/s for each and the ratio against the shell. Only 127.0.0.1 is
contacted."""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from common import cli, export_token, serve, stop

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PASSWORD = "bench password 1"
QUERY = ("SELECT g.id, g.seq, g.answers, g.revision, g.created_at, g.updated_at, g.labeler_id,"
         " t.shown, t.leased_at, i.data FROM judgments g JOIN tasks t ON t.id = g.task_id"
         " JOIN items i ON i.id = g.item_id WHERE g.job_id = 1 ORDER BY g.seq")


def build(binary, db, judgments):
    items = judgments // 4
    cli(binary, ["user", "add", "lead", "--role", "lead"], db, PASSWORD + "\n")
    for n in range(1, 5):
        cli(binary, ["user", "add", f"lab{n}", "--role", "labeler"], db, PASSWORD + "\n")
    job = os.path.join(os.path.dirname(db), "job.json")
    with open(job, "w") as f:
        f.write('{"name": "export bench", "overlap": 4, "questions": ['
                '{"name": "better", "type": "pairwise", "allow_tie": true},'
                '{"name": "quality", "type": "rating", "scale": {"min": 1, "max": 5}}]}')
    cli(binary, ["job", "create", "--file", job, "--owner", "lead"], db)
    con = sqlite3.connect(db)
    labs = [r[0] for r in con.execute("SELECT id FROM users WHERE role = 'labeler' ORDER BY id")]
    now = int(time.time() * 1000)
    text = ("Write-ahead logging lets readers go on while a writer commits; "
            "a checkpoint moves pages back to the database file. ")
    con.executescript(f"""
    BEGIN;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {items})
    INSERT INTO items (id, job_id, ext_id, data, n_responses, response_ids, claims, judged, created_at)
    SELECT i, 1, printf('q%07d', i),
           printf('{{"id":"q%07d","prompt":"Question %d: explain it.","responses":[{{"id":"a","model":"m%02d","text":"%s %d"}},{{"id":"b","model":"m%02d","text":"%s(%d)"}}],"metadata":{{"category":"c%d"}}}}',
                  i, i, i % 20, '{text}', i, (i % 20 + 1 + (i / 20) % 19) % 20, '{text}', i, i % 7),
           2, '["a","b"]', 4, 4, {now // 1000} FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {judgments})
    INSERT INTO tasks (id, job_id, item_id, labeler_id, state, shown, leased_at, expires_at, finished_at, judgment_id)
    SELECT i, 1, (i - 1) / 4 + 1, {labs[0]} + (i - 1) % 4, 'judged', CASE i % 2 WHEN 0 THEN '[0,1]' ELSE '[1,0]' END,
           {now} - 60000 + i, {now} + 600000, {now} - 30000 + i, i FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {judgments})
    INSERT INTO judgments (id, task_id, job_id, item_id, labeler_id, answers, revision, created_at, updated_at, seq)
    SELECT i, i, 1, (i - 1) / 4 + 1, {labs[0]} + (i - 1) % 4,
           printf('{{"better":{{"winner":"%s"}},"quality":{{"a":%d,"b":%d}}}}', CASE i % 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'tie' END, 1 + i % 5, 1 + (i / 5) % 5),
           1, {now} - 30000 + i, {now} - 30000 + i, i FROM n;
    UPDATE jobs SET status = 'open';
    COMMIT;
    """)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def timed(cmd, **kw):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, **kw)
    return time.perf_counter() - t0, p


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1)) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "arbiter"))
    ap.add_argument("--judgments", type=int, default=1_000_000)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    tmp = tempfile.mkdtemp(prefix="arbiter-export-bench-")
    db = os.path.join(tmp, "bench.db")
    srv = None
    try:
        t0 = time.time()
        build(binary, db, a.judgments)
        print(f"setup: {a.judgments:,} judgments of {a.judgments // 4:,} items in {time.time() - t0:.0f} s")
        token = export_token(binary, db)
        srv, port = serve(binary, db)
        base_rss = vm_hwm(srv.pid)
        # Warm both the same way: the file is read once before either runs.
        subprocess.run(["cat", db], stdout=subprocess.DEVNULL)

        t_shell, p = timed(["sqlite3", "-json", db, QUERY], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            sys.exit(f"bench: sqlite3 failed: {p.stderr}")

        def curl(fmt):
            # Piped to wc: the rows are counted without being stored.
            cmd = (f"curl -sS -f -H 'Authorization: Bearer {token}' "
                   f"'http://127.0.0.1:{port}/api/v1/jobs/1/export?format={fmt}' | wc -lc")
            t, p = timed(["bash", "-c", "set -o pipefail; " + cmd], capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"bench: export {fmt} failed: {p.stderr}")
            rows, size = map(int, p.stdout.split())
            return t, rows, size

        t_raw, rows, size = curl("raw")
        peak = vm_hwm(srv.pid)
        if rows != a.judgments:
            sys.exit(f"bench: raw export gave {rows} rows, not {a.judgments}")
        t_pref, prows, _ = curl("preference")
        peak = max(peak, vm_hwm(srv.pid))

        t_rep, p = timed(["curl", "-sS", "-f", "-o", os.path.join(tmp, "report.json"), "-H",
                          f"Authorization: Bearer {token}",
                          f"http://127.0.0.1:{port}/api/v1/jobs/1/report?samples=1000"],
                         capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"bench: report failed: {p.stderr}")
        peak = max(peak, vm_hwm(srv.pid))
        with open(os.path.join(tmp, "report.json")) as f:
            rep = json.load(f)["report"]
        bt = rep["questions"][0]["bradley_terry"]
        if rep["judgments"] != a.judgments or len(bt) != 20:
            sys.exit(f"bench: the report covered {rep['judgments']} judgments, {len(bt)} models")

        shell_rate, raw_rate = a.judgments / t_shell, rows / t_raw
        print(f"sqlite3 -json of the same rows: {shell_rate:,.0f} rows/s")
        print(f"arbiter raw export over HTTP: {raw_rate:,.0f} rows/s "
              f"({size / 1e6:,.0f} MB streamed); {raw_rate / shell_rate:.2f}x the sqlite3 shell (target: >= 1x)")
        print(f"arbiter preference export: {prows / t_pref:,.0f} pairs/s from {a.judgments / t_pref:,.0f} judgments/s "
              f"({prows:,} pairs)")
        print(f"report of the same {a.judgments:,} judgments (20 models, 1,000 bootstrap samples): "
              f"{t_rep / t_raw:.2f}x the raw export's time (target: <= 1x)")
        print(f"server peak memory (VmHWM): {peak:.1f} MB, {base_rss:.1f} MB before the exports (target: < 64 MB)")
        ok = raw_rate >= shell_rate and peak < 64 and t_rep <= t_raw
        print("result: " + ("ok" if ok else "BELOW TARGET"))
        return 0 if ok else 1
    finally:
        stop([srv] if srv is not None else [])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
