"""The human-evaluation report over HTTP: a job whose judgments have known
statistics (computed here independently), the same report twice, JSON
Lines, filters, rank questions, access and bad parameters, and the CLI."""
import json
import math
import os

from harness import Server, cli, expect_error

Z = 1.959963984540054


def wilson(s, n, z=Z):
    p = s / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0, mid - half), min(1, mid + half)


def t975(df):
    """Student's t 0.975 quantile: bisection on the CDF, integrated from
    the density by Simpson's rule (no scipy in the test environment)."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def cdf(x, steps=4000):
        h = x / steps
        f = lambda t: c * (1 + t * t / df) ** (-(df + 1) / 2)
        acc = f(0) + f(x) + sum((4 if i % 2 else 2) * f(i * h) for i in range(1, steps))
        return 0.5 + acc * h / 3

    lo, hi = 1.9, 13.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < 0.975 else (lo, mid)
    return (lo + hi) / 2


def cluster_wilson(clusters):
    """Wilson on effective counts: clusters are (s_k, n_k) per item; the
    design effect is the cluster-robust variance over the binomial one,
    clamped to [1, sum n_k^2 / n] (docs/reports.md)."""
    k = len(clusters)
    n = sum(c[1] for c in clusters)
    s = sum(c[0] for c in clusters)
    p = s / n
    most = sum(c[1] ** 2 for c in clusters) / n
    vb = p * (1 - p) / n
    vc = k / (k - 1) * sum((sk - p * nk) ** 2 for sk, nk in clusters) / n ** 2
    deff = most if vb <= 0 else min(most, max(1.0, vc / vb))
    # The quantile: t with items - 1 degrees of freedom (the variance is
    # estimated from that many clusters).
    lo, hi = wilson(s / deff, n / deff, t975(k - 1) if k >= 2 else Z)
    return lo, hi, deff


def alpha_nominal(units):
    """Krippendorff's alpha, nominal, from lists of values per unit."""
    o, n_c = {}, {}
    for vals in units:
        m = len(vals)
        if m < 2:
            continue
        for i, a in enumerate(vals):
            for j, b in enumerate(vals):
                if i != j:
                    o[(a, b)] = o.get((a, b), 0) + 1 / (m - 1)
    for (a, b), w in o.items():
        n_c[a] = n_c.get(a, 0) + w
    n = sum(n_c.values())
    d_o = sum(w for (a, b), w in o.items() if a != b)
    d_e = sum(n_c[a] * n_c[b] for a in n_c for b in n_c if a != b)
    return 1 - (n - 1) * d_o / d_e


def fleiss(units, cats):
    n = len(units[0])
    p_i = [sum(u.count(c) * (u.count(c) - 1) for c in cats) / (n * (n - 1)) for u in units]
    p_j = [sum(u.count(c) for u in units) / (len(units) * n) for c in cats]
    pe = sum(p * p for p in p_j)
    return (sum(p_i) / len(units) - pe) / (1 - pe)


# 12 items, m1 against m2 (m1 always shown first: randomize off). Each of
# three labelers picks a winner per item; helpful rates both responses.
PICKS = {  # item -> (lab, lab2, lab3) winner: a = m1, b = m2, tie
    i: w for i, w in enumerate([
        ("a", "a", "b"), ("a", "a", "a"), ("a", "tie", "b"), ("b", "b", "b"),
        ("a", "a", "tie"), ("a", "b", "b"), ("a", "a", "a"), ("tie", "a", "a"),
        ("a", "a", "b"), ("b", "a", "b"), ("a", "a", "a"), ("a", "tie", "a")])}
LABS = ("lab", "lab2", "lab3")
GOLD = {0: "a", 3: "b", 6: "a"}


def helpful(i, k):
    return {"a": 1 + (i + k) % 5, "b": 1 + (2 * i + k) % 5}


def judge(s, jid, users, answer):
    """Each user judges every task they get; answer(user_index, item_number)."""
    for k, u in enumerate(users):
        c = s.client(u)
        while True:
            st, _, body = c.post(f"/api/v1/jobs/{jid}/tasks/next")
            if st == 204:
                break
            t = body["task"]
            st, _, body = c.post(f"/api/v1/tasks/{t['id']}/judgment",
                                 {"answers": answer(k, int(t["item"]["id"][1:]))})
            assert st == 201, body


def make(s, lead):
    st, _, body = lead.post("/api/v1/jobs", {
        "name": "m1 against m2", "overlap": 3, "randomize_order": False,
        "questions": [{"name": "better", "type": "pairwise", "allow_tie": True},
                      {"name": "helpful", "type": "rating", "scale": {"min": 1, "max": 5}}]})
    assert st == 201, body
    jid = body["job"]["id"]
    items = []
    for i in range(12):
        line = {"id": f"i{i}", "prompt": f"p{i}", "metadata": {"category": "code" if i % 2 else "chat"},
                "responses": [{"id": "a", "model": "m1", "text": f"one {i}"},
                              {"id": "b", "model": "m2", "text": f"two {i}"}]}
        if i in GOLD:
            line["gold"] = {"better": GOLD[i]}
        items.append(line)
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": list(LABS)})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    judge(s, jid, LABS, lambda k, i: {"better": {"winner": PICKS[i][k]}, "helpful": helpful(i, k)})
    return jid


