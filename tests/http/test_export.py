"""Exports: every format against its JSON Schema and its consumer's rules
(TRL conversational columns, the OpenAI cookbook's chat format checks,
chosen != rejected), the derivation rules on known answers, majority
aggregation, incremental pulls while labelers submit, access, bad
parameters, and the CLI."""
import json
import os
import threading

from harness import Server, cli, expect_error
from schema_check import errors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORMATS = ("raw", "sft", "openai-chat", "preference", "openai-preference", "kto")
SCHEMAS = {f: json.load(open(os.path.join(ROOT, "schema", "export", f"{f}.schema.json")))
           for f in FORMATS}

QUESTIONS_A = [
    {"name": "better", "type": "pairwise", "allow_tie": True, "allow_both_bad": True, "strength": 2},
    {"name": "helpful", "type": "rating", "scale": {"min": 1, "max": 5}},
    {"name": "ok", "type": "rating", "scale": "thumbs"},
    {"name": "rewrite", "type": "text", "prefill": "response:a", "required": False},
    {"name": "flags", "type": "labels", "options": ["rude", "wrong"], "multiple": True},
]
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a prime."}]
ITEMS_A = [
    {"id": "q0", "prompt": "Say hi.", "metadata": {"category": "greet"},
     "responses": [{"id": "a", "model": "m1", "text": "Hi!"}, {"id": "b", "model": "m2", "text": "Go away."}]},
    {"id": "q1", "prompt": "Count to 2.",
     "responses": [{"id": "a", "model": "m1", "text": "1 2"}, {"id": "b", "model": "m2", "text": "1, 2"}]},
    {"id": "c0", "messages": CHAT,
     "responses": [{"id": "a", "model": "m1", "text": "9"}, {"id": "b", "model": "m2", "text": "7"}]},
    {"id": "c1", "messages": CHAT,
     "responses": [{"id": "a", "model": "m1", "text": "4"}, {"id": "b", "model": "m2", "text": "1"}]},
]
ANSWERS_A = {
    "q0": {"better": {"winner": "a", "strength": 2}, "helpful": {"a": 5, "b": 2},
           "ok": {"a": True, "b": False}, "rewrite": "Hi there!", "flags": []},
    "q1": {"better": {"winner": "tie"}, "helpful": {"a": 3, "b": 3}, "ok": {"a": True, "b": True},
           "flags": ["wrong"]},
    "c0": {"better": {"winner": "b", "strength": 1}, "helpful": {"a": 1, "b": 4},
           "ok": {"a": False, "b": True}, "rewrite": "2", "flags": []},
    "c1": {"better": {"winner": "both_bad"}, "helpful": {"a": 2, "b": 3}, "ok": {"a": False, "b": False},
           "flags": ["rude", "wrong"]},
}


def job_with(s, lead, questions, items, overlap=1, members=("lab",)):
    st, _, body = lead.post("/api/v1/jobs", {"name": "export job", "questions": questions,
                                             "overlap": overlap, "randomize_order": True})
    assert st == 201, body
    jid = body["job"]["id"]
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": list(members)})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    return jid


def judge_all(c, jid, answers_by_item):
    while True:
        st, _, body = c.post(f"/api/v1/jobs/{jid}/tasks/next")
        if st == 204:
            return
        t = body["task"]
        st, _, body = c.post(f"/api/v1/tasks/{t['id']}/judgment", {"answers": answers_by_item(t["item"]["id"])})
        assert st == 201, body


