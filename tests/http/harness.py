"""harness.py: starts the real arbiter binary on a random loopback port with
a temporary database, provisions users through the CLI, and speaks HTTP to
it with http.client (standard library only)."""
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

BINARY = None           # set by tests/run.py
ENV = dict(os.environ)
_servers = []

PASSWORDS = {"admin": "admin password 1", "lead": "lead password 12",
             "lead2": "lead2 password 12", "lab": "labeler password",
             "lab2": "labeler2 password"}
ROLES = {"admin": "admin", "lead": "lead", "lead2": "lead", "lab": "labeler", "lab2": "labeler"}


def password_of(name):
    return PASSWORDS.get(name, f"{name} password 12")


def role_of(name):
    return ROLES.get(name, "labeler" if name.startswith("lab") else "lead")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli(args, stdin=None, db=None, check=True):
    cmd = [BINARY] + args + (["--db", db] if db else [])
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=ENV, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} failed ({p.returncode}): {p.stderr}")
    return p


class Server:
    def __init__(self, args=(), users=("admin", "lead", "lab"), db=None, log_dir=None):
        self.dir = os.path.dirname(db) if db else tempfile.mkdtemp(prefix="arbiter-http-")
        self.db = db or os.path.join(self.dir, "arbiter.db")
        # The log may live apart from the database (a test's small disk).
        self.log_dir = log_dir or self.dir
        for u in users:
            cli(["user", "add", u, "--role", role_of(u)], stdin=password_of(u) + "\n", db=self.db)
        self.port = free_port()
        self.log = open(os.path.join(self.log_dir, f"server-{self.port}.log"), "w+")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--db", self.db, "--listen", f"127.0.0.1:{self.port}",
             "--threads", "16"] + list(args),
            stdout=self.log, stderr=subprocess.STDOUT, env=ENV)
        _servers.append(self)
        deadline = time.time() + 30
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError("server did not start: " + self.output())
            time.sleep(0.05)

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def client(self, user=None, login=True, source=None):
        """source: the loopback address it connects from (127.0.0.x), as
        labelers on machines of their own do."""
        c = Client(self, source)
        if user and login:
            st, _, body = c.login(user)
            assert st == 200, (st, body)
        return c

    def sql(self, query, args=()):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            rows = con.execute(query, args).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def kill(self):
        """kill -9, as a crash: expected, so not a server error; a sanitizer
        report before it still is."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        if self in _servers:
            _servers.remove(self)
        out = self.output()
        assert "ERROR: AddressSanitizer" not in out and "runtime error:" not in out, out[-6000:]

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def raw_exchange(port, request, before=None):
    """Sends raw bytes on a new connection (calling before(), if given, once
    they are sent) and returns the bytes received up to the end of the
    response head."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(request)
    if before:
        before()
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    return data


def stop_all():
    """Stops every server; returns problems (non-zero exit, sanitizer report)."""
    problems = []
    while _servers:
        s = _servers.pop()
        rc = s.stop()
        out = s.output()
        if rc != 0 or "ERROR: AddressSanitizer" in out or "runtime error:" in out \
                or "LeakSanitizer" in out:
            problems.append(f"exit {rc}\n{out[-6000:]}")
    return "\n".join(problems)


class Client:
    """One keep-alive connection with a cookie jar of one cookie."""

    def __init__(self, server, source=None):
        self.server = server
        self.source = (source, 0) if source else None
        self.cookie = None
        self.csrf = None
        self.token = None
        self.origin = f"http://127.0.0.1:{server.port}"
        self.conn = None

    def raw(self, method, path, body=None, headers=None):
        hdrs = {"Host": f"127.0.0.1:{self.server.port}"}
        if self.cookie:
            hdrs["Cookie"] = f"arbiter_session={self.cookie}"
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if method not in ("GET", "HEAD"):
            hdrs["Origin"] = self.origin
            if self.csrf:
                hdrs["X-CSRF-Token"] = self.csrf
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60,
                                                       source_address=self.source)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
            except Exception:
                # Any other failure (e.g. a refused connection while a server
                # starts) leaves the connection unusable: start afresh next time.
                self.conn.close()
                self.conn = None
                raise
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("arbiter_session="):
                val = v.split(";", 1)[0].split("=", 1)[1]
                self.cookie = val or None
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def call(self, method, path, obj=None, headers=None):
        body = None
        h = dict(headers or {})
        if obj is not None:
            body = json.dumps(obj).encode()
            h.setdefault("Content-Type", "application/json")
        st, hd, data = self.raw(method, path, body, h)
        parsed = None
        if data and hd.get("content-type", "").startswith("application/json"):
            parsed = json.loads(data)
        return st, hd, parsed

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, obj=None, **kw):
        return self.call("POST", path, obj, **kw)

    def patch(self, path, obj=None, **kw):
        return self.call("PATCH", path, obj, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def put(self, path, obj=None, **kw):
        return self.call("PUT", path, obj, **kw)

    def jsonl(self, path, lines, headers=None):
        """POSTs lines (objects or raw strings) as an application/x-ndjson body."""
        body = "".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines)
        h = {"Content-Type": "application/x-ndjson"}
        h.update(headers or {})
        st, hd, data = self.raw("POST", path, body.encode(), h)
        return st, hd, json.loads(data) if data else None


    def login(self, user, password=None):
        # A burst of logins may find every hash slot taken: 503 with
        # Retry-After, and a client tries again, as the login page does.
        for _ in range(30):
            st, hd, body = self.post("/api/v1/session", {
                "name": user, "password": password or password_of(user)})
            if st != 503:
                break
            assert hd.get("retry-after") == "1", hd
            time.sleep(0.2)
        if st == 200:
            self.csrf = body["csrf_token"]
        return st, hd, body


def expect_error(resp, status, code=None, field=None):
    st, hd, body = resp
    assert st == status, f"expected {status}, got {st}: {body}"
    assert hd.get("content-type", "").startswith("application/json"), hd
    assert "error" in body and "message" in body["error"] and "code" in body["error"], body
    if code:
        assert body["error"]["code"] == code, body
    if field:
        assert body["error"].get("field") == field, body
    return body


def item(i, n=2, **extra):
    """A native import line with n responses "a", "b", ..."""
    line = {"id": f"q{i}", "prompt": f"prompt {i}",
            "responses": [{"id": chr(97 + k), "model": f"m{k}", "text": f"answer {k} to {i}"}
                          for k in range(n)]}
    line.update(extra)
    return line


PAIRWISE = [{"name": "better", "type": "pairwise", "allow_tie": True}]


def make_job(server, lead, questions=None, items=3, overlap=1, members=("lab",), lease=600,
             randomize=True, n_responses=2, open_job=True):
    """Creates, fills and (by default) opens a job through the API; returns its id."""
    st, _, body = lead.post("/api/v1/jobs", {
        "name": "test job", "instructions": "Pick the better answer.",
        "questions": questions or PAIRWISE, "overlap": overlap, "lease_seconds": lease,
        "randomize_order": randomize})
    assert st == 201, body
    jid = body["job"]["id"]
    if items:
        st, _, body = lead.jsonl(f"/api/v1/jobs/{jid}/items",
                                 [item(i, n_responses) for i in range(items)])
        assert st == 201, body
    st, _, body = lead.put(f"/api/v1/jobs/{jid}/members", {"members": list(members)})
    assert st == 200, body
    if open_job:
        st, _, body = lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})
        assert st == 200, body
    return jid
