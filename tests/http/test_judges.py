"""Model judges: judgments from a model beside the people's, sent with an
API token's judge scope, never in overlap, exports or human figures; the
report compares each judge with the people's consensus (accuracy, Cohen's
kappa), tests its position bias and gives its own win-rate table."""
import json
import math

from harness import Server, expect_error
from test_report import judge as judge_each

LABS = ("lab", "lab2", "lab3")


def token_client(s, lead, scopes):
    st, _, body = lead.post("/api/v1/tokens", {"name": "judge " + "+".join(scopes), "scopes": scopes})
    assert st == 201, body
    c = s.client()
    c.token = body["secret"]
    return c


def cohen_kappa(xs, ys):
    n = len(xs)
    po = sum(x == y for x, y in zip(xs, ys)) / n
    cats = set(xs) | set(ys)
    pe = sum((xs.count(c) / n) * (ys.count(c) / n) for c in cats)
    return (po - pe) / (1 - pe)


def test_model_judges_sit_beside_the_people_and_are_compared_with_them():
    s = Server(users=("lead",) + LABS)
    lead = s.client("lead")
    st, _, body = lead.post("/api/v1/jobs", {"name": "judged", "overlap": 3, "randomize_order": True,
                                              "questions": [{"name": "better", "type": "pairwise", "allow_tie": True}]})
    jid = body["job"]["id"]
    items = [{"id": f"j{i}", "prompt": f"p{i}", "responses": [{"id": "a", "model": "A", "text": f"a{i}"},
                                                          {"id": "b", "model": "B", "text": f"b{i}"}]}
             for i in range(20)]
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": list(LABS)})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    truth = ["b" if i % 4 == 0 else "a" for i in range(20)]

    judge = token_client(s, lead, ["judge"])
    exporter = token_client(s, lead, ["export"])
    url = f"/api/v1/jobs/{jid}/judge-judgments"
    # Scopes: a judge token judges but does not export; an export token the reverse.
    expect_error(judge.get(f"/api/v1/jobs/{jid}/export"), 403, code="scope")
    expect_error(exporter.post(url, {"judge": "x", "judgments": []}), 403, code="scope")
    assert any("judge" in t["scopes"] for t in lead.get("/api/v1/tokens")[2]["tokens"])

    # Hostile and wrong batches are refused whole, naming the entry.
    good = {"item": "j0", "answers": {"better": {"winner": "a"}}}
    for bad, field in [
        ({"judge": "gpt", "judgments": [good, {"item": "nope", "answers": {"better": {"winner": "a"}}}]}, "judgments[1].item"),
        ({"judge": "gpt", "judgments": [{"item": "j1", "shown": ["a", "a"], "answers": {"better": {"winner": "a"}}}]}, "judgments[0].shown"),
        ({"judge": "gpt", "judgments": [{"item": "j1", "shown": ["a", "b", "c"], "answers": {"better": {"winner": "a"}}}]}, "judgments[0].shown"),
        ({"judge": "gpt", "judgments": [{"item": "j1", "answers": {"better": {"winner": "c"}}}]}, "judgments[0].answers.better.winner"),
        ({"judge": "gpt", "judgments": [{"item": "j1", "answers": {}}]}, "judgments[0].answers.better"),
        ({"judge": "gpt", "judgments": [{"item": "j1", "answers": {"better": {"winner": "a"}}, "labeler": 1}]}, "judgments[0].labeler"),
        ({"judge": "gpt", "judgments": [good, good]}, "judgments[1].item"),
        ({"judge": "gpt", "judgments": [good] * 1001}, "judgments"),
        ({"judge": "gpt", "judgments": []}, "judgments"),
        ({"judge": "no spaces", "judgments": [good]}, "judge"),
        ({"judge": "x" * 65, "judgments": [good]}, "judge"),
        ({"judgments": [good]}, "judge"),
        ({"judge": "gpt", "judgments": [good], "extra": 1}, "extra"),
    ]:
        st, _, body = judge.post(url, bad)
        assert st == 422, (bad if len(json.dumps(bad)) < 300 else field, st, body)
        assert any(p["field"] == field for p in body["error"]["problems"]), (field, body)
    assert judge.get(f"/api/v1/jobs/{jid}/judges")[2]["judges"] == []

    # Two judges, before any person: one right everywhere, one always
    # picking the response shown first (shown alternates).
    def batch(name, pick):
        out = []
        for i in range(20):
            shown = ["a", "b"] if i % 2 == 0 else ["b", "a"]
            out.append({"item": f"j{i}", "shown": shown, "answers": {"better": {"winner": pick(i, shown)}}})
        return {"judge": name, "judgments": out}
    st, _, body = judge.post(url, batch("careful-judge", lambda i, sh: truth[i]))
    assert st == 201 and body == {"judge": "careful-judge", "created": 20, "revised": 0, "unchanged": 0}, body
    st, _, body = judge.post(url, batch("first-judge", lambda i, sh: sh[0]))
    assert st == 201 and body["created"] == 20, body
    # The same again changes nothing; a changed answer is a revision.
    st, _, body = judge.post(url, batch("careful-judge", lambda i, sh: truth[i]))
    assert st == 200 and body["unchanged"] == 20, body
    st, _, body = judge.post(url, {"judge": "careful-judge", "judgments": [{"item": "j0", "shown": ["a", "b"], "answers": {"better": {"winner": "tie"}}}]})
    assert st == 200 and body["revised"] == 1, body
    st, _, body = judge.post(url, {"judge": "careful-judge", "judgments": [{"item": "j0", "shown": ["a", "b"], "answers": {"better": {"winner": truth[0]}}}]})
    assert body["revised"] == 1
    assert s.sql("SELECT revision FROM judge_judgments WHERE judge = 'careful-judge' AND item_id = "
                 "(SELECT id FROM items WHERE ext_id = 'j0')") == [(3,)]
    listed = {g["judge"]: g["judgments"] for g in lead.get(f"/api/v1/jobs/{jid}/judges")[2]["judges"]}
    assert listed == {"careful-judge": 20, "first-judge": 20}

    # Judges take no slot: every item still gets its three people.
    stats = lead.get(f"/api/v1/jobs/{jid}")[2]["job"]["counts"]
    assert stats["judgments"] == 0 and stats["complete"] == 0, stats
    # lab3 always picks a: the consensus stays the truth.
    judge_each(s, jid, LABS, lambda k, i: {"better": {"winner": "a" if k == 2 else truth[i]}})
    assert s.sql(f"SELECT count(*) FROM judgments WHERE job_id = {jid}") == [(60,)]
    assert lead.get(f"/api/v1/jobs/{jid}")[2]["job"]["counts"]["complete"] == 20

    # Never in the exports: 60 rows, all people's.
    st, _, data = lead.raw("GET", f"/api/v1/jobs/{jid}/export?format=raw")
    assert st == 200 and len(data.decode().splitlines()) == 60

    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    # The people's figures are those of the people alone.
    people_only = dict(rep)
    people_only.pop("judges")
    s.sql("ALTER TABLE judge_judgments RENAME TO judge_judgments_away")
    s.sql("CREATE TABLE judge_judgments AS SELECT * FROM judge_judgments_away WHERE 0")
    alone = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    assert alone["judges"] == []
    alone.pop("judges")
    assert alone == people_only
    s.sql("DROP TABLE judge_judgments")
    s.sql("ALTER TABLE judge_judgments_away RENAME TO judge_judgments")

    judges = {g["judge"]: g for g in rep["judges"]}
    assert set(judges) == {"careful-judge", "first-judge"}
    careful, first = judges["careful-judge"], judges["first-judge"]
    assert careful["judgments"] == 20 == careful["items_with_people"]
    vs = careful["questions"][0]["agreement_with_people"]
    assert vs["units"] == 20 and vs["accuracy"] == 1 and abs(vs["kappa"] - 1) < 1e-12, vs
    # Against an independent computation: classes 0 = response a, 1 = b.
    people = [0 if t == "a" else 1 for t in truth]
    picked = [0 if i % 2 == 0 else 1 for i in range(20)]
    vs = first["questions"][0]["agreement_with_people"]
    assert vs["units"] == 20 and abs(vs["accuracy"] - 0.25) < 1e-12, vs
    assert abs(vs["kappa"] - cohen_kappa(people, picked)) < 1e-9, (vs, cohen_kappa(people, picked))
    assert vs["confusion"]["classes"][:2] == ["first response", "second response"]
    assert vs["confusion"]["counts"][0][:2] == [5, 10] and vs["confusion"]["counts"][1][:2] == [5, 0], vs
    lo, hi = vs["accuracy_ci"]
    assert lo < 0.25 < hi
    # Position bias: the first judge always chose the first shown.
    assert first["position_bias"]["rate"] == 1 and first["position_bias"]["biased"] is True
    assert first["position_bias"]["p"] < 1e-5
    # The careful one chose the first shown 5 times of 20 (where the truth was shown).
    k = sum(truth[i] == (["a", "b"] if i % 2 == 0 else ["b", "a"])[0] for i in range(20))
    p = min(1.0, 2 * sum(math.comb(20, x) for x in range(0, min(k, 20 - k) + 1)) / 2 ** 20)
    assert careful["position_bias"]["first_shown_wins"] == k == 5
    assert abs(careful["position_bias"]["p"] - p) < 1e-6 and careful["position_bias"]["biased"] is (p < 0.05), (careful["position_bias"], p)
    # Their own win-rate tables, beside the people's (A wins 15 of 20 in truth).
    def a_rate(q):
        return next(r["win_rate"] for r in q["win_rates"] if r["model"] == "A" and r["opponent"] == "B")
    assert a_rate(careful["questions"][0]) == 0.75 and a_rate(first["questions"][0]) == 0.5
    assert abs(a_rate(rep["questions"][0]) - (15 * 2 + 20) / 60) < 1e-6
    assert "agreement" not in careful["questions"][0] and "dawid_skene" not in careful["questions"][0]
    # The people's table has no judge in it.
    assert sorted(l["labeler"] for l in rep["labelers"]) == sorted(LABS)

    # The JSON Lines form carries the judges too.
    st, _, data = lead.raw("GET", f"/api/v1/jobs/{jid}/report?format=jsonl")
    lines = [json.loads(l) for l in data.decode().splitlines()]
    heads = {l["judge"]: l for l in lines if l["figure"] == "judge"}
    assert heads["first-judge"]["position_bias"] == first["position_bias"]
    agree = {l["judge"]: l for l in lines if l["figure"] == "judge_agreement"}
    assert agree["first-judge"]["kappa"] == first["questions"][0]["agreement_with_people"]["kappa"]
    wins = [l for l in lines if l["figure"] == "judge_win_rate" and l["judge"] == "careful-judge" and l["model"] == "A"]
    assert len(wins) == 1 and wins[0]["win_rate"] == 0.75 and wins[0]["question"] == "better"

    # The item page shows the judges apart from the people.
    item = lead.get(f"/api/v1/jobs/{jid}/items/j3")[2]
    assert len(item["judgments"]) == 3
    assert sorted((g["judge"], g["answers"]["better"]["winner"], tuple(g["shown"])) for g in item["judges"]) == [
        ("careful-judge", "a", (1, 0)), ("first-judge", "b", (1, 0))]
    # A labeler cannot send a judge's judgments, even for a job they work on.
    expect_error(s.client("lab").post(url, batch("sneaky", lambda i, sh: "a")), 403)
    s.stop()


