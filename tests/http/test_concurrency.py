"""32 labelers leasing and submitting at once against one job: overlap is
never exceeded, and no judgment is lost or counted twice, retries included."""
import threading

from harness import Server, make_job

N = 32
ITEMS = 40
OVERLAP = 3


def test_32_labelers_at_once():
    names = [f"lab{i:02d}" for i in range(N)]
    # Each keep-alive connection holds a CivetWeb worker thread: more
    # threads than labelers.
    s = Server(args=("--threads", "48"), users=("admin", "lead") + tuple(names))
    lead = s.client("lead")
    jid = make_job(s, lead, items=ITEMS, overlap=OVERLAP, members=names)
    # Each from an address of its own, as labelers are: one address may
    # hold only half the workers (--max-conns-per-addr).
    clients = [s.client(n, source=f"127.0.0.{10 + k}") for k, n in enumerate(names)]
    created, replayed, errors = [], [], []
    barrier = threading.Barrier(N)

    def work(k, c):
        barrier.wait()
        while True:
            st, _, body = c.post(f"/api/v1/jobs/{jid}/tasks/next")
            if st == 204:
                return
            if st != 200:
                errors.append((st, body))
                return
            t = body["task"]
            answer = {"answers": {"better": {"winner": t["item"]["responses"][k % 2]["id"]}}}
            st, _, body = c.post(f"/api/v1/tasks/{t['id']}/judgment", answer)
            if st != 201:
                errors.append((st, body))
                return
            created.append(body["judgment"]["id"])
            if k % 4 == 0:  # a client that retries as if the answer was lost
                st, _, again = c.post(f"/api/v1/tasks/{t['id']}/judgment", answer)
                if st != 200 or again["judgment"]["id"] != body["judgment"]["id"]:
                    errors.append((st, again))
                replayed.append(body["judgment"]["id"])

    threads = [threading.Thread(target=work, args=(k, c)) for k, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:5]
    stored = s.sql("SELECT id FROM judgments ORDER BY id")
    assert sorted(created) == [r[0] for r in stored]           # none lost, none doubled
    assert len(created) == ITEMS * OVERLAP
    per_item = s.sql("SELECT count(*) FROM judgments GROUP BY item_id")
    assert len(per_item) == ITEMS and all(n == OVERLAP for (n,) in per_item), per_item
    assert s.sql("SELECT count(*) FROM (SELECT 1 FROM judgments GROUP BY item_id, labeler_id"
                 " HAVING count(*) > 1)") == [(0,)]
    assert s.sql("SELECT max(claims), max(judged), min(judged) FROM items") == \
        [(OVERLAP, OVERLAP, OVERLAP)]
    assert s.sql("SELECT count(*) FROM tasks WHERE state = 'leased'") == [(0,)]
    assert replayed


def test_more_connected_clients_than_threads_are_all_served():
    """300 clients on their own keep-alive connections, 16 worker threads:
    an idle connection is closed after --keep-alive-ms, so a client that
    thinks between requests holds no thread, and every one is served
    (reconnecting as a browser does)."""
    import socket
    s = Server(args=("--keep-alive-ms", "100"), users=("lead",))
    lead = s.client("lead")
    st, _, body = lead.post("/api/v1/tokens", {"name": "t", "scopes": ["export"]})
    token = body["secret"]
    req = f"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    # 300 machines' browsers: one address may hold only half the workers.
    def source(k):
        return (f"127.0.{1 + k // 200}.{10 + k % 200}", 0)

    socks = [socket.create_connection(("127.0.0.1", s.port), timeout=60, source_address=source(k))
             for k in range(300)]
    answers = [0] * len(socks)

    def ask(k):
        for attempt in range(2):
            try:
                socks[k].sendall(req)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = socks[k].recv(65536)
                    if not chunk:
                        raise ConnectionError("closed")
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                n = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
                while len(rest) < n:
                    rest += socks[k].recv(65536)
                assert head.startswith(b"HTTP/1.1 200"), head
                answers[k] += 1
                return
            except (ConnectionError, OSError):
                # Closed while idle: reconnect, as a browser does.
                socks[k].close()
                socks[k] = socket.create_connection(("127.0.0.1", s.port), timeout=60,
                                                    source_address=source(k))
        raise AssertionError(f"client {k} not served")

    for _ in range(3):  # three rounds: every client asks, then all think
        threads = [threading.Thread(target=ask, args=(k,)) for k in range(len(socks))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert answers == [3] * len(socks), answers
    for x in socks:
        x.close()
    s.stop()
