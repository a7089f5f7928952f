"""Time to quality: fit seconds against held-out density quality.

One command, one thread (``OMP_NUM_THREADS=1`` is set before torch loads)::

    python benchmarks/time_to_quality.py [--rows 1000 10000 100000]
        [--contenders skmdn skmdn-1 mlp hgb ngboost] [--param key=value ...]

The problem is one-dimensional, heteroscedastic and bimodal with a known
density: ``x ~ U(0, 1)``, and given ``x`` the target is drawn from
``0.6 N(sin(2 pi x), s(x)^2) + 0.4 N(sin(2 pi x) + 1.5, s(x)^2)`` with
``s(x) = 0.05 + 0.25 x``. For every contender and training size it reports the
fit time, epochs, optimiser steps and networks (skmdn), the held-out NLL (the
true density's is printed beside it), R² and the coverage of the central 80%
interval, on 10,000 test rows. ``--param`` passes skmdn parameters (to
evaluate a lever). Results are printed as a markdown table and written to
``benchmarks/results/time_to_quality.json``.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import ast
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPRegressor

from skmdn import MDNRegressor

N_TEST = 10_000
WEIGHTS = np.array([0.6, 0.4])


def make_problem(n, seed):
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 1, size=n)
    loc = np.sin(2 * np.pi * x)[:, None] + np.array([0.0, 1.5])
    s = 0.05 + 0.25 * x
    comp = (rng.uniform(size=n) < WEIGHTS[1]).astype(int)
    y = loc[np.arange(n), comp] + s * rng.normal(size=n)
    return x[:, None], y


def true_logpdf(X, y):
    x = X[:, 0]
    loc = np.sin(2 * np.pi * x)[:, None] + np.array([0.0, 1.5])
    s = (0.05 + 0.25 * x)[:, None]
    return logsumexp(np.log(WEIGHTS) + norm.logpdf(y[:, None], loc, s), axis=1)


def true_interval(X, level=0.8):
    """Central interval of the true density by bisection on its cdf."""
    x = X[:, 0]
    loc = np.sin(2 * np.pi * x)[:, None] + np.array([0.0, 1.5])
    s = (0.05 + 0.25 * x)[:, None]

    def quantile(q):
        lo, hi = loc.min(1) - 10 * s[:, 0], loc.max(1) + 10 * s[:, 0]
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            cdf = (WEIGHTS * norm.cdf((mid[:, None] - loc) / s)).sum(1)
            lo, hi = np.where(cdf < q, mid, lo), np.where(cdf < q, hi, mid)
        return 0.5 * (lo + hi)

    return quantile(0.5 - level / 2), quantile(0.5 + level / 2)


def run_skmdn(X, y, Xt, yt, params):
    est = MDNRegressor(random_state=0, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    seconds = time.perf_counter() - start
    lo, hi = est.predict_interval(Xt, 0.8)
    networks = getattr(est, "networks_", None)  # absent before version 0.1
    return {
        "seconds": seconds,
        "epochs": int(sum(n.n_iter for n in networks) if networks else est.n_iter_),
        "steps": int(sum(n.t for n in networks) if networks else est.t_),
        "networks": est.n_networks_,
        "nll": float(-est.log_prob(Xt, yt).mean()),
        "r2": float(r2_score(yt, est.predict(Xt))),
        "cov80": float(np.mean((yt >= lo) & (yt <= hi))),
    }


def run_point(model, X, y, Xt, yt):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "r2": float(r2_score(yt, model.predict(Xt)))}


def run_ngboost(X, y, Xt, yt):
    from ngboost import NGBRegressor

    model = NGBRegressor(verbose=False, random_state=0)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    dist = model.pred_dist(Xt)
    loc, scale = dist.params["loc"], dist.params["scale"]
    lo, hi = norm.ppf(0.1, loc, scale), norm.ppf(0.9, loc, scale)
    return {
        "seconds": seconds,
        "nll": float(-norm.logpdf(yt, loc, scale).mean()),
        "r2": float(r2_score(yt, loc)),
        "cov80": float(np.mean((yt >= lo) & (yt <= hi))),
    }


def parse_param(text):
    key, _, value = text.partition("=")
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key.strip(), value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument(
        "--contenders",
        nargs="+",
        default=["skmdn", "skmdn-1", "mlp", "hgb", "ngboost"],
    )
    parser.add_argument("--param", type=parse_param, action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/time_to_quality.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    params = dict(args.param)

    Xt, yt = make_problem(N_TEST, 10_000 + args.seed)
    lo, hi = true_interval(Xt)
    truth = {
        "nll": float(-true_logpdf(Xt, yt).mean()),
        "cov80": float(np.mean((yt >= lo) & (yt <= hi))),
    }
    print(f"true density: NLL {truth['nll']:.3f}, 80% coverage {truth['cov80']:.3f}")
    rows = []
    for n in args.rows:
        X, y = make_problem(n, args.seed)
        for name in args.contenders:
            if name == "skmdn":
                result = run_skmdn(X, y, Xt, yt, params)
            elif name == "skmdn-1":
                result = run_skmdn(X, y, Xt, yt, {**params, "n_networks": 1})
            elif name == "mlp":
                result = run_point(MLPRegressor(random_state=0), X, y, Xt, yt)
            elif name == "hgb":
                model = HistGradientBoostingRegressor(random_state=0)
                result = run_point(model, X, y, Xt, yt)
            elif name == "ngboost":
                try:
                    result = run_ngboost(X, y, Xt, yt)
                except ImportError:
                    continue
            rows.append({"rows": n, "contender": name, **result})
            print(json.dumps(rows[-1]), flush=True)

    header = (
        "| rows | contender | fit s | epochs | steps | networks | NLL | R² | cov80 |"
    )
    print("\n" + header)
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [
            f"{r['rows']:,}",
            r["contender"],
            f"{r['seconds']:.2f}",
            *(str(r.get(k, "")) for k in ("epochs", "steps", "networks")),
            *(f"{r[k]:.3f}" if k in r else "" for k in ("nll", "r2", "cov80")),
        ]
        print("| " + " | ".join(cells) + " |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"truth": truth, "params": params, "rows": rows}
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