def test_a_judge_of_ratings_and_labels_is_compared_unit_by_unit_and_items_without_people_count_for_it_alone():
    s = Server(users=("lead", "lab", "lab2"))
    lead = s.client("lead")
    st, _, body = lead.post("/api/v1/jobs", {"name": "rated", "overlap": 2, "questions": [
        {"name": "helpful", "type": "rating", "scale": {"min": 1, "max": 5}},
        {"name": "topic", "type": "labels", "options": ["x", "y"]}]})
    jid = body["job"]["id"]
    item = lambda i: {"id": f"r{i}", "prompt": f"p{i}", "responses": [{"id": "a", "model": "A", "text": f"a{i}"},
                                                                     {"id": "b", "model": "B", "text": f"b{i}"}]}
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(i) for i in range(5)])[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab", "lab2"]})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    for u in ("lab", "lab2"):
        c = s.client(u)
        while True:
            st, _, body = c.post(f"/api/v1/jobs/{jid}/tasks/next")
            if st == 204:
                break
            assert c.post(f"/api/v1/tasks/{body['task']['id']}/judgment",
                          {"answers": {"helpful": {"a": 4, "b": 2}, "topic": ["x"]}})[0] == 201
    # An item the people have not judged yet.
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", [item(5)])[0] == 201
    judgments = [{"item": f"r{i}", "answers": {"helpful": {"a": 4, "b": 3}, "topic": ["x" if i < 3 else "y"]}}
                 for i in range(6)]
    st, _, body = lead.post(f"/api/v1/jobs/{jid}/judge-judgments", {"judge": "rater-v1", "judgments": judgments})
    assert st == 201 and body["created"] == 6, body
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    assert rep["items"] == 5 and rep["judgments"] == 10
    g = rep["judges"][0]
    assert g["judge"] == "rater-v1" and g["judgments"] == 6 and g["items_with_people"] == 5
    helpful, topic = g["questions"]
    # Units: each response of the five items the people judged.
    vs = helpful["agreement_with_people"]
    assert vs["units"] == 10 and vs["accuracy"] == 0.5 and abs(vs["kappa"] - 1 / 3) < 1e-6, vs
    assert vs["confusion"]["classes"] == [1, 2, 3, 4, 5]
    assert vs["confusion"]["counts"][3][3] == 5 and vs["confusion"]["counts"][1][2] == 5
    # The people all said x: agreement by chance is all the judge's 3 of 5.
    vs = topic["agreement_with_people"]
    assert vs["units"] == 5 and abs(vs["accuracy"] - 0.6) < 1e-9 and abs(vs["kappa"]) < 1e-9, vs
    # Its own figures count all six items.
    means = {m["model"]: m for m in helpful["models"]}
    assert means["A"]["n"] == 6 and means["B"]["mean"] == 3, means
    people = {m["model"]: m for m in rep["questions"][0]["models"]}
    assert people["A"]["n"] == 10 and people["B"]["mean"] == 2
    assert [l["count"] for l in topic["labels"]] == [3, 3]
    s.stop()