def test_report_figures_match_an_independent_computation():
    s = Server(users=("admin", "lead") + LABS)
    lead = s.client("lead")
    jid = make(s, lead)
    st, _, body = lead.get(f"/api/v1/jobs/{jid}/report")
    assert st == 200, body
    rep = body["report"]
    assert rep["items"] == 12 and rep["judgments"] == 36 and rep["cursor"] == 36
    assert rep["models"] == ["m1", "m2"] and rep["bootstrap"] == {"samples": 1000, "seed": 1}
    better, help_q = rep["questions"]

    picks = [w for i in range(12) for w in PICKS[i]]
    wins, losses, ties = picks.count("a"), picks.count("b"), picks.count("tie")
    wr = {(r["model"], r["opponent"]): r for r in better["win_rates"]}
    m1 = wr[("m1", "m2")]
    assert (m1["wins"], m1["losses"], m1["ties"], m1["n"]) == (wins, losses, ties, 36)
    s1 = wins + ties / 2
    assert abs(m1["win_rate"] - s1 / 36) < 1e-6
    # The interval counts items, not judgments, as independent.
    clusters = [(w.count("a") + w.count("tie") / 2, 3) for w in PICKS.values()]
    lo, hi, deff = cluster_wilson(clusters)
    assert abs(m1["design_effect"] - deff) < 1e-6 and abs(m1["n_effective"] - 36 / deff) < 1e-6
    assert abs(m1["ci"][0] - lo) < 1e-6 and abs(m1["ci"][1] - hi) < 1e-6
    assert abs(wr[("m2", "m1")]["win_rate"] - (1 - s1 / 36)) < 1e-6
    assert better["ties"] == ties and better["both_bad"] == 0
    # Bradley-Terry, two models: 400 log10(s / (n - s)), mean 1000.
    bt = {r["model"]: r for r in better["bradley_terry"]}
    assert abs(bt["m1"]["rating"] - bt["m2"]["rating"] - 400 * math.log10(s1 / (36 - s1))) < 1e-3
    assert abs(bt["m1"]["rating"] + bt["m2"]["rating"] - 2000) < 1e-3
    assert bt["m1"]["ci"][0] < bt["m1"]["rating"] < bt["m1"]["ci"][1]
    assert bt["m1"]["order"] == 1
    # m1 is shown first everywhere: position bias is m1's share of decisions.
    pb = better["position_bias"]
    assert (pb["first_shown_wins"], pb["decided"]) == (wins, wins + losses)
    assert abs(pb["rate"] - wins / (wins + losses)) < 1e-6
    # Agreement on the pairwise choice, per item.
    units = [list(PICKS[i]) for i in range(12)]
    ag = better["agreement"]
    assert ag["level"] == "nominal" and ag["units"] == 12 and ag["pairable_values"] == 36
    assert abs(ag["alpha"] - alpha_nominal(units)) < 1e-6
    # Intervals by resampling items (seeded: the same twice).
    assert ag["alpha_ci"][0] < ag["alpha"] < ag["alpha_ci"][1], ag
    assert ag["fleiss_kappa_ci"][0] < ag["fleiss_kappa"] < ag["fleiss_kappa_ci"][1], ag
    again = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["questions"][0]["agreement"]
    assert again["alpha_ci"] == ag["alpha_ci"]
    assert abs(ag["fleiss_kappa"] - fleiss(units, ["a", "b", "tie"])) < 1e-6 and ag["fleiss_raters"] == 3
    pct = sum(sum(1 for x in range(3) for y in range(3) if x != y and u[x] == u[y]) / 6 for u in units) / 12
    assert abs(ag["percent"] - pct) < 1e-6

    # Ratings per model: mean, median, histogram, interval.
    for model, rid in (("m1", "a"), ("m2", "b")):
        vals = [helpful(i, k)[rid] for i in range(12) for k in range(3)]
        row = next(r for r in help_q["models"] if r["model"] == model)
        mean = sum(vals) / len(vals)
        sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
        assert row["n"] == 36 and abs(row["mean"] - mean) < 1e-6
        assert row["median"] == sorted(vals)[17] / 2 + sorted(vals)[18] / 2
        assert row["histogram"] == {str(p): vals.count(p) for p in range(1, 6)}
        # Student's t (11 degrees of freedom: 12 items) on the
        # cluster-robust standard error, never below the plain one.
        ys = [sum(helpful(i, k)[rid] for k in range(3)) for i in range(12)]
        vc = 12 / 11 * sum((y - mean * 3) ** 2 for y in ys) / 36 ** 2
        se = math.sqrt(max(vc, sd * sd / 36))
        t11 = 2.200985160082949  # scipy.stats.t.ppf(0.975, 11)
        assert abs(row["ci"][0] - max(1, mean - t11 * se)) < 1e-6, (row, mean, se)
        assert abs(row["ci"][1] - min(5, mean + t11 * se)) < 1e-6
    assert help_q["agreement"]["level"] == "ordinal" and help_q["agreement"]["units"] == 24

    # Labelers: counts, agreement with the others' mode, gold accuracy.
    labs = {l["labeler"]: l for l in rep["labelers"]}
    assert set(labs) == set(LABS)
    for k, u in enumerate(LABS):
        l = labs[u]
        assert l["judgments"] == 12 and l["skips"] == 0 and l["median_seconds"] >= 0
        agree = units_ag = 0
        # pairwise units, then helpful's 24 units (a and b of each item)
        for i in range(12):
            others = [PICKS[i][x] for x in range(3) if x != k]
            top = max(others.count(v) for v in others)
            agree += others.count(PICKS[i][k]) == top
            for rid in "ab":
                ov = [helpful(i, x)[rid] for x in range(3) if x != k]
                t2 = max(ov.count(v) for v in ov)
                agree += ov.count(helpful(i, k)[rid]) == t2
            units_ag += 3
        assert l["agreement_units"] == units_ag and abs(l["agreement"] - agree / units_ag) < 1e-6
        right = sum(PICKS[i][k] == g for i, g in GOLD.items())
        assert l["gold_answers"] == 3 and abs(l["gold_accuracy"] - right / 3) < 1e-6

    # The same data gives the same report; another seed, other intervals.
    assert lead.get(f"/api/v1/jobs/{jid}/report")[2] == body
    other = lead.get(f"/api/v1/jobs/{jid}/report?seed=7")[2]["report"]
    assert other["questions"][0]["bradley_terry"][0]["rating"] == better["bradley_terry"][0]["rating"]
    assert other["bootstrap"]["seed"] == 7

    # JSON Lines: a line per figure, the same numbers.
    st, hd, data = lead.raw("GET", f"/api/v1/jobs/{jid}/report?format=jsonl")
    assert st == 200 and hd["content-type"] == "application/x-ndjson"
    lines = [json.loads(l) for l in data.decode().splitlines()]
    figs = {l["figure"] for l in lines}
    assert {"summary", "win_rate", "win_rate_overall", "bt_rating", "position_bias", "agreement",
            "rating", "labeler"} <= figs
    line = next(l for l in lines if l["figure"] == "win_rate" and l["model"] == "m1")
    assert line["question"] == "better" and line["win_rate"] == m1["win_rate"] and line["ci"] == m1["ci"]

    # A slice by metadata: the odd items only.
    sl = lead.get(f"/api/v1/jobs/{jid}/report?metadata.category=code")[2]["report"]
    assert sl["items"] == 6 and sl["judgments"] == 18 and sl["filters"] == {"category": "code"}
    odd = [w for i in range(1, 12, 2) for w in PICKS[i]]
    r = next(x for x in sl["questions"][0]["win_rates"] if x["model"] == "m1")
    assert (r["wins"], r["losses"], r["ties"]) == (odd.count("a"), odd.count("b"), odd.count("tie"))
    assert lead.get(f"/api/v1/jobs/{jid}/report?metadata.category=none")[2]["report"]["judgments"] == 0