def export(c, jid, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    st, hd, data = c.raw("GET", f"/api/v1/jobs/{jid}/export?{q}")
    assert st == 200, (st, data[:300])
    assert hd["content-type"] == "application/x-ndjson"
    assert hd["transfer-encoding"] == "chunked"
    fmt = params.get("format", "raw")
    assert f'filename="job-{jid}-{fmt}' in hd["content-disposition"], hd
    text = data.decode()
    assert text == "" or text.endswith("\n")
    rows = [json.loads(l) for l in text.splitlines()]
    for r in rows:
        problems = errors(SCHEMAS[fmt], r)
        assert not problems, (fmt, r, problems)
        consumer_rules(fmt, r)
    return rows, int(hd["x-arbiter-cursor"])


def is_messages(v):
    return isinstance(v, list) and v and all(
        isinstance(m, dict) and set(m) == {"role", "content"} and isinstance(m["content"], str) for m in v)


def consumer_rules(fmt, r):
    """What the consumers check beyond the schema."""
    if fmt in ("preference", "kto", "sft"):
        # TRL: a conversational row holds message lists in every message
        # column; a standard row holds strings in all of them.
        cols = [k for k in ("prompt", "chosen", "rejected", "completion", "messages") if k in r]
        kinds = {is_messages(r[k]) for k in cols}
        assert len(kinds) == 1, (fmt, r)
        if True in kinds and "prompt" in r:
            assert r["prompt"][-1]["role"] == "user"
    if fmt == "preference":
        assert r["chosen"] != r["rejected"], r
    if fmt == "openai-preference":
        assert r["preferred_output"] != r["non_preferred_output"], r
        assert r["input"]["messages"][-1]["role"] == "user"
    if fmt == "openai-chat":
        # The OpenAI cookbook's format checks for chat fine-tuning data.
        msgs = r["messages"]
        assert isinstance(msgs, list) and msgs
        for m in msgs:
            assert "role" in m and "content" in m, m
            assert set(m) <= {"role", "content", "name", "function_call", "weight"}, m
            assert m["role"] in ("system", "user", "assistant", "function"), m
            assert isinstance(m["content"], str) and m["content"], m
        assert any(m["role"] == "assistant" for m in msgs), msgs


def test_every_format_by_the_rules():
    s = Server(users=("admin", "lead", "lab"))
    lead, lab = s.client("lead"), s.client("lab")
    jid = job_with(s, lead, QUESTIONS_A, ITEMS_A)
    judge_all(lab, jid, lambda item_id: ANSWERS_A[item_id])

    raw, cursor = export(lead, jid, format="raw")
    assert len(raw) == 4 and cursor == 4
    assert [r["seq"] for r in raw] == [1, 2, 3, 4]
    by_item = {r["item_id"]: r for r in raw}
    db = {ext: (jid_, json.loads(a), shown) for ext, jid_, a, shown in s.sql(
        "SELECT i.ext_id, g.id, g.answers, t.shown FROM judgments g JOIN items i ON i.id = g.item_id"
        " JOIN tasks t ON t.id = g.task_id")}
    for ext, r in by_item.items():
        assert r["answers"] == ANSWERS_A[ext] == db[ext][1]
        assert r["judgment_id"] == db[ext][0]
        order = json.loads(db[ext][2])
        src = next(i for i in ITEMS_A if i["id"] == ext)
        assert r["responses"] == [src["responses"][k] for k in order]  # as shown, models kept
        assert r["shown_order"] == [src["responses"][k]["id"] for k in order]
        assert r["revision"] == 1 and r["duration_seconds"] >= 0
        assert ("messages" in r) == ext.startswith("c")
    assert by_item["q0"]["metadata"] == {"category": "greet"} and by_item["q1"]["metadata"] == {}
    assert len({r["labeler"] for r in raw}) == 1 and "lab" != raw[0]["labeler"]

    sft, _ = export(lead, jid, format="sft")
    assert sft == [{"prompt": "Say hi.", "completion": "Hi there!"},
                   {"messages": CHAT + [{"role": "assistant", "content": "2"}]}]
    chat, _ = export(lead, jid, format="openai-chat")
    assert chat == [{"messages": [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi there!"}]},
                    {"messages": CHAT + [{"role": "assistant", "content": "2"}]}]
    # best_rated adds the single best-rated response when good enough.
    sft, _ = export(lead, jid, format="sft", best_rated=4)
    assert {"prompt": "Say hi.", "completion": "Hi!"} in sft
    assert {"messages": CHAT + [{"role": "assistant", "content": "7"}]} in sft and len(sft) == 4

    pref, _ = export(lead, jid, format="preference")
    A = lambda t: [{"role": "assistant", "content": t}]
    assert pref == [
        {"prompt": "Say hi.", "chosen": "Hi!", "rejected": "Go away.", "margin": 2.0},  # pairwise, strength 2
        {"prompt": CHAT, "chosen": A("7"), "rejected": A("9"), "margin": 1.0},       # pairwise b, strength 1
        {"prompt": CHAT, "chosen": A("1"), "rejected": A("4"), "margin": 1.0},       # both bad: the rating decides
    ]
    pref, _ = export(lead, jid, format="preference", question="helpful", min_gap=2)
    assert [(r["chosen"], r["margin"]) for r in pref] == [("Hi!", 3.0), (A("7"), 3.0)]
    opref, _ = export(lead, jid, format="openai-preference")
    assert opref[0] == {"input": {"messages": [{"role": "user", "content": "Say hi."}]},
                        "preferred_output": A("Hi!"), "non_preferred_output": A("Go away.")}
    assert opref[1]["input"]["messages"] == CHAT and len(opref) == 3

    kto, _ = export(lead, jid, format="kto", question="helpful")
    assert [(r["completion"], r["label"]) for r in kto] == [
        ("Hi!", True), ("Go away.", False), (A("9"), False), (A("7"), True), (A("4"), False)]
    kto, _ = export(lead, jid, format="kto", question="helpful", kto_good=3, kto_bad=1)
    assert sum(r["label"] for r in kto) == 5 and len(kto) == 6
    kto, _ = export(lead, jid, format="kto")  # each response labelled once per judgment
    assert len(kto) == 8

    # Incremental: nothing new after the cursor; a revision comes back.
    assert export(lead, jid, format="raw", since=cursor)[0] == []
    jg = db["q1"][0]
    st, _, body = lab.put(f"/api/v1/judgments/{jg}", {"answers": dict(ANSWERS_A["q1"], better={"winner": "a", "strength": 1})})
    assert st == 200, body
    rows, cursor2 = export(lead, jid, format="raw", since=cursor)
    assert cursor2 == 5 and [(r["judgment_id"], r["revision"], r["seq"]) for r in rows] == [(jg, 2, 5)]
    pref, _ = export(lead, jid, format="preference", since=cursor)
    assert pref == [{"prompt": "Count to 2.", "chosen": "1 2", "rejected": "1, 2", "margin": 1.0}]


def test_rank_pairs_and_majority():
    s = Server(users=("lead", "lab", "lab2", "lab3"))
    lead = s.client("lead")
    q = [{"name": "order", "type": "rank", "allow_ties": True}]
    items = [{"id": "r0", "prompt": "Rank", "responses": [{"id": k, "text": f"text {k}"} for k in "abc"]},
             {"id": "r1", "prompt": "Rank ties", "responses": [{"id": k, "text": f"tie {k}"} for k in "abc"]},
             {"id": "r2", "messages": CHAT, "responses": [{"id": k, "text": f"chat {k}"} for k in "abc"]}]
    jid = job_with(s, lead, q, items, overlap=3, members=("lab", "lab2", "lab3"))
    orders = {"lab": ["a", "b", "c"], "lab2": ["a", "c", "b"], "lab3": ["b", "a", "c"]}
    for u, order in orders.items():
        judge_all(s.client(u), jid, lambda ext, order=order: {
            "order": order if ext in ("r0", "r2") else [["a"], ["b", "c"]]})
    rows, _ = export(lead, jid, format="preference")
    r0 = [(r["chosen"][-1], r["rejected"][-1], r["margin"]) for r in rows if r["prompt"] == "Rank"]
    r2 = [(r["chosen"][0]["content"][-1], r["rejected"][0]["content"][-1]) for r in rows if r["prompt"] == CHAT]
    assert sorted(r2) == sorted((c, rj) for c, rj, _ in r0)  # the chat ranks the same, conversational
    assert len(r0) == 9 and ("a", "c", 2.0) in r0 and ("c", "b", 1.0) in r0
    r1 = [(r["chosen"][-1], r["rejected"][-1]) for r in rows if r["prompt"] == "Rank ties"]
    assert sorted(r1) == [("a", "b")] * 3 + [("a", "c")] * 3  # tied b and c give no pair
    best, _ = export(lead, jid, format="preference", rank_pairs="best")
    assert len([r for r in best if r["prompt"] == "Rank"]) == 6 == len([r for r in best if r["prompt"] == CHAT])
    # Majority: a > b (2 of 3), a > c (3 of 3), b > c (2 of 3).
    maj, _ = export(lead, jid, format="preference", aggregate="majority")
    got = sorted((r["prompt"], r["chosen"][-1], r["rejected"][-1]) for r in maj if r["prompt"] != CHAT)
    assert len([r for r in maj if r["prompt"] == CHAT]) == 3
    assert got == [("Rank", "a", "b"), ("Rank", "a", "c"), ("Rank", "b", "c"),
                   ("Rank ties", "a", "b"), ("Rank ties", "a", "c")], got
    maj, _ = export(lead, jid, format="preference", aggregate="majority", min_agreement="0.9")
    assert sorted((r["prompt"], r["chosen"][-1], r["rejected"][-1]) for r in maj if r["prompt"] != CHAT) == [
        ("Rank", "a", "c"), ("Rank ties", "a", "b"), ("Rank ties", "a", "c")]
    maj, _ = export(lead, jid, format="openai-preference", aggregate="majority")
    assert len(maj) == 8
    raw, _ = export(lead, jid, format="raw")
    assert len(raw) == 9 and sum("messages" in r for r in raw) == 3
    expect_error(lead.get(f"/api/v1/jobs/{jid}/export?format=raw&aggregate=majority"), 422, field="aggregate")
    expect_error(lead.get(f"/api/v1/jobs/{jid}/export?format=sft"), 422, field="format")


def test_majority_kto_over_many_items_and_pages():
    """More judgments than one page of the by-item pass (2048 rows)."""
    s = Server(users=("lead", "lab", "lab2", "lab3"))
    lead = s.client("lead")
    q = [{"name": "ok", "type": "rating", "scale": "thumbs", "per_response": False}]
    items = [{"id": f"k{i}", "prompt": f"p{i}", "responses": [{"id": "a", "text": f"t{i}"}]} for i in range(700)]
    jid = job_with(s, lead, q, items, overlap=3, members=("lab", "lab2", "lab3"))
    for n, u in enumerate(("lab", "lab2", "lab3")):
        # item k{i} gets i % 3 thumbs up (of 3) ... decided by majority
        judge_all(s.client(u), jid, lambda ext, n=n: {"ok": n < int(ext[1:]) % 3})
    rows, cursor = export(lead, jid, format="kto", aggregate="majority")
    assert cursor == 2100
    labels = {r["prompt"]: r["label"] for r in rows}
    assert len(rows) == 700 == len(labels)
    assert all(labels[f"p{i}"] == (i % 3 == 2) for i in range(700))
    rows, _ = export(lead, jid, format="kto")
    assert len(rows) == 2100


def test_dawid_skene_aggregate_outweighs_a_majority_of_constant_labelers():
    """Two careful labelers against three who always pick the first
    response (or always say thumbs up): the majority follows the three, the
    Dawid-Skene posterior learns they carry no information."""
    labs = ("lab", "lab2", "lab3", "lab4", "lab5")
    s = Server(users=("lead",) + labs)
    lead = s.client("lead")
    items = [{"id": f"d{i}", "prompt": f"p{i}", "responses": [{"id": "a", "text": f"a{i}"}, {"id": "b", "text": f"b{i}"}]}
             for i in range(40)]
    q = [{"name": "better", "type": "pairwise"}, {"name": "ok", "type": "rating", "scale": "thumbs"}]
    jid = job_with(s, lead, q, items, overlap=5, members=labs)
    truth = {f"d{i}": "a" if i % 2 == 0 else "b" for i in range(40)}
    for u in labs:
        careful = u in ("lab", "lab2")
        judge_all(s.client(u), jid, lambda ext, careful=careful: {
            "better": {"winner": truth[ext] if careful else "a"},
            "ok": {"a": truth[ext] == "a" if careful else True, "b": truth[ext] == "b" if careful else True}})
    maj, cursor = export(lead, jid, format="preference", aggregate="majority")
    assert len(maj) == 40 and all(r["chosen"].startswith("a") for r in maj)  # the three win every item
    ds, _ = export(lead, jid, format="preference", aggregate="dawid-skene")
    assert sorted((r["prompt"], r["chosen"][0]) for r in ds) == sorted((f"p{i}", truth[f"d{i}"]) for i in range(40))
    assert all("margin" not in r for r in ds)
    # KTO: every response thumbs up by three, the careful two say which is good.
    maj, _ = export(lead, jid, format="kto", aggregate="majority")
    assert len(maj) == 80 and all(r["label"] for r in maj)
    ds, _ = export(lead, jid, format="kto", aggregate="dawid-skene")
    labels = {(r["prompt"], r["completion"][0]): r["label"] for r in ds}
    assert len(ds) == 80 and labels == {(f"p{i}", k): truth[f"d{i}"] == k for i in range(40) for k in "ab"}
    # The posterior as the threshold: nothing here is that uncertain ...
    assert len(export(lead, jid, format="preference", aggregate="dawid-skene", min_agreement="0.99")[0]) == 40
    # ... and a pull decides an item on the whole fit: nothing changed since the cursor.
    assert export(lead, jid, format="preference", aggregate="dawid-skene", since=cursor)[0] == []
    rows, _ = export(lead, jid, format="openai-preference", aggregate="dawid-skene")
    assert len(rows) == 40 and not errors(SCHEMAS["openai-preference"], rows[0])
    expect_error(lead.get(f"/api/v1/jobs/{jid}/export?format=sft&aggregate=dawid-skene"), 422, field="aggregate")
    expect_error(lead.get(f"/api/v1/jobs/{jid}/export?format=preference&aggregate=mace"), 422, field="aggregate")
    s.stop()


def test_incremental_pulls_while_labelers_submit():
    labs = [f"lab{i}" for i in range(2, 8)]
    s = Server(users=["lead", "lab"] + labs)
    lead = s.client("lead")
    items = [{"id": f"i{i}", "prompt": f"p{i}", "responses": [{"id": "a", "text": f"a{i}"}, {"id": "b", "text": f"b{i}"}]}
             for i in range(80)]
    jid = job_with(s, lead, [{"name": "better", "type": "pairwise"}], items, overlap=3, members=["lab"] + labs)
    done = threading.Event()

    def work(u):
        judge_all(s.client(u), jid, lambda ext: {"better": {"winner": "a" if hash(ext) % 2 else "b"}})

    threads = [threading.Thread(target=work, args=(u,)) for u in ["lab"] + labs]
    for t in threads:
        t.start()
    seen, cursor, pulls = [], 0, 0
    while True:
        alive = any(t.is_alive() for t in threads)
        rows, nxt = export(lead, jid, format="raw", since=cursor)
        pulls += 1
        assert all(cursor < r["seq"] <= nxt for r in rows)
        seen += [r["judgment_id"] for r in rows]
        cursor = nxt
        if not alive and not rows:
            break
    for t in threads:
        t.join()
    done.set()
    ids = [i for (i,) in s.sql("SELECT id FROM judgments")]
    assert len(ids) == 240
    assert sorted(seen) == sorted(ids), (len(seen), len(set(seen)), len(ids))
    assert pulls > 2


def test_export_access_and_bad_parameters():
    s = Server(users=("admin", "lead", "lead2", "lab"))
    lead, lead2, lab, admin = (s.client(u) for u in ("lead", "lead2", "lab", "admin"))
    jid = job_with(s, lead, QUESTIONS_A, ITEMS_A)
    judge_all(lab, jid, lambda ext: ANSWERS_A[ext])
    assert export(admin, jid, format="raw")[0]
    expect_error(lab.get(f"/api/v1/jobs/{jid}/export"), 403)        # a member who does not lead it
    expect_error(lead2.get(f"/api/v1/jobs/{jid}/export"), 404)      # another lead's job does not exist
    expect_error(s.client().get(f"/api/v1/jobs/{jid}/export"), 401)

    def token(user, scope):
        return cli(["token", "create", f"{user}-{scope}", "--scope", scope, "--user", user],
                   db=s.db).stdout.strip()
    t = s.client()
    t.token = token("lead", "export")
    rows, _ = export(t, jid, format="preference")
    assert len(rows) == 3
    t.token = token("lead", "write")
    expect_error(t.get(f"/api/v1/jobs/{jid}/export"), 403, code="scope")
    t.token = token("lead2", "export")
    expect_error(t.get(f"/api/v1/jobs/{jid}/export"), 404)

    for q, field in (("format=csv", "format"), ("since=-1", "since"), ("since=x", "since"),
                     ("since=99", "since"), ("bogus=1", "bogus"), ("aggregate=most", "aggregate"),
                     ("format=preference&min_agreement=0.2", "min_agreement"),
                     ("format=preference&question=nope", "question"),
                     ("format=preference&question=rewrite", "question"),
                     ("format=kto&kto_good=2&kto_bad=3", "kto_bad"), ("format=preference&min_gap=0", "min_gap")):
        expect_error(lead.get(f"/api/v1/jobs/{jid}/export?{q}"), 422, field=field)
    expect_error(lead.get("/api/v1/jobs/999/export"), 404)


def test_cli_export_matches_the_api():
    s = Server(users=("lead", "lab"))
    lead, lab = s.client("lead"), s.client("lab")
    jid = job_with(s, lead, QUESTIONS_A, ITEMS_A)
    judge_all(lab, jid, lambda ext: ANSWERS_A[ext])
    for fmt in ("raw", "preference"):
        out = os.path.join(s.dir, f"{fmt}.jsonl")
        p = cli(["export", str(jid), "--format", fmt, "--out", out], db=s.db)
        assert "cursor 4" in p.stderr, p.stderr
        st, _, data = lead.raw("GET", f"/api/v1/jobs/{jid}/export?format={fmt}")
        assert open(out, "rb").read() == data
    p = cli(["export", str(jid), "--format", "kto", "--question", "helpful", "--kto-good", "4"], db=s.db)
    assert len(p.stdout.splitlines()) == 5
    p = cli(["export", str(jid), "--format", "raw", "--since", "4"], db=s.db)
    assert p.stdout == "" and "0 rows" in p.stderr
    p = cli(["export", str(jid), "--format", "nope"], db=s.db, check=False)
    assert p.returncode == 2 and "--format" in p.stderr
    p = cli(["export", str(jid), "--format", "raw", "--since", "9"], db=s.db, check=False)
    assert p.returncode == 1 and "--since" in p.stderr
