"""common.py: what the benchmarks of `make bench` share: a free loopback
port, the CLI with cheap password hashing (benchmarks measure the loop and
the exports, not logins), starting and waiting for a server, an export
token, and stopping servers."""
import http.client
import json
import signal
import socket
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli(binary, args, db, stdin=None):
    cmd = [binary] + args + ["--db", db, "--pwhash-mem", "8", "--pwhash-ops", "1"]
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} failed: {p.stderr}")
    return p.stdout


def wait_port(port, proc):
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("bench: a server exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("bench: a server did not start")


def serve(binary, db, args=(), cheap_hashing=True):
    """`arbiter serve` on db at a free loopback port, with cheap hashing
    unless told otherwise: (process, port) once it accepts connections."""
    port = free_port()
    cheap = ["--pwhash-mem", "8", "--pwhash-ops", "1"] if cheap_hashing else []
    srv = subprocess.Popen([binary, "serve", "--db", db, "--listen", f"127.0.0.1:{port}"]
                           + cheap + list(args),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, srv)
    return srv, port


def export_token(binary, db):
    """The secret of a new API token of the lead, scope export."""
    return cli(binary, ["token", "create", "bench", "--scope", "export", "--user", "lead"], db).strip()


def stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def pct(v, p):
    """The p-quantile of durations v (seconds), in milliseconds."""
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] * 1000 if v else float("nan")


def login(port, name, password):
    """A session of name: (its cookie, as "arbiter_session=...", and its
    CSRF token)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/api/v1/session", json.dumps({"name": name, "password": password}),
              {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"})
    r = c.getresponse()
    body = json.loads(r.read())
    c.close()
    if r.status != 200:
        sys.exit(f"bench: login of {name}: {r.status} {body}")
    return r.getheader("Set-Cookie").split(";", 1)[0], body["csrf_token"]
