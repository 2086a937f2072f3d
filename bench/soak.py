"""soak.py: mixed load on one node for a long time (make soak: 30 minutes):
labelers leasing and submitting, imports into the job they work on,
incremental exports, reports and logins, all at once. Prints, each minute,
the requests and errors of that minute, each kind's p99, and the server's
RSS, WAL size, open files and threads; at the end whether they stayed flat
and no request failed."""
import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cli, serve, stop  # noqa: E402

LABS = [f"lab{i:02d}" for i in range(16)]
PASSWORD = "soak labeler password"


class Conn:
    def __init__(self, port):
        self.port, self.c, self.cookie, self.csrf, self.token = port, None, None, None, None

    def req(self, method, path, body=None, ctype="application/json"):
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            h = {"Origin": f"http://127.0.0.1:{self.port}"}
            if self.cookie:
                h["Cookie"] = self.cookie
            if self.csrf:
                h["X-CSRF-Token"] = self.csrf
            if self.token:
                h["Authorization"] = f"Bearer {self.token}"
            if body is not None:
                h["Content-Type"] = ctype
            try:
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                data = r.read()
                return r.status, r, data
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = None  # closed while idle (keep-alive): reconnect
                if attempt == 1:
                    raise

    def login(self, name, password):
        # A burst of logins finds every hash slot taken: 503 with
        # Retry-After, and the client tries again, as the login page does.
        for _ in range(30):
            st, r, data = self.req("POST", "/api/v1/session", json.dumps({"name": name, "password": password}))
            if st != 503:
                break
            time.sleep(float(r.getheader("Retry-After", "1")))
        if st == 200:
            self.cookie = r.getheader("Set-Cookie").split(";")[0]
            self.csrf = json.loads(data)["csrf_token"]
        return st


class Stats:
    def __init__(self):
        self.mu = threading.Lock()
        self.lat, self.count, self.errors = {}, {}, {}

    def add(self, kind, seconds, ok):
        with self.mu:
            self.lat.setdefault(kind, []).append(seconds)
            self.count[kind] = self.count.get(kind, 0) + 1
            if not ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1

    def take(self):
        with self.mu:
            out = (self.lat, self.count, self.errors)
            self.lat, self.count, self.errors = {}, {}, {}
            return out


def timed(stats, kind, fn, ok_status=(200, 201, 204)):
    t0 = time.monotonic()
    st = fn()
    stats.add(kind, time.monotonic() - t0, st in ok_status)
    return st