def test_rank_report_and_many_models():
    s = Server(users=("lead",) + LABS)
    lead = s.client("lead")
    st, _, body = lead.post("/api/v1/jobs", {"name": "rank", "overlap": 3, "randomize_order": False,
                                             "questions": [{"name": "order", "type": "rank", "allow_ties": True}]})
    jid = body["job"]["id"]
    items = [{"id": f"r{i}", "prompt": f"p{i}", "responses": [
        {"id": "x", "model": "big", "text": "x"}, {"id": "y", "model": "mid", "text": "y"},
        {"id": "z", "model": "small", "text": "z"}]} for i in range(20)]
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    lead.put(f"/api/v1/jobs/{jid}/members", {"members": list(LABS)})
    lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})
    # big > mid > small, except every fifth item ties mid and small.
    judge(s, jid, LABS, lambda k, i: {"order": [["x"], ["y", "z"]] if i % 5 == 0 else [["x"], ["y"], ["z"]]})
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    q = rep["questions"][0]
    ranks = {r["model"]: r for r in q["ranks"]}
    assert ranks["big"]["mean_rank"] == 1 and ranks["big"]["top1_rate"] == 1
    assert abs(ranks["mid"]["mean_rank"] - 2) < 1e-9           # second everywhere
    assert abs(ranks["small"]["mean_rank"] - (2 * 12 + 3 * 48) / 60) < 1e-9
    wr = {(r["model"], r["opponent"]): r for r in q["win_rates"]}
    assert (wr[("mid", "small")]["wins"], wr[("mid", "small")]["ties"]) == (48, 12)
    assert wr[("big", "small")]["wins"] == 60
    bt = {r["model"]: r for r in q["bradley_terry"]}
    assert q["bt_prior"] is True  # big never lost: the prior keeps ratings finite
    assert bt["big"]["rating"] > bt["mid"]["rating"] > bt["small"]["rating"]
    assert bt["big"]["rank"] == 1 and bt["big"]["order"] == 1
    assert q["agreement"]["level"] == "ordinal" and q["agreement"]["alpha"] == 1.0
    assert q["position_bias"]["decided"] == 60 and q["position_bias"]["rate"] == 1.0


