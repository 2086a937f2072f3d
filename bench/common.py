"""common.py: what the benchmarks of `make bench` share: a free loopback
port, the CLI with cheap password hashing (benchmarks measure the loop and
the exports, not logins), waiting for a server, and stopping servers."""
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


def stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