def proc(pid, db):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
    return int(out["VmRSS"].split()[0]) // 1024, wal // (1 << 20), len(os.listdir(f"/proc/{pid}/fd")), int(out["Threads"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="./arbiter")
    ap.add_argument("--minutes", type=float, default=30)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="arbiter-soak-")
    db = os.path.join(tmp, "arbiter.db")
    cli(a.binary, ["user", "add", "lead", "--role", "lead"], db, stdin="soak lead password\n")
    for u in LABS:
        cli(a.binary, ["user", "add", u, "--role", "labeler"], db, stdin=PASSWORD + "\n")
    job = os.path.join(tmp, "job.json")
    with open(job, "w") as f:
        json.dump({"name": "soak", "overlap": 2, "questions": [{"name": "better", "type": "pairwise"}]}, f)
    jid = cli(a.binary, ["job", "create", "--file", job, "--owner", "lead"], db).strip()
    items = os.path.join(tmp, "items.jsonl")
    with open(items, "w") as f:
        for i in range(20000):
            f.write(json.dumps({"id": f"s{i}", "prompt": f"prompt {i}", "responses": [
                {"id": "a", "model": "m1", "text": f"a {i}"}, {"id": "b", "model": "m2", "text": f"b {i}"}]}) + "\n")
    cli(a.binary, ["job", "import", jid, items], db)
    cli(a.binary, ["job", "members", jid] + LABS, db)
    cli(a.binary, ["job", "open", jid], db)
    token = cli(a.binary, ["token", "create", "soak", "--scope", "export", "--scope", "write", "--user", "lead"], db).strip()
    srv, port = serve(a.binary, db)
    stats, stop_ev = Stats(), threading.Event()

    def labeler(u):
        c = Conn(port)
        c.login(u, PASSWORD)
        while not stop_ev.is_set():
            t0 = time.monotonic()
            st, _, data = c.req("POST", f"/api/v1/jobs/{jid}/tasks/next")
            stats.add("lease", time.monotonic() - t0, st in (200, 204))
            if st == 204:
                time.sleep(0.5)
                continue
            if st != 200:
                print(f"lease answered {st}: {data[:200]!r}", flush=True)
                time.sleep(1)
                continue
            t = json.loads(data)["task"]
            timed(stats, "submit", lambda: c.req("POST", f"/api/v1/tasks/{t['id']}/judgment",
                                                 json.dumps({"answers": {"better": {"winner": "a"}}}))[0])
            time.sleep(0.05)

    def importer():
        c, n = Conn(port), 0
        c.token = token
        while not stop_ev.wait(20):
            body = "".join(json.dumps({"id": f"i{n}-{k}", "prompt": f"p {n} {k}", "responses": [
                {"id": "a", "text": "A"}, {"id": "b", "text": "B"}]}) + "\n" for k in range(5000))
            timed(stats, "import", lambda: c.req("POST", f"/api/v1/jobs/{jid}/items", body.encode(), "application/x-ndjson")[0])
            n += 1

    def exporter():
        c, since = Conn(port), 0
        c.token = token
        while not stop_ev.wait(5):
            def pull():
                nonlocal since
                st, r, _ = c.req("GET", f"/api/v1/jobs/{jid}/export?format=raw&since={since}")
                if st == 200:
                    since = int(r.getheader("X-Arbiter-Cursor"))
                return st
            timed(stats, "export", pull)

    def reporter():
        c = Conn(port)
        c.token = token
        while not stop_ev.wait(30):
            timed(stats, "report", lambda: c.req("GET", f"/api/v1/jobs/{jid}/report?samples=100")[0])

    def logins():
        while not stop_ev.wait(1):
            c = Conn(port)
            timed(stats, "login", lambda: c.login("lab00", PASSWORD))
            timed(stats, "logout", lambda: c.req("DELETE", "/api/v1/session")[0])
            if c.c is not None:
                c.c.close()

    threads = [threading.Thread(target=labeler, args=(u,)) for u in LABS]
    threads += [threading.Thread(target=f) for f in (importer, exporter, reporter, logins)]
    for t in threads:
        t.start()
    samples, errors, t0 = [], 0, time.monotonic()
    try:
        for minute in range(1, int(a.minutes) + 1):
            time.sleep(max(0.0, t0 + 60 * minute - time.monotonic()))
            lat, count, errs = stats.take()
            rss, wal, fds, thr = proc(srv.pid, db)
            samples.append((rss, wal, fds, thr))
            errors += sum(errs.values())
            p99 = ", ".join(f"{k} {sorted(v)[int(0.99 * (len(v) - 1))] * 1000:.0f}" for k, v in sorted(lat.items()))
            print(f"minute {minute:3d}: {sum(count.values()):7d} requests, {sum(errs.values())} errors; p99 ms: {p99}; "
                  f"RSS {rss} MB, WAL {wal} MB, {fds} open files, {thr} threads", flush=True)
    finally:
        stop_ev.set()
        for t in threads:
            t.join(timeout=120)
        stop([srv])
    steady = samples[len(samples) // 3:] if len(samples) >= 3 else samples
    flat = (max(s[0] for s in steady) <= 1.25 * min(s[0] for s in steady) + 8 and
            max(s[1] for s in samples) <= 64 and
            max(s[2] for s in steady) - min(s[2] for s in steady) <= 8 and
            max(s[3] for s in steady) == min(s[3] for s in steady))
    print(f"result: {errors} error answers; RSS, WAL, open files and threads "
          f"{'flat' if flat else 'NOT FLAT'} after the first third")
    sys.exit(0 if errors == 0 and flat else 1)


if __name__ == "__main__":
    main()