def test_report_access_parameters_and_cli():
    s = Server(users=("admin", "lead", "lead2") + LABS)
    lead = s.client("lead")
    jid = make(s, lead)
    expect_error(s.client("lab").get(f"/api/v1/jobs/{jid}/report"), 403)
    expect_error(s.client("lead2").get(f"/api/v1/jobs/{jid}/report"), 404)
    t = s.client()
    t.token = cli(["token", "create", "r", "--scope", "export", "--user", "lead"], db=s.db).stdout.strip()
    assert t.get(f"/api/v1/jobs/{jid}/report?samples=0")[0] == 200
    for q, field in (("format=csv", "format"), ("samples=-1", "samples"), ("samples=x", "samples"),
                     ("seed=-3", "seed"), ("alpha=ratio", "alpha"), ("nope=1", "nope")):
        expect_error(lead.get(f"/api/v1/jobs/{jid}/report?{q}"), 422, field=field)
    api = lead.get(f"/api/v1/jobs/{jid}/report?alpha=interval")[2]["report"]
    assert api["questions"][1]["agreement"]["level"] == "interval"
    p = cli(["report", str(jid)], db=s.db)
    assert json.loads(p.stdout)["report"]["questions"] == lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["questions"]
    p = cli(["report", str(jid), "--format", "jsonl", "--filter", "category=chat", "--samples", "50"], db=s.db)
    first = json.loads(p.stdout.splitlines()[0])
    assert first["figure"] == "summary" and first["items"] == 6
    p = cli(["report", str(jid), "--format", "xml"], db=s.db, check=False)
    assert p.returncode == 2


def test_acceptance_rule_decides_pass_or_fail():
    s = Server(users=("lead",) + LABS)
    lead = s.client("lead")
    jid = make(s, lead)
    assert lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["decision"] is None
    for bad, field in (({"question": "nope", "min_alpha": 0.5}, "acceptance.question"),
                       ({"question": "better", "candidate": "m1"}, "acceptance.baseline"),
                       ({"question": "better", "candidate": "m1", "baseline": "m1"}, "acceptance.baseline"),
                       ({"question": "better"}, "acceptance"),
                       ({"question": "better", "min_alpha": 2}, "acceptance.min_alpha"),
                       ({"question": "helpful", "candidate": "m1", "baseline": "m2"}, "acceptance.question"),
                       ({"question": "better", "min_alpha": 0.1, "extra": 1}, "acceptance.extra"),
                       ("strict", "acceptance")):
        expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": bad}), 422, field=field)
    rule = {"question": "better", "candidate": "m1", "baseline": "m2", "min_win_rate_lower": 0.5}
    st, _, body = lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": rule})
    assert st == 200 and body["job"]["acceptance"] == rule
    picks = [w for i in range(12) for w in PICKS[i]]
    s1 = picks.count("a") + picks.count("tie") / 2
    lo, _, _ = cluster_wilson([(w.count("a") + w.count("tie") / 2, 3) for w in PICKS.values()])
    dec = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["decision"]
    assert dec["pass"] is (lo >= 0.5) and dec["rule"] == rule
    assert abs(dec["checks"][0]["ci"][0] - lo) < 1e-6 and dec["checks"][0]["check"] == "win_rate_lower"
    # A lower threshold passes; demanding near-perfect agreement fails.
    lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": dict(rule, min_win_rate_lower=0.3)})
    assert lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["decision"]["pass"] is True
    lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": dict(rule, min_win_rate_lower=0.3, min_alpha=0.99)})
    dec = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["decision"]
    assert dec["pass"] is False and [c["pass"] for c in dec["checks"]] == [True, False]
    st, hd, data = lead.raw("GET", f"/api/v1/jobs/{jid}/report?format=jsonl")
    assert json.loads(data.decode().splitlines()[-1])["figure"] == "decision"
    # The candidate against a model it never met: fails, saying why.
    lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": {"question": "better", "candidate": "m1", "baseline": "m9"}})
    dec = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["decision"]
    assert dec["pass"] is False and "never met" in dec["checks"][0]["why"]
    assert lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": None})[2]["job"]["acceptance"] is None


def test_a_labeler_far_below_the_rest_is_flagged():
    labs = ("lab", "lab2", "lab3", "lab4")
    s = Server(users=("lead",) + labs)
    lead = s.client("lead")
    st, _, body = lead.post("/api/v1/jobs", {"name": "flags", "overlap": 4, "randomize_order": False,
                                             "questions": [{"name": "better", "type": "pairwise"}]})
    jid = body["job"]["id"]
    items = [{"id": f"f{i}", "prompt": f"p{i}", "gold": {"better": "a"} if i < 10 else {},
              "responses": [{"id": "a", "model": "m1", "text": "x"}, {"id": "b", "model": "m2", "text": "y"}]}
             for i in range(15)]
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    lead.put(f"/api/v1/jobs/{jid}/members", {"members": list(labs)})
    lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})
    # Three labelers mostly say a; lab4 says the opposite.
    judge(s, jid, labs, lambda k, i: {"better": {"winner": "b" if k == 3 or i % 7 == 0 else "a"}})
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    by = {l["labeler"]: l for l in rep["labelers"]}
    assert by["lab4"]["flag"] is True and "agreement and gold" in by["lab4"]["flag_reason"]
    assert by["lab4"]["gold_accuracy"] == 0 and by["lab"]["gold_accuracy"] == 0.8
    assert not any(by[u]["flag"] for u in ("lab", "lab2", "lab3"))
    assert abs(by["lab4"]["agreement"] - 3 / 15) < 1e-9 and by["lab"]["agreement"] == 1.0


