"""The command line, provisioning without a terminal, migrations, first
run, and clean shutdown."""
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import time

import harness
from harness import Server, cli


def tmpdb():
    return os.path.join(tempfile.mkdtemp(prefix="arbiter-cli-"), "a.db")


def test_help_and_usage_errors():
    p = cli(["--help"])
    for word in ("serve", "migrate", "user add", "token create", "--db", "--listen", "--threads",
                 "--assets"):
        assert word in p.stdout, word
    assert cli(["serve", "--help"]).returncode == 0
    assert cli(["frobnicate"], check=False).returncode == 2
    assert cli(["serve", "--threads", "zero"], check=False).returncode == 2
    assert cli(["user", "add", "x", "--role", "king"], stdin="password 12345\n", db=tmpdb(),
               check=False).returncode == 2


def test_provision_without_terminal():
    db = tmpdb()
    cli(["user", "add", "ops", "--role", "admin"], stdin="ops password 123\n", db=db)
    cli(["user", "add", "ana", "--role", "lead"], stdin="ana password 123\n", db=db)
    p = cli(["user", "add", "weak", "--role", "lead"], stdin="short\n", db=db, check=False)
    assert p.returncode == 1 and "12 to 128" in p.stderr
    out = cli(["user", "list"], db=db).stdout
    assert re.search(r"ops\s+admin\s+active", out) and re.search(r"ana\s+lead\s+active", out)
    tok = cli(["token", "create", "pipeline", "--scope", "export", "--user", "ana"], db=db).stdout
    assert re.fullmatch(r"arb_[A-Za-z0-9_-]{43}\n", tok), repr(tok)  # the token alone
    tok2 = cli(["token", "create", "default-owner", "--scope", "export", "--scope", "write",
                "--expires-days", "7"], db=db).stdout.strip()
    listing = cli(["token", "list"], db=db).stdout
    assert "pipeline" in listing and "ana" in listing and "export,write" in listing
    assert re.search(r"default-owner\s+ops", listing)  # the first admin owns it
    p = cli(["token", "create", "x", "--scope", "export", "--user", "nobody"], db=db, check=False)
    assert p.returncode == 1
    cli(["user", "passwd", "ana"], stdin="ana new password\n", db=db)
    cli(["user", "disable", "ana"], db=db)
    assert re.search(r"ana\s+lead\s+disabled", cli(["user", "list"], db=db).stdout)
    cli(["user", "enable", "ana"], db=db)
    # The tokens work against a server on the same database, until revoked.
    s = Server(users=(), db=db)
    bot = s.client()
    bot.token = tok.strip()
    st, _, me = bot.get("/api/v1/me")
    assert st == 200 and me["user"]["name"] == "ana"
    assert s.client().login("ana", "ana new password")[0] == 200
    tid = s.sql("SELECT id FROM api_tokens WHERE name='pipeline'")[0][0]
    cli(["token", "revoke", str(tid)], db=db)
    assert bot.get("/api/v1/me")[0] == 401
    assert cli(["token", "revoke", str(tid)], db=db, check=False).returncode == 1
    bot.token = tok2
    assert bot.get("/api/v1/me")[2]["user"]["name"] == "ops"
    actions = {r[0] for r in s.sql("SELECT action FROM audit_log")}
    assert {"user_create", "user_update", "token_create", "token_revoke"} <= actions


def test_migrate_and_newer_database_refused():
    db = tmpdb()
    p = cli(["migrate"], db=db)
    assert re.match(r"schema version \d+", p.stdout)
    version = int(p.stdout.split()[-1])
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == version
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "sessions", "api_tokens", "audit_log"} <= tables
    con.execute(f"PRAGMA user_version = {version + 1}")
    con.close()
    for args in (["migrate"], ["user", "list"], ["serve", "--listen", "127.0.0.1:1"]):
        p = cli(args, db=db, check=False)
        assert p.returncode != 0 and "newer than this arbiter" in p.stderr, (args, p.stderr)


def test_first_run_creates_admin_with_one_time_password():
    d = tempfile.mkdtemp(prefix="arbiter-first-")
    db = os.path.join(d, "data", "arbiter.db")  # the folder is created too
    port = harness.free_port()
    import subprocess
    proc = subprocess.Popen([harness.BINARY, "serve", "--db", db, "--listen",
                             f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=harness.ENV)
    lines = []
    while True:
        line = proc.stdout.readline()
        lines.append(line)
        if "Arbiter is at" in line or not line:
            break
    out = "".join(lines)
    m = re.search(r"One-time password: (\S+)", out)
    assert m and f"http://127.0.0.1:{port}/" in out, out
    s = Server.__new__(Server)
    s.port = port
    c = harness.Client(s)
    deadline = time.time() + 20
    while True:
        try:
            if c.get("/healthz")[0] == 200:
                break
        except OSError:
            pass
        assert time.time() < deadline
        time.sleep(0.05)
    st, _, body = c.login("admin", m.group(1))
    assert st == 200 and body["user"]["role"] == "admin" and body["user"]["must_change_password"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    # A second start makes no new account and prints no password.
    proc = subprocess.Popen([harness.BINARY, "serve", "--db", db, "--listen",
                             f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=harness.ENV)
    line = proc.stdout.readline()
    while line and "Arbiter is at" not in line:
        assert "One-time password" not in line
        line = proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM users").fetchone()[0] == 1
    con.close()


def test_clean_shutdown_finishes_in_flight_request():
    s = Server()
    # Send a login (an Argon2id verification: tens of milliseconds) and stop
    # the server while it is being answered.
    body = b'{"username": "lab", "password": "labeler password"}'
    request = (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    def stop_soon():
        time.sleep(0.01)
        s.proc.send_signal(signal.SIGTERM)
    data = harness.raw_exchange(s.port, request, stop_soon)
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert s.proc.wait(timeout=30) == 0
    assert "stopped cleanly" in s.output()
    # Closed cleanly: the WAL was checkpointed and removed, the file is sound.
    assert not os.path.exists(s.db + "-wal") or os.path.getsize(s.db + "-wal") == 0
    con = sqlite3.connect(s.db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    con.close()


def test_rehash_when_parameters_change():
    s = Server(["--pwhash-ops", "3", "--pwhash-mem", "16"])
    before = s.sql("SELECT password_hash FROM users WHERE name='lab'")[0][0]
    assert "t=2" in before  # created by the CLI with the defaults
    assert s.client().login("lab")[0] == 200
    after = s.sql("SELECT password_hash FROM users WHERE name='lab'")[0][0]
    assert after.startswith("$argon2id$") and "m=16384,t=3" in after, after
    assert s.client().login("lab")[0] == 200  # the new hash verifies


def test_the_binary_is_hardened():
    """The real binary is built with FORTIFY_SOURCE, stack canaries, PIE and
    full RELRO (the Makefile's HARDEN); the ASan build is checked by its
    sanitizers instead."""
    def readelf(*args):
        return subprocess.run(["readelf", "-W", *args, harness.BINARY], capture_output=True, text=True, check=True).stdout
    syms = readelf("--dyn-syms")
    if "__asan_init" in syms:
        assert "__ubsan_handle" in syms  # the sanitizer build: ASan and UBSan both in
        return
    assert "DYN (Position-Independent Executable file)" in readelf("-h")
    dyn = readelf("-d")
    assert "BIND_NOW" in dyn and "PIE" in dyn, dyn
    assert "GNU_RELRO" in readelf("-l")
    assert "__stack_chk_fail" in syms
    assert "__snprintf_chk" in syms, syms  # FORTIFY_SOURCE's checked variants
