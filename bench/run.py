#!/usr/bin/env python3
"""run.py: the labeling-loop benchmark of `make bench`.

Builds a job of 100,000 pairwise items in a fresh database through the
CLI (timing the import and its peak memory), starts arbiter and the bare
CivetWeb handler (bench/bare.c) with the same thread count, and drives
both with wrk on loopback: N connections, one per labeler, each on its own
keep-alive connection. Against arbiter each connection alternates "lease
the next task" and "submit a judgment" (bench/loop.lua). Prints both
request rates, their ratio, and latency percentiles, all from this one
run; then checks the database: one stored judgment per 201 answer.

Only 127.0.0.1 is contacted; every run is bounded by --seconds."""
import argparse
import http.client
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from common import cli, free_port, login, stop, wait_port

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PASSWORD = "bench password 1"


def session(port, name):
    cookie, csrf = login(port, name, PASSWORD)
    return {"cookie": cookie.split("=", 1)[1], "csrf": csrf}


def cpu_seconds(pid):
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(script, port, conns, seconds, pid):
    before = cpu_seconds(pid)
    cmd = ["wrk", "-t", str(conns), "-c", str(conns), "-d", f"{seconds}s", "--latency",
           "-s", script, f"http://127.0.0.1:{port}/"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"^RESULT (.*)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        sys.exit(f"bench: wrk failed: {p.stdout}\n{p.stderr}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / r["seconds"]
    r["cpu_us"] = (cpu_seconds(pid) - before) / max(1, r["requests"]) * 1e6
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "arbiter"))
    ap.add_argument("--bare", default=os.path.join(ROOT, "build", "bare"))
    ap.add_argument("--items", type=int, default=100000)
    ap.add_argument("--labelers", type=int, default=16)
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    tmp = tempfile.mkdtemp(prefix="arbiter-bench-")
    db = os.path.join(tmp, "bench.db")
    procs = []
    try:
        print(f"setup: {a.items} items, {a.labelers} labelers, {a.threads} server threads")
        cli(binary, ["user", "add", "lead", "--role", "lead"], db, PASSWORD + "\n")
        names = [f"lab{i:02d}" for i in range(1, a.labelers + 1)]
        for n in names:
            cli(binary, ["user", "add", n, "--role", "labeler"], db, PASSWORD + "\n")
        job_file = os.path.join(tmp, "job.json")
        with open(job_file, "w") as f:
            json.dump({"name": "bench", "overlap": 1, "lease_seconds": 600,
                       "randomize_order": True,
                       "questions": [{"name": "better", "type": "pairwise", "allow_tie": True},
                                     {"name": "quality", "type": "rating",
                                      "scale": {"min": 1, "max": 5}}]}, f)
        job = cli(binary, ["job", "create", "--file", job_file, "--owner", "lead"], db).strip()
        items = os.path.join(tmp, "items.jsonl")
        rnd = random.Random(7)
        words = "the a database write ahead log sqlite durable commit page reader".split()
        with open(items, "w") as f:
            for i in range(a.items):
                text = lambda: " ".join(rnd.choice(words) for _ in range(60))
                f.write(json.dumps({"id": f"q{i:06d}", "prompt": text()[:200],
                                    "responses": [{"id": "a", "model": "m1", "text": text()},
                                                  {"id": "b", "model": "m2", "text": text()}],
                                    "metadata": {"category": rnd.choice(["x", "y"])}}) + "\n")
        size_mb = os.path.getsize(items) / 1e6
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.time()
        out = cli(binary, ["job", "import", job, items], db)
        t_import = time.time() - t0
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"import: {out.strip()} ({size_mb:.0f} MB of JSONL) in {t_import:.1f} s, "
              f"{a.items / t_import:,.0f} items/s, peak RSS {max(rss, before) / 1024:.0f} MB")
        cli(binary, ["job", "members", job] + names, db)
        cli(binary, ["job", "open", job], db)

        bare_port, durable_port, port = free_port(), free_port(), free_port()
        log = open(os.path.join(tmp, "server.log"), "w")
        bare = subprocess.Popen([a.bare, f"127.0.0.1:{bare_port}", str(a.threads)])
        procs.append(bare)
        durable = subprocess.Popen([a.bare, f"127.0.0.1:{durable_port}", str(a.threads),
                                    os.path.join(tmp, "durable.db")])
        procs.append(durable)
        srv = subprocess.Popen([binary, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                                "--threads", str(a.threads), "--pwhash-mem", "8",
                                "--pwhash-ops", "1"], stdout=log, stderr=subprocess.STDOUT)
        procs.append(srv)
        wait_port(bare_port, bare)
        wait_port(durable_port, durable)
        wait_port(port, srv)
        creds = [session(port, n) for n in names]
        script = os.path.join(tmp, "loop.lua")
        with open(os.path.join(HERE, "loop.lua")) as f:
            lua = f.read()
        lua_creds = "{" + ",".join('{cookie="%s",csrf="%s"}' % (c["cookie"], c["csrf"])
                                   for c in creds) + "}"
        lua = lua.replace("CREDENTIALS", lua_creds).replace("JOB_ID", job) \
                 .replace("ORIGIN", f'"http://127.0.0.1:{port}"')
        with open(script, "w") as f:
            f.write(lua)

        b = wrk(os.path.join(HERE, "bare.lua"), bare_port, a.labelers, a.seconds, bare.pid)
        d = wrk(os.path.join(HERE, "bare.lua"), durable_port, a.labelers, a.seconds, durable.pid)
        r = wrk(script, port, a.labelers, a.seconds, srv.pid)
        ratio = r["rps"] / b["rps"]
        con = sqlite3.connect(db)
        stored = con.execute("SELECT count(*) FROM judgments").fetchone()[0]
        per_item = con.execute("SELECT max(n) FROM (SELECT count(*) n FROM judgments"
                               " GROUP BY item_id)").fetchone()[0]
        con.close()
        metrics = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        tok = cli(binary, ["token", "create", "bench", "--scope", "export", "--user", "lead"], db)
        metrics.request("GET", "/metrics", headers={"Authorization": "Bearer " + tok.strip()})
        mtext = metrics.getresponse().read().decode()
        batches = re.search(r"^arbiter_db_write_batches_total (\d+)", mtext, re.M)
        writes = re.search(r"^arbiter_db_writes_total (\d+)", mtext, re.M)

        print(f"connections: {a.labelers} (one per labeler, keep-alive), {a.seconds} s each")
        print(f"bare CivetWeb handler: {b['rps']:,.0f} requests/s "
              f"(p50 {b['p50_ms']:.2f} ms, p99 {b['p99_ms']:.2f} ms; "
              f"{b['cpu_us']:.0f} us of server CPU a request)")
        print(f"bare handler + one fsync'd group-committed insert per request: "
              f"{d['rps']:,.0f} requests/s (p50 {d['p50_ms']:.2f} ms, p99 {d['p99_ms']:.2f} ms;"
              f" {d['cpu_us']:.0f} us of server CPU a request;"
              f" {d['rps'] / b['rps']:.1%} of the bare handler)")
        print(f"arbiter lease+submit loop: {r['rps']:,.0f} requests/s "
              f"({r['leases']} leases, {r['submits']} submits; "
              f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms; "
              f"{r['cpu_us']:.0f} us of server CPU a request)")
        print(f"ratio: {ratio:.1%} of the bare handler (target 25%, goal 50%); "
              f"{r['rps'] / d['rps']:.1%} of the durable bare handler")
        if batches and writes:
            print(f"group commit: {int(writes.group(1)):,} writes in "
                  f"{int(batches.group(1)):,} fsync'd commits "
                  f"({int(writes.group(1)) / max(1, int(batches.group(1))):.1f} per commit)")
        print(f"errors: {r['errors']} error answers, {r['socket_errors']} socket errors, "
              f"{r['empty']} empty leases")
        print(f"stored judgments: {stored} (answered 201: {r['submits']}; "
              f"at most {per_item} per item, overlap 1)")
        ok = (r["errors"] == 0 and r["socket_errors"] == 0 and stored >= r["submits"]
              and stored <= r["submits"] + a.labelers and (per_item or 0) <= 1)
        print("result: " + ("ok" if ok and ratio >= 0.25 else "BELOW TARGET" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