def pair_job(s, lead, games, overlap=1, labs=("lab",)):
    """A pairwise job whose item k is games[k] = (model_a, model_b, winner),
    winner "a", "b" or "tie", judged so by every labeler in labs."""
    st, _, body = lead.post("/api/v1/jobs", {
        "name": "hard cases", "overlap": overlap, "randomize_order": False,
        "questions": [{"name": "better", "type": "pairwise", "allow_tie": True}]})
    assert st == 201, body
    jid = body["job"]["id"]
    items = [{"id": f"g{k}", "prompt": f"p{k}", "responses": [{"id": "a", "model": ma, "text": "x"},
                                                          {"id": "b", "model": mb, "text": "y"}]}
             for k, (ma, mb, _) in enumerate(games)]
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": list(labs)})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    judge(s, jid, labs, lambda k, i: {"better": {"winner": games[i][2]}})
    return jid


def better_of(lead, jid, q=""):
    st, _, body = lead.get(f"/api/v1/jobs/{jid}/report{q}")
    assert st == 200, body
    return body["report"]["questions"][0]


def test_a_finite_sample_never_gives_a_zero_width_interval():
    s = Server(users=("lead", "lab"))
    lead = s.client("lead")
    q = better_of(lead, pair_job(s, lead, [("A", "B", "a")] * 10))
    bt = {r["model"]: r for r in q["bradley_terry"]}
    for m in ("A", "B"):
        lo, hi = bt[m]["ci"]
        assert hi - lo > 100, bt  # was 0: the bootstrap never drew a loss
    assert bt["A"]["ci"][0] > 1000 and bt["A"]["rank"] == 1 and bt["B"]["rank"] == 2
    wr = {(r["model"], r["opponent"]): r for r in q["win_rates"]}
    assert wr[("A", "B")]["ci"][1] == 1 and wr[("A", "B")]["ci"][0] < 0.75
    # Two ties: an even match, but an uncertain one (was [1000, 1000]).
    q = better_of(lead, pair_job(s, lead, [("C", "D", "tie")] * 2))
    for r in q["bradley_terry"]:
        assert r["ci"][0] < 900 and r["ci"][1] > 1100 and r["rank"] == 1, r
    assert all(f["converged"] for f in q["bt"]["fits"])
    s.stop()


def test_separated_and_disconnected_comparisons_are_detected_and_never_ranked_across():
    s = Server(users=("lead", "lab"))
    lead = s.client("lead")
    # A-B 1-1, C-D 1-1, A beat C, B beat D: {A, B} never lost to {C, D}.
    jid = pair_job(s, lead, [("A", "B", "a"), ("A", "B", "b"), ("C", "D", "a"), ("C", "D", "b"),
                             ("A", "C", "a"), ("B", "D", "a")])
    q = better_of(lead, jid)
    bt = {r["model"]: r for r in q["bradley_terry"]}
    assert q["bt"]["separated"] == [{"component": 0, "groups": [["A", "B"], ["C", "D"]]}]
    assert q["bt"]["comparable"] is False and q["bt_prior"] is True
    assert [f["converged"] for f in q["bt"]["fits"]] == [True]  # it ran to the cap before
    assert bt["A"]["rating"] - bt["C"]["rating"] < 600, bt  # was 1835 against 165
    assert any("A and B never lost a comparison with C and D" in n for n in q["bt"]["notes"]), q["bt"]
    assert {r["group"] for r in q["bradley_terry"]} == {0, 1}
    # A-B 3-1 and C-D 3-1, no link: two sets, each ranked alone.
    jid = pair_job(s, lead, [("A", "B", "a")] * 3 + [("A", "B", "b")] + [("C", "D", "a")] * 3 + [("C", "D", "b")])
    q = better_of(lead, jid)
    assert q["bt"]["components"] == [["A", "B"], ["C", "D"]] and q["bt"]["comparable"] is False
    assert "never compared with each other" in q["bt"]["notes"][0] and "{A and B}, {C and D}" in q["bt"]["notes"][0]
    bt = {r["model"]: r for r in q["bradley_terry"]}
    assert (bt["A"]["component"], bt["C"]["component"]) == (0, 1)
    assert (bt["A"]["order"], bt["B"]["order"], bt["C"]["order"], bt["D"]["order"]) == (1, 2, 1, 2)
    # Differences only within a set: A-B and C-D, never A-C.
    assert {(d["model"], d["opponent"]) for d in q["differences"]} == {("A", "B"), ("C", "D")}
    for d in q["differences"]:
        assert d["ci"][0] < d["difference"] < d["ci"][1] and 0 < d["p"] <= 1 and d["p_holm"] >= d["p"]
    # samples=0: ratings, but no intervals, tests or ranks.
    q = better_of(lead, jid, "?samples=0")
    assert all(r["rank"] is None and r["ci"] is None for r in q["bradley_terry"]), q["bradley_terry"]
    assert all(d["p"] is None and d["significant"] is None for d in q["differences"])
    s.stop()


