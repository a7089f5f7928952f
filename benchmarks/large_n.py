"""A million rows: skmdn's defaults against MLPRegressor and a longer fit (issue 26).

One command, one thread, each fit in a fresh process (so that its peak memory
is its own)::

    python benchmarks/large_n.py [--rows 1000000] [--contenders skmdn mlp long]
        [--param key=value ...]

The data are ``benchmarks/speed.py``'s bimodal problem with 10 features
(float64): ``y = sin(x0) +/- (1 + tanh(x1) / 2) + 0.3 e``, the sign a fair
coin, so the true density is known and its held-out NLL is printed. For each
contender: CPU and wall seconds of ``fit``, epochs, the held-out NLL (skmdn;
its validation log-likelihood per epoch, the epochs to quality, is in the JSON)
and R² on 100,000 test rows, and the peak memory the fit adds to the process
(the kernel's peak-RSS mark reset once the data exist) as a multiple of the
data's size. Contenders: ``skmdn`` (defaults), ``mlp`` (``MLPRegressor`` with
``early_stopping=True``, otherwise defaults) and ``long`` (skmdn with ten
times the patience, ``n_iter_no_change=100``: the reference for "what a
longer fit would still gain"). ``--param`` passes skmdn parameters to both skmdn
contenders (to evaluate a lever). Results are printed as a markdown
table and written to ``benchmarks/results/large_n.json``.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from uci import parse_param

HERE = Path(__file__).parent
N_TEST = 100_000

CHILD = """
import json, resource, sys, time, warnings
import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm
sys.path.insert(0, {here!r})
from speed import make_data

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

X, Y = make_data({n} + {n_test}, p=10, dtype=np.float64)
y = Y[:, 0].copy()
del Y
X, Xt, y, yt = X[:{n}], X[{n}:], y[:{n}], y[{n}:]
half = 1 + 0.5 * np.tanh(Xt[:, 1])
loc = np.sin(Xt[:, 0])[:, None] + np.stack([half, -half], axis=1)
true_nll = -logsumexp(np.log(0.5) + norm.logpdf(yt[:, None], loc, 0.3), axis=1).mean()
which, params = {which!r}, {params!r}
if which == "mlp":
    from sklearn.neural_network import MLPRegressor
    model = MLPRegressor(early_stopping=True, random_state=0)
else:
    from skmdn import MDNRegressor
    if which == "long":
        params = dict(params, n_iter_no_change=100)
    model = MDNRegressor(random_state=0, **params)
    model.fit(X[:500], y[:500])  # warm up torch before the memory mark
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = rss("VmRSS:")
cpu, wall = time.process_time(), time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.fit(X, y)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
out = {{
    "contender": which,
    "rows": {n},
    "cpu_s": cpu,
    "wall_s": wall,
    "epochs": int(model.n_iter_),
    "r2": float(model.score(Xt, yt)),
    "extra_peak_over_data": (rss("VmHWM:") - before) / (X.nbytes + y.nbytes),
    "true_nll": float(true_nll),
}}
if which != "mlp":
    out["nll"] = float(-model.log_prob(Xt, yt).mean())
    out["validation_scores"] = [float(v) for v in model.validation_scores_]
print(json.dumps(out))
"""


def run(which, n, params):
    code = CHILD.format(here=str(HERE), n=n, n_test=N_TEST, which=which, params=params)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--contenders", nargs="+", default=["skmdn", "mlp", "long"])
    parser.add_argument("--param", type=parse_param, action="append", default=[])
    args = parser.parse_args()
    params = dict(args.param)
    results = []
    print(
        "| rows | contender | CPU s | wall s | epochs | NLL (true) | R² "
        "| fit's peak / data |\n|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    for n in args.rows:
        for which in args.contenders:
            r = run(which, n, {} if which == "mlp" else params)
            results.append(r)
            nll = f"{r['nll']:.4f} ({r['true_nll']:.4f})" if "nll" in r else "-"
            print(
                f"| {n:,} | {which} | {r['cpu_s']:.1f} | {r['wall_s']:.1f} "
                f"| {r['epochs']} | {nll} | {r['r2']:.4f} "
                f"| {r['extra_peak_over_data']:.2f} |",
                flush=True,
            )
    path = HERE / "results" / "large_n.json"
    path.write_text(json.dumps({"params": params, "results": results}, indent=1))


if __name__ == "__main__":
    main()
