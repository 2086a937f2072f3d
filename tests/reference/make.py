"""make.py: reference values from independent implementations in Debian's
packages (python3-statsmodels, python3-scipy, r-cran-bradleyterry2), written
to stats.json for tests/unit/test_stats.c. Run with Debian's python3:
    /usr/bin/python3 tests/reference/make.py
The values are committed; the test does not need these packages."""
import json
import os
import subprocess

from scipy import stats
from statsmodels.stats.proportion import proportion_confint

here = os.path.dirname(os.path.abspath(__file__))
out = {}
out["wilson"] = [[s, n] + list(proportion_confint(s, n, alpha=0.05, method="wilson"))
                 for s, n in ((81, 263), (0, 10), (10, 10), (7.5, 12), (1, 2), (30, 36))]
out["t_quantile"] = [[df, p, float(stats.t.ppf(p, df))] for df in (1, 2, 5, 11, 30, 200) for p in (0.975, 0.9)]
out["binom_test"] = [[k, n, float(stats.binomtest(k, n, 0.5).pvalue)] for k, n in ((10, 10), (7, 10), (5, 10), (0, 3), (60, 100), (13, 40))]
wil = []
for d in ([2, 1, 3, 1, 2, 1, -1, 2, 1, 0], [0.5, -1.5, 2, 2, -0.5, 1, 3, -2, 1.5, 1, 0.5, 2.5],
          [1, 1, 1, -1, 1, 1, 2, -2, 3, 1]):
    r = stats.wilcoxon(d, zero_method="wilcox", correction=True, method="approx")
    wp = sum(rk for rk, x in zip(stats.rankdata([abs(v) for v in d if v != 0]), [v for v in d if v != 0]) if x > 0)
    wil.append({"d": d, "w_plus": float(wp), "p": float(r.pvalue)})
out["wilcoxon"] = wil
elo = subprocess.run(["Rscript", os.path.join(here, "bt.R")], check=True, capture_output=True, text=True).stdout.split()
out["bradley_terry"] = {"wins": [[0, 7, 9, 12], [5, 0, 6, 10], [3, 6, 0, 8], [1, 4, 5, 0]],
                        "elo": [float(x) for x in elo], "source": "R BradleyTerry2 BTm, abilities on the Elo scale, mean 1000"}
# Davidson's ties: the log-likelihood maximised by scipy's general optimiser
# (no shared code with src/stats.c's fixed point).
import numpy as np
from scipy.optimize import minimize
dw = np.array([[0, 8, 6], [4, 0, 5], [3, 4, 0]], float)   # wins, row over column
dt = np.array([[0, 3, 2], [3, 0, 4], [2, 4, 0]], float)   # ties (symmetric)


def nll(x):
    th = np.append(x[:2], -x[:2].sum())  # log-strengths, sum 0
    nu = np.exp(x[2])
    ll = 0.0
    for i in range(3):
        for j in range(i + 1, 3):
            pi, pj = np.exp(th[i]), np.exp(th[j])
            d = pi + pj + nu * np.sqrt(pi * pj)
            ll += dw[i, j] * np.log(pi / d) + dw[j, i] * np.log(pj / d) + dt[i, j] * np.log(nu * np.sqrt(pi * pj) / d)
    return -ll


res = minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-12})
th = np.append(res.x[:2], -res.x[:2].sum())
out["davidson"] = {"wins": dw.tolist(), "ties": dt.tolist(),
                   "elo": [float(400 / np.log(10) * v + 1000) for v in th], "nu": float(np.exp(res.x[2])),
                   "source": "scipy.optimize.minimize (BFGS) of Davidson's log-likelihood"}
with open(os.path.join(here, "stats.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