def test_ranks_come_from_holm_adjusted_paired_tests():
    s = Server(users=("lead", "lab"))
    lead = s.client("lead")
    # A beats B 40-10, B beats C 26-24: A ranks alone at 1; B and C share 2.
    games = [("A", "B", "a")] * 40 + [("A", "B", "b")] * 10 + [("B", "C", "a")] * 26 + [("B", "C", "b")] * 24
    q = better_of(lead, pair_job(s, lead, games))
    bt = {r["model"]: r for r in q["bradley_terry"]}
    assert (bt["A"]["rank"], bt["B"]["rank"], bt["C"]["rank"]) == (1, 2, 2), bt
    d = {(x["model"], x["opponent"]): x for x in q["differences"]}
    assert d[("A", "B")]["significant"] is True and d[("B", "C")]["significant"] is False
    assert d[("A", "C")]["significant"] is True  # through B
    ps = sorted(x["p"] for x in q["differences"])
    adj = sorted(x["p_holm"] for x in q["differences"])
    assert abs(adj[0] - min(1, 3 * ps[0])) < 1e-6  # Holm: the smallest times the number of tests
    assert "Holm" in q["bt"]["methods"]["rank"]
    s.stop()


def test_position_bias_is_tested_per_labeler_and_can_fail_the_rule():
    labs = ("lab", "lab2", "lab3", "lab4")
    s = Server(users=("lead",) + labs)
    lead = s.client("lead")
    # Fixed order, a true 50/50: response a (shown first) is m1 on even
    # items and m2 on odd ones. Three labelers judge as the models deserve
    # (items alternate), the fourth always picks the first shown.
    st, _, body = lead.post("/api/v1/jobs", {
        "name": "bias", "overlap": 4, "randomize_order": False,
        "questions": [{"name": "better", "type": "pairwise"}]})
    jid = body["job"]["id"]
    items = [{"id": f"i{k}", "prompt": f"p{k}",
              "responses": [{"id": "a", "model": "m1" if k % 2 == 0 else "m2", "text": "x"},
                            {"id": "b", "model": "m2" if k % 2 == 0 else "m1", "text": "y"}]} for k in range(40)]
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": list(labs)})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    judge(s, jid, labs, lambda k, i: {"better": {"winner": "a" if k == 3 or (i // 2) % 2 == 0 else "b"}})
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    assert any("fixed order" in w for w in rep["warnings"]), rep["warnings"]
    labelers = {r["labeler"]: r for r in rep["labelers"]}
    lab4 = labelers["lab4"]
    assert lab4["position_bias"]["rate"] == 1 and lab4["position_bias"]["biased"] is True
    assert lab4["flag"] is True and "picked the response shown first" in lab4["flag_reason"]
    for u in ("lab", "lab2", "lab3"):
        assert labelers[u]["position_bias"]["biased"] is False, labelers[u]
    assert lab4["position_bias"]["p_holm"] >= lab4["position_bias"]["p"]
    pb = rep["questions"][0]["position_bias"]
    assert pb["significant"] is True and pb["test"].startswith("exact binomial")
    # The rule may require no significant position bias: it fails here.
    rule = {"question": "better", "min_alpha": -1, "no_position_bias": True}
    assert lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": rule})[0] == 200
    dec = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["decision"]
    check = [c for c in dec["checks"] if c["check"] == "no_position_bias"][0]
    assert check["pass"] is False and dec["pass"] is False
    expect_error(lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": dict(rule, no_position_bias=1)}), 422,
                 field="acceptance.no_position_bias")
    s.stop()


def test_likert_intervals_use_t_stay_on_the_scale_and_models_are_compared_paired():
    s = Server(users=("lead", "lab", "lab2"))
    lead = s.client("lead")
    st, _, body = lead.post("/api/v1/jobs", {
        "name": "likert", "overlap": 2, "randomize_order": False,
        "questions": [{"name": "helpful", "type": "rating", "scale": {"min": -2, "max": 4}}]})
    jid = body["job"]["id"]
    # Item 0: {-1, 2} for A (was [-2.44, 3.44] by z); items 1..10: A and B
    # by one labeler each way, A - B = 2 1 3 1 2 1 -1 2 1 0.
    diffs = [2, 1, 3, 1, 2, 1, -1, 2, 1, 0]
    items = [{"id": f"i{k}", "prompt": f"p{k}", "metadata": {"set": "one" if k == 0 else "rest"},
              "responses": [{"id": "a", "model": "A", "text": "x"}, {"id": "b", "model": "B", "text": "y"}]}
             for k in range(11)]
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab", "lab2"]})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200

    def answer(k, i):
        if i == 0:
            return {"helpful": {"a": -1 if k == 0 else 2, "b": 0}}
        b = 0
        return {"helpful": {"a": b + diffs[i - 1], "b": b}}
    judge(s, jid, ("lab", "lab2"), answer)
    q = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["questions"][0]
    for row in q["models"]:
        assert -2 <= row["ci"][0] <= row["mean"] <= row["ci"][1] <= 4, row
    # B scored 0 every time: still no zero-width interval.
    b = next(r for r in q["models"] if r["model"] == "B")
    assert b["mean"] == 0 and b["ci"][1] - b["ci"][0] > 0, b
    # Item 0 alone, {-1, 2}: t with 1 degree of freedom, clipped to the
    # scale (z gave [-2.44, 3.44], outside it).
    one = lead.get(f"/api/v1/jobs/{jid}/report?metadata.set=one")[2]["report"]["questions"][0]
    a = next(r for r in one["models"] if r["model"] == "A")
    assert (a["n"], a["mean"], a["ci"]) == (2, 0.5, [-2, 4]), a
    assert one["paired"][0]["p"] is None and "fewer than 6" in one["paired"][0]["why"]
    [pair] = q["paired"]
    assert (pair["model"], pair["opponent"], pair["items"]) == ("A", "B", 11)
    # Item 0 differs too (A's mean 0.5 against 0): W+ over 10 nonzero
    # differences; scipy.stats.wilcoxon(d, correction=True, method="approx")
    # on the same differences gives the same p.
    d = [0.5] + diffs
    assert pair["nonzero"] == 10
    ref_w, ref_p = 51.0, 0.017228732529275738
    assert abs(pair["w"] - ref_w) < 1e-9 and abs(pair["p"] - ref_p) < 1e-5, (pair, d)
    assert pair["significant"] is True
    s.stop()


