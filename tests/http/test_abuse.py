"""Abusive clients: a cap on the connections one address holds open, so
that slow clients from one host cannot take every worker (slowloris)."""
import http.client
import select
import socket
import subprocess
import tempfile
import time

import harness
from harness import Server


def idle(port, src):
    """A connection from src that sends nothing, as a slowloris client:
    it holds a worker until --request-timeout-ms."""
    sock = socket.socket()
    sock.bind((src, 0))
    sock.connect(("127.0.0.1", port))
    sock.settimeout(30)
    return sock


def answer(sock):
    """Everything the server sends on sock until it closes it, or None when
    it keeps it open: a refusal at accept is answered and closed at once,
    an accepted connection waits for a request (the tests'
    --request-timeout-ms is far longer than this wait)."""
    sock.settimeout(30)
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return None


def waiting(socks):
    """True when every one of socks is accepted and waiting (one wait for
    all of them)."""
    readable, _, _ = select.select(socks, [], [], 1.0)
    return not readable


def healthz(port, src="127.0.0.1"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(src, 0))
    c.request("GET", "/healthz")
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def metric(s, name):
    st, _, data = s.client("admin").raw("GET", "/metrics")
    assert st == 200, st
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_an_address_over_its_cap_is_refused_at_accept():
    s = Server(args=("--max-conns-per-addr", "4", "--request-timeout-ms", "120000"))
    held = [idle(s.port, "127.0.0.2") for _ in range(4)]
    extra = idle(s.port, "127.0.0.2")
    got = answer(extra)
    assert got is not None, "the fifth connection from one address was accepted"
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 "), head
    assert b"\r\nRetry-After: 1\r\n" in head and b"\r\nConnection: close\r\n" in head, head
    assert b'"code":"too_many_connections"' in body, body
    extra.close()
    # The cap is per address: others are served while 127.0.0.2 is full,
    # and the held connections are still open, waiting for a request.
    assert healthz(s.port, "127.0.0.1") == 200
    assert healthz(s.port, "127.0.0.3") == 200
    assert waiting(held)
    assert metric(s, "arbiter_connections_refused_total") == 1
    # One of the four closes: its slot is free once the server has closed
    # its end (a worker sees the close, then releases the descriptor).
    held.pop().close()
    for _ in range(600):
        again = idle(s.port, "127.0.0.2")
        if waiting([again]):
            break
        again.close()
        time.sleep(0.05)
    else:
        raise AssertionError("a closed connection's slot was never freed")
    again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (answer(again) or b"").startswith(b"HTTP/1.1 200 ")
    for h in held:
        h.close()


def test_the_default_cap_is_half_the_threads():
    s = Server(args=("--request-timeout-ms", "120000"))  # the harness runs 16 threads
    held = [idle(s.port, "127.0.0.2") for _ in range(8)]
    assert waiting(held)
    extra = idle(s.port, "127.0.0.2")
    assert (answer(extra) or b"").startswith(b"HTTP/1.1 503 ")
    # Eight workers are held, eight still serve.
    assert healthz(s.port) == 200
    for h in held + [extra]:
        h.close()


def test_the_trusted_proxy_is_never_capped_and_zero_turns_the_cap_off():
    s = Server(args=("--max-conns-per-addr", "2", "--trusted-proxy", "127.0.0.3",
                     "--request-timeout-ms", "120000"))
    proxy = [idle(s.port, "127.0.0.3") for _ in range(6)]
    assert waiting(proxy)
    others = [idle(s.port, "127.0.0.2") for _ in range(3)]
    assert waiting(others[:2]) and (answer(others[2]) or b"").startswith(b"HTTP/1.1 503 ")
    for c in proxy + others:
        c.close()
    off = Server(args=("--max-conns-per-addr", "0", "--request-timeout-ms", "120000"))
    many = [idle(off.port, "127.0.0.2") for _ in range(12)]
    assert waiting(many)
    for m in many:
        m.close()


def test_a_trusted_proxy_that_is_not_an_address_is_refused_at_start():
    d = tempfile.mkdtemp(prefix="arbiter-abuse-")
    p = subprocess.run([harness.BINARY, "serve", "--db", d + "/a.db", "--listen", "127.0.0.1:0",
                        "--trusted-proxy", "proxy.internal"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "--trusted-proxy proxy.internal is not an IP address" in p.stderr, p.stderr
