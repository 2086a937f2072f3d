"""connected.py: many labelers connected to one node at once, as browsers
are: each on its own keep-alive connection, a request every 2 s (a
labeler's think time), reconnecting when the server closed an idle
connection. Prints how many were served, their latency percentiles
(reconnects included), timeouts and errors, and the server's memory and
threads; with the defaults, and again with the old settings (64 threads,
5 s keep-alive), in the same run."""
import argparse
import asyncio
import os
import random
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cli, pct, serve, stop  # noqa: E402

THINK = 2.0
TIMEOUT = 5.0


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


async def labeler(port, path, token, until, lat, state, k):
    reader = writer = None
    req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
    await asyncio.sleep(random.random() * THINK)  # arrivals spread over one think time
    served = False
    while time.monotonic() < until:
        t0 = time.monotonic()
        try:
            for attempt in range(2):
                if writer is None:
                    # Each from an address of its own, as labelers' machines are.
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(
                        "127.0.0.1", port, local_addr=(f"127.0.{1 + k // 200}.{10 + k % 200}", 0)), TIMEOUT)
                try:
                    writer.write(req)
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
                    break
                except (asyncio.IncompleteReadError, ConnectionError):
                    # The server closed the idle connection: a browser reconnects.
                    writer.close()
                    reader = writer = None
                    if attempt == 1:
                        raise
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await asyncio.wait_for(reader.readexactly(length), TIMEOUT)
            status = int(head.split(b" ")[1])
            if status != 200:
                state["errors"] += 1
            else:
                lat.append(time.monotonic() - t0)
                served = True
            if b"connection: close" in head.lower():
                writer.close()
                reader = writer = None
        except asyncio.TimeoutError:
            state["timeouts"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            state["errors"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
        await asyncio.sleep(max(0.0, THINK - (time.monotonic() - t0)))
    state["served"] += served
    if writer is not None:
        writer.close()


async def run(port, path, token, n, seconds):
    lat, state = [], {"served": 0, "timeouts": 0, "errors": 0}
    until = time.monotonic() + seconds
    await asyncio.gather(*(labeler(port, path, token, until, lat, state, k) for k in range(n)))
    return lat, state


def measure(binary, db, token, jid, n, seconds, args):
    srv, port = serve(binary, db, args)
    try:
        lat, st = asyncio.run(run(port, f"/api/v1/jobs/{jid}", token, n, seconds))
        ps = proc_status(srv.pid)
    finally:
        stop([srv])
    return lat, st, ps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="./arbiter")
    ap.add_argument("--labelers", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    tmp = tempfile.mkdtemp(prefix="arbiter-bench-connected-")
    db = os.path.join(tmp, "arbiter.db")
    cli(a.binary, ["user", "add", "lead", "--role", "lead"], db, stdin="bench lead password\n")
    job = os.path.join(tmp, "job.json")
    with open(job, "w") as f:
        f.write('{"name": "connected", "questions": [{"name": "better", "type": "pairwise"}]}')
    jid = cli(a.binary, ["job", "create", "--file", job, "--owner", "lead"], db).strip()
    token = cli(a.binary, ["token", "create", "bench", "--scope", "export", "--user", "lead"], db).strip()
    ok = True
    for label, args in (("defaults", ()), ("old settings (64 threads, 5 s keep-alive)",
                                            ("--threads", "64", "--keep-alive-ms", "5000"))):
        lat, st, ps = measure(a.binary, db, token, jid, a.labelers, a.seconds, args)
        print(f"{a.labelers} labelers connected, a request every {THINK:.0f} s for {a.seconds:.0f} s, {label}: "
              f"{st['served']} served, {len(lat)} answers, p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, "
              f"{st['timeouts']} timeouts, {st['errors']} errors; server RSS {ps.get('VmRSS')}, "
              f"peak {ps.get('VmHWM')}, {ps.get('Threads')} threads")
        if label == "defaults":
            ok = st["served"] == a.labelers and st["timeouts"] == 0 and st["errors"] == 0
            print(f"  target: every one served, no timeouts, p99 < 100 ms: "
                  f"{'ok' if ok and pct(lat, 0.99) < 100 else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