def test_a_unanimous_job_passes_agreement_saying_why_and_too_few_units_fails():
    s = Server(users=("lead", "lab", "lab2"))
    lead = s.client("lead")
    jid = pair_job(s, lead, [("A", "B", "a")] * 6, overlap=2, labs=("lab", "lab2"))
    rule = {"question": "better", "min_alpha": 0.8}
    assert lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": rule})[0] == 200
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    ag = rep["questions"][0]["agreement"]
    assert ag["alpha"] is None and ag["unanimous"] is True and ag["percent"] == 1
    assert ag["alpha_undefined"].startswith("no variation")
    [check] = rep["decision"]["checks"]
    assert check["pass"] is True and "perfect agreement" in check["why"], check
    # One labeler per item: nothing to compare, which fails, saying so.
    jid = pair_job(s, lead, [("A", "B", "a"), ("A", "B", "b")])
    assert lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": rule})[0] == 200
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    assert rep["questions"][0]["agreement"]["unanimous"] is False
    [check] = rep["decision"]["checks"]
    assert check["pass"] is False and "too few items" in check["why"]
    s.stop()


def test_the_json_lines_form_carries_what_the_json_has():
    s = Server(users=("lead", "lab"))
    lead = s.client("lead")
    jid = pair_job(s, lead, [("A", "B", "a")] * 3 + [("A", "B", "b")] + [("C", "D", "a")] * 2)
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    st, _, data = lead.raw("GET", f"/api/v1/jobs/{jid}/report?format=jsonl")
    assert st == 200
    lines = [json.loads(l) for l in data.decode().splitlines()]
    by = {}
    for l in lines:
        by.setdefault(l["figure"], []).append(l)
    q = rep["questions"][0]
    assert by["summary"][0]["bootstrap"] == rep["bootstrap"] and by["summary"][0]["models"] == rep["models"]
    assert by["summary"][0]["intervals"] == rep["intervals"] and rep["intervals"]["level"] == 0.95
    assert "Wilson on effective counts" in rep["intervals"]["win_rate"]
    assert len(by["bt_difference"]) == len(q["differences"]) == 2
    fit = by["bt_fit"][0]
    assert fit["components"] == q["bt"]["components"] and fit["fits"] == q["bt"]["fits"]
    assert fit["bt_prior"] == q["bt_prior"] and fit["notes"] == q["bt"]["notes"] and fit["samples"] == 1000
    assert [w["text"] for w in by["warning"]] == rep["warnings"]
    assert by["position_bias"][0]["p"] == q["position_bias"]["p"]
    s.stop()


def test_strength_weighted_win_rate_and_how_many_more_judgments_power_needs():
    s = Server(users=("lead", "lab"))
    lead = s.client("lead")
    st, _, body = lead.post("/api/v1/jobs", {
        "name": "strength", "overlap": 1, "randomize_order": False,
        "questions": [{"name": "better", "type": "pairwise", "allow_tie": True, "strength": 3}]})
    jid = body["job"]["id"]
    # A wins 6 (strengths 3 3 1 1 2 2), B wins 3 (strength 1), one tie.
    plays = [("a", 3), ("a", 3), ("a", 1), ("a", 1), ("a", 2), ("a", 2), ("b", 1), ("b", 1), ("b", 1), ("tie", None)]
    items = [{"id": f"i{k}", "prompt": f"p{k}", "responses": [{"id": "a", "model": "A", "text": "x"},
                                                          {"id": "b", "model": "B", "text": "y"}]}
             for k in range(10)]
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": ["lab"]})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    judge(s, jid, ("lab",), lambda k, i: {"better": {"winner": plays[i][0]} if plays[i][1] is None
                                          else {"winner": plays[i][0], "strength": plays[i][1]}})
    q = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["questions"][0]
    row = next(r for r in q["win_rates"] if r["model"] == "A")
    score = sum(0.5 + st / 6 if w == "a" else 0.5 - st / 6 if w == "b" else 0.5 for w, st in plays)
    assert abs(row["strength_weighted_win_rate"] - score / 10) < 1e-6, row
    assert abs(row["win_rate"] - 0.65) < 1e-9  # strength does not move the win rate
    # 0.65 of 10, one labeler per item: 80% power to exclude 1/2 needs
    # (1.96 + 0.84)^2 p (1 - p) / (p - 1/2)^2 judgments in all.
    need = (1.959963984540054 + 0.8416212335729143) ** 2 * 0.65 * 0.35 / 0.15 ** 2
    assert row["design_effect"] == 1 and row["more_for_80_power"] == math.ceil(need - 10), row
    rule = {"question": "better", "candidate": "A", "baseline": "B", "min_win_rate_lower": 0.5}
    assert lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": rule})[0] == 200
    [check] = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["decision"]["checks"]
    assert check["pass"] is False and check["more_for_80_power"] == math.ceil(need - 10)
    # Clear wins need none more; a rate below the threshold cannot pass.
    assert lead.patch(f"/api/v1/jobs/{jid}", {"acceptance": dict(rule, min_win_rate_lower=0.7)})[0] == 200
    [check] = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]["decision"]["checks"]
    assert check["more_for_80_power"] is None
    s.stop()


def test_ties_by_davidsons_model_on_request():
    s = Server(users=("lead", "lab"))
    lead = s.client("lead")
    games = [("A", "B", "a")] * 8 + [("A", "B", "b")] * 4 + [("A", "B", "tie")] * 6
    jid = pair_job(s, lead, games)
    half = better_of(lead, jid)
    dav = better_of(lead, jid, "?ties=davidson")
    assert half["bt"]["tie_model"] == "half" and dav["bt"]["tie_model"] == "davidson"
    [fit] = dav["bt"]["fits"]
    assert fit["converged"] and fit["tie_model"] == "davidson"
    # Two models: Davidson's MLE is p_A / p_B = W_A / W_B and nu = T / sqrt(W_A W_B).
    assert abs(fit["nu"] - 6 / math.sqrt(8 * 4)) < 1e-6, fit
    bt = {r["model"]: r for r in dav["bradley_terry"]}
    assert abs(bt["A"]["rating"] - bt["B"]["rating"] - 400 * math.log10(8 / 4)) < 1e-4
    assert bt["A"]["ci"][0] < bt["A"]["rating"] < bt["A"]["ci"][1]
    assert "Davidson" in dav["bt"]["methods"]["rating"]
    expect_error(lead.get(f"/api/v1/jobs/{jid}/report?ties=third"), 422, field="ties")
    s.stop()


def test_dawid_skene_estimates_each_labelers_competence():
    labs = ("lab", "lab2", "lab3", "lab4", "lab5")
    s = Server(users=("lead",) + labs)
    lead = s.client("lead")
    # 30 items whose better response alternates; three labelers see it,
    # lab4 picks at random-ish (a fixed pattern unrelated to the truth),
    # lab5 always picks the worse one.
    truth = ["a" if k % 2 == 0 else "b" for k in range(30)]
    noise = ["a" if (k * 7) % 3 == 0 else "b" for k in range(30)]
    other = {"a": "b", "b": "a"}
    st, _, body = lead.post("/api/v1/jobs", {"name": "ds", "overlap": 5, "randomize_order": False,
                                              "questions": [{"name": "better", "type": "pairwise"}]})
    jid = body["job"]["id"]
    items = [{"id": f"d{k}", "prompt": f"p{k}", "responses": [{"id": "a", "model": "A", "text": "x"},
                                                          {"id": "b", "model": "B", "text": "y"}]} for k in range(30)]
    assert lead.jsonl(f"/api/v1/jobs/{jid}/items", items)[0] == 201
    assert lead.put(f"/api/v1/jobs/{jid}/members", {"members": list(labs)})[0] == 200
    assert lead.patch(f"/api/v1/jobs/{jid}", {"status": "open"})[0] == 200
    judge(s, jid, labs, lambda k, i: {"better": {"winner": truth[i] if k < 3 else noise[i] if k == 3 else other[truth[i]]}})
    rep = lead.get(f"/api/v1/jobs/{jid}/report")[2]["report"]
    ds = rep["questions"][0]["dawid_skene"]
    assert ds["converged"] and ds["units"] == 30 and ds["classes"][:2] == ["first response", "second response"]
    acc = {r["labeler"]: r["accuracy"] for r in ds["labelers"]}
    for u in ("lab", "lab2", "lab3"):
        assert acc[u] > 0.95, acc
    assert acc["lab5"] < 0.05 and 0.3 < acc["lab4"] < 0.7, acc
    # The confusion of lab5: it says "second" when the truth is "first".
    c5 = next(r for r in ds["labelers"] if r["labeler"] == "lab5")["confusion"]
    assert c5[0][1] > 0.9 and c5[1][0] > 0.9
    # Shown on the labeler table too.
    table = {r["labeler"]: r for r in rep["labelers"]}
    assert abs(table["lab5"]["competence"]["better"] - acc["lab5"]) < 1e-9
    s.stop()
